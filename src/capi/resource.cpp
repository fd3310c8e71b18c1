// SPDX-License-Identifier: Apache-2.0
#include "capi/funnel.h"
#include "core/objects.h"
#include "core/runtime.h"

#include <cstdlib>
#include <cstring>
#include <vaccel/resource.h>

using vaccel::capi::guard;
using vaccel::core::Status;

namespace
{

// Allocating constructor shared by the *_new / *_from_* forms.
template <class Init> int alloc_resource(vaccel_resource **out, Init &&init)
{
	if (out == nullptr)
		return VACCEL_EINVAL;
	auto *r =
	    static_cast<vaccel_resource *>(calloc(1, sizeof(vaccel_resource)));
	if (r == nullptr)
		return VACCEL_ENOMEM;
	int rc = init(r);
	if (rc != VACCEL_OK) {
		free(r);
		return rc;
	}
	*out = r;
	return VACCEL_OK;
}

} // namespace

extern "C" {

int vaccel_resource_get_by_id(struct vaccel_resource **res, vaccel_id_t id)
{
	return guard(__func__, [&]() -> Status {
		if (res == nullptr)
			return Status(VACCEL_EINVAL, "output pointer is NULL");
		vaccel_resource *r = vaccel::core::runtime().find_resource(id);
		if (r == nullptr)
			return Status::error(VACCEL_ENOENT,
					     "no resource with id %lld",
					     static_cast<long long>(id));
		*res = r;
		return Status::ok();
	});
}

int vaccel_resource_get_by_type(struct vaccel_resource **res,
				vaccel_resource_type_t type)
{
	if (res == nullptr)
		return VACCEL_EINVAL;
	auto all = vaccel::core::runtime().resources_of_type(type);
	if (all.empty())
		return VACCEL_ENOENT;
	*res = all.front(); // lowest id: the map is ordered
	return VACCEL_OK;
}

int vaccel_resource_get_all_by_type(struct vaccel_resource ***res,
				    size_t *nr_found,
				    vaccel_resource_type_t type)
{
	if (res == nullptr || nr_found == nullptr)
		return VACCEL_EINVAL;
	*nr_found = 0;
	auto all = vaccel::core::runtime().resources_of_type(type);
	if (all.empty())
		return VACCEL_ENOENT;
	auto **arr = static_cast<vaccel_resource **>(
	    malloc(all.size() * sizeof(vaccel_resource *)));
	if (arr == nullptr)
		return VACCEL_ENOMEM;
	std::memcpy(arr, all.data(), all.size() * sizeof(vaccel_resource *));
	*res = arr;
	*nr_found = all.size();
	return VACCEL_OK;
}

long int vaccel_resource_refcount(const struct vaccel_resource *res)
{
	if (!vaccel::core::live(res))
		return -VACCEL_EINVAL;
	std::lock_guard lock(res->state->mu);
	return static_cast<long>(res->state->sessions.size());
}

int vaccel_resource_init(struct vaccel_resource *res, const char *path,
			 vaccel_resource_type_t type)
{
	return guard(__func__, [&]() -> Status {
		if (path == nullptr)
			return Status(VACCEL_EINVAL, "path is NULL");
		return vaccel::core::resource_init_paths(res, {path}, type);
	});
}

int vaccel_resource_init_multi(struct vaccel_resource *res, const char **paths,
			       size_t nr_paths, vaccel_resource_type_t type)
{
	return guard(__func__, [&]() -> Status {
		if (paths == nullptr || nr_paths == 0)
			return Status(VACCEL_EINVAL, "no paths given");
		std::vector<std::string> v;
		for (size_t i = 0; i < nr_paths; ++i) {
			if (paths[i] == nullptr)
				return Status::error(VACCEL_EINVAL,
						     "path %zu is NULL", i);
			v.emplace_back(paths[i]);
		}
		return vaccel::core::resource_init_paths(res, v, type);
	});
}

int vaccel_resource_init_from_buf(struct vaccel_resource *res, const void *buf,
				  size_t nr_bytes, vaccel_resource_type_t type,
				  const char *filename, bool mem_only)
{
	return guard(__func__, [&] {
		return vaccel::core::resource_init_buf(res, buf, nr_bytes, type,
						       filename, mem_only);
	});
}

int vaccel_resource_init_from_blobs(struct vaccel_resource *res,
				    const struct vaccel_blob **blobs,
				    size_t nr_blobs,
				    vaccel_resource_type_t type)
{
	return guard(__func__, [&] {
		return vaccel::core::resource_init_blobs(res, blobs, nr_blobs,
							 type);
	});
}

int vaccel_resource_release(struct vaccel_resource *res)
{
	return guard(__func__,
		     [&] { return vaccel::core::resource_release(res); });
}

int vaccel_resource_new(struct vaccel_resource **res, const char *path,
			vaccel_resource_type_t type)
{
	return alloc_resource(res, [&](vaccel_resource *r) {
		return vaccel_resource_init(r, path, type);
	});
}

int vaccel_resource_multi_new(struct vaccel_resource **res, const char **paths,
			      size_t nr_paths, vaccel_resource_type_t type)
{
	return alloc_resource(res, [&](vaccel_resource *r) {
		return vaccel_resource_init_multi(r, paths, nr_paths, type);
	});
}

int vaccel_resource_from_buf(struct vaccel_resource **res, const void *buf,
			     size_t nr_bytes, vaccel_resource_type_t type,
			     const char *filename, bool mem_only)
{
	return alloc_resource(res, [&](vaccel_resource *r) {
		return vaccel_resource_init_from_buf(r, buf, nr_bytes, type,
						     filename, mem_only);
	});
}

int vaccel_resource_from_blobs(struct vaccel_resource **res,
			       const struct vaccel_blob **blobs,
			       size_t nr_blobs, vaccel_resource_type_t type)
{
	return alloc_resource(res, [&](vaccel_resource *r) {
		return vaccel_resource_init_from_blobs(r, blobs, nr_blobs,
						       type);
	});
}

int vaccel_resource_delete(struct vaccel_resource *res)
{
	int rc = vaccel_resource_release(res);
	if (rc != VACCEL_OK)
		return rc;
	free(res);
	return VACCEL_OK;
}

int vaccel_resource_register(struct vaccel_resource *res,
			     struct vaccel_session *sess)
{
	return guard(__func__, [&] {
		return vaccel::core::resource_register(res, sess);
	});
}

int vaccel_resource_unregister(struct vaccel_resource *res,
			       struct vaccel_session *sess)
{
	return guard(__func__, [&] {
		return vaccel::core::resource_unregister(res, sess);
	});
}

int vaccel_resource_sync(struct vaccel_resource *res,
			 struct vaccel_session *sess)
{
	return guard(__func__, [&]() -> Status {
		if (!vaccel::core::live(res))
			return Status(VACCEL_EINVAL,
				      "resource is NULL or not initialized");
		if (!vaccel::core::live(sess))
			return Status(VACCEL_EINVAL,
				      "session is NULL or not initialized");
		if (!vaccel_session_has_resource(sess, res))
			return Status::error(
			    VACCEL_EPERM,
			    "resource %lld is not registered with session %lld",
			    static_cast<long long>(res->id),
			    static_cast<long long>(sess->id));
		auto *hooks = sess->state->hooks;
		if (hooks == nullptr ||
		    hooks->desc->info->resource_sync == nullptr)
			return Status::ok(); // local resources are always in
					     // sync
		int rc = hooks->desc->info->resource_sync(res, sess);
		if (rc != VACCEL_OK)
			return Status::error(rc, "plugin %s: sync failed",
					     hooks->name.c_str());
		return Status::ok();
	});
}

int vaccel_resource_directory(struct vaccel_resource *res, char *out_path,
			      size_t out_path_size, char **alloc_path)
{
	return guard(__func__, [&]() -> Status {
		if (!vaccel::core::live(res))
			return Status(VACCEL_EINVAL,
				      "resource is NULL or not initialized");
		if (res->path_type != VACCEL_PATH_LOCAL_DIR)
			return Status::error(
			    VACCEL_EINVAL,
			    "resource %lld was not created from a directory",
			    static_cast<long long>(res->id));
		const std::string &dir = res->state->directory;
		if (alloc_path != nullptr) {
			char *p = strdup(dir.c_str());
			if (p == nullptr)
				return Status(VACCEL_ENOMEM, "out of memory");
			*alloc_path = p;
			return Status::ok();
		}
		if (out_path == nullptr)
			return Status(VACCEL_EINVAL, "no output buffer given");
		if (dir.size() + 1 > out_path_size)
			return Status::error(
			    VACCEL_ENAMETOOLONG,
			    "directory needs %zu bytes, buffer has %zu",
			    dir.size() + 1, out_path_size);
		std::memcpy(out_path, dir.c_str(), dir.size() + 1);
		return Status::ok();
	});
}

size_t vaccel_resource_count(void)
{
	return vaccel::core::runtime().resource_count();
}

} // extern "C"
