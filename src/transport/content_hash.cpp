// SPDX-License-Identifier: Apache-2.0
//
// OpenSSL's SHA256_* functions, not EVP: they are the same implementation
// (with the CPU's SHA extensions) without the library context that EVP
// needs, whose first use reads openssl.cnf and loads the default provider.
// The rpc plugin hashes models inside programs that may never touch OpenSSL
// otherwise; a sandbox's first registration would pay that set-up, and the
// plugin must not change the program's OpenSSL configuration to avoid it.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "content_hash.h"

#include <openssl/sha.h>

namespace vaccel::transport
{

namespace
{

std::string hex(const unsigned char *md, size_t len)
{
	static constexpr char digits[] = "0123456789abcdef";
	std::string out(len * 2, '\0');
	for (size_t i = 0; i < len; ++i) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	return out;
}

} // namespace

std::string sha256_hex(std::string_view data)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(reinterpret_cast<const unsigned char *>(data.data()),
	       data.size(), md);
	return hex(md, sizeof(md));
}

struct ResourceDigest::State {
	SHA256_CTX ctx;
};

ResourceDigest::ResourceDigest() : state_(new State)
{
	SHA256_Init(&state_->ctx);
}

ResourceDigest::~ResourceDigest()
{
	delete state_;
}

void ResourceDigest::feed(const void *p, size_t n)
{
	SHA256_Update(&state_->ctx, p, n);
}

std::string ResourceDigest::finish()
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_Final(md, &state_->ctx);
	return hex(md, sizeof(md));
}

} // namespace vaccel::transport
