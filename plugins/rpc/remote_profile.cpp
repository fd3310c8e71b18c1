// SPDX-License-Identifier: Apache-2.0
#include "remote_profile.h"

#include "rpc/profiling.pb.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace vaccel::rpc_plugin
{

namespace
{

// @p r, initialized, holding a copy of @p samples; false without memory.
bool fill(vaccel_prof_region &r, const std::string &name,
	  const rpc::profiling::Region &samples)
{
	if (vaccel_prof_region_init(&r, name.c_str()) != VACCEL_OK)
		return false;
	const auto n = static_cast<size_t>(samples.samples_size());
	if (n == 0)
		return true;
	r.samples = static_cast<vaccel_prof_sample *>(
	    std::malloc(n * sizeof(vaccel_prof_sample)));
	if (r.samples == nullptr)
		return false;
	r.size = n;
	r.nr_entries = n;
	for (size_t i = 0; i < n; ++i) {
		const auto &s = samples.samples(static_cast<int>(i));
		r.samples[i] = {s.start(), s.time()};
	}
	return true;
}

} // namespace

void print_remote_profile(const Remote &session)
{
	if (!vaccel_prof_enabled())
		return;
	rpc::profiling::Request req;
	req.set_session_id(session.id);
	rpc::profiling::Response resp;
	const Status st = plugin().client.call(
	    {.method = "GetProfiler", .generation = session.generation}, req,
	    &resp);
	if (!st) {
		vaccel_warn("[rpc] agent session %lld: no profile: %s",
			    static_cast<long long>(session.id),
			    st.message().c_str());
		return;
	}
	const auto &regions = resp.profiler().regions();
	std::vector<std::string> names;
	for (const auto &kv : regions)
		names.push_back(kv.first);
	std::sort(names.begin(), names.end()); // the map has no order
	std::vector<vaccel_prof_region> out(names.size());
	for (size_t i = 0; i < names.size(); ++i)
		if (!fill(out[i], names[i], regions.at(names[i])))
			vaccel_warn("[rpc] agent session %lld: region %s: out "
				    "of memory",
				    static_cast<long long>(session.id),
				    names[i].c_str());
	const int n = static_cast<int>(out.size());
	vaccel_prof_regions_print_all(out.data(), n);
	vaccel_prof_regions_release(out.data(), n);
}

} // namespace vaccel::rpc_plugin
