// SPDX-License-Identifier: Apache-2.0
// Profiling regions (vaccel/prof.h).
//
// Thread safety. struct vaccel_prof_region is a public struct that programs
// define statically with VACCEL_PROF_REGION_INIT, so there is no room in it
// for a lock. Appends and stops on a region are serialized by one of a small
// fixed set of mutexes, picked by hashing the region's address: cheap (no
// allocation, no registration), and contention only between regions that
// collide. Each thread remembers, in a short thread-local list, which sample
// its own start opened, so that concurrent start/stop pairs close their own
// samples rather than whichever sample happens to be last.
//
// Disabled profiling costs one relaxed atomic load per start/stop.
#include "core/runtime.h"

#include <array>
#include <cinttypes>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <vaccel/error.h>
#include <vaccel/log.h>
#include <vaccel/prof.h>
#include <vector>

namespace
{

constexpr size_t kFirstSlots = 1024;
constexpr size_t kNameBufSize = 256;
// Open samples a thread remembers; beyond that the oldest are forgotten
// (their stop then falls back to the region's last sample).
constexpr size_t kMaxOpenPerThread = 64;

uint64_t now_ns() noexcept
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL +
	       static_cast<uint64_t>(ts.tv_nsec);
}

std::mutex &lock_for(const vaccel_prof_region *region) noexcept
{
	static std::array<std::mutex, 64> locks;
	const size_t h = std::hash<const void *>{}(region);
	return locks[(h >> 4) % locks.size()];
}

struct OpenSample {
	const vaccel_prof_region *region;
	size_t index;
	uint64_t start;
};

thread_local std::vector<OpenSample> t_open;

void remember(const vaccel_prof_region *region, size_t index,
	      uint64_t start) noexcept
{
	try {
		if (t_open.size() >= kMaxOpenPerThread)
			t_open.erase(t_open.begin());
		t_open.push_back({region, index, start});
	} catch (...) {
		// Without the note, stop falls back to the last sample.
	}
}

// Must hold the region's lock.
int grow(vaccel_prof_region *region) noexcept
{
	size_t slots = region->size == 0 ? kFirstSlots : region->size;
	if (region->size != 0) {
		if (slots > SIZE_MAX / 2)
			return VACCEL_ENOMEM;
		slots *= 2;
	}
	if (slots > SIZE_MAX / sizeof(vaccel_prof_sample))
		return VACCEL_ENOMEM;
	void *p =
	    std::realloc(region->samples, slots * sizeof(vaccel_prof_sample));
	if (p == nullptr)
		return VACCEL_ENOMEM;
	region->samples = static_cast<vaccel_prof_sample *>(p);
	region->size = slots;
	return VACCEL_OK;
}

int start_sample(vaccel_prof_region *region) noexcept
{
	size_t index = 0;
	uint64_t start = 0;
	{
		std::lock_guard lock(lock_for(region));
		if (region->nr_entries >= region->size || !region->samples)
			if (int rc = grow(region); rc != VACCEL_OK)
				return rc;
		index = region->nr_entries++;
		start = now_ns();
		region->samples[index] = {start, 0};
	}
	remember(region, index, start);
	return VACCEL_OK;
}

int stop_sample(const vaccel_prof_region *region) noexcept
{
	const uint64_t end = now_ns();
	std::lock_guard lock(lock_for(region));

	// This thread's latest open sample of the region, if still valid.
	for (auto it = t_open.rbegin(); it != t_open.rend(); ++it) {
		if (it->region != region)
			continue;
		const OpenSample open = *it;
		t_open.erase(std::next(it).base());
		if (open.index < region->nr_entries &&
		    region->samples[open.index].start == open.start) {
			region->samples[open.index].time = end - open.start;
			return VACCEL_OK;
		}
		break;
	}

	if (region->nr_entries == 0 || region->samples == nullptr)
		return VACCEL_ENOENT;
	vaccel_prof_sample &last = region->samples[region->nr_entries - 1];
	last.time = end - last.start;
	return VACCEL_OK;
}

const char *name_of(const vaccel_prof_region *region) noexcept
{
	return region->name != nullptr ? region->name : "";
}

// Sum of the sample times; the count is returned through @p entries.
uint64_t total_of(const vaccel_prof_region *region, size_t *entries) noexcept
{
	std::lock_guard lock(lock_for(region));
	uint64_t total = 0;
	const size_t n = region->samples != nullptr ? region->nr_entries : 0;
	for (size_t i = 0; i < n; ++i)
		total += region->samples[i].time;
	*entries = n;
	return total;
}

// The region's summary line, or "" when it has no samples.
std::string summary(const vaccel_prof_region *region)
{
	size_t entries = 0;
	const uint64_t total = total_of(region, &entries);
	if (entries == 0)
		return {};
	char line[512];
	std::snprintf(line, sizeof(line),
		      "[prof] %s: total_time: %" PRIu64 " nsec nr_entries: %zu",
		      name_of(region), total, entries);
	return line;
}

vaccel_prof_region *find(vaccel_prof_region *regions, int nregions,
			 const char *name) noexcept
{
	vaccel_prof_region *found = nullptr;
	for (int i = 0; i < nregions; ++i)
		if (regions[i].name != nullptr &&
		    std::strcmp(regions[i].name, name) == 0)
			found = &regions[i];
	return found;
}

bool enabled() noexcept
{
	return vaccel::core::profiling_enabled();
}

} // namespace

extern "C" {

bool vaccel_prof_enabled(void)
{
	return enabled();
}

int vaccel_prof_region_start(struct vaccel_prof_region *region)
{
	if (!enabled())
		return VACCEL_OK;
	if (region == nullptr) {
		vaccel_error("prof: cannot start a NULL region");
		return VACCEL_EINVAL;
	}
	return start_sample(region);
}

int vaccel_prof_region_stop(const struct vaccel_prof_region *region)
{
	if (!enabled())
		return VACCEL_OK;
	if (region == nullptr) {
		vaccel_error("prof: cannot stop a NULL region");
		return VACCEL_EINVAL;
	}
	return stop_sample(region);
}

int vaccel_prof_region_print(const struct vaccel_prof_region *region)
{
	if (!enabled())
		return VACCEL_OK;
	if (region == nullptr) {
		vaccel_error("prof: cannot print a NULL region");
		return VACCEL_EINVAL;
	}
	size_t entries = 0;
	const uint64_t total = total_of(region, &entries);
	if (entries > 0)
		vaccel_info("[prof] %s: total_time: %" PRIu64
			    " nsec nr_entries: %zu",
			    name_of(region), total, entries);
	return VACCEL_OK;
}

int vaccel_prof_region_init(struct vaccel_prof_region *region, const char *name)
{
	if (region == nullptr) {
		vaccel_error("prof: cannot init a NULL region");
		return VACCEL_EINVAL;
	}
	char *copy = nullptr;
	if (name == nullptr) {
		copy = static_cast<char *>(std::calloc(1, kNameBufSize));
	} else {
		const size_t n = std::strlen(name) + 1;
		copy = static_cast<char *>(std::malloc(n));
		if (copy != nullptr)
			std::memcpy(copy, name, n);
	}
	if (copy == nullptr)
		return VACCEL_ENOMEM;

	region->name = copy;
	region->name_owned = true;
	region->nr_entries = 0;
	region->samples = nullptr;
	region->size = 0;
	return VACCEL_OK;
}

int vaccel_prof_region_release(struct vaccel_prof_region *region)
{
	if (region == nullptr) {
		vaccel_error("prof: cannot release a NULL region");
		return VACCEL_EINVAL;
	}
	std::lock_guard lock(lock_for(region));
	std::free(region->samples);
	if (region->name_owned)
		std::free(const_cast<char *>(region->name));
	region->name = nullptr;
	region->name_owned = false;
	region->nr_entries = 0;
	region->samples = nullptr;
	region->size = 0;
	return VACCEL_OK;
}

int vaccel_prof_regions_start_by_name(struct vaccel_prof_region *regions,
				      int nregions, const char *name)
{
	if (!enabled())
		return VACCEL_OK;
	if (regions == nullptr || nregions < 0 || name == nullptr) {
		vaccel_error("prof: start by name: invalid region array");
		return VACCEL_EINVAL;
	}
	vaccel_prof_region *r = find(regions, nregions, name);
	if (r == nullptr) {
		vaccel_error("prof: start by name: no region '%s'", name);
		return VACCEL_EINVAL;
	}
	return start_sample(r);
}

int vaccel_prof_regions_stop_by_name(struct vaccel_prof_region *regions,
				     int nregions, const char *name)
{
	if (!enabled())
		return VACCEL_OK;
	if (regions == nullptr || nregions < 0 || name == nullptr) {
		vaccel_error("prof: stop by name: invalid region array");
		return VACCEL_EINVAL;
	}
	vaccel_prof_region *r = find(regions, nregions, name);
	if (r == nullptr) {
		vaccel_error("prof: stop by name: no region '%s'", name);
		return VACCEL_EINVAL;
	}
	return stop_sample(r);
}

int vaccel_prof_regions_init(struct vaccel_prof_region *regions, int nregions)
{
	if (regions == nullptr || nregions < 0) {
		vaccel_error("prof: init: invalid region array");
		return VACCEL_EINVAL;
	}
	for (int i = 0; i < nregions; ++i) {
		int rc = vaccel_prof_region_init(&regions[i], nullptr);
		if (rc == VACCEL_OK)
			continue;
		vaccel_prof_regions_release(regions, i);
		return rc;
	}
	return VACCEL_OK;
}

int vaccel_prof_regions_release(struct vaccel_prof_region *regions,
				int nregions)
{
	if (regions == nullptr || nregions < 0) {
		vaccel_error("prof: release: invalid region array");
		return VACCEL_EINVAL;
	}
	for (int i = 0; i < nregions; ++i)
		vaccel_prof_region_release(&regions[i]);
	return VACCEL_OK;
}

int vaccel_prof_regions_print_all(struct vaccel_prof_region *regions,
				  int nregions)
{
	if (!enabled())
		return VACCEL_OK;
	if (regions == nullptr || nregions < 0) {
		vaccel_error("prof: print: invalid region array");
		return VACCEL_EINVAL;
	}
	for (int i = 0; i < nregions; ++i)
		vaccel_prof_region_print(&regions[i]);
	return VACCEL_OK;
}

int vaccel_prof_regions_print_all_to_buf(char **tbuf, size_t tbuf_len,
					 struct vaccel_prof_region *regions,
					 int size)
{
	if (!enabled())
		return 0;
	if (regions == nullptr || size < 0) {
		vaccel_error("prof: print to buffer: invalid region array");
		return -VACCEL_EINVAL;
	}
	std::string text;
	try {
		for (int i = 0; i < size; ++i) {
			std::string line = summary(&regions[i]);
			if (line.empty())
				continue;
			if (!text.empty())
				text += '\n';
			text += line;
		}
	} catch (...) {
		return -VACCEL_ENOMEM;
	}
	// Lines plus one separator or terminator each: the size to allocate.
	const size_t needed = text.empty() ? 0 : text.size() + 1;
	if (needed > INT_MAX)
		return -VACCEL_ENOMEM;
	if (tbuf == nullptr)
		return static_cast<int>(needed);
	if (tbuf_len == 0) {
		vaccel_error("prof: print to buffer: zero buffer length");
		return -VACCEL_EINVAL;
	}

	auto *buf = static_cast<char *>(std::malloc(tbuf_len));
	if (buf == nullptr)
		return -VACCEL_ENOMEM;
	const size_t n = text.size() < tbuf_len ? text.size() : tbuf_len - 1;
	std::memcpy(buf, text.data(), n);
	buf[n] = '\0';
	*tbuf = buf;
	return static_cast<int>(n);
}

} // extern "C"
