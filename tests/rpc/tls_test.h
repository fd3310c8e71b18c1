// SPDX-License-Identifier: Apache-2.0
// TLS material for the rpc tests, made by the openssl CLI: a certificate
// authority and the certificates it issues.
#pragma once

#include "rpc_test.h"

#include <cstdlib>
#include <string>

namespace rpc_test
{

inline bool sh(const std::string &cmd)
{
	return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// A certificate authority in @p dir, and the certificates it issues
// (P-256 keys, valid for a day).
class Ca
{
public:
	Ca(std::string dir, std::string name)
	    : dir_(std::move(dir)), name_(std::move(name))
	{
	}
	bool make()
	{
		return sh("openssl req -x509 -newkey ec -pkeyopt "
			  "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
			  "/CN=" +
			  name_ + " -keyout " + key(name_) + " -out " +
			  cert(name_) +
			  " -addext basicConstraints=critical,CA:TRUE -addext "
			  "keyUsage=critical,keyCertSign,cRLSign");
	}
	// Certificate @p file (subject CN @p cn), with extensions @p ext.
	bool issue(const std::string &file, const std::string &cn,
		   const std::string &ext)
	{
		const std::string csr = dir_ + "/" + file + ".csr";
		const std::string extfile = dir_ + "/" + file + ".ext";
		write_file(extfile, "basicConstraints=CA:FALSE\n" + ext);
		return sh("openssl req -newkey ec -pkeyopt "
			  "ec_paramgen_curve:prime256v1 -nodes -subj /CN=" +
			  cn + " -keyout " + key(file) + " -out " + csr) &&
		       sh("openssl x509 -req -days 1 -in " + csr + " -CA " +
			  cert(name_) + " -CAkey " + key(name_) +
			  " -set_serial " + std::to_string(++serial_) +
			  " -extfile " + extfile + " -out " + cert(file));
	}
	[[nodiscard]] std::string cert(const std::string &file) const
	{
		return dir_ + "/" + file + ".pem";
	}
	[[nodiscard]] std::string key(const std::string &file) const
	{
		return dir_ + "/" + file + ".key";
	}
	[[nodiscard]] std::string ca() const { return cert(name_); }

private:
	std::string dir_;
	std::string name_;
	int serial_ = 1;
};

// The extensions of a client certificate.
inline constexpr const char *kClientExt = "extendedKeyUsage=clientAuth\n";

} // namespace rpc_test
