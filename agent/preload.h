// SPDX-License-Identifier: Apache-2.0
// vaccel-agent --preload: the operator's models, put in the host model
// cache (model_cache.h) before the first request, public to every tenant
// and never evicted. A TorchScript model is also loaded then, so that even
// the first sandbox that uses it pays no load.
#pragma once

#include "core/status.h"

#include <string>
#include <vector>

namespace vaccel::agent
{

class Service;

// Each of @p sets names one model resource: its files, comma-separated
// ("model.pt,labels.txt,model.cfg"). Clients find it by digest, which
// covers the files' names (without directories) and bytes, in this order.
core::Status preload_models(Service &service,
			    const std::vector<std::string> &sets);

// The digest of the resource made of @p set's files (vaccel-agent
// --digest), as the cache and the rpc plugin compute it.
core::Result<std::string> digest_of(const std::string &set);

} // namespace vaccel::agent
