// SPDX-License-Identifier: Apache-2.0
#include "content_hash.h"

#include <openssl/evp.h>

#include <new>

namespace vaccel::transport
{

namespace
{

std::string hex(const unsigned char *md, unsigned int len)
{
	static constexpr char digits[] = "0123456789abcdef";
	std::string out(static_cast<size_t>(len) * 2, '\0');
	for (unsigned int i = 0; i < len; ++i) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	return out;
}

} // namespace

// libcrypto fails these only without memory.
std::string sha256_hex(std::string_view data)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(),
		       nullptr) != 1)
		throw std::bad_alloc();
	return hex(md, len);
}

struct ResourceDigest::State {
	EVP_MD_CTX *ctx;
};

ResourceDigest::ResourceDigest() : state_(new State{EVP_MD_CTX_new()})
{
	if (state_->ctx == nullptr ||
	    EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
		EVP_MD_CTX_free(state_->ctx);
		delete state_;
		throw std::bad_alloc();
	}
}

ResourceDigest::~ResourceDigest()
{
	EVP_MD_CTX_free(state_->ctx);
	delete state_;
}

void ResourceDigest::feed(const void *p, size_t n)
{
	if (EVP_DigestUpdate(state_->ctx, p, n) != 1)
		throw std::bad_alloc();
}

std::string ResourceDigest::finish()
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(state_->ctx, md, &len) != 1)
		throw std::bad_alloc();
	return hex(md, len);
}

} // namespace vaccel::transport
