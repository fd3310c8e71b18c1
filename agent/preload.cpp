// SPDX-License-Identifier: Apache-2.0
#include "preload.h"

#include "service.h"
#include "transport/content_hash.h"

#include <vaccel.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace vaccel::agent
{

using core::Result;
using core::Status;

namespace
{

std::vector<std::string> split(const std::string &set)
{
	std::vector<std::string> out;
	std::stringstream ss(set);
	for (std::string item; std::getline(ss, item, ',');)
		if (!item.empty())
			out.push_back(item);
	return out;
}

// Whether the file at @p path starts as a zip archive (TorchScript).
bool is_zip(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	char head[4] = {};
	return in.read(head, sizeof(head)) &&
	       std::string_view(head, sizeof(head)) ==
		   std::string_view("PK\x03\x04", 4);
}

// What the cache keys and accounts a resource of @p paths by.
struct Described {
	std::string digest;
	uint64_t bytes = 0;
	bool torchscript = false;
};

Result<Described> describe(const std::vector<std::string> &paths)
{
	Described d;
	transport::ResourceDigest digest;
	for (const auto &p : paths) {
		auto size = digest.add_file(
		    std::filesystem::path(p).filename().string(), p);
		if (!size)
			return size.status();
		d.bytes += size.value();
		d.torchscript |= is_zip(p);
	}
	d.digest = digest.finish();
	return d;
}

// Loads a TorchScript model through a session of its own; the cache's
// session keeps it loaded after this one ends.
Status load_torchscript(vaccel_resource *res)
{
	vaccel_session *sess = nullptr;
	if (int rc = vaccel_session_new(&sess, 0); rc != VACCEL_OK)
		return Status::error(rc, "cannot create a session");
	int rc = vaccel_resource_register(res, sess);
	if (rc == VACCEL_OK) {
		rc = vaccel_torch_model_load(sess, res);
		vaccel_resource_unregister(res, sess);
	}
	vaccel_session_delete(sess);
	if (rc != VACCEL_OK)
		return Status::error(rc, "loading failed: %s",
				     vaccel_last_error());
	return Status::ok();
}

Status preload_one(ModelCache &cache, const std::string &set)
{
	const std::vector<std::string> paths = split(set);
	if (paths.empty())
		return Status::error(VACCEL_EINVAL, "no files");
	std::vector<const char *> cpaths;
	for (const auto &p : paths)
		cpaths.push_back(p.c_str());
	vaccel_resource *raw = nullptr;
	if (int rc = vaccel_resource_multi_new(
		&raw, cpaths.data(), cpaths.size(), VACCEL_RESOURCE_MODEL);
	    rc != VACCEL_OK)
		return Status::error(rc, "cannot create the resource");
	// The files are the operator's: nothing to remove with it.
	auto host = std::make_shared<HostResource>(raw, std::string());
	auto d = describe(paths);
	if (!d)
		return d.status();
	host->digest = d->digest;
	host->bytes = d->bytes;
	host->torchscript = d->torchscript;
	VACCEL_RETURN_IF_ERROR(cache.preload(host));
	if (host->torchscript)
		VACCEL_RETURN_IF_ERROR(load_torchscript(host->get()));
	vaccel_info("agent: preloaded %s (%llu bytes, digest %s)", set.c_str(),
		    static_cast<unsigned long long>(host->bytes),
		    host->digest.c_str());
	return Status::ok();
}

} // namespace

Status preload_models(Service &service, const std::vector<std::string> &sets)
{
	ModelCache &cache = service.model_cache();
	if (!sets.empty() && !cache.enabled())
		return Status::error(VACCEL_EINVAL,
				     "--preload needs the model cache "
				     "([agent] model_cache_bytes is 0)");
	for (const auto &set : sets)
		if (Status st = preload_one(cache, set); !st)
			return Status::error(st.code(), "%s: %s", set.c_str(),
					     st.message().c_str());
	return Status::ok();
}

Result<std::string> digest_of(const std::string &set)
{
	const std::vector<std::string> paths = split(set);
	if (paths.empty())
		return Status::error(VACCEL_EINVAL, "no files");
	auto d = describe(paths);
	if (!d)
		return d.status();
	return d->digest;
}

} // namespace vaccel::agent
