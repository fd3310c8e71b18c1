// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/utils/enum.h
 * X-macro helpers that declare the public enums together with their
 * to-string functions.
 *
 * Every public enum is described once as a list macro whose items are
 * `ITEM(NAME, PREFIX)` or `ITEM(NAME, VALUE, PREFIX)`. From one list this file
 * generates
 *   - `typedef enum { PREFIX_NAME [= VALUE], ..., PREFIX_MAX } name_t;`
 *   - `const char *name_to_str(name_t)`       -> "PREFIX_NAME"
 *   - `const char *name_to_base_str(name_t)`  -> "NAME"
 *   - `char *name_name(name_t, char *buf, size_t n)` -> "name" (lower case)
 * so that names, values and strings cannot drift apart. The names and the
 * numbers are those of upstream vAccel.
 */
#pragma once

#include "str.h"
#include <stddef.h>

/** Longest string any enum helper produces, including the terminator. */
enum { VACCEL_ENUM_STR_MAX = 128 };

/* Pick the 2- or 3-argument form of an item macro. Callers pass a trailing
 * dummy so that the variadic part is never empty (ISO C11 requires one). */
#define VACCEL_ENUM_GET_MACRO(_1, _2, _3, NAME, ...) NAME

#define VACCEL_ENUM_ITEM_NO_VALUE(name, prefix) prefix##_##name
#define VACCEL_ENUM_ITEM_WITH_VALUE(name, value, prefix) prefix##_##name = value
#define VACCEL_ENUM_ITEM(...)                                                  \
	VACCEL_ENUM_GET_MACRO(__VA_ARGS__, VACCEL_ENUM_ITEM_WITH_VALUE,        \
			      VACCEL_ENUM_ITEM_NO_VALUE, _)                    \
	(__VA_ARGS__),

#define VACCEL_ENUM_STR(name, prefix) #prefix "_" #name

#define VACCEL_ENUM_STR_CASE_NO_VALUE(name, prefix)                            \
	case prefix##_##name:                                                  \
		return VACCEL_ENUM_STR(name, prefix);
#define VACCEL_ENUM_STR_CASE_WITH_VALUE(name, value, prefix)                   \
	VACCEL_ENUM_STR_CASE_NO_VALUE(name, prefix)
#define VACCEL_ENUM_STR_CASE(...)                                              \
	VACCEL_ENUM_GET_MACRO(__VA_ARGS__, VACCEL_ENUM_STR_CASE_WITH_VALUE,    \
			      VACCEL_ENUM_STR_CASE_NO_VALUE, _)                \
	(__VA_ARGS__)

#define VACCEL_ENUM_BASE_STR_CASE_NO_VALUE(name, prefix)                       \
	case prefix##_##name:                                                  \
		return #name;
#define VACCEL_ENUM_BASE_STR_CASE_WITH_VALUE(name, value, prefix)              \
	VACCEL_ENUM_BASE_STR_CASE_NO_VALUE(name, prefix)
#define VACCEL_ENUM_BASE_STR_CASE(...)                                         \
	VACCEL_ENUM_GET_MACRO(__VA_ARGS__,                                     \
			      VACCEL_ENUM_BASE_STR_CASE_WITH_VALUE,            \
			      VACCEL_ENUM_BASE_STR_CASE_NO_VALUE, _)           \
	(__VA_ARGS__)

/** Enum items of a list, followed by a `PREFIX_MAX` guard. */
#define VACCEL_ENUM_DEF_ITEMS(prefix, LIST)                                    \
	LIST(VACCEL_ENUM_ITEM)                                                 \
	VACCEL_ENUM_ITEM(MAX, prefix)

/** The three string helpers of an enum (static inline: no ABI surface). */
#define VACCEL_ENUM_DEF_STR_FUNCS(name, prefix, LIST)                          \
	static inline const char *name##_to_str(name##_t value)                \
	{                                                                      \
		switch (value) {                                               \
			LIST(VACCEL_ENUM_STR_CASE)                             \
		default:                                                       \
			return VACCEL_ENUM_STR(MAX, prefix);                   \
		}                                                              \
	}                                                                      \
	static inline const char *name##_to_base_str(name##_t value)           \
	{                                                                      \
		switch (value) {                                               \
			LIST(VACCEL_ENUM_BASE_STR_CASE)                        \
		default:                                                       \
			return "MAX";                                          \
		}                                                              \
	}                                                                      \
	static inline char *name##_name(name##_t value, char *lower,           \
					size_t size)                           \
	{                                                                      \
		if (!lower || !size)                                           \
			return NULL;                                           \
		vaccel_str_to_lower(name##_to_base_str(value), lower, size,    \
				    NULL);                                     \
		return lower;                                                  \
	}

/** Declare `name_t` and its string helpers from a list macro. */
#define VACCEL_ENUM_DEF_WITH_STR_FUNCS(name, prefix, LIST)                     \
	typedef enum { VACCEL_ENUM_DEF_ITEMS(prefix, LIST) } name##_t;         \
	VACCEL_ENUM_DEF_STR_FUNCS(name, prefix, LIST)
