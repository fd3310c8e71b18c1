// SPDX-License-Identifier: Apache-2.0
#include "call_times.h"

#include "transport/wire.h"

namespace vaccel::agent
{

namespace
{

namespace wire = transport::wire;

// The op of a genop request: the first byte of its first read arg's inline
// bytes (field @p buf_field of the arg message: 1 in vaccel.genop.Arg, 4 in
// ShmArg), as the genop handler reads it. kNoOp when absent or out of range.
uint8_t genop_op(std::span<const uint8_t> payload, uint32_t buf_field)
{
	wire::Reader r(payload);
	for (wire::Field f; r.next(&f);) {
		if (!f.is(2, wire::WireType::Len)) // read_args
			continue;
		wire::Reader arg(f.bytes);
		for (wire::Field a; arg.next(&a);)
			if (a.is(buf_field, wire::WireType::Len) &&
			    !a.bytes.empty() && a.bytes[0] < metrics::kGenopOps)
				return a.bytes[0];
		return metrics::kNoOp; // only the first read arg names it
	}
	return metrics::kNoOp;
}

} // namespace

size_t CallTimes::kind_of(const transport::codec::RequestView &req) noexcept
{
	const metrics::MethodId m = metrics::method_id(req.method);
	if (m == metrics::MethodId::Other)
		return kNone;
	uint8_t op = metrics::kNoOp;
	if (m == metrics::MethodId::Genop)
		op = genop_op(req.payload, 1);
	else if (m == metrics::MethodId::GenopShm)
		op = genop_op(req.payload, 4);
	if (op != metrics::kNoOp)
		return metrics::kMethods + op;
	return static_cast<size_t>(m);
}

bool CallTimes::is_short(size_t k,
			 std::chrono::nanoseconds limit) const noexcept
{
	if (k >= kKinds)
		return false;
	const int64_t avg = avg_ns_[k].load(std::memory_order_relaxed);
	return avg >= 0 && avg < limit.count();
}

void CallTimes::note(size_t k, std::chrono::nanoseconds took, bool ran) noexcept
{
	if (k >= kKinds)
		return;
	const int64_t ns = took.count();
	auto &a = avg_ns_[k];
	const int64_t avg = a.load(std::memory_order_relaxed);
	if (!ran && (avg < 0 || ns <= avg))
		return;
	a.store(avg < 0 ? ns : avg + (ns - avg) / 8, std::memory_order_relaxed);
}

} // namespace vaccel::agent
