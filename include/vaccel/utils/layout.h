// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/utils/layout.h
 * What gives the public structs upstream vAccel's layout where upstream
 * embeds something this library does not use: the lengths of upstream's
 * arrays, and a placeholder for its mutexes that keeps <pthread.h> out of
 * programs that include <vaccel.h>.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Array lengths in upstream's layout, pinned to the release whose API this
 * library matches: adding an op or a resource type here must not move the
 * fields that follow them. */
#define VACCEL_LAYOUT_OP_SLOTS 24      /**< upstream's VACCEL_OP_MAX */
#define VACCEL_LAYOUT_RESOURCE_SLOTS 3 /**< upstream's VACCEL_RESOURCE_MAX */

/* glibc's pthread_mutex_t: 40 bytes on x86_64 and most 64-bit targets, 48
 * on aarch64, 24 on 32-bit ones (tests/abi checks it against the real
 * type). */
#if defined(__aarch64__)
#define VACCEL_MUTEX_SLOT_WORDS_ 6
#elif defined(__LP64__)
#define VACCEL_MUTEX_SLOT_WORDS_ 5
#else
#define VACCEL_MUTEX_SLOT_WORDS_ 6
#endif

/** Same size and alignment as pthread_mutex_t, which upstream embeds in
 *  sessions and resources for its own locking; unused here. */
struct vaccel_mutex_slot {
	long words_[VACCEL_MUTEX_SLOT_WORDS_];
};

#ifdef __cplusplus
}
#endif
