// SPDX-License-Identifier: Apache-2.0
// The rpc plugin (libvaccel-rpc.so): runs every op on a remote vaccel-agent
// over ttrpc (docs/protocol.md). This file holds the plugin object and the
// session/resource hooks, which mirror sessions and resources on the agent
// (sessions.h and resources.h keep what they mirror; failover.h moves
// them when an agent goes away); ops.cpp holds the ops; client.h the
// connections; pool.h the agents. Settings: config.h.
#include "plugin.h"
#include "pool.h"
#include "remote_profile.h"
#include "sandbox_device.h"

#include <vaccel/ext.h>

#include "rpc/resource.pb.h"
#include "rpc/session.pb.h"
#include "transport/sandbox_memory.h"
#include "transport/spare_cores.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <thread>

namespace vaccel::rpc_plugin
{
namespace
{

// The one object of the plugin (see plugin.h). Owned here; not a
// smart pointer so that nothing runs at library unload if fini was never
// called.
RpcPlugin *g_plugin = nullptr;

// ---- sessions -----------------------------------------------------------

int session_init(vaccel_session *sess, uint32_t flags)
{
	return guarded("session init", [&]() -> int {
		Status st = plugin().sessions.create(sess, flags);
		if (!st)
			return st.code();
		vaccel_debug("[rpc] session %lld is agent session %lld",
			     static_cast<long long>(sess->id),
			     static_cast<long long>(sess->remote_id));
		return VACCEL_OK;
	});
}

int session_update(vaccel_session *sess, uint32_t flags)
{
	return session_op("session update", sess, Replay::Pure, [&]() -> int {
		auto rec = Sessions::record(sess);
		if (!rec)
			return fail("session update", rec.status());
		auto remote = remote_session(sess);
		rpc::session::UpdateRequest req;
		req.set_session_id(remote->id);
		req.set_flags(flags);
		Status st =
		    plugin().client.call({.method = "UpdateSession",
					  .generation = remote->generation},
					 req, nullptr);
		if (st) {
			// A session made again elsewhere gets these flags.
			std::lock_guard lock(rec.value()->mu);
			rec.value()->flags = flags;
		}
		return st.code();
	});
}

int session_release(vaccel_session *sess)
{
	return guarded("session release", [&]() -> int {
		if (auto remote = remote_session(sess))
			print_remote_profile(*remote);
		return plugin().sessions.release(sess).code();
	});
}

// ---- resources ------------------------------------------------------

int resource_register(vaccel_resource *res, vaccel_session *sess)
{
	const char *what = "resource register";
	return session_op(what, sess, Replay::Pure, [&]() -> int {
		auto rec = Sessions::record(sess);
		if (!rec)
			return fail(what, rec.status());
		SessionRecord &r = *rec.value();
		// Not under r.mu while the bytes travel: the session's other
		// calls go on. If it moved meanwhile, the resource goes to
		// where it is now.
		for (;;) {
			Remote remote;
			{
				std::lock_guard lock(r.mu);
				remote = r.remote;
			}
			Status st = plugin().resources.add(res, remote);
			if (!st)
				return fail(what, st);
			std::lock_guard lock(r.mu);
			if (r.remote.generation == remote.generation) {
				r.resources.push_back(res);
				return VACCEL_OK;
			}
			plugin().resources.left(res, remote.generation);
		}
	});
}

int resource_unregister(vaccel_resource *res, vaccel_session *sess)
{
	return guarded("resource unregister", [&]() -> int {
		auto rec = Sessions::record(sess);
		Remote remote;
		if (rec) {
			SessionRecord &r = *rec.value();
			std::lock_guard lock(r.mu);
			remote = r.remote;
			std::erase(r.resources, res);
			std::erase_if(r.loads, [&](const ModelLoad &l) {
				return l.model == res;
			});
		}
		// A session on a lost connection: its copy died there.
		const bool up =
		    rec && plugin().client.pool().alive(remote.generation);
		return plugin().resources.remove(res, remote, up).code();
	});
}

// Writes @p data over the file at @p path (same size), so that a mapping
// of it sees the new bytes.
Status overwrite_file(const char *path, const std::string &data)
{
	int fd = ::open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return Status::error(VACCEL_EIO, "cannot open %s: %s", path,
				     std::strerror(errno));
	size_t done = 0;
	while (done < data.size()) {
		ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
				     static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			::close(fd);
			return Status::error(VACCEL_EIO, "cannot write %s: %s",
					     path, std::strerror(err));
		}
		done += static_cast<size_t>(n);
	}
	::close(fd);
	return Status::ok();
}

int resource_sync(vaccel_resource *res, vaccel_session *sess)
{
	return session_op("resource sync", sess, Replay::Pure, [&]() -> int {
		auto remote = remote_session(sess);
		if (!remote)
			return fail("resource sync", remote.status());
		auto rres = remote_resource(res, remote->generation);
		if (!rres)
			return fail("resource sync", rres.status());
		rpc::resource::SyncRequest req;
		req.set_resource_id(rres->id);
		rpc::resource::SyncResponse resp;
		Status st =
		    plugin().client.call({.method = "SyncResource",
					  .generation = remote->generation},
					 req, &resp);
		if (!st)
			return st.code();
		// Blobs are matched by position; only same-sized ones are
		// refreshed (the local buffers cannot grow).
		const size_t n = std::min(
		    res->nr_blobs, static_cast<size_t>(resp.blobs_size()));
		for (size_t i = 0; i < n; ++i) {
			vaccel_blob *b = res->blobs[i];
			const std::string &data =
			    resp.blobs(static_cast<int>(i)).data();
			if (b == nullptr)
				continue;
			if (b->path != nullptr) {
				struct stat sb {
				};
				if (::stat(b->path, &sb) != 0 ||
				    static_cast<size_t>(sb.st_size) !=
					data.size())
					continue;
				st = overwrite_file(b->path, data);
				if (!st)
					return fail("resource sync", st);
			} else if (b->data != nullptr &&
				   b->size == data.size()) {
				std::memcpy(b->data, data.data(), data.size());
			}
		}
		return VACCEL_OK;
	});
}

// ---- lifecycle ------------------------------------------------------

// In a VM, its sandbox memory (sandbox_device.h), handed to vAccel's shared
// memory so that tensors and buffers live there from the start; null when
// there is none or it cannot be used (said why: no device is normal, one
// that cannot be used is worth a warning).
std::shared_ptr<const SandboxDevice> open_sandbox_memory(const Config &cfg)
{
	auto dev = SandboxDevice::open(cfg.ivshmem_devices);
	if (!dev) {
		if (dev.status().code() == VACCEL_ENODEV)
			vaccel_debug("[rpc] %s; data is copied",
				     dev.status().message().c_str());
		else
			vaccel_warn("[rpc] sandbox memory: %s; data is copied",
				    dev.status().message().c_str());
		return nullptr;
	}
	const SandboxDevice &d = *dev.value();
	// EEXIST: adopted already, by an earlier init of this process.
	const int rc = vaccel_shared_memory_adopt(
	    d.base(), d.size(), transport::kSandboxHeaderSize,
	    std::max<uint64_t>(cfg.shm_threshold, 1));
	if (rc != VACCEL_OK && rc != VACCEL_EEXIST) {
		vaccel_warn("[rpc] sandbox memory %s: cannot serve vAccel's "
			    "shared memory (%d); data is copied",
			    d.path().c_str(), rc);
		return nullptr;
	}
	vaccel_info("[rpc] sandbox memory %s: %zu bytes", d.path().c_str(),
		    d.size());
	return std::move(dev).value();
}

// What a new process's first session and first tensor would wait for (its
// run directory; the pages of a tensor in shared memory, which the kernel
// allocates and zeroes one by one), made on a thread of our own while the
// program starts. On a host whose cores are all taken the thread
// would only slow the program down: those wait as they did without it.
void start_ahead(RpcPlugin &p, bool enabled, uint64_t prewarm)
{
	if (!enabled || !transport::cores_to_spare())
		return;
	try {
		p.ahead = std::jthread([&p, prewarm] {
			(void)vaccel_session_prepare_rundir();
			if (prewarm > 0)
				(void)vaccel_shared_memory_prewarm(prewarm);
			p.copies.start();
		});
	} catch (const std::system_error &e) {
		vaccel_debug("[rpc] no start-up thread: %s", e.what());
	}
}

int rpc_init()
{
	return run_guarded("init", []() -> int {
		auto cfg = config_from_env();
		if (!cfg)
			return fail("init", cfg.status());
		vaccel_debug("[rpc] agent address %s (%zu entries), call "
			     "timeout %lld ms, max frame %u",
			     cfg->address_text.c_str(), cfg->endpoints.size(),
			     static_cast<long long>(cfg->call_timeout.count()),
			     cfg->max_frame);
		// Local agent, shared memory on: large tensors that vAccel
		// allocates live in shared memory from the start, and reach
		// the agent without the copy into a region (ops.cpp).
		// In a VM (any other transport), its sandbox memory takes
		// that place when it has one.
		std::shared_ptr<const SandboxDevice> device;
		if (cfg->shm && cfg->any_local())
			vaccel_shared_memory_enable(
			    std::max<uint64_t>(cfg->shm_threshold, 1));
		else if (cfg->shm && !cfg->ivshmem_devices.empty())
			device = open_sandbox_memory(*cfg);
		const bool ahead = cfg->start_ahead;
		const uint64_t prewarm =
		    cfg->shm && cfg->any_local() ? cfg->shm_prewarm : 0;
		g_plugin =
		    new RpcPlugin(std::move(cfg).value(), std::move(device));
		start_ahead(*g_plugin, ahead, prewarm);
		int rc = register_ops();
		if (rc != VACCEL_OK) {
			delete std::exchange(g_plugin, nullptr);
			return rc;
		}
		return VACCEL_OK;
	});
}

int rpc_fini()
{
	return run_guarded("fini", []() -> int {
		delete std::exchange(g_plugin, nullptr);
		return VACCEL_OK;
	});
}

} // namespace

RpcPlugin &plugin() noexcept
{
	return *g_plugin;
}

} // namespace vaccel::rpc_plugin

VACCEL_PLUGIN(.name = "rpc", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION,
	      .init = vaccel::rpc_plugin::rpc_init,
	      .fini = vaccel::rpc_plugin::rpc_fini, .is_virtio = true,
	      .type = VACCEL_PLUGIN_REMOTE,
	      .session_init = vaccel::rpc_plugin::session_init,
	      .session_release = vaccel::rpc_plugin::session_release,
	      .session_update = vaccel::rpc_plugin::session_update,
	      .resource_register = vaccel::rpc_plugin::resource_register,
	      .resource_unregister = vaccel::rpc_plugin::resource_unregister,
	      .resource_sync = vaccel::rpc_plugin::resource_sync)
