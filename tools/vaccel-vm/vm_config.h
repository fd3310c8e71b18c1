// SPDX-License-Identifier: Apache-2.0
// vaccel-vm: what a sandbox is made of, as plain values. Everything here is
// a pure function of a VmSpec (no processes, no files), so that the QEMU
// command line, the Firecracker configuration and the guest's kernel
// command line can be checked by unit tests on machines that cannot run
// the VMM (tests/vm/test_vaccel_vm.cpp). supervisor.h runs them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vaccel::vm
{

// A bad combination of options; the message says which.
class ConfigError : public std::runtime_error
{
public:
	using std::runtime_error::runtime_error;
};

enum class Vmm { Qemu, Firecracker };

// How the guest reaches its agent.
enum class Transport {
	// QEMU: a virtio-serial port whose chardev connects to the agent's
	// unix socket.
	VirtioSerial,
	// QEMU: user-mode network, nothing but a guestfwd to the agent.
	Tcp,
	// QEMU: vhost-vsock-pci (needs /dev/vhost-vsock); the agent listens
	// on AF_VSOCK.
	Vsock,
	// Firecracker: its vsock device forwards guest connections to
	// <uds>_<port>, where the agent listens.
	HybridVsock,
};

Vmm parse_vmm(std::string_view s);
Transport parse_transport(std::string_view s);
std::string_view to_string(Vmm v);
std::string_view to_string(Transport t);

// Where, in the guest, the agent appears for the tcp transport.
inline constexpr std::string_view kGuestForwardIp = "10.0.2.100";
inline constexpr uint32_t kGuestForwardPort = 1234;
// The virtio-serial port's name: /dev/virtio-ports/vaccel in the guest.
inline constexpr std::string_view kSerialPortName = "vaccel";
// The line guest/init.sh prints last: VACCEL_VM_EXIT=<status>.
inline constexpr std::string_view kExitMarker = "VACCEL_VM_EXIT=";
// x86's COMMAND_LINE_SIZE, the longest kernel command line, NUL included.
inline constexpr size_t kMaxKernelCmdline = 2048;
// The sandbox memory (QEMU's ivshmem-plain device, docs/guests.md): its
// default size, and the bounds of --shm-size (a PCI BAR's size is a power
// of two).
inline constexpr uint64_t kDefaultShmSize = uint64_t{64} << 20;
inline constexpr uint64_t kMinShmSize = uint64_t{1} << 20;
inline constexpr uint64_t kMaxShmSize = uint64_t{64} << 30;

struct VmSpec {
	Vmm vmm = Vmm::Qemu;
	Transport transport = Transport::VirtioSerial;
	std::string kernel;
	std::string initrd;  // optional
	std::string rootfs;  // optional raw disk image: /dev/vda, root=
	std::string workdir; // the sandbox's private directory (absolute)
	std::string qemu = "qemu-system-x86_64";
	std::string accel = "tcg"; // tcg or kvm
	unsigned memory_mib = 512;
	unsigned cpus = 1;
	uint32_t cid = 3;           // guest CID (vsock transports)
	uint32_t vsock_port = 2048; // agent's port (vsock transports)
	// Program run by QEMU's guestfwd for each guest connection (tcp):
	// it must copy stdin/stdout to the agent (vaccel-vm --bridge ...).
	std::vector<std::string> bridge_command;
	std::vector<std::pair<std::string, std::string>> env; // guest env
	std::vector<std::string> command;                     // guest argv
	std::string extra_append; // more kernel command line
	// The sandbox memory, QEMU only: its size in bytes (0: none) and the
	// path QEMU opens it at (/proc/self/fd/N of the memfd vaccel-vm
	// made and QEMU inherits).
	uint64_t shm_size = 0;
	std::string shm_path;
};

// ---- building blocks (exposed for tests) -----------------------------

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view in);
// One POSIX shell word: 'text', with embedded quotes spliced in. glib's
// g_shell_parse_argv, which splits QEMU's guestfwd cmd:, reads it alike.
std::string shell_quote(std::string_view s);
// A value inside a QEMU option list (-chardev path=..., -netdev ...):
// commas doubled, the only character QEMU's parser treats specially.
std::string qemu_escape(std::string_view s);
// "64M", "1G", "512K", "1048576": bytes (K, M, G: powers of 1024).
// ConfigError when it is none of these.
uint64_t parse_size(std::string_view s);

// ---- the sandbox ------------------------------------------------------

// The agent's address in its private directory: what `vaccel-agent -a`
// gets.
std::string agent_listen_address(const VmSpec &spec);
// The agent's unix socket for transports that have one (virtio-serial,
// tcp: the bridge connects there); empty otherwise.
std::string agent_socket_path(const VmSpec &spec);
// Firecracker's vsock uds_path (the agent listens on <it>_<port>).
std::string firecracker_uds_path(const VmSpec &spec);
// VACCEL_RPC_ADDRESS inside the guest.
std::string guest_rpc_address(const VmSpec &spec);
// The shell script guest/init.sh runs (exports, then exec of the command).
std::string guest_script(const VmSpec &spec);
// The kernel command line; ConfigError if longer than the kernel takes.
std::string kernel_cmdline(const VmSpec &spec);
// argv of qemu-system-x86_64 (argv[0] included).
std::vector<std::string> qemu_argv(const VmSpec &spec);
// Firecracker's --config-file (JSON), and its argv given that file.
std::string firecracker_config(const VmSpec &spec);
std::vector<std::string> firecracker_argv(const VmSpec &spec,
					  const std::string &firecracker,
					  const std::string &config_path);
// Checks that the spec can be run; ConfigError names the problem.
void validate(const VmSpec &spec);

// Scans one console line (without its line ending) for the exit marker.
// Returns the status, or -1 if the line is not the marker.
int parse_exit_marker(std::string_view line);

// What of the guest console is shown: everything, as it arrives, except
// the exit marker and what follows it (the kernel's power-off message).
// Only the end of a line that may still turn out to be the marker is held
// back, so a prompt without a newline shows up at once.
class ConsoleFilter
{
public:
	// Takes the next bytes; returns those to show now.
	std::string feed(std::string_view data);
	// End of the console: returns what was held back.
	std::string finish();
	// The status from the marker, or -1 if none came.
	[[nodiscard]] int status() const { return status_; }

private:
	std::string line_;      // held back: may be the start of the marker
	bool mid_line_ = false; // part of the current line was shown
	bool done_ = false;
	int status_ = -1;
};

} // namespace vaccel::vm
