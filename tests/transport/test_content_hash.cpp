// SPDX-License-Identifier: Apache-2.0
// The content digests the model cache keys on (transport/content_hash.h),
// checked against OpenSSL's SHA-256 over the encoding spelled out here. Built
// twice: with the transport's implementation (OpenSSL) and with the static
// guest's own (guest/static/sha256.cpp), which must agree byte for byte:
// a guest and its agent compute the same key.
#include "transport/content_hash.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <string>

namespace
{

using vaccel::transport::ResourceDigest;
using vaccel::transport::sha256_hex;

std::string reference(const std::string &bytes)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(),
			     nullptr),
		  1);
	std::string out;
	char buf[3];
	for (unsigned int i = 0; i < len; ++i) {
		std::snprintf(buf, sizeof(buf), "%02x", md[i]);
		out += buf;
	}
	return out;
}

std::string le64(uint64_t v)
{
	std::string b(8, '\0');
	for (size_t i = 0; i < 8; ++i)
		b[i] = static_cast<char>(v >> (8 * i));
	return b;
}

std::string random_bytes(size_t n, unsigned seed)
{
	std::mt19937 rng(seed);
	std::string s(n, '\0');
	for (char &c : s)
		c = static_cast<char>(rng());
	return s;
}

TEST(ContentHash, KnownVectors)
{
	EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
				  "934ca495991b7852b855");
	EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a3"
				     "96177a9cb410ff61f20015ad");
}

// Every length around the 64-byte block and its 56-byte padding edge.
TEST(ContentHash, AgreesWithOpenSslAcrossBlockEdges)
{
	for (size_t n = 0; n < 200; ++n) {
		const std::string s = random_bytes(n, static_cast<unsigned>(n));
		EXPECT_EQ(sha256_hex(s), reference(s)) << n << " bytes";
	}
	const std::string big = random_bytes(3 << 20, 7);
	EXPECT_EQ(sha256_hex(big), reference(big));
}

TEST(ContentHash, ResourceDigestIsTheDocumentedEncoding)
{
	const std::string model = random_bytes(100000, 1);
	const std::string labels = "shirt\ntrouser\n";
	ResourceDigest d;
	d.add("model.pt", model);
	d.add("labels.txt", labels);
	const std::string expected =
	    reference(le64(8) + "model.pt" + le64(model.size()) + model +
		      le64(10) + "labels.txt" + le64(labels.size()) + labels);
	EXPECT_EQ(d.finish(), expected);
}

// Names count: the same bytes under another name (a *.txt that a backend
// would read as labels) are another resource.
TEST(ContentHash, NamesAndOrderChangeTheDigest)
{
	auto digest = [](std::string_view n1, std::string_view d1,
			 std::string_view n2, std::string_view d2) {
		ResourceDigest d;
		d.add(n1, d1);
		d.add(n2, d2);
		return d.finish();
	};
	const std::string base = digest("a.pt", "xyz", "b.txt", "1");
	EXPECT_NE(base, digest("a.pt", "xyz", "b.cfg", "1"));
	EXPECT_NE(base, digest("b.txt", "1", "a.pt", "xyz"));
	// Lengths delimit: moving a byte from a name to its data differs.
	EXPECT_NE(base, digest("a.p", "txyz", "b.txt", "1"));
	EXPECT_EQ(base, digest("a.pt", "xyz", "b.txt", "1"));
}

} // namespace
