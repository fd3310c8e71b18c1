// SPDX-License-Identifier: Apache-2.0
// `vaccel digest [--index FILE] PATH...`: the digest under which the agent's
// model cache knows each model (a file or a model directory, as the
// program registers it), printed, or written into an index that the rpc
// plugin reads (VACCEL_RPC_MODEL_DIGESTS) so that sandboxes name the model
// without reading it (docs/serverless.md, "Naming models by a precomputed
// digest"). Run it where the function's image is built.
#include "cli.h"

#include "transport/content_hash.h"
#include "transport/digest_index.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace vaccel_cli
{

namespace
{

namespace tr = vaccel::transport;

std::string read_all(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		die(kExitSetup, "cannot read " + path);
	std::ostringstream bytes;
	bytes << in.rdbuf();
	return bytes.str();
}

// The model at @p path as the rpc plugin would register it: its files in
// the resource's order, and their digest.
tr::DigestIndex::Entry describe(const std::string &path)
{
	vaccel_resource res{};
	if (int rc =
		vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_MODEL);
	    rc != VACCEL_OK)
		die(kExitSetup, path + ": " + error_name(rc) + " (" +
				    vaccel_last_error() + ")");
	tr::DigestIndex::Entry e;
	tr::ResourceDigest digest;
	std::string failed;
	for (size_t i = 0; i < res.nr_blobs && failed.empty(); ++i) {
		const vaccel_blob *b = res.blobs[i];
		if (b == nullptr || b->path == nullptr) {
			failed = path + ": not a file resource";
			break;
		}
		auto f = tr::DigestIndex::stat_file(b->path);
		if (!f) {
			failed = f.status().message();
			break;
		}
		auto added =
		    digest.add_file(b->name != nullptr ? b->name : "", b->path);
		if (!added) {
			failed = added.status().message();
			break;
		}
		e.files.push_back(std::move(f.value()));
	}
	vaccel_resource_release(&res);
	if (!failed.empty())
		die(kExitSetup, failed);
	e.digest = digest.finish();
	return e;
}

bool same_files(const tr::DigestIndex::Entry &a,
		const tr::DigestIndex::Entry &b)
{
	if (a.files.size() != b.files.size())
		return false;
	for (size_t i = 0; i < a.files.size(); ++i)
		if (a.files[i].path != b.files[i].path)
			return false;
	return true;
}

// Writes @p entries to @p path in one rename, keeping the entries already
// there for other models.
void update_index(const std::string &path,
		  const std::vector<tr::DigestIndex::Entry> &entries)
{
	std::vector<tr::DigestIndex::Entry> all;
	if (std::filesystem::exists(path)) {
		auto old = tr::DigestIndex::parse(read_all(path));
		if (!old)
			die(kExitSetup, path + ": " + old.status().message());
		for (const auto &e : old->entries())
			if (std::none_of(entries.begin(), entries.end(),
					 [&](const auto &n) {
						 return same_files(e, n);
					 }))
				all.push_back(e);
	}
	all.insert(all.end(), entries.begin(), entries.end());
	const std::string tmp = path + ".tmp";
	{
		std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
		out << tr::DigestIndex::format(all);
		if (!out.flush())
			die(kExitSetup, "cannot write " + tmp);
	}
	std::error_code ec;
	std::filesystem::rename(tmp, path, ec);
	if (ec)
		die(kExitSetup, "cannot write " + path + ": " + ec.message());
}

} // namespace

int cmd_digest(const std::vector<std::string> &paths, const std::string &index)
{
	std::vector<tr::DigestIndex::Entry> entries;
	for (const auto &p : paths) {
		entries.push_back(describe(p));
		std::printf("%s  %s\n", entries.back().digest.c_str(),
			    p.c_str());
	}
	if (!index.empty())
		update_index(index, entries);
	return kExitOk;
}

} // namespace vaccel_cli
