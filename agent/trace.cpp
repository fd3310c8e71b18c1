// SPDX-License-Identifier: Apache-2.0
#include "trace.h"

#include <cerrno>
#include <cstring>

namespace vaccel::agent
{

core::Status RequestTrace::open(const std::string &path)
{
	close();
	std::FILE *f = path == "-" ? stderr : std::fopen(path.c_str(), "w");
	if (f == nullptr)
		return core::Status::error(VACCEL_EIO, "--trace %s: %s",
					   path.c_str(), std::strerror(errno));
	// Block-buffered: a line per request must not cost a write(2)
	// each. What is buffered reaches the file at close (shutdown).
	if (f != stderr)
		std::setvbuf(f, nullptr, _IOFBF, 1 << 16);
	std::lock_guard lock(mu_);
	out_ = f;
	owned_ = f != stderr;
	origin_ = TraceRecord::Clock::now();
	std::fprintf(out_, "# conn\tstream\tmethod\treq_bytes\treply_bytes\t"
			   "status\tqueue_us\thandler_us\top_us\treply_us\t"
			   "total_us\tat_ms\n");
	return core::Status::ok();
}

void RequestTrace::close() noexcept
{
	std::lock_guard lock(mu_);
	if (out_ == nullptr)
		return;
	if (owned_)
		std::fclose(out_);
	else
		std::fflush(out_);
	out_ = nullptr;
}

void RequestTrace::record(const TraceRecord &r) noexcept
{
	using us = std::chrono::duration<double, std::micro>;
	const auto span = [](auto a, auto b) {
		return b >= a ? us(b - a).count() : 0.0;
	};
	std::lock_guard lock(mu_);
	if (out_ == nullptr)
		return;
	std::fprintf(out_,
		     "%llu\t%u\t%.*s\t%llu\t%llu\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%"
		     ".1f\t%.3f\n",
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
