// SPDX-License-Identifier: Apache-2.0
// SHA-256 as the agent names content: shared objects
// in the exec policy, and resources in the host model cache, whose key the
// rpc plugin computes over the same bytes to ask for a resource by name
// instead of uploading it (docs/protocol.md, "Model cache"). OpenSSL's
// libcrypto computes it (content_hash.cpp), except in the static guest
// library, which has no OpenSSL (guest/static/sha256.cpp).
#pragma once

#include "base/status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vaccel::transport
{

// Lower-case hex digest of @p data.
std::string sha256_hex(std::string_view data);

// The digest of a resource's files: SHA-256 over, for each file in order,
// its name's length (8 bytes, little-endian), its name, its size (same
// encoding) and its bytes. Names count because backends give files roles by
// name (a model's *.txt labels, *.cfg settings).
class ResourceDigest
{
public:
	ResourceDigest();
	ResourceDigest(const ResourceDigest &) = delete;
	ResourceDigest &operator=(const ResourceDigest &) = delete;
	~ResourceDigest();

	void add(std::string_view name, std::string_view data)
	{
		feed_size(name.size());
		feed(name.data(), name.size());
		feed_size(data.size());
		feed(data.data(), data.size());
	}
	// The same for the file at @p path, read in pieces
	// (content_hash_files.cpp; not in the static guest): its size, or why
	// it could not be read.
	base::Result<uint64_t> add_file(std::string_view name,
					const std::string &path);
	// Lower-case hex; the object is spent afterwards.
	std::string finish();

	struct State; // each implementation's own

private:
	void feed(const void *p, size_t n);
	void feed_size(uint64_t v)
	{
		unsigned char b[8];
		for (size_t i = 0; i < sizeof(b); ++i)
			b[i] = static_cast<unsigned char>(v >> (8 * i));
		feed(b, sizeof(b));
	}
	State *state_;
};

} // namespace vaccel::transport
