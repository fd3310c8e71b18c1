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
			  "total_us\tat_ms\tread_ns\tframe_us\tpre_op_us\t"
			  "post_op_us\tcpu\tcpu_reply\n");
}

void RequestTrace::record(const TraceRecord &r) noexcept
{
	using us = std::chrono::duration<double, std::micro>;
	const auto span = [](auto a, auto b) {
		return b >= a ? us(b - a).count() : 0.0;
	};
	const bool ran_op = r.op.total.count() > 0;
	file_.line(
	    "%llu\t%u\t%.*s\t%llu\t%llu\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%."
	    "1f\t%.3f\t%lld\t%.1f\t%.1f\t%.1f\t%d\t%d\n",
	    static_cast<unsigned long long>(r.conn), r.stream,
	    static_cast<int>(r.method.size()), r.method.data(),
	    static_cast<unsigned long long>(r.request_bytes),
	    static_cast<unsigned long long>(r.reply_bytes), r.status,
	    span(r.read, r.started), span(r.started, r.handled),
	    us(r.op.total).count(), span(r.handled, r.replied),
	    span(r.read, r.replied),
	    std::chrono::duration<double, std::milli>(r.read - origin_).count(),
	    static_cast<long long>(
		std::chrono::duration_cast<std::chrono::nanoseconds>(
		    r.read.time_since_epoch())
		    .count()),
	    span(r.arrived, r.read), ran_op ? span(r.started, r.op.first) : 0.0,
	    ran_op ? span(r.op.last, r.handled) : 0.0, r.cpu_started,
	    r.cpu_replied);
}

} // namespace vaccel::agent
