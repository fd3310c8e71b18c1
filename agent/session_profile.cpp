// SPDX-License-Identifier: Apache-2.0
#include "session_profile.h"

#include <ctime>
#include <new>

namespace vaccel::agent
{

uint64_t SessionProfile::now_ns() noexcept
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL +
	       static_cast<uint64_t>(ts.tv_nsec);
}

void SessionProfile::add(std::string_view op, uint64_t start_ns,
			 uint64_t time_ns) noexcept
{
	try {
		rpc::profiling::Sample s;
		s.set_start(start_ns);
		s.set_time(time_ns);
		std::lock_guard lock(mu_);
		auto it = regions_.find(op);
		if (it == regions_.end())
			it = regions_.emplace(std::string(op), Region{}).first;
		Region &r = it->second;
		if (r.ring.size() < kMaxSamples) {
			r.ring.push_back(s);
			return;
		}
		r.ring[r.next] = s;
		r.next = (r.next + 1) % kMaxSamples;
	} catch (const std::bad_alloc &) {
		// A profile is worth less than the call it times.
	}
}

void SessionProfile::to_proto(rpc::profiling::Profiler *out) const
{
	out->set_component_name(std::string(kComponent));
	std::lock_guard lock(mu_);
	for (const auto &[op, r] : regions_) {
		const std::string name =
		    "[" + std::string(kComponent) + "] " + op;
		auto *samples =
		    (*out->mutable_regions())[name].mutable_samples();
		samples->Reserve(static_cast<int>(r.ring.size()));
		for (size_t i = 0; i < r.ring.size(); ++i)
			*samples->Add() = r.ring[(r.next + i) % r.ring.size()];
	}
}

} // namespace vaccel::agent
