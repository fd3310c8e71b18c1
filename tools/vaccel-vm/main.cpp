// SPDX-License-Identifier: Apache-2.0
// vaccel-vm: boots a VM whose programs use vAccel, with a vaccel-agent of
// its own on the host. docs/guests.md describes it; `vaccel-vm --help`
// lists the options.
#include "supervisor.h"
#include "vm_config.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>

namespace
{

using namespace vaccel::vm;

std::pair<std::string, std::string> split_env(const std::string &kv)
{
	const auto eq = kv.find('=');
	if (eq == std::string::npos || eq == 0)
		throw ConfigError("--env '" + kv + "' is not NAME=VALUE");
	return {kv.substr(0, eq), kv.substr(eq + 1)};
}

std::string line_of(const std::vector<std::string> &argv)
{
	std::string s;
	for (const auto &a : argv)
		s += (s.empty() ? "" : " ") + shell_quote(a);
	return s;
}

} // namespace

// vaccel-vm --attach: the checks that differ from a sandbox with its own
// agent, then the run.
int attach_and_run(RunOptions &opts, const std::string &policy_file)
{
	if (opts.attach.empty())
		throw ConfigError("--tenant and --policy go with --attach");
	if (!opts.plugins.empty() || !opts.agent_args.empty())
		throw ConfigError("with --attach the running agent's plugins "
				  "and options serve the sandbox: drop "
				  "--plugins/--agent-arg");
	if (opts.tenant.empty())
		opts.tenant = "vaccel-vm-" + std::to_string(::getpid());
	if (!policy_file.empty()) {
		std::ifstream in(policy_file);
		if (!in)
			throw ConfigError("cannot read --policy " +
					  policy_file);
		std::stringstream ss;
		ss << in.rdbuf();
		opts.policy = ss.str();
	}
	try {
		return run_sandbox(std::move(opts));
	} catch (const std::exception &e) {
		std::fprintf(stderr, "vaccel-vm: %s\n", e.what());
		return kExitSetup;
	}
}

int main(int argc, char **argv)
{
	CLI::App app{
	    "Boots a VM (QEMU or Firecracker) whose programs use vAccel: "
	    "starts a vaccel-agent for it alone with the plugins given, "
	    "wires the transport, runs COMMAND in the guest and exits with "
	    "its status.\n"
	    "Exit status: the guest command's; 123 the VM stopped without "
	    "one (crash); 124 --timeout; 125 the agent or the VMM could not "
	    "run; 128+N a signal.",
	    "vaccel-vm"};
	app.get_formatter()->column_width(34);

	RunOptions opts;
	VmSpec &spec = opts.spec;
	std::string vmm = "qemu";
	std::string transport;
	std::vector<std::string> env;
	std::string bridge;
	bool dry_run = false;
	std::string shm_size;
	bool no_shm = false;

	app.add_option("-k,--kernel", spec.kernel, "guest kernel image");
	app.add_option("-i,--initrd", spec.initrd,
		       "initramfs (guest/build-initramfs.sh makes one)");
	app.add_option("-r,--rootfs", spec.rootfs,
		       "raw disk image, the guest's /dev/vda and root "
		       "(the kernel needs virtio_blk built in)");
	app.add_option("--vmm", vmm, "qemu or firecracker")
	    ->capture_default_str();
	app.add_option("-t,--transport", transport,
		       "virtio-serial (default with qemu), tcp, vsock, or "
		       "hvsock (firecracker, its default)");
	app.add_option("-p,--plugins", opts.plugins,
		       "the agent's plugins, ':'-separated short names "
		       "(torch), file names (libvaccel-torch.so) or paths, as "
		       "VACCEL_PLUGINS takes them; the VM boots only once the "
		       "agent loaded them all (default: $VACCEL_PLUGINS)");
	app.add_option("--agent", opts.agent,
		       "vaccel-agent binary (default: the one next to "
		       "vaccel-vm, else from PATH)");
	app.add_option("--agent-arg", opts.agent_args,
		       "one more argument for the agent (repeatable)")
	    ->allow_extra_args(false);
	std::string policy_file;
	app.add_option("--attach", opts.attach,
		       "no agent of its own: hand the sandbox to the running "
		       "agent whose admin socket this is (unix:///path; "
		       "its plugins serve it)");
	app.add_option("--tenant", opts.tenant,
		       "with --attach: the sandbox's tenant (default: "
		       "vaccel-vm-<pid>)");
	app.add_option("--policy", policy_file,
		       "with --attach: the tenant's policy, a TOML file with "
		       "the keys of a [tenant.NAME] table (docs/security.md)");
	app.add_option("-e,--env", env,
		       "NAME=VALUE for the guest command (repeatable)")
	    ->allow_extra_args(false);
	app.add_option("-m,--memory", spec.memory_mib, "guest memory, MiB")
	    ->capture_default_str();
	app.add_option("--cpus", spec.cpus, "guest CPUs")
	    ->capture_default_str();
	app.add_option("--accel", spec.accel, "QEMU accelerator: tcg or kvm")
	    ->capture_default_str();
	app.add_option("--shm-size", shm_size,
		       "the sandbox memory, which the guest sees as an ivshmem "
		       "device and the agent maps too, so that tensors and "
		       "buffers travel by offset (QEMU only; a power of two, "
		       "K/M/G; default 64M with QEMU, none with Firecracker)");
	app.add_flag("--no-shm", no_shm,
		     "no sandbox memory: the guest's data is copied over the "
		     "transport");
	app.add_option("--cid", spec.cid, "guest vsock CID (vsock, hvsock)")
	    ->capture_default_str();
	app.add_option("--vsock-port", spec.vsock_port,
		       "the agent's vsock port (vsock, hvsock)")
	    ->capture_default_str();
	app.add_option("--qemu", spec.qemu, "QEMU binary")
	    ->capture_default_str();
	app.add_option("--firecracker", opts.firecracker, "Firecracker binary")
	    ->capture_default_str();
	app.add_option("--append", spec.extra_append,
		       "more kernel command line");
	app.add_option("--timeout", opts.timeout_s,
		       "kill the VM after this many seconds (0: never)")
	    ->capture_default_str();
	app.add_option("--workdir", spec.workdir,
		       "the sandbox's private directory (default: a new one "
		       "under $TMPDIR, removed at the end)");
	app.add_flag("--keep-workdir", opts.keep_workdir,
		     "keep the directory (agent log, sockets, configuration)");
	app.add_flag("-v,--verbose", opts.verbose,
		     "print the agent and VMM command lines");
	app.add_flag(
	    "--dry-run", dry_run,
	    "print the agent command, the VMM command and (firecracker) "
	    "its configuration; start nothing");
	app.add_option("--bridge", bridge,
		       "internal (tcp transport): copy stdin/stdout to this "
		       "unix socket");
	app.footer("COMMAND [ARGS...] runs in the guest (default: a shell on "
		   "the console); put '--' before it if it starts with '-'.");
	// Everything from the first positional on is the guest command.
	app.prefix_command();

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		return app.exit(e) == 0 ? 0 : 2;
	}

	if (!bridge.empty())
		return run_bridge(bridge);

	try {
		spec.command = app.remaining();
		if (!spec.command.empty() && spec.command.front() == "--")
			spec.command.erase(spec.command.begin());
		spec.vmm = parse_vmm(vmm);
		if (transport.empty())
			transport =
			    spec.vmm == Vmm::Qemu ? "virtio-serial" : "hvsock";
		spec.transport = parse_transport(transport);
		if (no_shm && !shm_size.empty())
			throw ConfigError(
			    "--shm-size and --no-shm exclude each "
			    "other");
		if (!shm_size.empty())
			spec.shm_size = parse_size(shm_size);
		else if (!no_shm && spec.vmm == Vmm::Qemu)
			spec.shm_size = kDefaultShmSize;
		for (const auto &kv : env)
			spec.env.push_back(split_env(kv));
		// The VMM may run elsewhere than here (Firecracker reads
		// its paths from a file): make them absolute.
		for (std::string *p :
		     {&spec.kernel, &spec.initrd, &spec.rootfs})
			if (!p->empty())
				*p = std::filesystem::absolute(*p).string();
		if (opts.agent.empty())
			opts.agent = default_agent_path();
		if (!opts.attach.empty() || !opts.tenant.empty() ||
		    !policy_file.empty())
			return attach_and_run(opts, policy_file);
		if (opts.plugins.empty()) {
			const char *p = std::getenv("VACCEL_PLUGINS");
			opts.plugins = p != nullptr ? p : "";
		}
		// Handed to the agent as they are: its runtime resolves them
		// (src/core/plugin_path.h) where it runs, and the agent
		// refuses to start if one does not load.
		if (opts.plugins.find_first_not_of(':') == std::string::npos)
			throw ConfigError("no plugins for the agent: --plugins "
					  "or VACCEL_PLUGINS");

		if (dry_run) {
			if (spec.workdir.empty())
				spec.workdir = "/tmp/vaccel-vm-XXXXXX";
			if (spec.transport == Transport::Tcp)
				spec.bridge_command = {self_path(), "--bridge",
						       agent_socket_path(spec)};
			// The memfd a run makes, shown at the descriptor it
			// would most likely get.
			constexpr int kShownFd = 3;
			const int memory_fd =
			    spec.shm_size != 0 ? kShownFd : -1;
			if (spec.shm_size != 0)
				spec.shm_path =
				    "/proc/self/fd/" + std::to_string(kShownFd);
			std::cout
			    << "agent: VACCEL_PLUGINS="
			    << shell_quote(opts.plugins) << " "
			    << line_of(agent_argv(opts.agent, spec,
						  opts.agent_args, memory_fd))
			    << "\n";
			if (spec.vmm == Vmm::Qemu) {
				std::cout << "vmm: " << line_of(qemu_argv(spec))
					  << "\n";
			} else {
				const std::string cfg =
				    spec.workdir + "/firecracker.json";
				std::cout << "vmm: "
					  << line_of(firecracker_argv(
						 spec, opts.firecracker, cfg))
					  << "\n"
					  << firecracker_config(spec);
			}
			return 0;
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "vaccel-vm: %s\n", e.what());
		return 2;
	}
	try {
		return run_sandbox(std::move(opts));
	} catch (const std::exception &e) {
		std::fprintf(stderr, "vaccel-vm: %s\n", e.what());
		return kExitSetup;
	}
}
