// SPDX-License-Identifier: Apache-2.0
#include "sha256.h"

#include <openssl/evp.h>

#include <new>

namespace vaccel::agent
{

std::string sha256_hex(std::string_view data)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(),
		       nullptr) != 1)
		throw std::bad_alloc(); // libcrypto fails only without memory
	static constexpr char hex[] = "0123456789abcdef";
	std::string out(static_cast<size_t>(len) * 2, '\0');
	for (unsigned int i = 0; i < len; ++i) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	return out;
}

} // namespace vaccel::agent
