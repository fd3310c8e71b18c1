// SPDX-License-Identifier: Apache-2.0
// The rpc plugin (libvaccel-rpc.so): runs every op on a remote vaccel-agent
// over ttrpc (docs/protocol.md). This file holds the plugin object and the
// session/resource hooks, which mirror sessions and resources on the agent;
// ops.cpp holds the ops; client.h the connection. Settings: config.h.
#include "plugin.h"
#include "remote_profile.h"

#include <vaccel/ext.h>

#include "rpc/ext.pb.h"
#include "rpc/resource.pb.h"
#include "rpc/session.pb.h"
#include "transport/content_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>

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
		rpc::session::CreateRequest req;
		req.set_flags(flags);
		rpc::session::CreateResponse resp;
		uint64_t gen = 0;
		Status st = plugin().client.call({.method = "CreateSession"},
						 req, &resp, &gen);
		if (!st)
			return st.code();
		sess->remote_id = resp.session_id();
		sess->priv = generation_to_priv(gen);
		vaccel_debug("[rpc] session %lld is agent session %lld",
			     static_cast<long long>(sess->id),
			     static_cast<long long>(sess->remote_id));
		return VACCEL_OK;
	});
}

int session_update(vaccel_session *sess, uint32_t flags)
{
	return guarded("session update", [&]() -> int {
		auto remote = remote_session(sess);
		if (!remote)
			return fail("session update", remote.status());
		rpc::session::UpdateRequest req;
		req.set_session_id(remote->id);
		req.set_flags(flags);
		return plugin()
		    .client
		    .call({.method = "UpdateSession",
			   .generation = remote->generation},
			  req, nullptr)
		    .code();
	});
}

int session_release(vaccel_session *sess)
{
	return guarded("session release", [&]() -> int {
		auto remote = remote_session(sess);
		if (!remote)
			return VACCEL_OK; // nothing on the agent
		print_remote_profile(*remote);
		rpc::session::DestroyRequest req;
		req.set_session_id(remote->id);
		Status st =
		    plugin().client.call({.method = "DestroySession",
					  .generation = remote->generation},
					 req, nullptr);
		// The local session goes whatever happens: if the connection
		// is gone, so is the agent's session.
		sess->remote_id = 0;
		sess->priv = nullptr;
		return st.code();
	});
}

// ---- resources ------------------------------------------------------

// A file's bytes, read with plain I/O (vaccel_blob_data() would map the
// file and change the blob under other threads' feet).
Status read_file(const char *path, size_t budget, std::string *out)
{
	int fd = ::open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return Status::error(VACCEL_EIO, "cannot open %s: %s", path,
				     std::strerror(errno));
	struct stat sb {
	};
	if (::fstat(fd, &sb) != 0) {
		int err = errno;
		::close(fd);
		return Status::error(VACCEL_EIO, "cannot stat %s: %s", path,
				     std::strerror(err));
	}
	const auto size = static_cast<size_t>(sb.st_size);
	if (size > budget) {
		::close(fd);
		return Status::error(VACCEL_EINVAL,
				     "%s: %zu bytes exceed what one request "
				     "may carry (VACCEL_RPC_MAX_MESSAGE, "
				     "4 GiB per blob)",
				     path, size);
	}
	out->resize(size);
	size_t done = 0;
	while (done < size) {
		ssize_t n = ::read(fd, out->data() + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			::close(fd);
			return Status::error(VACCEL_EIO, "cannot read %s: %s",
					     path, std::strerror(err));
		}
		done += static_cast<size_t>(n);
	}
	::close(fd);
	return Status::ok();
}

// Fills @p req with what the agent needs to create @p res: URL resources
// travel as their URLs (the host downloads them itself); everything else
// as the bytes of its files. @p budget bounds the bytes of all blobs: a
// request above one frame goes as a chunked call (Client::call), so a
// model of any size up to the message limit can be registered.
Status describe_resource(const vaccel_resource *res,
			 rpc::resource::RegisterRequest *req, uint64_t budget)
{
	// Each blob's size travels as a uint32 (upstream's Blob.size).
	constexpr uint64_t kMaxBlob = UINT32_MAX;
	if (res->path_type == VACCEL_PATH_REMOTE_FILE) {
		for (size_t i = 0; i < res->nr_paths; ++i)
			req->add_paths(res->paths[i]);
		return Status::ok();
	}
	uint64_t left = budget;
	for (size_t i = 0; i < res->nr_blobs; ++i) {
		const vaccel_blob *b = res->blobs[i];
		if (b == nullptr)
			continue;
		auto *out = req->add_blobs();
		out->set_name(b->name != nullptr ? b->name : "");
		if (b->path != nullptr) {
			out->set_type_(rpc::resource::FILE);
			VACCEL_RETURN_IF_ERROR(
			    read_file(b->path, std::min(left, kMaxBlob),
				      out->mutable_data()));
		} else {
			out->set_type_(rpc::resource::BUFFER);
			if (b->size > std::min(left, kMaxBlob))
				return Status::error(
				    VACCEL_EINVAL,
				    "blob %s: %zu bytes exceed what one "
				    "request may carry "
				    "(VACCEL_RPC_MAX_MESSAGE, "
				    "4 GiB per blob)",
				    out->name().c_str(), b->size);
			if (b->data != nullptr)
				out->set_data(b->data, b->size);
		}
		left -= out->data().size();
		out->set_size(static_cast<uint32_t>(out->data().size()));
	}
	return Status::ok();
}

// Asks the agent to register a model it already holds under @p digest
// (feature "model-cache"), instead of uploading its files. The agent's id
// of the model, or 0 when it has none (or takes no such question).
Result<int64_t> ask_cached(RpcPlugin &p, uint64_t generation, int64_t session,
			   const std::string &digest)
{
	auto features = p.client.features(generation);
	if (!features)
		return features.status();
	if (!features.value().model_cache)
		return int64_t{0};
	rpc::ext::CachedResource ask;
	ask.set_session_id(session);
	ask.set_resource_type(VACCEL_RESOURCE_MODEL);
	ask.set_digest(digest);
	rpc::resource::RegisterResponse resp;
	VACCEL_RETURN_IF_ERROR(
	    p.client.call({.method = "RegisterCachedResource",
			   .generation = generation,
			   .service = transport::kServiceData},
			  ask, &resp));
	return resp.resource_id();
}

// The digest of @p req's blobs, as the agent's cache keys models; "" for
// what the cache does not hold.
std::string digest_of(const rpc::resource::RegisterRequest &req)
{
	if (req.resource_type() != rpc::resource::MODEL ||
	    req.blobs_size() == 0)
		return {};
	transport::ResourceDigest digest;
	for (const auto &b : req.blobs())
		digest.add(b.name(), b.data());
	return digest.finish();
}

// The digest VACCEL_RPC_MODEL_DIGESTS gives a model of files, found
// without reading them; "" when the index has none for them as they are.
std::string indexed_digest(const RpcPlugin &p, const vaccel_resource *res)
{
	const auto &index = p.client.config().model_digests;
	if (!index || res->type != VACCEL_RESOURCE_MODEL ||
	    res->path_type == VACCEL_PATH_REMOTE_FILE || res->nr_blobs == 0)
		return {};
	std::vector<std::string> paths;
	for (size_t i = 0; i < res->nr_blobs; ++i) {
		const vaccel_blob *b = res->blobs[i];
		if (b == nullptr || b->path == nullptr)
			return {}; // a buffer: only its bytes name it
		paths.emplace_back(b->path);
	}
	return index->find(paths);
}

// Registers @p res anew on the agent: by digest when the agent's model
// cache has it (from the index without reading the files, else from the
// files read), else by uploading its files. The agent's id of it.
Result<int64_t> register_new(RpcPlugin &p, const vaccel_resource *res,
			     rpc::resource::RegisterRequest &req,
			     uint64_t generation)
{
	const bool ask = p.client.config().model_cache;
	const std::string indexed = ask ? indexed_digest(p, res) : "";
	if (!indexed.empty()) {
		auto id = ask_cached(p, generation, req.session_id(), indexed);
		if (!id || id.value() != 0)
			return id;
	}
	VACCEL_RETURN_IF_ERROR(
	    describe_resource(res, &req, p.client.config().max_message));
	if (ask && indexed.empty()) {
		if (const std::string d = digest_of(req); !d.empty()) {
			auto id =
			    ask_cached(p, generation, req.session_id(), d);
			if (!id || id.value() != 0)
				return id;
		}
	}
	rpc::resource::RegisterResponse resp;
	VACCEL_RETURN_IF_ERROR(p.client.call(
	    {.method = "RegisterResource", .generation = generation}, req,
	    &resp));
	return resp.resource_id();
}

int resource_register(vaccel_resource *res, vaccel_session *sess)
{
	return guarded("resource register", [&]() -> int {
		auto remote = remote_session(sess);
		if (!remote)
			return fail("resource register", remote.status());
		RpcPlugin &p = plugin();
		std::lock_guard lock(p.resource_mu);

		rpc::resource::RegisterRequest req;
		req.set_session_id(remote->id);
		req.set_resource_type(
		    static_cast<rpc::resource::ResourceType>(res->type));
		// Already on the agent, through another session of ours on
		// this connection: attach it. A remote id from a lost
		// connection is stale and the resource is sent again.
		const bool exists =
		    res->remote_id != 0 &&
		    priv_to_generation(res->plugin_priv) == remote->generation;
		int64_t id = 0;
		if (exists) {
			req.set_resource_id(res->remote_id);
			rpc::resource::RegisterResponse resp;
			Status st =
			    p.client.call({.method = "RegisterResource",
					   .generation = remote->generation},
					  req, &resp);
			if (!st)
				return fail("resource register", st);
			id = resp.resource_id();
		} else {
			auto made =
			    register_new(p, res, req, remote->generation);
			if (!made)
				return fail("resource register", made.status());
			id = made.value();
		}
		res->remote_id = id;
		res->plugin_priv = generation_to_priv(remote->generation);
		vaccel_debug("[rpc] resource %lld is agent resource %lld",
			     static_cast<long long>(res->id),
			     static_cast<long long>(res->remote_id));
		return VACCEL_OK;
	});
}

int resource_unregister(vaccel_resource *res, vaccel_session *sess)
{
	return guarded("resource unregister", [&]() -> int {
		auto remote = remote_session(sess);
		RpcPlugin &p = plugin();
		std::lock_guard lock(p.resource_mu);
		Status st;
		if (remote && res->remote_id != 0 &&
		    priv_to_generation(res->plugin_priv) ==
			remote->generation) {
			rpc::resource::UnregisterRequest req;
			req.set_resource_id(res->remote_id);
			req.set_session_id(remote->id);
			st = p.client.call({.method = "UnregisterResource",
					    .generation = remote->generation},
					   req, nullptr);
		}
		// The runtime has already dropped this session from the
		// resource: at 0 the agent has released its copy too.
		if (vaccel_resource_refcount(res) == 0) {
			res->remote_id = 0;
			res->plugin_priv = nullptr;
		}
		return st.code();
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
	return guarded("resource sync", [&]() -> int {
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

int rpc_init()
{
	return run_guarded("init", []() -> int {
		auto cfg = config_from_env();
		if (!cfg)
			return fail("init", cfg.status());
		vaccel_debug("[rpc] agent address %s, call timeout %lld ms, "
			     "max frame %u",
			     cfg->address_text.c_str(),
			     static_cast<long long>(cfg->call_timeout.count()),
			     cfg->max_frame);
		// Local agent, shared memory on: large tensors that vAccel
		// allocates live in shared memory from the start, and reach
		// the agent without the copy into a region (ops.cpp).
		using Kind = transport::Address::Kind;
		if (cfg->shm && (cfg->address.kind == Kind::Unix ||
				 cfg->address.kind == Kind::UnixAbstract))
			vaccel_shared_memory_enable(
			    std::max<uint64_t>(cfg->shm_threshold, 1));
		g_plugin = new RpcPlugin(std::move(cfg).value());
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

Result<Remote> remote_session(const vaccel_session *sess)
{
	if (sess == nullptr)
		return Status(VACCEL_EINVAL, "session is NULL");
	if (sess->remote_id == 0 || sess->priv == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "session %lld has no agent session (not "
				     "created through the rpc plugin)",
				     static_cast<long long>(sess->id));
	return Remote{sess->remote_id, priv_to_generation(sess->priv)};
}

Result<Remote> remote_resource(const vaccel_resource *res, uint64_t generation)
{
	if (res == nullptr)
		return Status(VACCEL_EINVAL, "resource is NULL");
	if (res->remote_id == 0)
		return Status::error(VACCEL_EINVAL,
				     "resource %lld is not registered with an "
				     "rpc session",
				     static_cast<long long>(res->id));
	if (priv_to_generation(res->plugin_priv) != generation)
		return Status::error(VACCEL_EIO,
				     "resource %lld was registered on a lost "
				     "agent connection",
				     static_cast<long long>(res->id));
	return Remote{res->remote_id, generation};
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
