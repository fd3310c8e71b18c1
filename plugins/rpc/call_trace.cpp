// SPDX-License-Identifier: Apache-2.0
// CallTrace (client.h): the client's half of the request trace.
#include "client.h"

#include <vaccel/log.h>

#include <new>

namespace vaccel::rpc_plugin
{

void CallTrace::open(const std::string &path) noexcept
{
	try {
		if (auto st =
			file_.open(path, "# op\tmethod\trc\tcalls\ttotal_us\t"
					 "call_us\twire_us\town_us\t"
					 "wire_start_ns\twire_end_ns\tcpu\t"
					 "cpu_end\tslot\n");
		    !st)
			vaccel_error("[rpc] VACCEL_RPC_TRACE: %s; not tracing",
				     st.message().c_str());
	} catch (const std::bad_alloc &) {
		vaccel_error("[rpc] VACCEL_RPC_TRACE: out of memory");
	}
}

void CallTrace::record(const char *op, int rc, std::chrono::nanoseconds total,
		       const CallTimes &t) noexcept
{
	using us = std::chrono::duration<double, std::micro>;
	const std::string_view m = t.method.empty() ? "-" : t.method;
	const auto ns = [](std::chrono::steady_clock::time_point p) {
		return static_cast<long long>(
		    std::chrono::duration_cast<std::chrono::nanoseconds>(
			p.time_since_epoch())
			.count());
	};
	file_.line("%s\t%.*s\t%d\t%u\t%.1f\t%.1f\t%.1f\t%.1f\t%lld\t%lld\t%"
		   "d\t%d\t%d\n",
		   op, static_cast<int>(m.size()), m.data(), rc, t.calls,
		   us(total).count(), us(t.call).count(), us(t.wire).count(),
		   us(total - t.call).count(), ns(t.wire_start), ns(t.wire_end),
		   t.cpu_start, t.cpu_end, t.slot ? 1 : 0);
}

CallTimes &CallTrace::current() noexcept
{
	static thread_local CallTimes times;
	return times;
}

} // namespace vaccel::rpc_plugin
