// SPDX-License-Identifier: Apache-2.0
// URL resources in the static guest library: replaces src/core/fetch.cpp,
// whose libcurl (with TLS, DNS and their own dependencies) is what a guest
// or unikernel can least afford. A guest asks the host for such files
// instead: register the model on the agent side, or copy it into the guest.
#include "core/objects.h"

namespace vaccel::core
{

Status fetch_url(const std::string &url, const std::string &dest,
		 long timeout_s)
{
	(void)dest;
	(void)timeout_s;
	return Status::error(VACCEL_ENOTSUP,
			     "cannot fetch %s: this static guest build has no "
			     "URL download support (no libcurl)",
			     url.c_str());
}

} // namespace vaccel::core
