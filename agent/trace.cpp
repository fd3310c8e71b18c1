// SPDX-License-Identifier: Apache-2.0
#include "trace.h"

namespace vaccel::agent
{

core::Status RequestTrace::open(const std::string &path)
{
	origin_ = TraceRecord::Clock::now();
	return file_.open(path,
			  "# conn\tstream\tmethod\treq_bytes\treply_bytes\t"
			  "status\tqueue_us\thandler_us\top_us\treply_us\t"
			  "total_us\tat_ms\n");
}

void RequestTrace::record(const TraceRecord &r) noexcept
{
	using us = std::chrono::duration<double, std::micro>;
	const auto span = [](auto a, auto b) {
		return b >= a ? us(b - a).count() : 0.0;
	};
	file_.line("%llu\t%u\t%.*s\t%llu\t%llu\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%."
		   "1f\t%.3f\n",
		   static_cast<unsigned long long>(r.conn), r.stream,
		   static_cast<int>(r.method.size()), r.method.data(),
		   static_cast<unsigned long long>(r.request_bytes),
		   static_cast<unsigned long long>(r.reply_bytes), r.status,
		   span(r.read, r.started), span(r.started, r.handled),
		   us(r.op).count(), span(r.handled, r.replied),
		   span(r.read, r.replied),
		   std::chrono::duration<double, std::milli>(r.read - origin_)
		       .count());
}

} // namespace vaccel::agent
