// SPDX-License-Identifier: Apache-2.0
/* Our public structs against the facts of upstream's layout
 * (upstream_layout.def): same size, alignment, and the offset and size of
 * every field, at compile time. A binary built against upstream's headers
 * reads and writes our objects at those offsets. */
#include <pthread.h>
#include <stddef.h>
#include <vaccel.h>

#define VACCEL_ABI_SIZE(s, size, align)                                        \
	_Static_assert(sizeof(struct s) == (size), "sizeof " #s);              \
	_Static_assert(_Alignof(struct s) == (align), "alignof " #s);
#define VACCEL_ABI_FIELD(s, f, off, size)                                      \
	_Static_assert(offsetof(struct s, f) == (off), "offset " #s "." #f);   \
	_Static_assert(sizeof(((struct s *)0)->f) == (size), "size " #s "." #f);

#if defined(__x86_64__)
#include "upstream_layout.def"
#endif

/* The placeholder for upstream's embedded mutexes matches the real type
 * on every target, not only the one the facts were taken on. */
_Static_assert(sizeof(struct vaccel_mutex_slot) == sizeof(pthread_mutex_t),
	       "mutex slot size");
_Static_assert(_Alignof(struct vaccel_mutex_slot) == _Alignof(pthread_mutex_t),
	       "mutex slot alignment");

int main(void)
{
	return 0;
}
