// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/prof.h
 * Profiling regions: named timers that record one sample (start time and
 * duration) per start/stop pair.
 *
 * Sampling happens only while the runtime's configuration has
 * `profiling_enabled` set (VACCEL_PROFILING_ENABLED=1); otherwise start and
 * stop return VACCEL_OK at once and record nothing, so they can stay on
 * hot paths.
 *
 * Threads: start and stop of one region may be called from several threads
 * at once. Each thread's stop closes the sample its own latest start
 * opened; a stop with no open sample on its thread closes the region's
 * latest sample. Init, release and print must not race with start/stop on
 * the same region.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One timed pass through a region. */
struct vaccel_prof_sample {
	uint64_t start; /**< CLOCK_MONOTONIC_RAW time of the start, in ns */
	uint64_t time;  /**< ns spent in the region; 0 while still open */
};

/** A named series of samples. */
struct vaccel_prof_region {
	const char *name;  /**< the region's name */
	bool name_owned;   /**< @c name is malloc'd and freed by release */
	size_t nr_entries; /**< samples recorded */
	struct vaccel_prof_sample *samples; /**< @c size slots, malloc'd */
	size_t size; /**< slots allocated in @c samples */
};

/** Static initializer of a region named by the string literal @p name;
 *  storage is allocated on the first start. */
#define VACCEL_PROF_REGION_INIT(name)                                          \
	{                                                                      \
		(name), false, 0, NULL, 0                                      \
	}

/** True if the runtime collects profiling samples (false when not
 *  initialized). */
bool vaccel_prof_enabled(void);

/**
 * Open a new sample in @p region (growing its storage as needed).
 * @return VACCEL_OK (also when profiling is disabled), VACCEL_EINVAL for
 *         NULL, VACCEL_ENOMEM.
 */
int vaccel_prof_region_start(struct vaccel_prof_region *region);

/**
 * Close the sample this thread opened last in @p region (see the file
 * comment). The region is declared const for upstream compatibility: its
 * fields do not change, only the sample its @c samples points to.
 * @return VACCEL_OK (also when profiling is disabled), VACCEL_EINVAL for
 *         NULL, VACCEL_ENOENT if the region has no samples.
 */
int vaccel_prof_region_stop(const struct vaccel_prof_region *region);

/**
 * Log the region's total time and number of samples at info level, as
 * "[prof] <name>: total_time: <ns> nsec nr_entries: <n>". Regions without
 * samples print nothing.
 * @return VACCEL_OK (also when profiling is disabled), VACCEL_EINVAL.
 */
int vaccel_prof_region_print(const struct vaccel_prof_region *region);

/**
 * Initialize @p region with a copy of @p name (NULL gives an owned, empty
 * 256-byte name buffer the caller may fill). Unlike upstream, the region
 * is initialized whether or not profiling is enabled, so that release is
 * always safe. @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ENOMEM.
 */
int vaccel_prof_region_init(struct vaccel_prof_region *region,
			    const char *name);

/** Free the samples and the owned name of @p region and reset it.
 *  @return VACCEL_OK; VACCEL_EINVAL for NULL. */
int vaccel_prof_region_release(struct vaccel_prof_region *region);

/**
 * vaccel_prof_region_start() on the region called @p name among the
 * @p nregions regions at @p regions (the last one of that name wins).
 * @return as start; VACCEL_EINVAL if no region has that name.
 */
int vaccel_prof_regions_start_by_name(struct vaccel_prof_region *regions,
				      int nregions, const char *name);

/** vaccel_prof_region_stop() on the region called @p name; see
 *  vaccel_prof_regions_start_by_name(). */
int vaccel_prof_regions_stop_by_name(struct vaccel_prof_region *regions,
				     int nregions, const char *name);

/**
 * Initialize @p nregions regions, each with an empty owned name buffer
 * (see vaccel_prof_region_init()). On error the ones already initialized
 * are released. @return VACCEL_OK, VACCEL_EINVAL, VACCEL_ENOMEM.
 */
int vaccel_prof_regions_init(struct vaccel_prof_region *regions, int nregions);

/** Release @p nregions regions (samples and owned names).
 *  @return VACCEL_OK; VACCEL_EINVAL for NULL. */
int vaccel_prof_regions_release(struct vaccel_prof_region *regions,
				int nregions);

/** vaccel_prof_region_print() for each of @p nregions regions.
 *  @return VACCEL_OK, VACCEL_EINVAL. */
int vaccel_prof_regions_print_all(struct vaccel_prof_region *regions,
				  int nregions);

/**
 * Format the summary lines of the @p size regions that have samples (the
 * format of vaccel_prof_region_print(), one line each, '\n'-separated,
 * NUL-terminated).
 * With @p tbuf NULL: return the buffer size needed. Otherwise: allocate a
 * @p tbuf_len-byte buffer into *@p tbuf (the caller frees it), fill it
 * (truncating if too small) and return the number of characters written.
 * @return that size/count; 0 when profiling is disabled (nothing is
 *         allocated); -VACCEL_EINVAL for NULL @p regions, a negative
 *         @p size or a zero @p tbuf_len; -VACCEL_ENOMEM.
 */
int vaccel_prof_regions_print_all_to_buf(char **tbuf, size_t tbuf_len,
					 struct vaccel_prof_region *regions,
					 int size);

#ifdef __cplusplus
}
#endif
