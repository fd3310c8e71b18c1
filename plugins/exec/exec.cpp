// SPDX-License-Identifier: Apache-2.0
// The exec plugin: runs `int fn(struct vaccel_arg *, size_t,
// struct vaccel_arg *, size_t)` from a shared library on the host.
//
//  - VACCEL_OP_EXEC: the library is a path (or a name dlopen() searches).
//  - VACCEL_OP_EXEC_WITH_RESOURCE: the library is a LIB resource; its files
//    are dependencies followed by the library that holds the symbol. The
//    dependencies are opened RTLD_GLOBAL first so that the last one resolves
//    against them. The handles are kept per resource, so a resource is opened
//    once however many calls use it.
//
// Environment (upstream's names and values):
//  - VACCEL_EXEC_DLOPEN_MODE: "lazy" or "now" (case-insensitive; default now).
//  - VACCEL_EXEC_DLCLOSE_ENABLED (old name VACCEL_EXEC_DLCLOSE): "1"/"true" or
//    "0"/"false". For exec it closes the library after each call (default
//    off); for exec_with_resource it lets unregistering a resource close its
//    libraries (default on).
//
// Errors, as upstream: a library that does not open is VACCEL_EINVAL, a
// missing symbol VACCEL_ENOSYS, a function that returns non-zero
// VACCEL_EBACKEND.
#include <vaccel.h>
#include <vaccel/plugin_ops.hpp>

#include <dlfcn.h>
#include <link.h>
#include <strings.h>

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#define exec_debug(...) vaccel_debug("[exec] " __VA_ARGS__)
#define exec_warn(...) vaccel_warn("[exec] " __VA_ARGS__)
#define exec_error(...) vaccel_error("[exec] " __VA_ARGS__)

namespace
{

using ExecFn = int (*)(vaccel_arg *read, size_t nr_read, vaccel_arg *write,
		       size_t nr_write);

constexpr const char *kDlopenModeEnv = "VACCEL_EXEC_DLOPEN_MODE";
constexpr const char *kDlcloseEnv = "VACCEL_EXEC_DLCLOSE_ENABLED";
constexpr const char *kDlcloseOldEnv = "VACCEL_EXEC_DLCLOSE";

const char *dl_error()
{
	const char *e = dlerror();
	return e != nullptr ? e : "unknown error";
}

const char *mode_name(int mode)
{
	return (mode & RTLD_LAZY) != 0 ? "lazy" : "now";
}

// RTLD_NOW or RTLD_LAZY, from the environment; read on every call so that a
// program may change it between calls, as upstream allows.
int dlopen_mode()
{
	const char *v = std::getenv(kDlopenModeEnv);
	if (v == nullptr)
		return RTLD_NOW;
	if (strcasecmp(v, "lazy") == 0)
		return RTLD_LAZY;
	if (strcasecmp(v, "now") == 0)
		return RTLD_NOW;
	exec_warn("%s=%s is not 'lazy' or 'now'; using 'now'", kDlopenModeEnv,
		  v);
	return RTLD_NOW;
}

bool dlclose_enabled(bool fallback)
{
	const char *v = std::getenv(kDlcloseEnv);
	const char *name = kDlcloseEnv;
	if (v == nullptr) {
		v = std::getenv(kDlcloseOldEnv);
		name = kDlcloseOldEnv;
		if (v != nullptr)
			exec_warn("%s is deprecated; use %s", kDlcloseOldEnv,
				  kDlcloseEnv);
	}
	if (v == nullptr)
		return fallback;
	if (std::strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
		return true;
	if (std::strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0)
		return false;
	exec_warn("%s=%s is not 0/1/true/false; using %s", name, v,
		  fallback ? "true" : "false");
	return fallback;
}

// One dlopen() reference; dlclose()d when destroyed.
class DlHandle
{
public:
	DlHandle() = default;
	explicit DlHandle(void *h, std::string path)
	    : h_(h), path_(std::move(path))
	{
	}
	DlHandle(DlHandle &&o) noexcept
	    : h_(std::exchange(o.h_, nullptr)), path_(std::move(o.path_))
	{
	}
	DlHandle &operator=(DlHandle &&o) noexcept
	{
		if (this != &o) {
			close();
			h_ = std::exchange(o.h_, nullptr);
			path_ = std::move(o.path_);
		}
		return *this;
	}
	DlHandle(const DlHandle &) = delete;
	DlHandle &operator=(const DlHandle &) = delete;
	~DlHandle() { close(); }

	[[nodiscard]] void *get() const noexcept { return h_; }
	[[nodiscard]] const std::string &path() const noexcept { return path_; }
	explicit operator bool() const noexcept { return h_ != nullptr; }

	// Returns false (and logs) if dlclose fails.
	bool close() noexcept
	{
		if (h_ == nullptr)
			return true;
		bool ok = dlclose(std::exchange(h_, nullptr)) == 0;
		if (!ok)
			exec_error("dlclose %s: %s", path_.c_str(), dl_error());
		return ok;
	}

private:
	void *h_ = nullptr;
	std::string path_;
};

DlHandle open_library(const std::string &path, int flags)
{
	return DlHandle(dlopen(path.c_str(), flags), path);
}

// As upstream: if one binding mode fails, try the other before giving up.
DlHandle open_with_fallback(const std::string &path, int flags)
{
	DlHandle h = open_library(path, flags);
	if (h)
		return h;
	int mode = flags & (RTLD_NOW | RTLD_LAZY);
	int other = mode == RTLD_LAZY ? RTLD_NOW : RTLD_LAZY;
	exec_warn("dlopen %s (%s): %s; retrying with '%s'", path.c_str(),
		  mode_name(mode), dl_error(), mode_name(other));
	return open_library(path, (flags & ~(RTLD_NOW | RTLD_LAZY)) | other);
}

void log_args(const char *which, std::span<const vaccel_arg> args)
{
	if (!vaccel_log_enabled(VACCEL_LOG_DEBUG))
		return;
	for (size_t i = 0; i < args.size(); i++)
		exec_debug("%s[%zu]: %zu bytes, %s", which, i, args[i].size,
			   vaccel_arg_type_to_str(args[i].type));
}

// Whether @p sym is defined in @p lib itself. dlsym() also searches the
// library's dependencies (libc among them): "run symbol S of library L"
// must never reach exit() or system() there.
bool defined_in(const DlHandle &lib, void *sym)
{
	link_map *own = nullptr;
	link_map *found = nullptr;
	Dl_info info{};
	return dlinfo(lib.get(), RTLD_DI_LINKMAP, &own) == 0 &&
	       dladdr1(sym, &info, reinterpret_cast<void **>(&found),
		       RTLD_DL_LINKMAP) != 0 &&
	       own != nullptr && found == own;
}

// Looks the symbol up (in the library itself) and calls it.
int call_symbol(const DlHandle &lib, const char *fn_symbol, vaccel_arg *read,
		size_t nr_read, vaccel_arg *write, size_t nr_write)
{
	exec_debug("symbol: %s", fn_symbol);
	dlerror(); // clear a stale error so the one below is ours
	void *sym = dlsym(lib.get(), fn_symbol);
	if (sym == nullptr) {
		exec_error("%s: symbol %s not found: %s", lib.path().c_str(),
			   fn_symbol, dl_error());
		return VACCEL_ENOSYS;
	}
	if (!defined_in(lib, sym)) {
		exec_error("%s: symbol %s is not defined by the library itself "
			   "(only by one it depends on)",
			   lib.path().c_str(), fn_symbol);
		return VACCEL_ENOSYS;
	}
	if (read != nullptr)
		log_args("read", std::span<const vaccel_arg>(read, nr_read));
	if (write != nullptr)
		log_args("write", std::span<const vaccel_arg>(write, nr_write));

	auto fn = reinterpret_cast<ExecFn>(sym);
	int rc = fn(read, nr_read, write, nr_write);
	if (rc != 0) {
		exec_error("%s:%s returned %d", lib.path().c_str(), fn_symbol,
			   rc);
		return VACCEL_EBACKEND;
	}
	return VACCEL_OK;
}

bool bad_arrays(const vaccel_arg *read, size_t nr_read, const vaccel_arg *write,
		size_t nr_write)
{
	return (nr_read != 0 && read == nullptr) ||
	       (nr_write != 0 && write == nullptr);
}

// ---- per-resource handle cache ---------------------------------------------

// The opened files of one LIB resource: dependencies first, the library
// with the symbol last. Closed in reverse order when the last user lets go.
struct LoadedResource {
	const vaccel_resource *owner = nullptr; // compared, never dereferenced
	std::vector<std::string> paths;
	std::vector<DlHandle> handles;

	LoadedResource() = default;
	LoadedResource(const LoadedResource &) = delete;
	LoadedResource &operator=(const LoadedResource &) = delete;
	~LoadedResource()
	{
		while (!handles.empty())
			handles.pop_back();
	}
	[[nodiscard]] const DlHandle &main() const { return handles.back(); }
};

// Resource id -> its loaded libraries. A shared_ptr is handed to each call so
// that a concurrent unregister or a reload cannot close libraries a call is
// still running code from.
class ResourceCache
{
public:
	// The loaded libraries of @p res, loading them on first use. A hit
	// costs one lock and a comparison of the paths, no allocation.
	int get(vaccel_resource *res, std::shared_ptr<LoadedResource> &out)
	{
		int rc = check_blobs(res);
		if (rc != VACCEL_OK)
			return rc;

		std::lock_guard lock(mu_);
		auto it = entries_.find(res->id);
		if (it != entries_.end() && same_paths(*it->second, res)) {
			out = it->second;
			return VACCEL_OK;
		}
		// Not loaded, or a released resource's id now names another.
		if (it != entries_.end())
			entries_.erase(it);
		prune_released();

		std::vector<std::string> paths;
		paths.reserve(res->nr_blobs);
		for (size_t i = 0; i < res->nr_blobs; i++)
			paths.emplace_back(res->blobs[i]->path);
		auto loaded = std::make_shared<LoadedResource>();
		loaded->owner = res;
		rc = load(res->id, std::move(paths), *loaded);
		if (rc != VACCEL_OK)
			return rc;
		entries_.emplace(res->id, loaded);
		out = std::move(loaded);
		return VACCEL_OK;
	}

	void drop(vaccel_id_t id)
	{
		std::shared_ptr<LoadedResource> victim;
		{
			std::lock_guard lock(mu_);
			auto it = entries_.find(id);
			if (it == entries_.end())
				return;
			victim = std::move(it->second);
			entries_.erase(it);
		}
		// Closed here (or by the last running call), outside the lock.
	}

	void clear()
	{
		std::unordered_map<vaccel_id_t, std::shared_ptr<LoadedResource>>
		    all;
		{
			std::lock_guard lock(mu_);
			all.swap(entries_);
		}
	}

private:
	// Every file of the resource must be on disk for dlopen().
	static int check_blobs(const vaccel_resource *res)
	{
		if (res->nr_blobs == 0 || res->blobs == nullptr) {
			exec_error("resource %" PRId64 ": no library in it",
				   res->id);
			return VACCEL_EINVAL;
		}
		for (size_t i = 0; i < res->nr_blobs; i++) {
			const vaccel_blob *b = res->blobs[i];
			if (b == nullptr || b->path == nullptr) {
				exec_error(
				    "resource %" PRId64
				    ": file %zu has no path (a memory-only "
				    "resource cannot be dlopen()ed)",
				    res->id, i);
				return VACCEL_EINVAL;
			}
		}
		return VACCEL_OK;
	}

	static bool same_paths(const LoadedResource &l,
			       const vaccel_resource *res)
	{
		if (l.paths.size() != res->nr_blobs)
			return false;
		for (size_t i = 0; i < res->nr_blobs; i++)
			if (l.paths[i] != res->blobs[i]->path)
				return false;
		return true;
	}

	static int load(vaccel_id_t id, std::vector<std::string> paths,
			LoadedResource &out)
	{
		const int mode = dlopen_mode();
		const size_t nr_deps = paths.size() - 1;
		exec_debug("resource %" PRId64 ": loading %zu libraries (%s)",
			   id, paths.size(), mode_name(mode));
		for (size_t i = 0; i < paths.size(); i++) {
			const bool is_dep = i < nr_deps;
			exec_debug("resource %" PRId64 ": %s %s", id,
				   is_dep ? "dependency" : "library",
				   paths[i].c_str());
			// Dependencies go into the global namespace so that
			// the main library's undefined symbols resolve.
			DlHandle h;
			if (is_dep)
				h = open_with_fallback(paths[i],
						       mode | RTLD_GLOBAL);
			else if (nr_deps != 0)
				h = open_with_fallback(paths[i], mode);
			else
				h = open_library(paths[i], mode);
			if (!h) {
				exec_error("resource %" PRId64
					   ": cannot load %s: %s",
					   id, paths[i].c_str(), dl_error());
				return VACCEL_EINVAL; // `out` closes the rest
			}
			out.handles.push_back(std::move(h));
		}
		out.paths = std::move(paths);
		return VACCEL_OK;
	}

	// Drops entries of resources that no longer exist (released, or their
	// id reused), so the cache stays as small as the live LIB resources.
	// Called while loading one, so there is at least one live LIB
	// resource and the query does not fail.
	void prune_released()
	{
		vaccel_resource **live = nullptr;
		size_t nr_live = 0;
		if (vaccel_resource_get_all_by_type(
			&live, &nr_live, VACCEL_RESOURCE_LIB) != VACCEL_OK)
			return;
		// By address: other resources may be released concurrently, so
		// they are not dereferenced. A reused address is caught by the
		// id and path checks of get().
		std::erase_if(entries_, [&](const auto &kv) {
			return std::find(live, live + nr_live,
					 kv.second->owner) == live + nr_live;
		});
		std::free(static_cast<void *>(live));
	}

	std::mutex mu_;
	std::unordered_map<vaccel_id_t, std::shared_ptr<LoadedResource>>
	    entries_;
};

// Libraries opened by VACCEL_OP_EXEC, one reference per path, so that they
// stay loaded between calls (as upstream) without a reference per call.
class ResidentLibraries
{
public:
	void keep(DlHandle lib)
	{
		std::lock_guard lock(mu_);
		// An existing entry already holds a reference; `lib`'s own is
		// dropped when it goes out of scope.
		libs_.try_emplace(lib.path(), std::move(lib));
	}
	void clear()
	{
		std::unordered_map<std::string, DlHandle> all;
		std::lock_guard lock(mu_);
		all.swap(libs_);
	}

private:
	std::mutex mu_;
	std::unordered_map<std::string, DlHandle> libs_;
};

// Everything the plugin keeps between calls. Made by init, destroyed by fini
// (ops only run in between), so nothing outlives the plugin.
struct PluginState {
	ResourceCache resources;
	ResidentLibraries resident;
};
PluginState *g_state = nullptr;

// ---- ops --------------------------------------------------------------------

int exec_noop(vaccel_session *sess)
{
	if (sess == nullptr)
		return VACCEL_EINVAL;
	exec_debug("noop: session %" PRId64, sess->id);
	return VACCEL_OK;
}

int exec_exec(vaccel_session *sess, const char *library, const char *fn_symbol,
	      vaccel_arg *read, size_t nr_read, vaccel_arg *write,
	      size_t nr_write)
{
	if (sess == nullptr || library == nullptr || fn_symbol == nullptr ||
	    bad_arrays(read, nr_read, write, nr_write)) {
		exec_error(
		    "exec: NULL session, library, symbol or argument array");
		return VACCEL_EINVAL;
	}
	try {
		exec_debug("exec: session %" PRId64 " library %s", sess->id,
			   library);
		DlHandle lib = open_library(library, dlopen_mode());
		if (!lib) {
			exec_error("cannot load %s: %s", library, dl_error());
			return VACCEL_EINVAL;
		}
		int rc =
		    call_symbol(lib, fn_symbol, read, nr_read, write, nr_write);
		// As upstream, the library stays loaded after the call (its
		// state survives to the next one) unless dlclose is enabled.
		// One reference per path is kept, so repeated calls do not
		// pile up references.
		if (dlclose_enabled(false)) {
			if (!lib.close() && rc == VACCEL_OK)
				return VACCEL_EINVAL;
			return rc;
		}
		g_state->resident.keep(std::move(lib));
		return rc;
	} catch (const std::bad_alloc &) {
		return VACCEL_ENOMEM;
	}
}

int exec_with_resource(vaccel_session *sess, vaccel_resource *resource,
		       const char *fn_symbol, vaccel_arg *read, size_t nr_read,
		       vaccel_arg *write, size_t nr_write)
{
	if (sess == nullptr || resource == nullptr || fn_symbol == nullptr ||
	    bad_arrays(read, nr_read, write, nr_write)) {
		exec_error("exec_with_resource: NULL session, resource, symbol "
			   "or argument array");
		return VACCEL_EINVAL;
	}
	try {
		exec_debug("exec_with_resource: session %" PRId64
			   " resource %" PRId64 " (%zu files)",
			   sess->id, resource->id, resource->nr_blobs);
		std::shared_ptr<LoadedResource> loaded;
		int rc = g_state->resources.get(resource, loaded);
		if (rc != VACCEL_OK)
			return rc;
		return call_symbol(loaded->main(), fn_symbol, read, nr_read,
				   write, nr_write);
	} catch (const std::bad_alloc &) {
		return VACCEL_ENOMEM;
	}
}

// Called by runtimes that forward unregistration to plugins (upstream's
// hook): the libraries are closed unless VACCEL_EXEC_DLCLOSE_ENABLED=0.
int exec_resource_unregister(vaccel_resource *res, vaccel_session * /*sess*/)
{
	if (res == nullptr || res->type != VACCEL_RESOURCE_LIB ||
	    !dlclose_enabled(true))
		return VACCEL_OK;
	g_state->resources.drop(res->id);
	return VACCEL_OK;
}

vaccel_op exec_ops[] = {
    vaccel::plugin::op<VACCEL_OP_NOOP>(exec_noop),
    vaccel::plugin::op<VACCEL_OP_EXEC>(exec_exec),
    vaccel::plugin::op<VACCEL_OP_EXEC_WITH_RESOURCE>(exec_with_resource),
};

int exec_init()
{
	try {
		g_state = new PluginState();
	} catch (const std::bad_alloc &) {
		return VACCEL_ENOMEM;
	}
	int rc = vaccel_plugin_register_ops(exec_ops, std::size(exec_ops));
	if (rc != VACCEL_OK) {
		delete std::exchange(g_state, nullptr);
		return rc;
	}
	return VACCEL_OK;
}

int exec_fini()
{
	delete std::exchange(g_state, nullptr);
	return VACCEL_OK;
}

} // namespace

VACCEL_PLUGIN(.name = "exec", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = exec_init,
	      .fini = exec_fini,
	      .type = static_cast<vaccel_plugin_type_t>(VACCEL_PLUGIN_SOFTWARE |
							VACCEL_PLUGIN_GENERIC |
							VACCEL_PLUGIN_CPU),
	      .resource_unregister = exec_resource_unregister)
