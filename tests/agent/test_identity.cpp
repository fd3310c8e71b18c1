// SPDX-License-Identifier: Apache-2.0
// Tenants of TLS clients: from the certificate's common name, mapped by the
// policy's [identity.tls_tenants], and names that must not become tenants.
#include "identity.h"
#include "policy.h"

#include <gtest/gtest.h>

namespace
{

using vaccel::agent::describe;
using vaccel::agent::identify_tls;
using vaccel::agent::IdentityPolicy;
using vaccel::agent::parse_policy;

TEST(TlsIdentity, CommonNameNamesTheTenant)
{
	IdentityPolicy p;
	p.tls_tenants["client-a"] = "alpha";
	EXPECT_EQ(identify_tls("client-a", p).value(), "alpha");
	EXPECT_EQ(identify_tls("client-b", p).value(), "tls:client-b");
	EXPECT_EQ(identify_tls("Client A", p).value(), "tls:Client A");
}

TEST(TlsIdentity, UnusableNamesAreRefused)
{
	IdentityPolicy p;
	EXPECT_FALSE(identify_tls("", p)); // none, or several CNs
	EXPECT_FALSE(identify_tls("a\nb", p));
	EXPECT_FALSE(identify_tls("caf\xc3\xa9", p));
	EXPECT_FALSE(identify_tls(std::string(65, 'x'), p));
	EXPECT_TRUE(identify_tls(std::string(64, 'x'), p));
}

TEST(TlsIdentity, PolicyMapping)
{
	auto p = parse_policy("[identity.tls_tenants]\n"
			      "\"client-a\" = \"alpha\"\n"
			      "\"b.example\" = \"beta\"\n",
			      "test");
	ASSERT_TRUE(p) << p.status().message();
	EXPECT_EQ(p->identity.tls_tenants.at("client-a"), "alpha");
	EXPECT_EQ(p->identity.tls_tenants.at("b.example"), "beta");
	const std::string text = describe(*p);
	EXPECT_NE(text.find("[identity.tls_tenants]"), std::string::npos);
	EXPECT_NE(text.find("\"client-a\" = \"alpha\""), std::string::npos)
	    << text;
	// What describe() prints reads back the same.
	auto again = parse_policy(text, "described");
	ASSERT_TRUE(again) << again.status().message();
	EXPECT_EQ(again->identity.tls_tenants, p->identity.tls_tenants);

	EXPECT_FALSE(parse_policy("[identity.tls_tenants]\n\"a\" = 3\n", "t"));
	EXPECT_FALSE(
	    parse_policy("[identity.tls_tenants]\n\"a\" = \"\"\n", "t"));
}

} // namespace
