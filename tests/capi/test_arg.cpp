// SPDX-License-Identifier: Apache-2.0
// struct vaccel_arg, struct vaccel_arg_array and the deprecated arg list.
// Ownership is checked by running under AddressSanitizer
// (-DVACCEL_SANITIZE=address,undefined): every test releases what it made.
#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace
{

// An array that releases itself.
struct Array {
	vaccel_arg_array a{};
	explicit Array(size_t cap = 0)
	{
		EXPECT_EQ(vaccel_arg_array_init(&a, cap), VACCEL_OK);
	}
	~Array()
	{
		if (a.args != nullptr)
			vaccel_arg_array_release(&a);
	}
	Array(const Array &) = delete;
	Array &operator=(const Array &) = delete;
	vaccel_arg_array *operator->() { return &a; }
	vaccel_arg_array *get() { return &a; }
};

/* ---- single args ------------------------------------------------------- */

TEST(Arg, InitCopiesAndOwns)
{
	int v = 42;
	vaccel_arg arg{};
	ASSERT_EQ(vaccel_arg_init(&arg, &v, sizeof(v), VACCEL_ARG_INT32, 7),
		  VACCEL_OK);
	EXPECT_NE(arg.buf, &v);
	EXPECT_TRUE(arg.owned);
	EXPECT_EQ(arg.size, sizeof(v));
	EXPECT_EQ(arg.type, VACCEL_ARG_INT32);
	EXPECT_EQ(arg.custom_type_id, 7U);
	EXPECT_EQ(std::memcmp(arg.buf, &v, sizeof(v)), 0);
	EXPECT_EQ(vaccel_arg_release(&arg), VACCEL_OK);
	EXPECT_EQ(arg.buf, nullptr);
	EXPECT_EQ(arg.type, VACCEL_ARG_MAX);
	EXPECT_EQ(vaccel_arg_release(&arg), VACCEL_OK); // nothing left to free
}

TEST(Arg, InitWithoutBufferZeroes)
{
	vaccel_arg arg{};
	ASSERT_EQ(vaccel_arg_init(&arg, nullptr, 16, VACCEL_ARG_RAW, 0),
		  VACCEL_OK);
	for (size_t i = 0; i < 16; ++i)
		EXPECT_EQ(static_cast<uint8_t *>(arg.buf)[i], 0);
	vaccel_arg_release(&arg);

	ASSERT_EQ(vaccel_arg_init(&arg, nullptr, 0, VACCEL_ARG_RAW, 0),
		  VACCEL_OK);
	EXPECT_EQ(arg.buf, nullptr);
	vaccel_arg_release(&arg);
}

TEST(Arg, InitErrors)
{
	int v = 1;
	vaccel_arg arg{};
	EXPECT_EQ(vaccel_arg_init(nullptr, &v, 4, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_init(&arg, &v, 0, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_init_from_buf(nullptr, &v, 4, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_init_from_buf(&arg, &v, 0, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_init_from_buf(&arg, nullptr, 4, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_release(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_new(nullptr, &v, 4, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_from_buf(nullptr, &v, 4, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_delete(nullptr), VACCEL_EINVAL);
}

TEST(Arg, FromBufBorrows)
{
	int v = 3;
	vaccel_arg arg{};
	ASSERT_EQ(
	    vaccel_arg_init_from_buf(&arg, &v, sizeof(v), VACCEL_ARG_INT32, 0),
	    VACCEL_OK);
	EXPECT_EQ(arg.buf, &v);
	EXPECT_FALSE(arg.owned);
	EXPECT_EQ(vaccel_arg_release(&arg), VACCEL_OK); // must not free &v
}

TEST(Arg, NewAndDelete)
{
	double d = 2.5;
	vaccel_arg *owned = nullptr;
	ASSERT_EQ(vaccel_arg_new(&owned, &d, sizeof(d), VACCEL_ARG_FLOAT64, 0),
		  VACCEL_OK);
	EXPECT_TRUE(owned->owned);
	EXPECT_EQ(vaccel_arg_delete(owned), VACCEL_OK);

	vaccel_arg *borrowed = nullptr;
	ASSERT_EQ(vaccel_arg_from_buf(&borrowed, &d, sizeof(d),
				      VACCEL_ARG_FLOAT64, 0),
		  VACCEL_OK);
	EXPECT_EQ(borrowed->buf, &d);
	EXPECT_EQ(vaccel_arg_delete(borrowed), VACCEL_OK);

	vaccel_arg *untouched = reinterpret_cast<vaccel_arg *>(0x1);
	EXPECT_EQ(vaccel_arg_new(&untouched, &d, 0, VACCEL_ARG_RAW, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(untouched, reinterpret_cast<vaccel_arg *>(0x1));
}

/* ---- array lifecycle --------------------------------------------------- */

TEST(ArgArray, InitDefaultCapacity)
{
	vaccel_arg_array a{};
	ASSERT_EQ(vaccel_arg_array_init(&a, 0), VACCEL_OK);
	EXPECT_GT(a.capacity, 0U);
	EXPECT_EQ(a.count, 0U);
	EXPECT_EQ(a.position, 0U);
	EXPECT_TRUE(a.owned);
	EXPECT_EQ(vaccel_arg_array_release(&a), VACCEL_OK);
	EXPECT_EQ(a.args, nullptr);
	EXPECT_EQ(vaccel_arg_array_release(&a), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_init(nullptr, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_release(nullptr), VACCEL_EINVAL);
}

TEST(ArgArray, NewAndDelete)
{
	vaccel_arg_array *a = nullptr;
	ASSERT_EQ(vaccel_arg_array_new(&a, 3), VACCEL_OK);
	EXPECT_EQ(a->capacity, 3U);
	int32_t v = 5;
	EXPECT_EQ(vaccel_arg_array_add_int32(a, &v), VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_delete(a), VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_new(nullptr, 3), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_delete(nullptr), VACCEL_EINVAL);
}

TEST(ArgArray, GrowsGeometricallyKeepingArgs)
{
	Array a(1);
	std::vector<int32_t> values(1000);
	for (size_t i = 0; i < values.size(); ++i) {
		values[i] = static_cast<int32_t>(i * 3);
		ASSERT_EQ(vaccel_arg_array_add_int32(a.get(), &values[i]),
			  VACCEL_OK);
	}
	EXPECT_EQ(vaccel_arg_array_count(a.get()), 1000U);
	EXPECT_GE(a->capacity, 1000U);
	EXPECT_LT(a->capacity, 4000U); // doubling, not +1 per add
	for (size_t i = 0; i < values.size(); ++i) {
		int32_t got = -1;
		ASSERT_EQ(vaccel_arg_array_get_int32(a.get(), &got), VACCEL_OK);
		EXPECT_EQ(got, values[i]);
	}
}

TEST(ArgArray, WrapIsFixedSizeAndBorrowed)
{
	int32_t x = 9;
	vaccel_arg args[1] = {
	    {&x, sizeof(x), VACCEL_ARG_INT32, 0, false},
	};
	vaccel_arg_array a{};
	ASSERT_EQ(vaccel_arg_array_wrap(&a, args, 1), VACCEL_OK);
	EXPECT_FALSE(a.owned);
	EXPECT_EQ(a.capacity, 1U);
	int32_t y = 1;
	EXPECT_EQ(vaccel_arg_array_add_int32(&a, &y), VACCEL_ERANGE);
	int32_t got = 0;
	EXPECT_EQ(vaccel_arg_array_get_int32(&a, &got), VACCEL_OK);
	EXPECT_EQ(got, 9);
	EXPECT_EQ(vaccel_arg_array_release(&a), VACCEL_OK);
	EXPECT_EQ(args[0].buf, &x); // the caller's args are left alone

	EXPECT_EQ(vaccel_arg_array_wrap(&a, nullptr, 1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_wrap(nullptr, args, 1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_wrap(&a, nullptr, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_get_int32(&a, &got), VACCEL_ERANGE);
}

TEST(ArgArray, ClearKeepsCapacityAndFreesOwned)
{
	Array a(2);
	int32_t v = 1;
	char hello[] = "hello";
	ASSERT_EQ(vaccel_arg_array_add_int32(a.get(), &v), VACCEL_OK);
	Array src(1);
	ASSERT_EQ(vaccel_arg_array_add_string(src.get(), hello), VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_add_all(a.get(), src.get(), true),
		  VACCEL_OK);
	const size_t cap = a->capacity;
	vaccel_arg_array_get_int32(a.get(), &v);
	vaccel_arg_array_clear(a.get());
	EXPECT_EQ(a->count, 0U);
	EXPECT_EQ(a->position, 0U);
	EXPECT_EQ(a->capacity, cap);
	vaccel_arg_array_clear(nullptr);
	EXPECT_EQ(vaccel_arg_array_add_int32(a.get(), &v), VACCEL_OK);
}

/* ---- typed add/get/set for every numeric type -------------------------- */

template <class T> T sample_value(int i)
{
	return static_cast<T>(i + 1);
}
template <> bool sample_value<bool>(int i)
{
	return (i % 2) != 0;
}

#define NUMERIC_ROUND_TRIP(NAME, CTYPE, TAG, ARRAY_TAG)                        \
	TEST(ArgArrayTyped, NAME##RoundTrip)                                   \
	{                                                                      \
		Array a;                                                       \
		CTYPE one = sample_value<CTYPE>(1);                            \
		CTYPE many[3] = {sample_value<CTYPE>(0),                       \
				 sample_value<CTYPE>(1),                       \
				 sample_value<CTYPE>(2)};                      \
		ASSERT_EQ(vaccel_arg_array_add_##NAME(a.get(), &one),          \
			  VACCEL_OK);                                          \
		ASSERT_EQ(                                                     \
		    vaccel_arg_array_add_##NAME##_array(a.get(), many, 3),     \
		    VACCEL_OK);                                                \
		EXPECT_EQ(a->args[0].type, TAG);                               \
		EXPECT_EQ(a->args[0].size, sizeof(CTYPE));                     \
		EXPECT_EQ(a->args[0].buf, &one); /* borrowed */                \
		EXPECT_EQ(a->args[1].type, ARRAY_TAG);                         \
		EXPECT_EQ(a->args[1].size, 3 * sizeof(CTYPE));                 \
                                                                               \
		/* A getter of the other shape refuses without moving. */      \
		CTYPE *vals = nullptr;                                         \
		size_t n = 0;                                                  \
		EXPECT_EQ(                                                     \
		    vaccel_arg_array_get_##NAME##_array(a.get(), &vals, &n),   \
		    VACCEL_EINVAL);                                            \
		EXPECT_EQ(vaccel_arg_array_position(a.get()), 0U);             \
                                                                               \
		CTYPE got{};                                                   \
		ASSERT_EQ(vaccel_arg_array_get_##NAME(a.get(), &got),          \
			  VACCEL_OK);                                          \
		EXPECT_EQ(got, one);                                           \
		EXPECT_EQ(vaccel_arg_array_get_##NAME(a.get(), &got),          \
			  VACCEL_EINVAL);                                      \
		ASSERT_EQ(                                                     \
		    vaccel_arg_array_get_##NAME##_array(a.get(), &vals, &n),   \
		    VACCEL_OK);                                                \
		EXPECT_EQ(vals, many);                                         \
		EXPECT_EQ(n, 3U);                                              \
		EXPECT_EQ(vaccel_arg_array_get_##NAME(a.get(), &got),          \
			  VACCEL_ERANGE);                                      \
		EXPECT_EQ(vaccel_arg_array_get_##NAME##_array(a.get(), &vals,  \
							      nullptr),        \
			  VACCEL_ERANGE);                                      \
                                                                               \
		/* set writes into the args in place. */                       \
		vaccel_arg_array_reset_position(a.get());                      \
		CTYPE other = sample_value<CTYPE>(0);                          \
		ASSERT_EQ(vaccel_arg_array_set_##NAME(a.get(), &other),        \
			  VACCEL_OK);                                          \
		EXPECT_EQ(one, other);                                         \
		CTYPE two[2] = {sample_value<CTYPE>(2),                        \
				sample_value<CTYPE>(2)};                       \
		ASSERT_EQ(                                                     \
		    vaccel_arg_array_set_##NAME##_array(a.get(), two, 2),      \
		    VACCEL_OK);                                                \
		EXPECT_EQ(many[0], two[0]);                                    \
		EXPECT_EQ(many[1], two[1]);                                    \
		EXPECT_EQ(vaccel_arg_array_set_##NAME(a.get(), &other),        \
			  VACCEL_ERANGE);                                      \
		/* too many values for the output arg */                       \
		vaccel_arg_array_set_position(a.get(), 1);                     \
		CTYPE four[4] = {};                                            \
		EXPECT_EQ(                                                     \
		    vaccel_arg_array_set_##NAME##_array(a.get(), four, 4),     \
		    VACCEL_EINVAL);                                            \
		EXPECT_EQ(vaccel_arg_array_position(a.get()), 1U);             \
                                                                               \
		/* NULL parameters */                                          \
		EXPECT_EQ(vaccel_arg_array_add_##NAME(nullptr, &one),          \
			  VACCEL_EINVAL);                                      \
		EXPECT_EQ(vaccel_arg_array_add_##NAME(a.get(), nullptr),       \
			  VACCEL_EINVAL);                                      \
		EXPECT_EQ(                                                     \
		    vaccel_arg_array_add_##NAME##_array(a.get(), many, 0),     \
		    VACCEL_EINVAL);                                            \
		EXPECT_EQ(                                                     \
		    vaccel_arg_array_add_##NAME##_array(a.get(), nullptr, 1),  \
		    VACCEL_EINVAL);                                            \
		EXPECT_EQ(vaccel_arg_array_get_##NAME(a.get(), nullptr),       \
			  VACCEL_EINVAL);                                      \
		EXPECT_EQ(vaccel_arg_array_get_##NAME(nullptr, &got),          \
			  VACCEL_EINVAL);                                      \
		EXPECT_EQ(vaccel_arg_array_set_##NAME(a.get(), nullptr),       \
			  VACCEL_EINVAL);                                      \
		EXPECT_EQ(vaccel_arg_array_count(a.get()), 2U);                \
	}
VACCEL_ARG_NUMERIC_TYPES(NUMERIC_ROUND_TRIP)
#undef NUMERIC_ROUND_TRIP

TEST(ArgArrayTyped, RawArgsAreNotTyped)
{
	int32_t v = 7;
	vaccel_arg args[1] = {{&v, sizeof(v), VACCEL_ARG_RAW, 0, false}};
	vaccel_arg_array a{};
	vaccel_arg_array_wrap(&a, args, 1);
	int32_t got = 0;
	EXPECT_EQ(vaccel_arg_array_get_int32(&a, &got), VACCEL_EINVAL);
	void *buf = nullptr;
	size_t size = 0;
	ASSERT_EQ(vaccel_arg_array_get_raw(&a, &buf, &size), VACCEL_OK);
	EXPECT_EQ(buf, &v);
	EXPECT_EQ(size, sizeof(v));
	EXPECT_EQ(vaccel_arg_array_get_raw(&a, &buf, &size), VACCEL_ERANGE);

	// and typed args are not RAW
	args[0].type = VACCEL_ARG_INT32;
	vaccel_arg_array_reset_position(&a);
	EXPECT_EQ(vaccel_arg_array_get_raw(&a, &buf, &size), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_get_raw(&a, nullptr, &size), VACCEL_EINVAL);
}

TEST(ArgArrayTyped, WrongSizesAreRefused)
{
	int64_t big = 1;
	uint8_t odd[3] = {1, 2, 3};
	vaccel_arg args[3] = {
	    {&big, 4, VACCEL_ARG_INT64, 0, false},          // 4 != 8
	    {odd, 3, VACCEL_ARG_INT16_ARRAY, 0, false},     // 3 % 2 != 0
	    {nullptr, 0, VACCEL_ARG_INT16_ARRAY, 0, false}, // empty
	};
	vaccel_arg_array a{};
	vaccel_arg_array_wrap(&a, args, 3);
	int64_t v = 0;
	EXPECT_EQ(vaccel_arg_array_get_int64(&a, &v), VACCEL_EINVAL);
	EXPECT_EQ(v, 0); // out-parameter untouched
	vaccel_arg_array_set_position(&a, 1);
	int16_t *vals = nullptr;
	size_t n = 0;
	EXPECT_EQ(vaccel_arg_array_get_int16_array(&a, &vals, &n),
		  VACCEL_EINVAL);
	vaccel_arg_array_set_position(&a, 2);
	EXPECT_EQ(vaccel_arg_array_get_int16_array(&a, &vals, &n),
		  VACCEL_EINVAL);
	EXPECT_EQ(vals, nullptr);
}

TEST(ArgArrayTyped, BoolsMustBeZeroOrOne)
{
	Array a;
	uint8_t raw = 2;
	bool *not_a_bool = reinterpret_cast<bool *>(&raw);
	EXPECT_EQ(vaccel_arg_array_add_bool(a.get(), not_a_bool),
		  VACCEL_EINVAL);
	uint8_t raws[2] = {1, 5};
	EXPECT_EQ(vaccel_arg_array_add_bool_array(
		      a.get(), reinterpret_cast<bool *>(raws), 2),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_count(a.get()), 0U);

	bool t = true;
	ASSERT_EQ(vaccel_arg_array_add_bool(a.get(), &t), VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_set_bool(a.get(), not_a_bool),
		  VACCEL_EINVAL);
	raw = 1;
	EXPECT_EQ(vaccel_arg_array_set_bool(a.get(), not_a_bool), VACCEL_OK);
}

/* ---- strings, buffers, raw --------------------------------------------- */

TEST(ArgArray, Strings)
{
	Array a;
	char s[] = "model.pt";
	ASSERT_EQ(vaccel_arg_array_add_string(a.get(), s), VACCEL_OK);
	EXPECT_EQ(a->args[0].size, sizeof(s));
	char *got = nullptr;
	ASSERT_EQ(vaccel_arg_array_get_string(a.get(), &got), VACCEL_OK);
	EXPECT_EQ(got, s);
	EXPECT_EQ(vaccel_arg_array_get_string(a.get(), &got), VACCEL_ERANGE);

	vaccel_arg_array_reset_position(a.get());
	char shorter[] = "x.pt";
	ASSERT_EQ(vaccel_arg_array_set_string(a.get(), shorter), VACCEL_OK);
	EXPECT_STREQ(s, "x.pt");
	EXPECT_EQ(s[sizeof(s) - 1], '\0');
	vaccel_arg_array_reset_position(a.get());
	char longer[] = "much-longer-name.pt";
	EXPECT_EQ(vaccel_arg_array_set_string(a.get(), longer), VACCEL_EINVAL);
	char exact[] = "12345678"; // strlen 8 fits 9 bytes
	EXPECT_EQ(vaccel_arg_array_set_string(a.get(), exact), VACCEL_OK);

	EXPECT_EQ(vaccel_arg_array_add_string(a.get(), nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_set_string(a.get(), nullptr), VACCEL_EINVAL);
}

TEST(ArgArray, UnterminatedStringIsRefused)
{
	char s[3] = {'a', 'b', 'c'};
	vaccel_arg args[1] = {{s, 3, VACCEL_ARG_STRING, 0, false}};
	vaccel_arg_array a{};
	vaccel_arg_array_wrap(&a, args, 1);
	char *got = nullptr;
	EXPECT_EQ(vaccel_arg_array_get_string(&a, &got), VACCEL_EINVAL);
	EXPECT_EQ(got, nullptr);
}

TEST(ArgArray, Buffers)
{
	Array a;
	uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	EXPECT_EQ(vaccel_arg_array_add_buffer(a.get(), nullptr, 8),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_buffer(a.get(), bytes, 0),
		  VACCEL_EINVAL);
	ASSERT_EQ(vaccel_arg_array_add_buffer(a.get(), bytes, sizeof(bytes)),
		  VACCEL_OK);
	void *buf = nullptr;
	size_t size = 0;
	EXPECT_EQ(vaccel_arg_array_get_buffer(a.get(), &buf, nullptr),
		  VACCEL_EINVAL);
	ASSERT_EQ(vaccel_arg_array_get_buffer(a.get(), &buf, &size), VACCEL_OK);
	EXPECT_EQ(buf, bytes);
	EXPECT_EQ(size, 8U);

	vaccel_arg_array_reset_position(a.get());
	uint8_t in[4] = {9, 9, 9, 9};
	ASSERT_EQ(vaccel_arg_array_set_buffer(a.get(), in, 4), VACCEL_OK);
	EXPECT_EQ(bytes[3], 9);
	EXPECT_EQ(bytes[4], 5);
	vaccel_arg_array_reset_position(a.get());
	uint8_t too_big[9] = {};
	EXPECT_EQ(vaccel_arg_array_set_buffer(a.get(), too_big, 9),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_set_buffer(a.get(), nullptr, 1),
		  VACCEL_EINVAL);
}

TEST(ArgArray, RawAddAndSet)
{
	Array a;
	uint8_t out[4] = {};
	EXPECT_EQ(vaccel_arg_array_add_raw(a.get(), out, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_raw(a.get(), nullptr, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_raw(nullptr, out, 4), VACCEL_EINVAL);
	ASSERT_EQ(vaccel_arg_array_add_raw(a.get(), out, sizeof(out)),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_add_raw(a.get(), nullptr, 0), VACCEL_OK);

	uint8_t in[2] = {7, 8};
	ASSERT_EQ(vaccel_arg_array_set_raw(a.get(), in, 2), VACCEL_OK);
	EXPECT_EQ(out[0], 7);
	EXPECT_EQ(out[1], 8);
	ASSERT_EQ(vaccel_arg_array_set_raw(a.get(), nullptr, 0), VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_set_raw(a.get(), in, 2), VACCEL_ERANGE);

	vaccel_arg_array_reset_position(a.get());
	uint8_t big[5] = {};
	EXPECT_EQ(vaccel_arg_array_set_raw(a.get(), big, 5), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_set_raw(a.get(), nullptr, 0),
		  VACCEL_EINVAL); // the arg is not empty
	EXPECT_EQ(vaccel_arg_array_set_raw(a.get(), in, 0), VACCEL_EINVAL);
}

/* ---- custom types and serializers --------------------------------------- */

struct Point {
	int32_t x;
	int32_t y;
};

bool point_ok(const void *buf, size_t size, uint32_t id)
{
	return buf != nullptr && size == sizeof(Point) && id == 77;
}

TEST(ArgArray, CustomWithValidator)
{
	Array a;
	Point p{1, 2};
	EXPECT_EQ(
	    vaccel_arg_array_add_custom(a.get(), 77, &p, sizeof(p), nullptr),
	    VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_arg_array_add_custom(a.get(), 78, &p, sizeof(p), point_ok),
	    VACCEL_EINVAL); // rejected by the validator
	ASSERT_EQ(
	    vaccel_arg_array_add_custom(a.get(), 77, &p, sizeof(p), point_ok),
	    VACCEL_OK);
	EXPECT_EQ(a->args[0].custom_type_id, 77U);

	void *buf = nullptr;
	size_t size = 0;
	EXPECT_EQ(
	    vaccel_arg_array_get_custom(a.get(), 78, &buf, &size, point_ok),
	    VACCEL_EINVAL); // wrong id
	EXPECT_EQ(
	    vaccel_arg_array_get_custom(a.get(), 77, nullptr, &size, point_ok),
	    VACCEL_EINVAL);
	ASSERT_EQ(
	    vaccel_arg_array_get_custom(a.get(), 77, &buf, nullptr, point_ok),
	    VACCEL_OK);
	EXPECT_EQ(buf, &p);

	vaccel_arg_array_reset_position(a.get());
	Point q{5, 6};
	EXPECT_EQ(vaccel_arg_array_set_custom(a.get(), 77, &q, 4, point_ok),
		  VACCEL_EINVAL); // size differs
	ASSERT_EQ(
	    vaccel_arg_array_set_custom(a.get(), 77, &q, sizeof(q), point_ok),
	    VACCEL_OK);
	EXPECT_EQ(p.x, 5);
	EXPECT_EQ(p.y, 6);
	EXPECT_EQ(
	    vaccel_arg_array_set_custom(a.get(), 77, &q, sizeof(q), point_ok),
	    VACCEL_ERANGE);
}

int serialize_point(const void *data, size_t data_size, uint32_t, void **buf,
		    size_t *size)
{
	if (data_size != sizeof(Point))
		return VACCEL_EINVAL;
	*buf = std::malloc(sizeof(Point));
	std::memcpy(*buf, data, sizeof(Point));
	*size = sizeof(Point);
	return VACCEL_OK;
}

int serialize_3_bytes(const void *, size_t, uint32_t, void **buf, size_t *size)
{
	*buf = std::calloc(1, 3);
	*size = 3;
	return VACCEL_OK;
}

int serialize_fails(const void *, size_t, uint32_t, void **, size_t *)
{
	return VACCEL_EIO;
}

int deserialize_point(const void *buf, size_t size, uint32_t, size_t data_size,
		      void *data)
{
	if (size != sizeof(Point) || data_size != sizeof(Point))
		return VACCEL_EINVAL;
	std::memcpy(data, buf, size);
	return VACCEL_OK;
}

TEST(ArgArray, Serialized)
{
	Array a;
	Point p{3, 4};
	ASSERT_EQ(vaccel_arg_array_add_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &p, sizeof(p),
						  serialize_point),
		  VACCEL_OK);
	EXPECT_TRUE(a->args[0].owned); // freed by release (ASan checks)
	EXPECT_NE(a->args[0].buf, &p);
	// The serializer's code comes back unchanged.
	EXPECT_EQ(vaccel_arg_array_add_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &p, sizeof(p),
						  serialize_fails),
		  VACCEL_EIO);
	// 3 bytes cannot be a FLOAT32: refused, and not leaked.
	EXPECT_EQ(vaccel_arg_array_add_serialized(a.get(), VACCEL_ARG_FLOAT32,
						  0, &p, sizeof(p),
						  serialize_3_bytes),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_serialized(a.get(), VACCEL_ARG_MAX, 0,
						  &p, sizeof(p),
						  serialize_point),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &p, sizeof(p), nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_count(a.get()), 1U);

	Point out{};
	EXPECT_EQ(vaccel_arg_array_get_serialized(a.get(), VACCEL_ARG_CUSTOM, 8,
						  &out, sizeof(out),
						  deserialize_point),
		  VACCEL_EINVAL); // wrong id
	EXPECT_EQ(vaccel_arg_array_get_serialized(a.get(), VACCEL_ARG_RAW, 9,
						  &out, sizeof(out),
						  deserialize_point),
		  VACCEL_EINVAL); // wrong type
	EXPECT_EQ(vaccel_arg_array_get_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &out, 1, deserialize_point),
		  VACCEL_EINVAL); // the deserializer's refusal
	EXPECT_EQ(vaccel_arg_array_position(a.get()), 0U);
	ASSERT_EQ(vaccel_arg_array_get_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &out, sizeof(out),
						  deserialize_point),
		  VACCEL_OK);
	EXPECT_EQ(out.x, 3);
	EXPECT_EQ(out.y, 4);

	vaccel_arg_array_reset_position(a.get());
	Point q{8, 9};
	EXPECT_EQ(vaccel_arg_array_set_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &q, sizeof(q),
						  serialize_3_bytes),
		  VACCEL_EINVAL); // size differs; buffer freed
	ASSERT_EQ(vaccel_arg_array_set_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &q, sizeof(q),
						  serialize_point),
		  VACCEL_OK);
	vaccel_arg_array_reset_position(a.get());
	ASSERT_EQ(vaccel_arg_array_get_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &out, sizeof(out),
						  deserialize_point),
		  VACCEL_OK);
	EXPECT_EQ(out.x, 8);
	EXPECT_EQ(vaccel_arg_array_get_serialized(a.get(), VACCEL_ARG_CUSTOM, 9,
						  &out, sizeof(out),
						  deserialize_point),
		  VACCEL_ERANGE);
}

/* ---- add_range / add_remaining / add_all --------------------------------- */

TEST(ArgArray, AddRangeBorrowOrCopy)
{
	Array src;
	int32_t v[4] = {10, 20, 30, 40};
	for (auto &x : v)
		ASSERT_EQ(vaccel_arg_array_add_int32(src.get(), &x), VACCEL_OK);

	Array borrowed(1);
	ASSERT_EQ(
	    vaccel_arg_array_add_range(borrowed.get(), src.get(), 1, 2, false),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_count(borrowed.get()), 2U);
	EXPECT_EQ(borrowed->args[0].buf, &v[1]);
	EXPECT_FALSE(borrowed->args[0].owned);

	Array copied(1);
	ASSERT_EQ(
	    vaccel_arg_array_add_range(copied.get(), src.get(), 2, 2, true),
	    VACCEL_OK);
	EXPECT_NE(copied->args[0].buf, &v[2]);
	EXPECT_TRUE(copied->args[0].owned);
	int32_t got = 0;
	ASSERT_EQ(vaccel_arg_array_get_int32(copied.get(), &got), VACCEL_OK);
	EXPECT_EQ(got, 30);
	v[3] = 99; // copies do not follow the source
	ASSERT_EQ(vaccel_arg_array_get_int32(copied.get(), &got), VACCEL_OK);
	EXPECT_EQ(got, 40);

	EXPECT_EQ(
	    vaccel_arg_array_add_range(copied.get(), src.get(), 4, 0, true),
	    VACCEL_ERANGE);
	EXPECT_EQ(
	    vaccel_arg_array_add_range(copied.get(), src.get(), 3, 2, true),
	    VACCEL_ERANGE);
	EXPECT_EQ(vaccel_arg_array_add_range(copied.get(), src.get(), 1,
					     SIZE_MAX, true),
		  VACCEL_ERANGE);
	EXPECT_EQ(
	    vaccel_arg_array_add_range(copied.get(), src.get(), 0, 0, true),
	    VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_add_range(nullptr, src.get(), 0, 1, true),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_range(copied.get(), nullptr, 0, 1, true),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_count(copied.get()), 2U);
}

TEST(ArgArray, AddRangeIntoWrappedFails)
{
	Array src;
	int32_t v = 1;
	vaccel_arg_array_add_int32(src.get(), &v);
	vaccel_arg one[1] = {};
	vaccel_arg_array full{};
	vaccel_arg_array_wrap(&full, one, 1);
	EXPECT_EQ(vaccel_arg_array_add_all(&full, src.get(), true),
		  VACCEL_ERANGE);
	EXPECT_EQ(full.count, 1U);
}

TEST(ArgArray, AddRangeToItself)
{
	Array a(1);
	int32_t v[2] = {1, 2};
	vaccel_arg_array_add_int32(a.get(), &v[0]);
	vaccel_arg_array_add_int32(a.get(), &v[1]);
	ASSERT_EQ(vaccel_arg_array_add_all(a.get(), a.get(), true), VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_count(a.get()), 4U);
	int32_t got[4] = {};
	for (auto &g : got)
		ASSERT_EQ(vaccel_arg_array_get_int32(a.get(), &g), VACCEL_OK);
	EXPECT_EQ(got[2], 1);
	EXPECT_EQ(got[3], 2);
}

TEST(ArgArray, AddRemainingAndAll)
{
	Array src;
	char a[] = "a";
	char b[] = "b";
	char c[] = "c";
	vaccel_arg_array_add_string(src.get(), a);
	vaccel_arg_array_add_string(src.get(), b);
	vaccel_arg_array_add_string(src.get(), c);
	char *s = nullptr;
	vaccel_arg_array_get_string(src.get(), &s);

	Array rest;
	ASSERT_EQ(vaccel_arg_array_add_remaining(rest.get(), src.get(), false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_count(rest.get()), 2U);
	EXPECT_EQ(rest->args[0].buf, b);

	Array all;
	ASSERT_EQ(vaccel_arg_array_add_all(all.get(), src.get(), true),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_count(all.get()), 3U);
	EXPECT_EQ(vaccel_arg_array_position(src.get()), 1U); // untouched

	vaccel_arg_array_set_position(src.get(), 3);
	EXPECT_EQ(vaccel_arg_array_add_remaining(rest.get(), src.get(), true),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_count(rest.get()), 2U);
	Array empty;
	EXPECT_EQ(vaccel_arg_array_add_all(all.get(), empty.get(), true),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_arg_array_add_all(nullptr, empty.get(), true),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_add_remaining(all.get(), nullptr, true),
		  VACCEL_EINVAL);
}

/* ---- cursor
 * ------------------------------------------------------------------ */

TEST(ArgArray, PositionHandling)
{
	Array a;
	uint8_t v[3] = {1, 2, 3};
	for (auto &x : v)
		vaccel_arg_array_add_uint8(a.get(), &x);
	EXPECT_EQ(vaccel_arg_array_count(a.get()), 3U);
	EXPECT_EQ(vaccel_arg_array_remaining_count(a.get()), 3U);
	EXPECT_EQ(vaccel_arg_array_raw(a.get()), a->args);

	vaccel_arg_array_set_position(a.get(), 2);
	EXPECT_EQ(vaccel_arg_array_position(a.get()), 2U);
	EXPECT_EQ(vaccel_arg_array_remaining_count(a.get()), 1U);
	vaccel_arg *rest = nullptr;
	size_t n = 0;
	ASSERT_EQ(vaccel_arg_array_get_remaining(a.get(), &rest, &n),
		  VACCEL_OK);
	EXPECT_EQ(rest, &a->args[2]);
	EXPECT_EQ(n, 1U);
	EXPECT_EQ(vaccel_arg_array_position(a.get()), 2U);

	vaccel_arg_array_set_position(a.get(), 100); // clamped
	EXPECT_EQ(vaccel_arg_array_position(a.get()), 3U);
	ASSERT_EQ(vaccel_arg_array_get_remaining(a.get(), &rest, &n),
		  VACCEL_OK);
	EXPECT_EQ(rest, nullptr);
	EXPECT_EQ(n, 0U);
	EXPECT_EQ(vaccel_arg_array_get_remaining(a.get(), nullptr, &n),
		  VACCEL_EINVAL);

	vaccel_arg_array_reset_position(a.get());
	EXPECT_EQ(vaccel_arg_array_position(a.get()), 0U);

	// NULL-tolerant accessors
	vaccel_arg_array_set_position(nullptr, 1);
	vaccel_arg_array_reset_position(nullptr);
	EXPECT_EQ(vaccel_arg_array_position(nullptr), 0U);
	EXPECT_EQ(vaccel_arg_array_count(nullptr), 0U);
	EXPECT_EQ(vaccel_arg_array_remaining_count(nullptr), 0U);
	EXPECT_EQ(vaccel_arg_array_raw(nullptr), nullptr);
}

TEST(ArgArray, FailedGetDoesNotMoveCursor)
{
	Array a;
	float f = 1.5F;
	vaccel_arg_array_add_float(a.get(), &f);
	double d = 0;
	EXPECT_EQ(vaccel_arg_array_get_double(a.get(), &d), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_arg_array_position(a.get()), 0U);
	float g = 0;
	EXPECT_EQ(vaccel_arg_array_get_float(a.get(), &g), VACCEL_OK);
	EXPECT_EQ(g, 1.5F);
}

/* ---- deprecated arg list
 * ------------------------------------------------------ */

void *serialize_int(void *in, uint32_t *bytes)
{
	void *out = std::malloc(sizeof(int));
	std::memcpy(out, in, sizeof(int));
	*bytes = sizeof(int);
	return out;
}

void *serialize_big(void *, uint32_t *bytes)
{
	*bytes = 64;
	return std::calloc(1, 64);
}

void *deserialize_int(void *buf, uint32_t size)
{
	return size == sizeof(int) ? buf : nullptr;
}

TEST(ArgList, Lifecycle)
{
	EXPECT_EQ(vaccel_args_init(0), nullptr);
	vaccel_arg_list *l = vaccel_args_init(4);
	ASSERT_NE(l, nullptr);
	EXPECT_EQ(l->size, 4U);

	int in = 11;
	int out = 0;
	ASSERT_EQ(vaccel_add_serial_arg(l, &in, sizeof(in)), VACCEL_OK);
	ASSERT_EQ(vaccel_add_nonserial_arg(l, &in, 5, serialize_int),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_expect_serial_arg(l, &out, sizeof(out)), VACCEL_OK);
	ASSERT_EQ(vaccel_expect_nonserial_arg(l, sizeof(int)), VACCEL_OK);
	EXPECT_EQ(vaccel_add_serial_arg(l, &in, sizeof(in)), VACCEL_EINVAL);
	EXPECT_EQ(l->list[1].type, VACCEL_ARG_CUSTOM);
	EXPECT_EQ(l->list[1].custom_type_id, 5U);

	EXPECT_EQ(vaccel_extract_serial_arg(l->list, 0), &in);
	EXPECT_EQ(vaccel_extract_serial_arg(l->list, -1), nullptr);
	auto *ip = static_cast<int *>(
	    vaccel_extract_nonserial_arg(l->list, 1, deserialize_int));
	ASSERT_NE(ip, nullptr);
	EXPECT_EQ(*ip, 11);

	int seven = 7;
	ASSERT_EQ(vaccel_write_serial_arg(l->list, 2, &seven), VACCEL_OK);
	EXPECT_EQ(out, 7);
	ASSERT_EQ(vaccel_write_nonserial_arg(l->list, 3, &seven, serialize_int),
		  VACCEL_OK);
	EXPECT_EQ(*static_cast<int *>(l->list[3].buf), 7);
	// a serialization larger than the slot is refused (and freed)
	EXPECT_EQ(vaccel_write_nonserial_arg(l->list, 3, &seven, serialize_big),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_write_serial_arg(nullptr, 0, &seven), VACCEL_EINVAL);

	EXPECT_EQ(vaccel_delete_args(l), VACCEL_OK); // frees slots 1 and 3
	EXPECT_EQ(vaccel_delete_args(nullptr), VACCEL_EINVAL);
}

TEST(ArgList, PartiallyFilledListDeletesCleanly)
{
	vaccel_arg_list *l = vaccel_args_init(8);
	ASSERT_NE(l, nullptr);
	ASSERT_EQ(vaccel_expect_nonserial_arg(l, 16), VACCEL_OK);
	EXPECT_EQ(vaccel_expect_nonserial_arg(l, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_add_nonserial_arg(l, nullptr, 1, serialize_int),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_delete_args(l), VACCEL_OK);
}

} // namespace
