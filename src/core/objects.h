// SPDX-License-Identifier: Apache-2.0
// Runtime-private state behind the public session and resource structs.
// The structs themselves belong to the program (often on its stack); their
// `state` pointer leads here, and everything the runtime allocates for them
// is owned by these objects.
#pragma once

#include "core/registry.h"
#include "core/status.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vaccel/blob.h>
#include <vaccel/resource.h>
#include <vaccel/session.h>
#include <vector>

// After vaccel_cleanup() the states of objects the program never released
// are kept as empty "dead" shells, so that a late release or op on such a
// struct fails cleanly with VACCEL_EINVAL instead of touching freed memory
// (e.g. a static C++ vaccel::Session destroyed after the exit cleanup).
struct vaccel_session_state {
	std::atomic<const vaccel::core::DispatchTable *> table{nullptr};
	bool dead = false;
	// Plugin whose session hooks ran at init (transport plugins); its
	// release/resource hooks are called for this session.
	vaccel::core::Plugin *hooks = nullptr;
	std::string rundir;
	std::mutex mu;                            // guards `resources`
	std::vector<vaccel_resource *> resources; // registration order
};

struct vaccel_resource_state {
	bool dead = false;
	std::vector<std::string> paths;
	std::vector<char *> c_paths;      // views into `paths` for the C struct
	std::vector<vaccel_blob *> blobs; // owned
	std::string rundir;               // created on demand
	std::string directory;            // for LOCAL_DIR resources
	std::mutex mu;                    // guards `sessions`
	std::vector<vaccel_session *> sessions;

	~vaccel_resource_state() { discard(); }
	// Frees blobs and files (cleanup of an unreleased resource).
	void discard() noexcept;
};

namespace vaccel::core
{

inline bool live(const vaccel_session *s) noexcept
{
	return s != nullptr && s->state != nullptr && !s->state->dead;
}
inline bool live(const vaccel_resource *r) noexcept
{
	return r != nullptr && r->state != nullptr && !r->state->dead;
}

// Upstream's layout has list heads a program built against it could walk
// (the session's per-type resource lists, the resource's session list).
// This runtime keeps its lists elsewhere, so they are set up empty,
// pointing at themselves as an empty list head does, rather than NULL.
inline void set_empty_list(vaccel_list_entry *head) noexcept
{
	head->next = head;
	head->prev = head;
}
inline void set_empty_upstream_lists(vaccel_session *s) noexcept
{
	for (vaccel_list_entry &head : s->resources)
		set_empty_list(&head);
}
inline void set_empty_upstream_lists(vaccel_resource *r) noexcept
{
	set_empty_list(&r->sessions);
}

// Sessions (session.cpp)
Status session_init(vaccel_session *sess, uint32_t flags);
Status session_release(vaccel_session *sess);
Status session_update(vaccel_session *sess, uint32_t flags);
const DispatchTable *session_refresh_table(vaccel_session *sess) noexcept;

// Resources (resource.cpp)
Status resource_init_paths(vaccel_resource *res,
			   const std::vector<std::string> &paths,
			   vaccel_resource_type_t type);
Status resource_init_buf(vaccel_resource *res, const void *buf, size_t n,
			 vaccel_resource_type_t type, const char *filename,
			 bool mem_only);
Status resource_init_blobs(vaccel_resource *res, const vaccel_blob **blobs,
			   size_t n, vaccel_resource_type_t type);
Status resource_release(vaccel_resource *res);
Status resource_register(vaccel_resource *res, vaccel_session *sess);
Status resource_unregister(vaccel_resource *res, vaccel_session *sess);
Result<std::string> resource_rundir(vaccel_resource *res);

// Downloads `url` into `dest` (fetch.cpp); timeout in seconds.
Status fetch_url(const std::string &url, const std::string &dest,
		 long timeout_s);

} // namespace vaccel::core
