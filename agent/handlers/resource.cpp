// SPDX-License-Identifier: Apache-2.0
// RegisterResource, UnregisterResource, SyncResource.
//
// A resource the guest creates arrives as blobs (its files' bytes) or, for
// URL resources, as URLs the host downloads itself. Blobs become real files
// in a directory of their own under the agent's run directory, keeping
// their names: backends open models by path and the exec plugin dlopen()s
// libraries whose names (and sonames) matter. Local paths are refused: a
// guest must not make the host read (and, through SyncResource, send back)
// arbitrary host files.
#include "handlers.h"

#include "../audit.h"
#include "../url_fetch.h"
#include "transport/content_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vaccel::agent::handlers
{

namespace
{

// Removes a directory tree on scope exit unless released.
class DirGuard
{
public:
	explicit DirGuard(std::string dir) : dir_(std::move(dir)) {}
	DirGuard(const DirGuard &) = delete;
	DirGuard &operator=(const DirGuard &) = delete;
	~DirGuard()
	{
		if (dir_.empty())
			return;
		std::error_code ec;
		std::filesystem::remove_all(dir_, ec);
	}
	std::string release() { return std::exchange(dir_, {}); }

private:
	std::string dir_;
};

// A file name that stays inside the resource's directory: no '/', no NUL,
// never "." or ".."; duplicates get "-N" before the first extension dot
// ("libfoo.so" -> "libfoo-1.so") so the extension dlopen() users expect
// survives.
std::string file_name(const std::string &raw, size_t index,
		      std::set<std::string> &taken)
{
	std::string name = raw;
	for (char &c : name)
		if (c == '/' || c == '\0')
			c = '_';
	if (name.empty() || name == "." || name == "..")
		name = "blob" + std::to_string(index);
	if (taken.insert(name).second)
		return name;
	const size_t dot = name.find('.', 1);
	const std::string stem = name.substr(0, dot);
	const std::string ext =
	    dot == std::string::npos ? "" : name.substr(dot);
	for (size_t n = 1;; ++n) {
		std::string candidate = stem + "-" + std::to_string(n) + ext;
		if (taken.insert(candidate).second)
			return candidate;
	}
}

RpcStatus write_file(const std::string &path, const std::string &data)
{
	int fd =
	    ::open(path.c_str(),
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return RpcStatus::vaccel(VACCEL_EIO, "cannot create %s: %s",
					 path.c_str(), std::strerror(errno));
	size_t done = 0;
	while (done < data.size()) {
		ssize_t n = ::write(fd, data.data() + done, data.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;
			::close(fd);
			return RpcStatus::vaccel(
			    VACCEL_EIO, "cannot write %s: %s", path.c_str(),
			    std::strerror(err));
		}
		done += static_cast<size_t>(n);
	}
	if (::close(fd) != 0)
		return RpcStatus::vaccel(VACCEL_EIO, "cannot write %s: %s",
					 path.c_str(), std::strerror(errno));
	return RpcStatus::ok();
}

RpcStatus make_resource(const std::vector<std::string> &paths,
			vaccel_resource_type_t type, std::string dir,
			std::shared_ptr<HostResource> *out)
{
	std::vector<const char *> cpaths;
	cpaths.reserve(paths.size());
	for (const auto &p : paths)
		cpaths.push_back(p.c_str());
	DirGuard guard(std::move(dir));
	vaccel_resource *raw = nullptr;
	int rc =
	    vaccel_resource_multi_new(&raw, cpaths.data(), cpaths.size(), type);
	if (rc != VACCEL_OK)
		return vaccel_call(rc, "resource init", 0);
	*out = std::make_shared<HostResource>(raw, guard.release());
	return RpcStatus::ok();
}

bool is_torchscript(std::string_view head)
{
	return head.starts_with(std::string_view("PK\x03\x04", 4));
}

// A TorchScript model is a program whose code can read and write host
// files (torch.from_file): whichever op runs it (model run, or image
// classification, which the torch plugin serves with the session's model),
// registering one as a model needs the torch op class. TorchScript
// archives are zip files, which no other backend here loads as a model.
RpcStatus allow_model_file(Context &ctx, std::string_view head)
{
	if (!is_torchscript(head))
		return RpcStatus::ok();
	return ctx.tenant.allow(
	    OpClass::Torch, "RegisterResource (TorchScript model)", ctx.conn);
}

// allow_model_file() on the first bytes of the file at @p path.
RpcStatus allow_model_path(Context &ctx, const std::string &path)
{
	char head[4] = {};
	std::ifstream in(path, std::ios::binary);
	in.read(head, sizeof(head));
	return allow_model_file(
	    ctx, std::string_view(head, static_cast<size_t>(in.gcount())));
}

RpcStatus from_blobs(Context &ctx, rpc::resource::RegisterRequest &req,
		     vaccel_resource_type_t type,
		     std::shared_ptr<HostResource> *out)
{
	uint64_t bytes = 0;
	for (const auto &blob : req.blobs()) {
		bytes += blob.data().size();
		if (type == VACCEL_RESOURCE_MODEL)
			AGENT_RETURN_IF_ERROR(
			    allow_model_file(ctx, blob.data()));
	}
	Charge disk;
	AGENT_RETURN_IF_ERROR(Charge::take(ctx.tenant, Limit::DiskBytes, bytes,
					   "RegisterResource", ctx.conn,
					   &disk));
	const char *rundir = vaccel_rundir();
	// Empty: not made yet (plugins deferred); never the root's.
	if (rundir == nullptr || *rundir == '\0')
		return RpcStatus::vaccel(VACCEL_ESESS,
					 "runtime not initialized");
	std::string tmpl = std::string(rundir) + "/agent-res-XXXXXX";
	if (::mkdtemp(tmpl.data()) == nullptr)
		return RpcStatus::vaccel(VACCEL_EIO, "cannot create %s: %s",
					 tmpl.c_str(), std::strerror(errno));
	DirGuard guard(tmpl);

	std::set<std::string> taken;
	std::vector<std::string> paths;
	paths.reserve(static_cast<size_t>(req.blobs_size()));
	for (int i = 0; i < req.blobs_size(); ++i) {
		const auto &blob = req.blobs(i);
		if (blob.name().size() > ctx.limits.max_name)
			return RpcStatus::invalid(
			    "blob %d: name of %zu bytes exceeds %zu", i,
			    blob.name().size(), ctx.limits.max_name);
		std::string path =
		    tmpl + "/" +
		    file_name(blob.name(), static_cast<size_t>(i), taken);
		AGENT_RETURN_IF_ERROR(write_file(path, blob.data()));
		paths.push_back(std::move(path));
	}
	AGENT_RETURN_IF_ERROR(make_resource(paths, type, guard.release(), out));
	HostResource &host = **out;
	host.hold(std::move(disk));
	host.bytes = bytes;
	// What the exec policy names a shared object by (never loaded
	// otherwise); only libraries can be exec'd.
	if (type == VACCEL_RESOURCE_LIB)
		for (const auto &blob : req.blobs())
			host.sha256.push_back(
			    transport::sha256_hex(blob.data()));
	if (type == VACCEL_RESOURCE_MODEL) {
		transport::ResourceDigest digest;
		for (const auto &blob : req.blobs()) {
			digest.add(blob.name(), blob.data());
			host.torchscript |= is_torchscript(blob.data());
		}
		host.digest = digest.finish();
	}
	return RpcStatus::ok();
}

// URL resources: the host downloads them itself, under the tenant's URL
// policy (url_fetch.h), into the resource's own directory; local paths are
// never accepted.
RpcStatus from_urls(Context &ctx, rpc::resource::RegisterRequest &req,
		    vaccel_resource_type_t type,
		    std::shared_ptr<HostResource> *out)
{
	const UrlPolicy &policy = ctx.tenant.policy().url;
	const std::string &rule = ctx.tenant.table();
	for (int i = 0; i < req.paths_size(); ++i) {
		const std::string &p = req.paths(i);
		if (p.rfind("http://", 0) != 0 && p.rfind("https://", 0) != 0)
			return RpcStatus::invalid(
			    "path %d: only http(s) URLs are accepted (send "
			    "local files as blobs)",
			    i);
		RpcStatus st = check_url(policy, p, rule);
		if (!st.is_ok()) {
			if (st.code() == RpcCode::PermissionDenied)
				audit::refused(ctx.tenant.name(), ctx.conn,
					       "RegisterResource",
					       rule + ".url", st.message());
			return st;
		}
	}
	Charge fetching;
	AGENT_RETURN_IF_ERROR(Charge::take(ctx.tenant, Limit::UrlFetches, 1,
					   "RegisterResource", ctx.conn,
					   &fetching));
	const char *rundir = vaccel_rundir();
	// Empty: not made yet (plugins deferred); never the root's.
	if (rundir == nullptr || *rundir == '\0')
		return RpcStatus::vaccel(VACCEL_ESESS,
					 "runtime not initialized");
	std::string dir = std::string(rundir) + "/agent-url-XXXXXX";
	if (::mkdtemp(dir.data()) == nullptr)
		return RpcStatus::vaccel(VACCEL_EIO,
					 "cannot create a resource directory");
	DirGuard guard(dir);
	Charge disk;
	AGENT_RETURN_IF_ERROR(Charge::take(ctx.tenant, Limit::DiskBytes, 0,
					   "RegisterResource", ctx.conn,
					   &disk));
	std::vector<std::string> paths;
	for (int i = 0; i < req.paths_size(); ++i) {
		const std::string &url = req.paths(i);
		const size_t slash = url.find_last_of('/');
		std::string name = url.substr(slash + 1);
		name = name.substr(0, name.find_first_of("?#"));
		if (name.empty() || name == "." || name == ".." ||
		    name.size() > ctx.limits.max_name)
			name = "file";
		std::string path = dir + "/" + std::to_string(i) + "-" + name;
		AGENT_RETURN_IF_ERROR(fetch_url(policy, url, path, rule));
		if (type == VACCEL_RESOURCE_MODEL)
			AGENT_RETURN_IF_ERROR(allow_model_path(ctx, path));
		std::error_code ec;
		const auto size = std::filesystem::file_size(path, ec);
		if (ec || !disk.grow(size))
			return RpcStatus::exhausted(
			    "tenant %s: quota disk_bytes (%llu) reached",
			    ctx.tenant.name().c_str(),
			    static_cast<unsigned long long>(
				ctx.tenant.cap(Limit::DiskBytes)));
		paths.push_back(std::move(path));
	}
	AGENT_RETURN_IF_ERROR(make_resource(paths, type, guard.release(), out));
	(*out)->hold(std::move(disk));
	return RpcStatus::ok();
}

RpcStatus create(Context &ctx, rpc::resource::RegisterRequest &req,
		 AgentSession &sess, std::shared_ptr<AgentResource> *out)
{
	const int type = req.resource_type();
	if (type < VACCEL_RESOURCE_LIB || type > VACCEL_RESOURCE_MODEL)
		return RpcStatus::invalid("resource type %d is unknown", type);
	const size_t count = static_cast<size_t>(
	    req.blobs_size() > 0 ? req.blobs_size() : req.paths_size());
	if (count == 0)
		return RpcStatus::invalid("no paths or blobs provided");
	if (count > ctx.limits.max_blobs)
		return RpcStatus::invalid("%zu files exceed the limit of %zu",
					  count, ctx.limits.max_blobs);
	const auto vtype = static_cast<vaccel_resource_type_t>(type);
	Charge quota;
	AGENT_RETURN_IF_ERROR(Charge::take(ctx.tenant, Limit::Resources, 1,
					   "RegisterResource", ctx.conn,
					   &quota));
	std::shared_ptr<HostResource> host;
	AGENT_RETURN_IF_ERROR(req.blobs_size() > 0
				  ? from_blobs(ctx, req, vtype, &host)
				  : from_urls(ctx, req, vtype, &host));
	// A model the cache has (the same bytes, uploaded by this tenant or
	// public) replaces the copy just written: no second load. Unless the
	// session holds that copy already (the same model registered twice):
	// a resource is registered with a session once.
	if (!host->digest.empty()) {
		auto cached = ctx.service.model_cache().adopt(ctx.tenant, host);
		if (!sess.holds(cached->get()->id))
			host = std::move(cached);
	}
	*out = std::make_shared<AgentResource>(std::move(host));
	(*out)->hold_count(std::move(quota));
	return RpcStatus::ok();
}

// The bytes of one blob, read from its file when it has one: the runtime
// maps a file blob's data lazily, and doing that here could race an op that
// uses the same blob on another worker.
RpcStatus blob_bytes(vaccel_blob *blob, size_t budget, std::string *out)
{
	if (blob->path == nullptr) {
		if (blob->size > budget)
			return RpcStatus::exhausted("blob %s: %zu bytes do not "
						    "fit in a reply",
						    blob->name, blob->size);
		if (blob->data != nullptr)
			out->assign(reinterpret_cast<const char *>(blob->data),
				    blob->size);
		return RpcStatus::ok();
	}
	std::error_code ec;
	const auto size = std::filesystem::file_size(blob->path, ec);
	if (ec)
		return RpcStatus::vaccel(VACCEL_EIO, "blob %s: %s", blob->path,
					 ec.message().c_str());
	if (size > budget)
		return RpcStatus::exhausted(
		    "blob %s: %llu bytes do not fit in a reply", blob->path,
		    static_cast<unsigned long long>(size));
	std::ifstream in(blob->path, std::ios::binary);
	out->resize(static_cast<size_t>(size));
	if (!in.read(out->data(), static_cast<std::streamsize>(size)))
		return RpcStatus::vaccel(VACCEL_EIO, "blob %s: read failed",
					 blob->path);
	return RpcStatus::ok();
}

// Registers @p res with @p sess and, when @p fresh, names it for the
// connection.
RpcStatus attach(Context &ctx, const std::shared_ptr<AgentSession> &sess,
		 const std::shared_ptr<AgentResource> &res, bool fresh,
		 rpc::resource::RegisterResponse &resp)
{
	{
		std::lock_guard lock(sess->registration_lock());
		int rc = vaccel_resource_register(res->get(), sess->get());
		if (rc != VACCEL_OK) // a fresh resource dies with `res`
			return vaccel_call(rc, "resource register",
					   sess->wire_id());
		sess->add_resource(res);
	}
	// Named only once registered, so no other request ever sees a
	// resource that no session holds. If the connection closed
	// meanwhile, the session (already unnamed) takes the resource with
	// it when this handler lets go.
	if (fresh)
		AGENT_RETURN_IF_ERROR(ctx.objects.add_resource(ctx.conn, res));
	resp.set_resource_id(res->wire_id());
	vaccel_debug("agent: connection %llu: resource %lld registered with "
		     "session %lld",
		     static_cast<unsigned long long>(ctx.conn),
		     static_cast<long long>(res->wire_id()),
		     static_cast<long long>(sess->wire_id()));
	return RpcStatus::ok();
}

bool is_digest(const std::string &d)
{
	return d.size() == 64 &&
	       d.find_first_not_of("0123456789abcdef") == std::string::npos;
}

} // namespace

RpcStatus register_resource(Context &ctx, rpc::resource::RegisterRequest &req,
			    rpc::resource::RegisterResponse &resp)
{
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, req.session_id(), &sess));
	std::shared_ptr<AgentResource> res;
	const bool fresh = req.resource_id() == 0;
	if (fresh)
		AGENT_RETURN_IF_ERROR(create(ctx, req, *sess, &res));
	else
		AGENT_RETURN_IF_ERROR(
		    ctx.objects.resource(ctx.conn, req.resource_id(), &res));
	return attach(ctx, sess, res, fresh, resp);
}

// A model named by its digest: the tenant's own cached copy or a public
// one. None (another tenant's model answers exactly like an unknown one)
// is not an error: resource id 0 tells the client to upload it.
RpcStatus register_cached(Context &ctx, rpc::ext::CachedResource &req,
			  rpc::resource::RegisterResponse &resp)
{
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, req.session_id(), &sess));
	if (req.resource_type() != VACCEL_RESOURCE_MODEL)
		return RpcStatus::invalid("only models are cached");
	if (!is_digest(req.digest()))
		return RpcStatus::invalid(
		    "a digest is 64 lower-case hex digits");
	auto host = ctx.service.model_cache().find(ctx.tenant, req.digest());
	// None, or one the session holds already (registered twice): id 0,
	// the client uploads it.
	if (!host || sess->holds(host->get()->id))
		return RpcStatus::ok();
	if (host->torchscript)
		AGENT_RETURN_IF_ERROR(ctx.tenant.allow(
		    OpClass::Torch, "RegisterCachedResource (TorchScript)",
		    ctx.conn));
	Charge quota;
	AGENT_RETURN_IF_ERROR(Charge::take(ctx.tenant, Limit::Resources, 1,
					   "RegisterCachedResource", ctx.conn,
					   &quota));
	auto res = std::make_shared<AgentResource>(std::move(host));
	res->hold_count(std::move(quota));
	res->by_digest = true;
	return attach(ctx, sess, res, true, resp);
}

RpcStatus unregister_resource(Context &ctx,
			      rpc::resource::UnregisterRequest &req, Empty &)
{
	std::shared_ptr<AgentResource> res;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.resource(ctx.conn, req.resource_id(), &res));
	std::shared_ptr<AgentSession> sess;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.session(ctx.conn, req.session_id(), &sess));
	std::shared_ptr<AgentResource> held;
	{
		std::lock_guard lock(sess->registration_lock());
		int rc = vaccel_resource_unregister(res->get(), sess->get());
		if (rc != VACCEL_OK)
			return vaccel_call(rc, "resource unregister",
					   req.session_id());
		held = sess->take_resource(res->id());
	}
	// When `held` and `res` go, a resource no other session uses is
	// released and its files removed (its refcount is 0 now).
	vaccel_debug("agent: connection %llu: resource %lld unregistered from "
		     "session %lld (refcount %ld)",
		     static_cast<unsigned long long>(ctx.conn),
		     static_cast<long long>(req.resource_id()),
		     static_cast<long long>(req.session_id()),
		     vaccel_resource_refcount(res->get()));
	return RpcStatus::ok();
}

RpcStatus sync_resource(Context &ctx, rpc::resource::SyncRequest &req,
			rpc::resource::SyncResponse &resp)
{
	std::shared_ptr<AgentResource> res;
	AGENT_RETURN_IF_ERROR(
	    ctx.objects.resource(ctx.conn, req.resource_id(), &res));
	// Knowing a public model's digest is not having its files: they are
	// the operator's, served to run, not to copy.
	if (res->by_digest && res->host().public_model)
		return RpcStatus::denied(
		    "resource %lld is a public model: its "
		    "files stay on the host",
		    static_cast<long long>(req.resource_id()));
	vaccel_resource *r = res->get();
	uint64_t budget = ctx.reply_limit();
	for (size_t i = 0; i < r->nr_blobs; ++i) {
		vaccel_blob *blob = r->blobs[i];
		if (blob == nullptr)
			continue;
		auto *out = resp.add_blobs();
		AGENT_RETURN_IF_ERROR(
		    blob_bytes(blob, budget, out->mutable_data()));
		budget -= out->data().size();
		out->set_type_(
		    static_cast<rpc::resource::BlobType>(blob->type));
		if (blob->name != nullptr)
			out->set_name(blob->name);
		out->set_size(static_cast<uint32_t>(out->data().size()));
	}
	return RpcStatus::ok();
}

} // namespace vaccel::agent::handlers
