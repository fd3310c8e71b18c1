// SPDX-License-Identifier: Apache-2.0
// Unit tests of vaccel-vm's builders (tools/vaccel-vm/vm_config.h): the QEMU
// command line for each transport, the Firecracker configuration, the
// guest's kernel command line, and the console filter. Neither vhost-vsock
// nor Firecracker can run here, so their wiring is checked as text; the
// addresses are checked against the transport's own parser, which is what
// the agent and the guest use.
#include "transport/transport.h"
#include "vm_config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace vaccel::vm;

namespace
{

// An independent decoder for the round-trip tests.
std::string base64_decode(const std::string &in)
{
	auto val = [](char c) -> int {
		if (c >= 'A' && c <= 'Z')
			return c - 'A';
		if (c >= 'a' && c <= 'z')
			return c - 'a' + 26;
		if (c >= '0' && c <= '9')
			return c - '0' + 52;
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
		return -1;
	};
	std::string out;
	unsigned bits = 0;
	int nbits = 0;
	for (char c : in) {
		if (c == '=')
			break;
		int v = val(c);
		if (v < 0)
			return "<invalid>";
		bits = (bits << 6) | static_cast<unsigned>(v);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out += static_cast<char>((bits >> nbits) & 0xff);
		}
	}
	return out;
}

// What /bin/sh makes of a command line: runs `printf '%s\n' <words>`.
std::string sh_output(const std::string &words)
{
	std::string cmd = "printf '%s\\n' " + words;
	int p[2];
	if (pipe(p) != 0)
		return "<pipe failed>";
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl("/bin/sh", "sh", "-c", cmd.c_str(),
		      static_cast<char *>(nullptr));
		_exit(127);
	}
	close(p[1]);
	std::string out;
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		out.append(buf, static_cast<size_t>(n));
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return out;
}

VmSpec base_spec()
{
	VmSpec s;
	s.kernel = "/img/vmlinuz";
	s.initrd = "/img/initrd.img";
	s.workdir = "/run/sb";
	s.command = {"run-examples", "/usr/bin", "a b"};
	return s;
}

// The value of "-opt" in argv (first occurrence), or "" if absent.
std::string arg_after(const std::vector<std::string> &argv,
		      const std::string &opt)
{
	auto it = std::find(argv.begin(), argv.end(), opt);
	return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

std::vector<std::string> all_after(const std::vector<std::string> &argv,
				   const std::string &opt)
{
	std::vector<std::string> v;
	for (size_t i = 0; i + 1 < argv.size(); ++i)
		if (argv[i] == opt)
			v.push_back(argv[i + 1]);
	return v;
}

// kernel command line parameter @p name's value ("" if absent).
std::string cmdline_param(const std::string &cmdline, const std::string &name)
{
	size_t pos = 0;
	while (pos < cmdline.size()) {
		size_t end = cmdline.find(' ', pos);
		if (end == std::string::npos)
			end = cmdline.size();
		std::string w = cmdline.substr(pos, end - pos);
		if (w.rfind(name + "=", 0) == 0)
			return w.substr(name.size() + 1);
		pos = end + 1;
	}
	return "";
}

} // namespace

TEST(VaccelVm, Base64MatchesRfc4648Vectors)
{
	EXPECT_EQ(base64_encode(""), "");
	EXPECT_EQ(base64_encode("f"), "Zg==");
	EXPECT_EQ(base64_encode("fo"), "Zm8=");
	EXPECT_EQ(base64_encode("foo"), "Zm9v");
	EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
	EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
	EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(VaccelVm, Base64RoundTripsRandomBytes)
{
	std::mt19937 rng(42);
	for (size_t len = 0; len < 200; len += 1 + len / 8) {
		std::string s(len, '\0');
		for (auto &c : s)
			c = static_cast<char>(rng() & 0xff);
		const std::string enc = base64_encode(s);
		EXPECT_EQ(enc.size(), (len + 2) / 3 * 4);
		EXPECT_EQ(base64_decode(enc), s) << "length " << len;
	}
}

TEST(VaccelVm, ShellQuoteSurvivesTheShell)
{
	const std::vector<std::string> words = {
	    "plain",     "two words", "it's", "'",           "''",
	    "a\"b",      "$HOME",     "`id`", "back\\slash", "semi;colon",
	    "new\nline", "*",         ""};
	std::string line;
	std::string expect;
	for (const auto &w : words) {
		line += " " + shell_quote(w);
		expect += w + "\n";
	}
	EXPECT_EQ(sh_output(line), expect);
}

TEST(VaccelVm, QemuEscapeDoublesCommas)
{
	EXPECT_EQ(qemu_escape("/a,b,,c"), "/a,,b,,,,c");
	EXPECT_EQ(qemu_escape("plain"), "plain");
}

TEST(VaccelVm, VirtioSerialWiring)
{
	VmSpec s = base_spec();
	s.workdir = "/run/s,b"; // a comma must not split QEMU's option
	auto argv = qemu_argv(s);
	EXPECT_EQ(argv.front(), "qemu-system-x86_64");
	EXPECT_EQ(arg_after(argv, "-accel"), "tcg");
	EXPECT_EQ(arg_after(argv, "-kernel"), "/img/vmlinuz");
	EXPECT_EQ(arg_after(argv, "-initrd"), "/img/initrd.img");
	EXPECT_EQ(arg_after(argv, "-serial"), "stdio");
	EXPECT_NE(std::find(argv.begin(), argv.end(), "-no-reboot"),
		  argv.end());
	EXPECT_EQ(arg_after(argv, "-chardev"),
		  "socket,id=vaccel,path=/run/s,,b/agent.sock,reconnect=1");
	EXPECT_EQ(all_after(argv, "-device"),
		  (std::vector<std::string>{
		      "virtio-serial-pci",
		      "virtserialport,chardev=vaccel,name=vaccel"}));
	EXPECT_EQ(arg_after(argv, "-nic"), "none");
	EXPECT_EQ(arg_after(argv, "-netdev"), "");

	const std::string cmdline = arg_after(argv, "-append");
	EXPECT_EQ(cmdline_param(cmdline, "console"), "ttyS0");
	EXPECT_EQ(cmdline_param(cmdline, "panic"), "-1");
	EXPECT_EQ(cmdline_param(cmdline, "VACCEL_RPC_ADDRESS"),
		  "virtio-serial:///dev/virtio-ports/vaccel");
	EXPECT_EQ(
	    base64_decode(cmdline_param(cmdline, "vaccel_run")),
	    "export "
	    "VACCEL_RPC_ADDRESS='virtio-serial:///dev/virtio-ports/vaccel'\n"
	    "exec 'run-examples' '/usr/bin' 'a b'\n");

	EXPECT_EQ(agent_listen_address(s), "unix:///run/s,b/agent.sock");
	auto a = vaccel::transport::parse_address(agent_listen_address(s));
	ASSERT_TRUE(a.is_ok());
	EXPECT_EQ(a.value().kind, vaccel::transport::Address::Kind::Unix);
	EXPECT_EQ(a.value().path, "/run/s,b/agent.sock");
	auto g = vaccel::transport::parse_address(guest_rpc_address(s));
	ASSERT_TRUE(g.is_ok());
	EXPECT_EQ(g.value().kind, vaccel::transport::Address::Kind::Serial);
	EXPECT_EQ(g.value().path, "/dev/virtio-ports/vaccel");
}

TEST(VaccelVm, TcpWiringIsRestrictedToOneForward)
{
	VmSpec s = base_spec();
	s.transport = Transport::Tcp;
	s.bridge_command = {"/opt/my tools/vaccel-vm", "--bridge",
			    "/run/sb/agent.sock"};
	auto argv = qemu_argv(s);
	EXPECT_EQ(arg_after(argv, "-netdev"),
		  "user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:1234-cmd:"
		  "'/opt/my tools/vaccel-vm' '--bridge' '/run/sb/agent.sock'");
	EXPECT_EQ(arg_after(argv, "-device"),
		  "virtio-net-pci,netdev=net0,romfile=");
	EXPECT_EQ(arg_after(argv, "-chardev"), "");
	EXPECT_EQ(arg_after(argv, "-nic"), "");
	EXPECT_EQ(
	    cmdline_param(arg_after(argv, "-append"), "VACCEL_RPC_ADDRESS"),
	    "tcp://10.0.2.100:1234");
	auto g = vaccel::transport::parse_address(guest_rpc_address(s));
	ASSERT_TRUE(g.is_ok());
	EXPECT_EQ(g.value().host, "10.0.2.100");
	EXPECT_EQ(g.value().port, 1234u);
	// The agent itself stays on its private unix socket.
	EXPECT_EQ(agent_listen_address(s), "unix:///run/sb/agent.sock");

	s.bridge_command.clear();
	EXPECT_THROW(qemu_argv(s), ConfigError);
}

TEST(VaccelVm, VsockWiring)
{
	VmSpec s = base_spec();
	s.transport = Transport::Vsock;
	s.cid = 42;
	s.vsock_port = 5000;
	auto argv = qemu_argv(s);
	EXPECT_EQ(arg_after(argv, "-device"), "vhost-vsock-pci,guest-cid=42");
	EXPECT_EQ(arg_after(argv, "-nic"), "none");
	EXPECT_EQ(
	    cmdline_param(arg_after(argv, "-append"), "VACCEL_RPC_ADDRESS"),
	    "vsock://2:5000");
	auto a = vaccel::transport::parse_address(agent_listen_address(s));
	ASSERT_TRUE(a.is_ok());
	EXPECT_EQ(a.value().kind, vaccel::transport::Address::Kind::Vsock);
	EXPECT_EQ(a.value().port, 5000u);
	auto g = vaccel::transport::parse_address(guest_rpc_address(s));
	ASSERT_TRUE(g.is_ok());
	EXPECT_EQ(g.value().cid, 2u); // the host
	EXPECT_EQ(g.value().port, 5000u);

	s.cid = 2; // reserved
	EXPECT_THROW(qemu_argv(s), ConfigError);
}

TEST(VaccelVm, KvmRootfsAndSizes)
{
	VmSpec s = base_spec();
	s.accel = "kvm";
	s.rootfs = "/img/root,fs.img";
	s.memory_mib = 1024;
	s.cpus = 3;
	s.extra_append = "foo=bar";
	auto argv = qemu_argv(s);
	EXPECT_EQ(arg_after(argv, "-accel"), "kvm");
	EXPECT_EQ(arg_after(argv, "-cpu"), "host");
	EXPECT_EQ(arg_after(argv, "-m"), "1024");
	EXPECT_EQ(arg_after(argv, "-smp"), "3");
	EXPECT_EQ(arg_after(argv, "-drive"),
		  "file=/img/root,,fs.img,format=raw,if=virtio");
	const std::string cmdline = arg_after(argv, "-append");
	EXPECT_EQ(cmdline_param(cmdline, "root"), "/dev/vda");
	EXPECT_EQ(cmdline_param(cmdline, "foo"), "bar");

	s.accel = "hax";
	EXPECT_THROW(qemu_argv(s), ConfigError);
}

TEST(VaccelVm, GuestScriptCarriesEnvironmentAndCommand)
{
	VmSpec s = base_spec();
	s.env = {{"VACCEL_LOG_LEVEL", "4"}, {"MSG", "it's here"}};
	s.command = {"sh", "-c", "echo \"$MSG\"; exit 3"};
	const std::string script = guest_script(s);
	EXPECT_EQ(
	    script,
	    "export "
	    "VACCEL_RPC_ADDRESS='virtio-serial:///dev/virtio-ports/vaccel'\n"
	    "export VACCEL_LOG_LEVEL='4'\n"
	    "export MSG='it'\\''s here'\n"
	    "exec 'sh' '-c' 'echo \"$MSG\"; exit 3'\n");
	// Run it: the shell sees exactly these words and this status.
	const std::string cmd =
	    "/bin/sh -c " + shell_quote(script) + " >/dev/null 2>&1";
	int st = std::system(cmd.c_str());
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 3);

	s.command.clear(); // an interactive shell
	EXPECT_NE(guest_script(s).find("exec setsid cttyhack sh"),
		  std::string::npos);

	s.env = {{"1BAD", "x"}};
	EXPECT_THROW(validate(s), ConfigError);
	s.env = {{"BAD-NAME", "x"}};
	EXPECT_THROW(validate(s), ConfigError);
}

TEST(VaccelVm, KernelCommandLineLimit)
{
	VmSpec s = base_spec();
	s.command = {"echo", std::string(1000, 'x')};
	EXPECT_LT(kernel_cmdline(s).size(), kMaxKernelCmdline);
	s.command = {"echo", std::string(1600, 'x')}; // base64 grows it by 4/3
	try {
		(void)kernel_cmdline(s);
		FAIL() << "a 2 KiB command line was accepted";
	} catch (const ConfigError &e) {
		EXPECT_NE(std::string(e.what()).find("kernel"),
			  std::string::npos);
	}
}

TEST(VaccelVm, UnixSocketPathLimit)
{
	VmSpec s = base_spec();
	s.workdir = "/" + std::string(120, 'd');
	EXPECT_THROW(validate(s), ConfigError);
	s.workdir = "relative/dir";
	EXPECT_THROW(validate(s), ConfigError);
}

TEST(VaccelVm, FirecrackerConfiguration)
{
	VmSpec s = base_spec();
	s.vmm = Vmm::Firecracker;
	s.transport = Transport::HybridVsock;
	s.kernel = "/img/vmlinux";
	s.rootfs = "/img/rootfs.ext4";
	s.cid = 7;
	s.vsock_port = 2048;
	s.cpus = 2;
	s.memory_mib = 256;
	auto cfg = nlohmann::json::parse(firecracker_config(s));
	EXPECT_EQ(cfg["boot-source"]["kernel_image_path"], "/img/vmlinux");
	EXPECT_EQ(cfg["boot-source"]["initrd_path"], "/img/initrd.img");
	const std::string args = cfg["boot-source"]["boot_args"];
	EXPECT_EQ(cmdline_param(args, "VACCEL_RPC_ADDRESS"), "vsock://2:2048");
	EXPECT_EQ(cmdline_param(args, "vaccel_halt"), "reboot"); // no ACPI
	EXPECT_EQ(cmdline_param(args, "root"), "/dev/vda");
	EXPECT_EQ(cmdline_param(args, "pci"), "off");
	ASSERT_EQ(cfg["drives"].size(), 1u);
	EXPECT_EQ(cfg["drives"][0]["drive_id"], "rootfs");
	EXPECT_EQ(cfg["drives"][0]["path_on_host"], "/img/rootfs.ext4");
	EXPECT_EQ(cfg["drives"][0]["is_root_device"], true);
	EXPECT_EQ(cfg["machine-config"]["vcpu_count"], 2);
	EXPECT_EQ(cfg["machine-config"]["mem_size_mib"], 256);
	EXPECT_EQ(cfg["vsock"]["guest_cid"], 7);
	EXPECT_EQ(cfg["vsock"]["uds_path"], "/run/sb/vsock.sock");

	// Firecracker forwards a guest connection to port P to
	// <uds_path>_P: exactly where the agent's hvsock listener binds.
	auto a = vaccel::transport::parse_address(agent_listen_address(s));
	ASSERT_TRUE(a.is_ok());
	EXPECT_EQ(a.value().kind,
		  vaccel::transport::Address::Kind::HybridVsock);
	EXPECT_EQ(a.value().path, cfg["vsock"]["uds_path"]);
	EXPECT_EQ(a.value().port, 2048u);

	EXPECT_EQ(
	    firecracker_argv(s, "/usr/bin/firecracker", "/run/sb/fc.json"),
	    (std::vector<std::string>{"/usr/bin/firecracker", "--no-api",
				      "--config-file", "/run/sb/fc.json"}));

	// Without an initrd or a disk those keys are left out / empty.
	s.initrd.clear();
	s.rootfs.clear();
	cfg = nlohmann::json::parse(firecracker_config(s));
	EXPECT_FALSE(cfg["boot-source"].contains("initrd_path"));
	EXPECT_TRUE(cfg["drives"].empty());
}

TEST(VaccelVm, RefusedCombinations)
{
	VmSpec s = base_spec();
	s.vmm = Vmm::Firecracker; // virtio-serial is QEMU's
	EXPECT_THROW(validate(s), ConfigError);
	s.vmm = Vmm::Qemu;
	s.transport = Transport::HybridVsock; // Firecracker's
	EXPECT_THROW(validate(s), ConfigError);
	s.transport = Transport::VirtioSerial;
	s.kernel.clear();
	EXPECT_THROW(validate(s), ConfigError);
	s = base_spec();
	s.memory_mib = 16;
	EXPECT_THROW(validate(s), ConfigError);
	s = base_spec();
	s.cpus = 0;
	EXPECT_THROW(validate(s), ConfigError);
	EXPECT_THROW(parse_vmm("xen"), ConfigError);
	EXPECT_THROW(parse_transport("serial"), ConfigError);
	EXPECT_EQ(parse_transport("hvsock"), Transport::HybridVsock);
	EXPECT_EQ(to_string(parse_transport("virtio-serial")), "virtio-serial");
}

// The sandbox memory: QEMU maps the file vaccel-vm made (at the path of
// its inherited descriptor) as an ivshmem-plain device; Firecracker has no
// such device.
TEST(VaccelVm, SandboxMemoryWiring)
{
	VmSpec s = base_spec();
	auto argv = qemu_argv(s);
	EXPECT_EQ(std::find(argv.begin(), argv.end(), "-object"), argv.end());
	s.shm_size = uint64_t{64} << 20;
	s.shm_path = "/proc/self/fd/7";
	argv = qemu_argv(s);
	EXPECT_EQ(arg_after(argv, "-object"),
		  "memory-backend-file,id=vaccel-shm,share=on,mem-path=/proc/"
		  "self/fd/7,size=67108864");
	const auto devices = all_after(argv, "-device");
	EXPECT_NE(std::find(devices.begin(), devices.end(),
			    "ivshmem-plain,memdev=vaccel-shm"),
		  devices.end());
	s.shm_path = "/a,b";
	EXPECT_NE(arg_after(qemu_argv(s), "-object").find("mem-path=/a,,b,"),
		  std::string::npos);
	// A PCI BAR: a power of two, 1 MiB .. 64 GiB; and a file.
	for (uint64_t bad :
	     {uint64_t{3} << 20, uint64_t{512} << 10, uint64_t{128} << 30}) {
		s.shm_size = bad;
		EXPECT_THROW(validate(s), ConfigError) << bad;
	}
	s.shm_size = uint64_t{1} << 20;
	s.shm_path.clear();
	EXPECT_THROW(validate(s), ConfigError);
	s.shm_path = "/proc/self/fd/7";
	EXPECT_NO_THROW(validate(s));
	s.vmm = Vmm::Firecracker;
	s.transport = Transport::HybridVsock;
	try {
		validate(s);
		ADD_FAILURE() << "Firecracker with sandbox memory";
	} catch (const ConfigError &e) {
		EXPECT_NE(std::string(e.what()).find("no ivshmem"),
			  std::string::npos)
		    << e.what();
	}
}

TEST(VaccelVm, SizesWithUnits)
{
	EXPECT_EQ(parse_size("1048576"), uint64_t{1} << 20);
	EXPECT_EQ(parse_size("512K"), uint64_t{512} << 10);
	EXPECT_EQ(parse_size("64M"), uint64_t{64} << 20);
	EXPECT_EQ(parse_size("2g"), uint64_t{2} << 30);
	for (const char *bad : {"", "M", "64MB", "-1", "1.5G", "64 M",
				"99999999999999999999", "17179869184G"})
		EXPECT_THROW(parse_size(bad), ConfigError) << bad;
}

TEST(VaccelVm, ExitMarker)
{
	EXPECT_EQ(parse_exit_marker("VACCEL_VM_EXIT=0"), 0);
	EXPECT_EQ(parse_exit_marker("VACCEL_VM_EXIT=255\r"), 255);
	EXPECT_EQ(parse_exit_marker("VACCEL_VM_EXIT=7\r\n"), 7);
	EXPECT_EQ(parse_exit_marker("VACCEL_VM_EXIT=256"), -1);
	EXPECT_EQ(parse_exit_marker("VACCEL_VM_EXIT="), -1);
	EXPECT_EQ(parse_exit_marker("VACCEL_VM_EXIT=1x"), -1);
	EXPECT_EQ(parse_exit_marker("xVACCEL_VM_EXIT=1"), -1);
	EXPECT_EQ(parse_exit_marker("hello"), -1);
}

// The console as the guest sends it, cut into random pieces: what is
// shown is everything before the marker line, byte for byte.
TEST(VaccelVm, ConsoleFilterAnyChunking)
{
	const std::string before =
	    "[    0.1] boot\r\nline one\r\nVACCEL_VM_EXI is not it\r\n"
	    "VACCEL_VM_EXIT=12 neither\r\nprompt# ";
	const std::string console = before + "\r\nVACCEL_VM_EXIT=42\r\n"
					     "[    5.0] reboot: Power down\r\n";
	std::mt19937 rng(7);
	for (int round = 0; round < 200; ++round) {
		ConsoleFilter f;
		std::string shown;
		size_t pos = 0;
		while (pos < console.size()) {
			size_t n = 1 + rng() % 9;
			shown +=
			    f.feed(std::string_view(console).substr(pos, n));
			pos += n;
		}
		shown += f.finish();
		ASSERT_EQ(shown, before + "\r\n") << "round " << round;
		ASSERT_EQ(f.status(), 42);
	}
}

TEST(VaccelVm, ConsoleFilterShowsPromptsAtOnce)
{
	ConsoleFilter f;
	EXPECT_EQ(f.feed("login: "), "login: ");
	EXPECT_EQ(f.feed("V"), ""); // may be the marker: held
	EXPECT_EQ(f.feed("ery well\n"), "Very well\n");
	EXPECT_EQ(f.status(), -1);
	EXPECT_EQ(f.feed("no newline at the end"), "no newline at the end");
	// The marker right after output without a newline still counts, and
	// the line is ended for it.
	EXPECT_EQ(f.feed("VACCEL_VM_EXIT=3\r\n"), "\n");
	EXPECT_EQ(f.status(), 3);
	EXPECT_EQ(f.feed("after\n"), "");
	EXPECT_EQ(f.finish(), "");
}

TEST(VaccelVm, ConsoleFilterWithoutMarker)
{
	ConsoleFilter f;
	std::string shown = f.feed("Kernel panic - not syncing\r\nVACCEL_VM");
	shown += f.finish();
	EXPECT_EQ(shown, "Kernel panic - not syncing\r\nVACCEL_VM");
	EXPECT_EQ(f.status(), -1);
}
