// SPDX-License-Identifier: Apache-2.0
#include "core/objects.h"
#include "core/plugin_reason.h"
#include "core/rundir.h"
#include "core/runtime.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <vaccel/log.h>

namespace fs = std::filesystem;

void vaccel_resource_state::discard() noexcept
{
	for (vaccel_blob *b : blobs)
		vaccel_blob_delete(b);
	blobs.clear();
	if (!rundir.empty()) {
		std::error_code ec;
		fs::remove_all(rundir, ec);
		rundir.clear();
	}
	sessions.clear();
}

namespace vaccel::core
{
namespace
{

// Programs built against upstream's headers read the session count from the
// struct itself; keep that field in step with the private list.
void publish_refcount(vaccel_resource *res, const vaccel_resource_state &st)
{
	std::atomic_ref<unsigned int>(res->refcount)
	    .store(static_cast<unsigned int>(st.sessions.size()),
		   std::memory_order_relaxed);
}

bool is_url(const std::string &p)
{
	return p.rfind("http://", 0) == 0 || p.rfind("https://", 0) == 0;
}

long fetch_timeout()
{
	const char *v = std::getenv("VACCEL_RESOURCE_FETCH_TIMEOUT");
	if (v == nullptr)
		return 30;
	char *end = nullptr;
	long t = std::strtol(v, &end, 10);
	return (end != v && *end == '\0' && t > 0) ? t : 30;
}

Status check_type(vaccel_resource_type_t type)
{
	const int v = enum_value(type);
	if (v < 0 || v >= VACCEL_RESOURCE_MAX)
		return Status::error(VACCEL_EINVAL,
				     "resource type %d is out of range", v);
	return Status::ok();
}

std::string url_basename(const std::string &url)
{
	std::string path = url.substr(0, url.find_first_of("?#"));
	size_t slash = path.find_last_of('/');
	std::string name =
	    slash == std::string::npos ? path : path.substr(slash + 1);
	if (name.empty() || name.find("..") != std::string::npos)
		name = "download";
	return name;
}

// Publishes `state` behind `res`: id, C views of paths and blobs.
void publish(vaccel_resource *res, std::unique_ptr<vaccel_resource_state> st,
	     vaccel_resource_type_t type, vaccel_path_type_t path_type)
{
	st->c_paths.clear();
	for (auto &p : st->paths)
		st->c_paths.push_back(p.data());
	res->type = type;
	res->path_type = path_type;
	res->paths = st->c_paths.empty() ? nullptr : st->c_paths.data();
	res->nr_paths = st->c_paths.size();
	res->blobs = st->blobs.empty() ? nullptr : st->blobs.data();
	res->nr_blobs = st->blobs.size();
	res->rundir = st->rundir.empty() ? nullptr : st->rundir.data();
	res->state = st.release();
}

Status add_file_blob(vaccel_resource_state &st, const std::string &path)
{
	vaccel_blob *b = nullptr;
	int rc = vaccel_blob_new(&b, path.c_str());
	if (rc != VACCEL_OK)
		return Status::error(rc, "cannot use '%s' as a resource file",
				     path.c_str());
	st.blobs.push_back(b);
	return Status::ok();
}

Status make_rundir(vaccel_resource_state &st, vaccel_id_t id)
{
	if (!st.rundir.empty())
		return Status::ok();
	// Read once: a cleanup meanwhile must not leave a path at the root.
	const std::string base = runtime().rundir();
	if (base.empty())
		return Runtime::no_rundir();
	std::string dir = base + "/resource." + std::to_string(id);
	VACCEL_RETURN_IF_ERROR(make_private_dir(dir));
	st.rundir = dir;
	return Status::ok();
}

// Runs `fill` on a fresh state; on success the resource is registered in the
// runtime and published, on failure nothing remains.
template <class Fill>
Status init_with(vaccel_resource *res, vaccel_resource_type_t type, Fill &&fill)
{
	if (res == nullptr)
		return Status(VACCEL_EINVAL, "resource is NULL");
	VACCEL_RETURN_IF_ERROR(check_type(type));
	Runtime &rt = runtime();
	if (!rt.initialized())
		return Status(VACCEL_ESESS, "vAccel is not initialized");
	auto st = std::make_unique<vaccel_resource_state>();
	*res = vaccel_resource{};
	const vaccel_id_t id = rt.reserve_resource_id();
	vaccel_path_type_t path_type = VACCEL_PATH_LOCAL_FILE;
	Status s = fill(*st, id, path_type);
	if (!s.is_ok()) {
		*res = vaccel_resource{};
		return s;
	}
	res->id = id;
	set_empty_upstream_lists(res);
	vaccel_resource_state *state = st.get();
	publish(res, std::move(st), type, path_type);
	// Findable by id and type only now that it is complete.
	rt.add_resource(id, res, state);
	vaccel_debug("resource %lld created (%s, %zu blobs)",
		     static_cast<long long>(id),
		     vaccel_resource_type_to_str(type), res->nr_blobs);
	return Status::ok();
}

} // namespace

Status resource_init_paths(vaccel_resource *res,
			   const std::vector<std::string> &paths,
			   vaccel_resource_type_t type)
{
	if (paths.empty())
		return Status(VACCEL_EINVAL, "resource: no paths given");
	for (const auto &p : paths)
		if (p.empty())
			return Status(VACCEL_EINVAL, "resource: empty path");
	const size_t urls = static_cast<size_t>(
	    std::count_if(paths.begin(), paths.end(), is_url));
	if (urls != 0 && urls != paths.size())
		return Status(VACCEL_EINVAL,
			      "resource: cannot mix URLs and local paths");
	return init_with(
	    res, type,
	    [&](vaccel_resource_state &st, vaccel_id_t id,
		vaccel_path_type_t &path_type) -> Status {
		    st.paths = paths;
		    if (urls != 0) {
			    path_type = VACCEL_PATH_REMOTE_FILE;
			    VACCEL_RETURN_IF_ERROR(make_rundir(st, id));
			    const long timeout = fetch_timeout();
			    for (size_t i = 0; i < paths.size(); ++i) {
				    std::string dest = st.rundir + "/" +
						       std::to_string(i) + "-" +
						       url_basename(paths[i]);
				    VACCEL_RETURN_IF_ERROR(
					fetch_url(paths[i], dest, timeout));
				    VACCEL_RETURN_IF_ERROR(
					add_file_blob(st, dest));
			    }
			    return Status::ok();
		    }
		    std::error_code ec;
		    if (paths.size() == 1 && fs::is_directory(paths[0], ec)) {
			    path_type = VACCEL_PATH_LOCAL_DIR;
			    st.directory = paths[0];
			    std::vector<std::string> files;
			    for (const auto &e :
				 fs::directory_iterator(paths[0], ec))
				    if (e.is_regular_file())
					    files.push_back(e.path().string());
			    if (ec)
				    return Status::error(
					VACCEL_EIO, "cannot list %s: %s",
					paths[0].c_str(), ec.message().c_str());
			    if (files.empty())
				    return Status::error(
					VACCEL_ENOENT,
					"directory %s has no files",
					paths[0].c_str());
			    std::sort(files.begin(), files.end());
			    for (const auto &f : files)
				    VACCEL_RETURN_IF_ERROR(
					add_file_blob(st, f));
			    return Status::ok();
		    }
		    for (const auto &p : paths) {
			    if (fs::is_directory(p, ec))
				    return Status::error(
					VACCEL_EINVAL,
					"resource: %s is a directory; a "
					"directory must be the only path",
					p.c_str());
			    // VACCEL_EINVAL, as upstream answers a path that
			    // names nothing (programs test for that code).
			    if (!fs::exists(p, ec))
				    return Status::error(
					VACCEL_EINVAL,
					"resource: %s does not exist",
					p.c_str());
			    VACCEL_RETURN_IF_ERROR(add_file_blob(st, p));
		    }
		    return Status::ok();
	    });
}

Status resource_init_buf(vaccel_resource *res, const void *buf, size_t n,
			 vaccel_resource_type_t type, const char *filename,
			 bool mem_only)
{
	if (buf == nullptr || n == 0)
		return Status(VACCEL_EINVAL, "resource: empty buffer");
	const std::string name =
	    filename != nullptr && *filename != '\0' ? filename : "file";
	if (name.find('/') != std::string::npos || name == "." || name == "..")
		return Status::error(
		    VACCEL_EINVAL,
		    "resource: filename '%s' must be a plain name",
		    name.c_str());
	return init_with(
	    res, type,
	    [&](vaccel_resource_state &st, vaccel_id_t id,
		vaccel_path_type_t &) -> Status {
		    const char *dir = nullptr;
		    if (!mem_only) {
			    VACCEL_RETURN_IF_ERROR(make_rundir(st, id));
			    dir = st.rundir.c_str();
		    }
		    vaccel_blob *b = nullptr;
		    int rc = vaccel_blob_from_buf(
			&b, static_cast<const uint8_t *>(buf), n, true,
			name.c_str(), dir, false);
		    if (rc != VACCEL_OK)
			    return Status::error(
				rc, "resource: cannot store %zu-byte buffer",
				n);
		    st.blobs.push_back(b);
		    if (b->path != nullptr)
			    st.paths.emplace_back(b->path);
		    return Status::ok();
	    });
}

Status resource_init_blobs(vaccel_resource *res, const vaccel_blob **blobs,
			   size_t n, vaccel_resource_type_t type)
{
	if (blobs == nullptr || n == 0)
		return Status(VACCEL_EINVAL, "resource: no blobs given");
	for (size_t i = 0; i < n; ++i)
		if (blobs[i] == nullptr || !vaccel_blob_valid(blobs[i]))
			return Status::error(
			    VACCEL_EINVAL, "resource: blob %zu is invalid", i);
	return init_with(
	    res, type,
	    [&](vaccel_resource_state &st, vaccel_id_t id,
		vaccel_path_type_t &) -> Status {
		    for (size_t i = 0; i < n; ++i) {
			    const vaccel_blob *src = blobs[i];
			    vaccel_blob *b = nullptr;
			    int rc;
			    if (src->path_owned && src->data != nullptr) {
				    // The source deletes its file when
				    // released: keep a copy of our own, on disk
				    // like it.
				    VACCEL_RETURN_IF_ERROR(make_rundir(st, id));
				    rc = vaccel_blob_from_buf(
					&b, src->data, src->size, true,
					src->name, st.rundir.c_str(), false);
				    if (rc == VACCEL_EEXIST) // same name twice
					    rc = vaccel_blob_from_buf(
						&b, src->data, src->size, true,
						src->name, st.rundir.c_str(),
						true);
				    if (rc == VACCEL_OK)
					    st.paths.emplace_back(b->path);
			    } else if (src->type != VACCEL_BLOB_BUFFER &&
				       src->path != nullptr) {
				    rc = vaccel_blob_new(&b, src->path);
				    if (rc == VACCEL_OK)
					    st.paths.emplace_back(src->path);
			    } else {
				    rc = vaccel_blob_from_buf(
					&b, src->data, src->size, true,
					src->name, nullptr, false);
			    }
			    if (rc != VACCEL_OK)
				    return Status::error(
					rc, "resource: cannot copy blob %zu",
					i);
			    st.blobs.push_back(b);
		    }
		    return Status::ok();
	    });
}

Status resource_release(vaccel_resource *res)
{
	if (!vaccel::core::live(res))
		return Status(VACCEL_EINVAL,
			      "resource is NULL or not initialized");
	vaccel_resource_state *st = res->state;
	// As upstream: a resource still registered is unregistered from its
	// sessions first, not refused.
	std::vector<vaccel_session *> sessions;
	{
		std::lock_guard lock(st->mu);
		sessions = st->sessions;
	}
	for (vaccel_session *sess : sessions) {
		Status u = resource_unregister(res, sess);
		// EPERM: another thread unregistered it meanwhile.
		if (!u.is_ok() && u.code() != VACCEL_EPERM)
			return u;
	}
	runtime().remove_resource(res->id);
	vaccel_debug("resource %lld released", static_cast<long long>(res->id));
	delete st;
	*res = vaccel_resource{};
	return Status::ok();
}

Status resource_register(vaccel_resource *res, vaccel_session *sess)
{
	if (!vaccel::core::live(res))
		return Status(VACCEL_EINVAL,
			      "resource is NULL or not initialized");
	if (!vaccel::core::live(sess))
		return Status(VACCEL_EINVAL,
			      "session is NULL or not initialized");
	vaccel_session_state *ss = sess->state;
	vaccel_resource_state *rs = res->state;
	{
		// Lock order: session, then resource.
		std::scoped_lock lock(ss->mu, rs->mu);
		if (std::find(ss->resources.begin(), ss->resources.end(),
			      res) != ss->resources.end())
			return Status::error(VACCEL_EEXIST,
					     "resource %lld is already "
					     "registered with session %lld",
					     static_cast<long long>(res->id),
					     static_cast<long long>(sess->id));
		ss->resources.push_back(res);
		rs->sessions.push_back(sess);
		publish_refcount(res, *rs);
	}
	// The transport hook may talk to a remote agent: no lock held.
	if (ss->hooks != nullptr &&
	    ss->hooks->desc->info->resource_register != nullptr) {
		const uint64_t mark = error_mark();
		int rc = ss->hooks->desc->info->resource_register(res, sess);
		if (rc != VACCEL_OK) {
			std::scoped_lock lock(ss->mu, rs->mu);
			std::erase(ss->resources, res);
			std::erase(rs->sessions, sess);
			publish_refcount(res, *rs);
			return Status(
			    rc, plugin_failure("register resource " +
						   std::to_string(res->id),
					       ss->hooks->name, rc, mark));
		}
	}
	return Status::ok();
}

Status resource_unregister(vaccel_resource *res, vaccel_session *sess)
{
	if (!vaccel::core::live(res))
		return Status(VACCEL_EINVAL,
			      "resource is NULL or not initialized");
	if (!vaccel::core::live(sess))
		return Status(VACCEL_EINVAL,
			      "session is NULL or not initialized");
	vaccel_session_state *ss = sess->state;
	vaccel_resource_state *rs = res->state;
	{
		std::scoped_lock lock(ss->mu, rs->mu);
		if (std::find(ss->resources.begin(), ss->resources.end(),
			      res) == ss->resources.end())
			return Status::error(
			    VACCEL_EPERM,
			    "resource %lld is not registered with session %lld",
			    static_cast<long long>(res->id),
			    static_cast<long long>(sess->id));
		std::erase(ss->resources, res);
		std::erase(rs->sessions, sess);
		publish_refcount(res, *rs);
	}
	if (ss->hooks != nullptr &&
	    ss->hooks->desc->info->resource_unregister != nullptr) {
		int rc = ss->hooks->desc->info->resource_unregister(res, sess);
		if (rc != VACCEL_OK)
			vaccel_warn("plugin %s: unregistering resource %lld "
				    "returned %d",
				    ss->hooks->name.c_str(),
				    static_cast<long long>(res->id), rc);
	}
	// Local backends (no session hooks) may cache per-resource state, e.g.
	// exec's library handles: tell every one of them.
	for (const Plugin *p : runtime().plugins().list()) {
		if (p == ss->hooks || p->has_session_hooks() ||
		    p->desc->info->resource_unregister == nullptr)
			continue;
		int rc = p->desc->info->resource_unregister(res, sess);
		if (rc != VACCEL_OK)
			vaccel_warn("plugin %s: unregistering resource %lld "
				    "returned %d",
				    p->name.c_str(),
				    static_cast<long long>(res->id), rc);
	}
	return Status::ok();
}

Result<std::string> resource_rundir(vaccel_resource *res)
{
	if (!vaccel::core::live(res))
		return Status(VACCEL_EINVAL,
			      "resource is NULL or not initialized");
	VACCEL_RETURN_IF_ERROR(make_rundir(*res->state, res->id));
	res->rundir = res->state->rundir.data();
	return res->state->rundir;
}

} // namespace vaccel::core
