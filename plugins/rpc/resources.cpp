// SPDX-License-Identifier: Apache-2.0
#include "resources.h"

#include "rpc/ext.pb.h"
#include "rpc/resource.pb.h"
#include "transport/content_hash.h"

#include <vaccel/log.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace vaccel::rpc_plugin
{

// The copies of one resource (res->plugin_priv). Ops look ids up while a
// failover elsewhere may add a copy: its own lock.
struct Resources::Copies {
	struct Copy {
		uint64_t generation;
		int64_t id;
		uint32_t sessions;
	};
	std::mutex mu;
	std::vector<Copy> list;
};

Resources::Resources(Client &client) : client_(client)
{
}

Resources::~Resources() = default;

namespace
{

using Copies = Resources::Copies;

Copies *copies_of(const vaccel_resource *res)
{
	return static_cast<Copies *>(res->plugin_priv);
}

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
Result<int64_t> ask_cached(Client &client, uint64_t generation, int64_t session,
			   const std::string &digest)
{
	auto features = client.features(generation);
	if (!features)
		return features.status();
	if (!features.value().model_cache)
		return int64_t{0};
	rpc::ext::CachedResource ask;
	ask.set_session_id(session);
	ask.set_resource_type(VACCEL_RESOURCE_MODEL);
	ask.set_digest(digest);
	rpc::resource::RegisterResponse resp;
	VACCEL_RETURN_IF_ERROR(client.call({.method = "RegisterCachedResource",
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
std::string indexed_digest(const Config &cfg, const vaccel_resource *res)
{
	const auto &index = cfg.model_digests;
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

} // namespace

// Registers @p res anew on the agent: by digest when the agent's model
// cache has it (from the index without reading the files, else from the
// files read), else by uploading its files. The agent's id of it.
Result<int64_t> Resources::upload(vaccel_resource *res, const Remote &session)
{
	rpc::resource::RegisterRequest req;
	req.set_session_id(session.id);
	req.set_resource_type(
	    static_cast<rpc::resource::ResourceType>(res->type));
	const Config &cfg = client_.config();
	const bool ask = cfg.model_cache;
	const std::string indexed = ask ? indexed_digest(cfg, res) : "";
	if (!indexed.empty()) {
		auto id = ask_cached(client_, session.generation, session.id,
				     indexed);
		if (!id || id.value() != 0)
			return id;
	}
	VACCEL_RETURN_IF_ERROR(describe_resource(res, &req, cfg.max_message));
	if (ask && indexed.empty()) {
		if (const std::string d = digest_of(req); !d.empty()) {
			auto id = ask_cached(client_, session.generation,
					     session.id, d);
			if (!id || id.value() != 0)
				return id;
		}
	}
	rpc::resource::RegisterResponse resp;
	VACCEL_RETURN_IF_ERROR(client_.call(
	    {.method = "RegisterResource", .generation = session.generation},
	    req, &resp));
	return resp.resource_id();
}

Status Resources::add(vaccel_resource *res, const Remote &session)
{
	std::lock_guard lock(mu_);
	Copies *c = copies_of(res);
	if (c == nullptr) {
		auto made = std::make_unique<Copies>();
		c = made.get();
		lists_.emplace(c, std::move(made));
		res->plugin_priv = c;
	}
	int64_t existing = 0;
	{
		std::lock_guard l(c->mu);
		for (const auto &copy : c->list)
			if (copy.generation == session.generation)
				existing = copy.id;
	}
	int64_t id = existing;
	if (existing != 0) {
		// Already on that connection, through another session of
		// ours: attach it.
		rpc::resource::RegisterRequest req;
		req.set_session_id(session.id);
		req.set_resource_type(
		    static_cast<rpc::resource::ResourceType>(res->type));
		req.set_resource_id(existing);
		rpc::resource::RegisterResponse resp;
		VACCEL_RETURN_IF_ERROR(
		    client_.call({.method = "RegisterResource",
				  .generation = session.generation},
				 req, &resp));
		id = resp.resource_id();
	} else {
		auto made = upload(res, session);
		if (!made)
			return made.status();
		id = made.value();
	}
	std::lock_guard l(c->mu);
	auto it =
	    std::find_if(c->list.begin(), c->list.end(), [&](const auto &x) {
		    return x.generation == session.generation;
	    });
	if (it == c->list.end())
		c->list.push_back({session.generation, id, 1});
	else
		++it->sessions;
	res->remote_id = id;
	vaccel_debug("[rpc] resource %lld is agent resource %lld (connection "
		     "%llu)",
		     static_cast<long long>(res->id),
		     static_cast<long long>(id),
		     static_cast<unsigned long long>(session.generation));
	return Status::ok();
}

Status Resources::remove(vaccel_resource *res, const Remote &session,
			 bool reach_agent)
{
	std::lock_guard lock(mu_);
	Copies *c = copies_of(res);
	Status st;
	if (c != nullptr) {
		int64_t id = 0;
		{
			std::lock_guard l(c->mu);
			for (const auto &copy : c->list)
				if (copy.generation == session.generation)
					id = copy.id;
		}
		if (id != 0 && reach_agent) {
			rpc::resource::UnregisterRequest req;
			req.set_resource_id(id);
			req.set_session_id(session.id);
			st = client_.call({.method = "UnregisterResource",
					   .generation = session.generation},
					  req, nullptr);
		}
		left(res, session.generation);
	}
	// The runtime has already dropped this session from the resource:
	// at 0 every agent has released its copy too.
	if (vaccel_resource_refcount(res) == 0) {
		lists_.erase(copies_of(res));
		res->plugin_priv = nullptr;
		res->remote_id = 0;
	}
	return st;
}

void Resources::left(vaccel_resource *res, uint64_t generation)
{
	Copies *c = copies_of(res);
	if (c == nullptr)
		return;
	std::lock_guard l(c->mu);
	auto it =
	    std::find_if(c->list.begin(), c->list.end(), [&](const auto &x) {
		    return x.generation == generation;
	    });
	if (it != c->list.end() && --it->sessions == 0)
		c->list.erase(it);
}

Result<Remote> Resources::find(const vaccel_resource *res, uint64_t generation)
{
	if (res == nullptr)
		return Status(VACCEL_EINVAL, "resource is NULL");
	Copies *c = copies_of(res);
	if (c == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "resource %lld is not registered with an "
				     "rpc session",
				     static_cast<long long>(res->id));
	std::lock_guard l(c->mu);
	for (const auto &copy : c->list)
		if (copy.generation == generation)
			return Remote{copy.id, generation};
	return Status::error(VACCEL_EIO,
			     "resource %lld is not on this session's agent "
			     "connection (registered with another session, or "
			     "on a lost connection)",
			     static_cast<long long>(res->id));
}

} // namespace vaccel::rpc_plugin
