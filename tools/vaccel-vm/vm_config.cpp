// SPDX-License-Identifier: Apache-2.0
#include "vm_config.h"

#include <nlohmann/json.hpp>

#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace vaccel::vm
{
namespace
{

bool valid_env_name(std::string_view s)
{
	if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
		return false;
	for (char c : s)
		if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
			return false;
	return true;
}

// A kernel command line value must not split into two parameters.
bool plain_cmdline_value(std::string_view s)
{
	for (char c : s)
		if (std::isspace(static_cast<unsigned char>(c)) || c == '"')
			return false;
	return true;
}

void check_socket_path(const std::string &path)
{
	// sun_path holds the path and its NUL.
	if (path.size() >= sizeof(sockaddr_un{}.sun_path))
		throw ConfigError(
		    "unix socket path '" + path + "' is too long (at most " +
		    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
		    " bytes): use a shorter --workdir");
}

} // namespace

Vmm parse_vmm(std::string_view s)
{
	if (s == "qemu")
		return Vmm::Qemu;
	if (s == "firecracker")
		return Vmm::Firecracker;
	throw ConfigError("unknown VMM '" + std::string(s) +
			  "' (qemu or firecracker)");
}

Transport parse_transport(std::string_view s)
{
	if (s == "virtio-serial")
		return Transport::VirtioSerial;
	if (s == "tcp")
		return Transport::Tcp;
	if (s == "vsock")
		return Transport::Vsock;
	if (s == "hvsock")
		return Transport::HybridVsock;
	throw ConfigError("unknown transport '" + std::string(s) +
			  "' (virtio-serial, tcp, vsock or hvsock)");
}

std::string_view to_string(Vmm v)
{
	return v == Vmm::Qemu ? "qemu" : "firecracker";
}

std::string_view to_string(Transport t)
{
	switch (t) {
	case Transport::VirtioSerial:
		return "virtio-serial";
	case Transport::Tcp:
		return "tcp";
	case Transport::Vsock:
		return "vsock";
	case Transport::HybridVsock:
		return "hvsock";
	}
	return "?";
}

std::string base64_encode(std::string_view in)
{
	static constexpr char kAlphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	std::string out;
	out.reserve((in.size() + 2) / 3 * 4);
	size_t i = 0;
	for (; i + 3 <= in.size(); i += 3) {
		const uint32_t v =
		    static_cast<uint32_t>(static_cast<unsigned char>(in[i])
					  << 16) |
		    static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])
					  << 8) |
		    static_cast<unsigned char>(in[i + 2]);
		out += kAlphabet[(v >> 18) & 63];
		out += kAlphabet[(v >> 12) & 63];
		out += kAlphabet[(v >> 6) & 63];
		out += kAlphabet[v & 63];
	}
	const size_t rest = in.size() - i;
	if (rest != 0) {
		uint32_t v = static_cast<uint32_t>(
		    static_cast<unsigned char>(in[i]) << 16);
		if (rest == 2)
			v |= static_cast<uint32_t>(
			    static_cast<unsigned char>(in[i + 1]) << 8);
		out += kAlphabet[(v >> 18) & 63];
		out += kAlphabet[(v >> 12) & 63];
		out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
		out += '=';
	}
	return out;
}

std::string shell_quote(std::string_view s)
{
	std::string out = "'";
	for (char c : s) {
		if (c == '\'')
			out += "'\\''";
		else
			out += c;
	}
	out += '\'';
	return out;
}

std::string qemu_escape(std::string_view s)
{
	std::string out;
	for (char c : s) {
		out += c;
		if (c == ',')
			out += ',';
	}
	return out;
}

uint64_t parse_size(std::string_view s)
{
	uint64_t n = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
	const std::string_view unit(end, s.data() + s.size() - end);
	int shift = -1;
	if (unit.empty())
		shift = 0;
	else if (unit == "K" || unit == "k")
		shift = 10;
	else if (unit == "M" || unit == "m")
		shift = 20;
	else if (unit == "G" || unit == "g")
		shift = 30;
	if (ec != std::errc() || end == s.data() || shift < 0 ||
	    n > (UINT64_MAX >> shift))
		throw ConfigError("'" + std::string(s) +
				  "' is not a size (bytes, or a number "
				  "with K, M or G)");
	return n << shift;
}

std::string agent_socket_path(const VmSpec &spec)
{
	if (spec.transport == Transport::VirtioSerial ||
	    spec.transport == Transport::Tcp)
		return spec.workdir + "/agent.sock";
	return {};
}

std::string firecracker_uds_path(const VmSpec &spec)
{
	return spec.workdir + "/vsock.sock";
}

std::string agent_listen_address(const VmSpec &spec)
{
	switch (spec.transport) {
	case Transport::VirtioSerial:
	case Transport::Tcp:
		return "unix://" + agent_socket_path(spec);
	case Transport::Vsock:
		return "vsock://any:" + std::to_string(spec.vsock_port);
	case Transport::HybridVsock:
		return "hvsock://" + firecracker_uds_path(spec) + ":" +
		       std::to_string(spec.vsock_port);
	}
	return {};
}

std::string guest_rpc_address(const VmSpec &spec)
{
	switch (spec.transport) {
	case Transport::VirtioSerial:
		return "virtio-serial:///dev/virtio-ports/" +
		       std::string(kSerialPortName);
	case Transport::Tcp:
		return "tcp://" + std::string(kGuestForwardIp) + ":" +
		       std::to_string(kGuestForwardPort);
	case Transport::Vsock:
	case Transport::HybridVsock:
		// The host is CID 2 (VMADDR_CID_HOST) for every guest.
		return "vsock://2:" + std::to_string(spec.vsock_port);
	}
	return {};
}

std::string guest_script(const VmSpec &spec)
{
	std::string s = "export VACCEL_RPC_ADDRESS=" +
			shell_quote(guest_rpc_address(spec)) + "\n";
	for (const auto &[name, value] : spec.env)
		s += "export " + name + "=" + shell_quote(value) + "\n";
	if (spec.command.empty()) {
		// No command: a shell on the console.
		s += "exec setsid cttyhack sh\n";
		return s;
	}
	s += "exec";
	for (const auto &arg : spec.command)
		s += " " + shell_quote(arg);
	s += "\n";
	return s;
}

std::string kernel_cmdline(const VmSpec &spec)
{
	// quiet + loglevel=3: kernel errors still reach the console, its
	// chatter does not mix with the command's output. panic=-1 (QEMU,
	// with -no-reboot) turns a guest crash into a VMM exit.
	std::string c = spec.vmm == Vmm::Qemu
			    ? "console=ttyS0 quiet loglevel=3 panic=-1"
			    : "console=ttyS0 reboot=k panic=1 pci=off quiet "
			      "loglevel=3 vaccel_halt=reboot";
	if (!spec.rootfs.empty())
		c += " root=/dev/vda rw";
	const std::string addr = guest_rpc_address(spec);
	if (!plain_cmdline_value(addr))
		throw ConfigError("guest address '" + addr +
				  "' cannot go on a kernel command line");
	// Also an environment variable of the guest's init, so that an init
	// other than guest/init.sh finds it too.
	c += " VACCEL_RPC_ADDRESS=" + addr;
	c += " vaccel_run=" + base64_encode(guest_script(spec));
	if (!spec.extra_append.empty())
		c += " " + spec.extra_append;
	if (c.size() >= kMaxKernelCmdline)
		throw ConfigError(
		    "the kernel command line would be " +
		    std::to_string(c.size()) + " bytes, more than the " +
		    std::to_string(kMaxKernelCmdline - 1) +
		    " the kernel accepts: shorten the command or its "
		    "environment (put a script into the image instead)");
	return c;
}

void validate(const VmSpec &spec)
{
	if (spec.kernel.empty())
		throw ConfigError("no kernel (--kernel)");
	if (spec.workdir.empty() || spec.workdir[0] != '/')
		throw ConfigError(
		    "the work directory must be an absolute path");
	if (spec.vmm == Vmm::Firecracker &&
	    spec.transport != Transport::HybridVsock)
		throw ConfigError(
		    "Firecracker has no " +
		    std::string(to_string(spec.transport)) +
		    " transport: it reaches the agent over its vsock device "
		    "(hvsock)");
	if (spec.vmm == Vmm::Qemu && spec.transport == Transport::HybridVsock)
		throw ConfigError("hybrid vsock (hvsock) is Firecracker's; use "
				  "vsock, virtio-serial or tcp with QEMU");
	if (spec.transport == Transport::Tcp && spec.bridge_command.empty())
		throw ConfigError("the tcp transport needs a bridge command");
	if ((spec.transport == Transport::Vsock ||
	     spec.transport == Transport::HybridVsock) &&
	    (spec.cid < 3 || spec.vsock_port == 0))
		throw ConfigError("vsock needs a guest CID >= 3 (0-2 are "
				  "reserved) and a non-zero port");
	if (spec.accel != "tcg" && spec.accel != "kvm")
		throw ConfigError("unknown accelerator '" + spec.accel +
				  "' (tcg or kvm)");
	if (spec.memory_mib < 64)
		throw ConfigError("at least 64 MiB of guest memory are needed");
	if (spec.cpus == 0)
		throw ConfigError("at least one CPU is needed");
	if (spec.shm_size != 0) {
		if (spec.vmm != Vmm::Qemu)
			throw ConfigError(
			    "Firecracker has no ivshmem device, so no sandbox "
			    "memory: its guests' data is copied over vsock "
			    "(drop --shm-size)");
		if ((spec.shm_size & (spec.shm_size - 1)) != 0 ||
		    spec.shm_size < kMinShmSize || spec.shm_size > kMaxShmSize)
			throw ConfigError(
			    "--shm-size " + std::to_string(spec.shm_size) +
			    ": the sandbox memory is a PCI BAR, whose size is "
			    "a power of two, here 1M..64G");
		if (spec.shm_path.empty())
			throw ConfigError("the sandbox memory has no file");
	}
	for (const auto &e : spec.env)
		if (!valid_env_name(e.first))
			throw ConfigError("'" + e.first +
					  "' is not an environment variable "
					  "name");
	if (const std::string p = agent_socket_path(spec); !p.empty())
		check_socket_path(p);
	if (spec.transport == Transport::HybridVsock)
		check_socket_path(firecracker_uds_path(spec) + "_" +
				  std::to_string(spec.vsock_port));
	(void)kernel_cmdline(spec); // throws if too long
}

std::vector<std::string> qemu_argv(const VmSpec &spec)
{
	validate(spec);
	std::vector<std::string> a = {
	    spec.qemu, "-accel", spec.accel, "-m",
	    std::to_string(spec.memory_mib), "-smp", std::to_string(spec.cpus),
	    // Only the devices below: no VGA, no
	    // default NIC, no floppy or CD-ROM.
	    "-nodefaults", "-no-user-config", "-display", "none", "-serial",
	    "stdio", "-monitor", "none",
	    // A reset or a panic ends the VM.
	    "-no-reboot", "-kernel", spec.kernel};
	if (spec.accel == "kvm") {
		a.emplace_back("-cpu");
		a.emplace_back("host");
	}
	if (!spec.initrd.empty()) {
		a.emplace_back("-initrd");
		a.push_back(spec.initrd);
	}
	a.emplace_back("-append");
	a.push_back(kernel_cmdline(spec));
	if (!spec.rootfs.empty()) {
		a.emplace_back("-drive");
		a.push_back("file=" + qemu_escape(spec.rootfs) +
			    ",format=raw,if=virtio");
	}
	if (spec.shm_size != 0) {
		// The memfd vaccel-vm made, shared with the agent: the
		// guest's ivshmem BAR 2 (docs/guests.md).
		a.insert(
		    a.end(),
		    {"-object",
		     "memory-backend-file,id=vaccel-shm,share=on,mem-path=" +
			 qemu_escape(spec.shm_path) +
			 ",size=" + std::to_string(spec.shm_size),
		     "-device", "ivshmem-plain,memdev=vaccel-shm"});
	}
	switch (spec.transport) {
	case Transport::VirtioSerial:
		// QEMU connects to the agent as a client, and reconnects
		// after a second if the agent drops the connection (a guest
		// process that died mid-message leaves a broken stream).
		a.insert(a.end(), {"-chardev",
				   "socket,id=vaccel,path=" +
				       qemu_escape(agent_socket_path(spec)) +
				       ",reconnect=1",
				   "-device", "virtio-serial-pci", "-device",
				   "virtserialport,chardev=vaccel,name=" +
				       std::string(kSerialPortName),
				   "-nic", "none"});
		break;
	case Transport::Tcp: {
		// restrict=on: the guest reaches nothing but the forward,
		// which runs the bridge for each connection (no host port is
		// opened).
		std::string cmd;
		for (const auto &w : spec.bridge_command)
			cmd += (cmd.empty() ? "" : " ") + shell_quote(w);
		a.insert(a.end(),
			 {"-netdev",
			  "user,id=net0,restrict=on,guestfwd=tcp:" +
			      std::string(kGuestForwardIp) + ":" +
			      std::to_string(kGuestForwardPort) +
			      "-cmd:" + qemu_escape(cmd),
			  "-device", "virtio-net-pci,netdev=net0,romfile="});
		break;
	}
	case Transport::Vsock:
		a.insert(a.end(), {"-device",
				   "vhost-vsock-pci,guest-cid=" +
				       std::to_string(spec.cid),
				   "-nic", "none"});
		break;
	case Transport::HybridVsock:
		break; // refused by validate()
	}
	return a;
}

std::string firecracker_config(const VmSpec &spec)
{
	validate(spec);
	nlohmann::ordered_json boot = {
	    {"kernel_image_path", spec.kernel},
	    {"boot_args", kernel_cmdline(spec)},
	};
	if (!spec.initrd.empty())
		boot["initrd_path"] = spec.initrd;
	nlohmann::ordered_json drives = nlohmann::ordered_json::array();
	if (!spec.rootfs.empty())
		drives.push_back({{"drive_id", "rootfs"},
				  {"path_on_host", spec.rootfs},
				  {"is_root_device", true},
				  {"is_read_only", false}});
	nlohmann::ordered_json cfg = {
	    {"boot-source", boot},
	    {"drives", drives},
	    {"machine-config",
	     {{"vcpu_count", spec.cpus}, {"mem_size_mib", spec.memory_mib}}},
	    // Guest connections to port P arrive on <uds_path>_P, where the
	    // agent listens (hvsock:// address).
	    {"vsock",
	     {{"vsock_id", "vaccel"},
	      {"guest_cid", spec.cid},
	      {"uds_path", firecracker_uds_path(spec)}}},
	};
	return cfg.dump(2) + "\n";
}

std::vector<std::string> firecracker_argv(const VmSpec &spec,
					  const std::string &firecracker,
					  const std::string &config_path)
{
	validate(spec);
	return {firecracker, "--no-api", "--config-file", config_path};
}

int parse_exit_marker(std::string_view line)
{
	while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
		line.remove_suffix(1);
	if (line.substr(0, kExitMarker.size()) != kExitMarker)
		return -1;
	line.remove_prefix(kExitMarker.size());
	int v = -1;
	auto [end, ec] =
	    std::from_chars(line.data(), line.data() + line.size(), v);
	if (ec != std::errc() || end != line.data() + line.size() || v < 0 ||
	    v > 255)
		return -1;
	return v;
}

namespace
{

// The marker, digits and the console's '\r' after it, not too long.
bool could_be_marker(const std::string &s)
{
	const size_t n = std::min(s.size(), kExitMarker.size());
	if (s.compare(0, n, kExitMarker.substr(0, n)) != 0)
		return false;
	for (size_t i = n; i < s.size(); ++i)
		if (!std::isdigit(static_cast<unsigned char>(s[i])) &&
		    s[i] != '\r')
			return false;
	return s.size() < kExitMarker.size() + 8;
}

} // namespace

std::string ConsoleFilter::feed(std::string_view data)
{
	std::string out;
	for (char c : data) {
		if (done_)
			return out;
		line_ += c;
		if (c != '\n')
			continue;
		// The marker is normally a line of its own, but a command
		// whose output does not end with a newline puts it at the
		// end of that line: the line is ended for it.
		const size_t at = line_.rfind(kExitMarker);
		const int st =
		    at == std::string::npos
			? -1
			: parse_exit_marker(std::string_view(line_).substr(at));
		if (st >= 0) {
			status_ = st;
			done_ = true;
			out.append(line_, 0, at);
			if (mid_line_ || at > 0)
				out += '\n';
			line_.clear();
			return out;
		}
		out += line_;
		line_.clear();
		mid_line_ = false;
	}
	// Show everything but the shortest tail that may still become the
	// marker.
	size_t hold = line_.size();
	for (size_t pos = line_.find(kExitMarker[0]); pos != std::string::npos;
	     pos = line_.find(kExitMarker[0], pos + 1)) {
		if (could_be_marker(line_.substr(pos))) {
			hold = pos;
			break;
		}
	}
	if (hold > 0) {
		out.append(line_, 0, hold);
		line_.erase(0, hold);
		mid_line_ = true;
	}
	return out;
}

std::string ConsoleFilter::finish()
{
	std::string out;
	if (!done_)
		out.swap(line_);
	line_.clear();
	return out;
}

} // namespace vaccel::vm
