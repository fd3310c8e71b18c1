// SPDX-License-Identifier: Apache-2.0
#include "capi/funnel.h"
#include "core/objects.h"
#include "core/runtime.h"

#include <cstdlib>
#include <vaccel/session.h>

using vaccel::capi::guard;
using vaccel::core::Status;

namespace
{

Status valid_session(vaccel_session *sess)
{
	if (!vaccel::core::live(sess))
		return Status(VACCEL_EINVAL,
			      "session is NULL or not initialized");
	return Status::ok();
}

// Resources of `sess` (registration order) filtered by type, copied under
// the session lock.
std::vector<vaccel_resource *> session_resources(vaccel_session *sess)
{
	std::lock_guard lock(sess->state->mu);
	return sess->state->resources;
}

} // namespace

extern "C" {

int vaccel_session_get_by_id(struct vaccel_session **sess, vaccel_id_t id)
{
	return guard(__func__, [&]() -> Status {
		if (sess == nullptr)
			return Status(VACCEL_EINVAL, "output pointer is NULL");
		vaccel_session *s = vaccel::core::runtime().find_session(id);
		if (s == nullptr)
			return Status::error(VACCEL_ENOENT,
					     "no session with id %lld",
					     static_cast<long long>(id));
		*sess = s;
		return Status::ok();
	});
}

int vaccel_session_init(struct vaccel_session *sess, uint32_t flags)
{
	return guard(__func__,
		     [&] { return vaccel::core::session_init(sess, flags); });
}

int vaccel_session_release(struct vaccel_session *sess)
{
	return guard(__func__,
		     [&] { return vaccel::core::session_release(sess); });
}

int vaccel_session_update(struct vaccel_session *sess, uint32_t flags)
{
	return guard(__func__,
		     [&] { return vaccel::core::session_update(sess, flags); });
}

int vaccel_session_new(struct vaccel_session **sess, uint32_t flags)
{
	if (sess == nullptr)
		return VACCEL_EINVAL;
	auto *s =
	    static_cast<vaccel_session *>(calloc(1, sizeof(vaccel_session)));
	if (s == nullptr)
		return VACCEL_ENOMEM;
	int rc = vaccel_session_init(s, flags);
	if (rc != VACCEL_OK) {
		free(s);
		return rc;
	}
	*sess = s;
	return VACCEL_OK;
}

int vaccel_session_delete(struct vaccel_session *sess)
{
	int rc = vaccel_session_release(sess);
	if (rc != VACCEL_OK)
		return rc;
	free(sess);
	return VACCEL_OK;
}

bool vaccel_session_has_resource(struct vaccel_session *sess,
				 struct vaccel_resource *res)
{
	if (!vaccel::core::live(sess) || res == nullptr)
		return false;
	std::lock_guard lock(sess->state->mu);
	for (auto *r : sess->state->resources)
		if (r == res)
			return true;
	return false;
}

int vaccel_session_resource_by_id(struct vaccel_session *sess,
				  struct vaccel_resource **res, vaccel_id_t id)
{
	return guard(__func__, [&]() -> Status {
		VACCEL_RETURN_IF_ERROR(valid_session(sess));
		if (res == nullptr)
			return Status(VACCEL_EINVAL, "output pointer is NULL");
		for (auto *r : session_resources(sess))
			if (r->id == id) {
				*res = r;
				return Status::ok();
			}
		return Status::error(
		    VACCEL_ENOENT,
		    "resource %lld: not registered to session %lld",
		    static_cast<long long>(id),
		    static_cast<long long>(sess->id));
	});
}

int vaccel_session_resource_by_type(struct vaccel_session *sess,
				    struct vaccel_resource **res,
				    vaccel_resource_type_t type)
{
	// Not finding one is a normal outcome for plugins probing for an
	// optional model, so it is not logged as an error.
	if (!vaccel::core::live(sess) || res == nullptr)
		return VACCEL_EINVAL;
	for (auto *r : session_resources(sess))
		if (r->type == type) {
			*res = r;
			return VACCEL_OK;
		}
	return VACCEL_ENOENT;
}

int vaccel_session_resources_by_type(struct vaccel_session *sess,
				     struct vaccel_resource ***resources,
				     size_t *nr_found,
				     vaccel_resource_type_t type)
{
	if (!vaccel::core::live(sess) || resources == nullptr ||
	    nr_found == nullptr)
		return VACCEL_EINVAL;
	std::vector<vaccel_resource *> found;
	for (auto *r : session_resources(sess))
		if (r->type == type)
			found.push_back(r);
	*nr_found = 0;
	if (found.empty())
		return VACCEL_ENOENT;
	auto **arr = static_cast<vaccel_resource **>(
	    malloc(found.size() * sizeof(vaccel_resource *)));
	if (arr == nullptr)
		return VACCEL_ENOMEM;
	for (size_t i = 0; i < found.size(); ++i)
		arr[i] = found[i];
	*resources = arr;
	*nr_found = found.size();
	return VACCEL_OK;
}

int vaccel_sess_init(struct vaccel_session *sess, uint32_t flags)
{
	return vaccel_session_init(sess, flags);
}

int vaccel_sess_update(struct vaccel_session *sess, uint32_t flags)
{
	return vaccel_session_update(sess, flags);
}

int vaccel_sess_free(struct vaccel_session *sess)
{
	return vaccel_session_release(sess);
}

bool vaccel_sess_has_resource(struct vaccel_session *sess,
			      struct vaccel_resource *res)
{
	return vaccel_session_has_resource(sess, res);
}

size_t vaccel_session_count(void)
{
	return vaccel::core::runtime().session_count();
}

int vaccel_session_prepare_rundir(void)
{
	// Called by threads that race with cleanup by design: not being
	// initialized is an answer, not an error to log.
	if (!vaccel::core::runtime().initialized())
		return VACCEL_ESESS;
	return guard(__func__, [] {
		return vaccel::core::runtime().prepare_next_session_dir();
	});
}

} // extern "C"
