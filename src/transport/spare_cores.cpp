// SPDX-License-Identifier: Apache-2.0
#include "spare_cores.h"

#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>

namespace vaccel::transport
{

SpareCores::SpareCores(unsigned cores) noexcept : cores_(std::max(cores, 1U))
{
}

bool SpareCores::update(unsigned runnable) noexcept
{
	// The sampler itself runs: the others are what competes with it.
	const unsigned others = runnable > 0 ? runnable - 1 : 0;
	if (spare() && others >= cores_)
		spare_.store(false, std::memory_order_relaxed);
	else if (!spare() && others <= cores_ / 2)
		spare_.store(true, std::memory_order_relaxed);
	return spare();
}

std::optional<unsigned> runnable_in_loadavg(std::string_view text) noexcept
{
	// Three load averages, then "runnable/total".
	for (int field = 0; field < 3; field++) {
		const size_t gap = text.find(' ');
		if (gap == std::string_view::npos)
			return std::nullopt;
		text.remove_prefix(gap + 1);
	}
	unsigned runnable = 0;
	const auto [end, ec] =
	    std::from_chars(text.data(), text.data() + text.size(), runnable);
	if (ec != std::errc() || end == text.data() ||
	    end == text.data() + text.size() || *end != '/')
		return std::nullopt;
	return runnable;
}

namespace
{

// The process's sampler: /proc/loadavg kept open (a pread re-reads it) and
// the next time a sample is due, claimed by one thread at a time.
class LoadSampler
{
public:
	LoadSampler() noexcept
	    : fd_(::open("/proc/loadavg", O_RDONLY | O_CLOEXEC)),
	      cores_(static_cast<unsigned>(std::max(::get_nprocs(), 1)))
	{
	}
	LoadSampler(const LoadSampler &) = delete;
	LoadSampler &operator=(const LoadSampler &) = delete;

	bool spare() noexcept
	{
		if (fd_ < 0 || regardless_.load(std::memory_order_relaxed))
			return true;
		const int64_t now =
		    std::chrono::duration_cast<std::chrono::nanoseconds>(
			std::chrono::steady_clock::now().time_since_epoch())
			.count();
		int64_t due = due_.load(std::memory_order_relaxed);
		if (now >= due &&
		    due_.compare_exchange_strong(due, now + kEvery.count(),
						 std::memory_order_relaxed))
			sample();
		return cores_.spare();
	}
	void set_regardless(bool yes) noexcept
	{
		regardless_.store(yes, std::memory_order_relaxed);
	}

private:
	static constexpr std::chrono::nanoseconds kEvery =
	    std::chrono::milliseconds(5);

	void sample() noexcept
	{
		char buf[128];
		const ssize_t n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			return;
		if (auto runnable = runnable_in_loadavg(
			std::string_view(buf, static_cast<size_t>(n))))
			cores_.update(*runnable);
	}

	const int fd_;
	std::atomic<bool> regardless_{false};
	SpareCores cores_;
	std::atomic<int64_t> due_{0};
};

LoadSampler &sampler() noexcept
{
	// Never destroyed: threads may still poll while the process exits.
	static LoadSampler *const s = new LoadSampler();
	return *s;
}

} // namespace

bool cores_to_spare() noexcept
{
	return sampler().spare();
}

void poll_on_busy_host(bool yes) noexcept
{
	sampler().set_regardless(yes);
}

} // namespace vaccel::transport
