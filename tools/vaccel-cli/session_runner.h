// SPDX-License-Identifier: Apache-2.0
// The base of every op runner of `vaccel run` and `vaccel bench`: owns the
// session and the resources registered with it, and checks at construction
// that some loaded plugin serves the op.
#pragma once

#include "cli.h"

#include <string>
#include <vector>

namespace vaccel_cli
{

class SessionRunner : public OpRunner
{
public:
	// Throws CliError(kExitSetup) when the session cannot be made or no
	// plugin implements @p type.
	SessionRunner(vaccel_op_type_t type, uint32_t hint);
	~SessionRunner() override { release(); }
	SessionRunner(const SessionRunner &) = delete;
	SessionRunner &operator=(const SessionRunner &) = delete;

protected:
	void release();
	// A resource of @p path (file, directory or URL) registered with the
	// session, released with it. Throws CliError(kExitSetup).
	vaccel_resource *add_resource(const std::string &path,
				      vaccel_resource_type_t t);

private:
	bool live_ = false;
	std::vector<vaccel_resource *> resources_;
};

} // namespace vaccel_cli
