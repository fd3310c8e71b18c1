// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/list.h
 * Intrusive list link, kept only because upstream's public structs expose it.
 * The runtime keeps its own containers; nothing walks these links.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIST_ENTRY_INIT(name)                                                  \
	{                                                                      \
		&(name), &(name)                                               \
	}

struct vaccel_list_entry {
	struct vaccel_list_entry *next;
	struct vaccel_list_entry *prev;
};

#ifdef __cplusplus
}
#endif
