// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/utils/layout.h
 * Placeholders that give the public structs upstream vAccel's layout where
 * upstream embeds a type this library does not use. They keep <pthread.h>
 * out of programs that include <vaccel.h>.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

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
