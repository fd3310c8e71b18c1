// SPDX-License-Identifier: Apache-2.0
// The argument rules of the dense ops (sgemm, the fpga demo ops, minmax)
// that the blas, cuda and opencl plugins share (docs/plugins.md, "Backend
// plugins"): one set of checks, so that a bad argument is VACCEL_EINVAL with
// the same reason whichever plugin serves the op, before any device is
// touched. Each check returns what is wrong; the plugin logs it under its
// own tag. Header-only: every plugin is its own shared object.
#pragma once

#include <vaccel.h>

#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>

namespace vaccel::op_args
{

// VACCEL_OK, or VACCEL_EINVAL and why (without the op's name).
struct Check {
	int rc = VACCEL_OK;
	std::string why;
	[[nodiscard]] bool ok() const noexcept { return rc == VACCEL_OK; }
};

inline Check bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
inline Check bad(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return {VACCEL_EINVAL, buf};
}

// Whether @p n elements of @p elem bytes fit in size_t bytes.
inline bool bytes_of(size_t n, size_t elem, size_t *bytes)
{
	return !__builtin_mul_overflow(n, elem, bytes);
}

// One row-major sgemm operand of @p rows x @p cols with leading dimension
// @p ld: ld >= max(1, cols) (BLAS's rule for a row-major operand), ld at
// most @p max_dim, a buffer when it has elements, and a span of
// (rows - 1) * ld + cols floats whose bytes fit in size_t, stored in
// *@p span (0 for an empty operand).
inline Check matrix(const char *name, const float *p, int64_t rows,
		    int64_t cols, int64_t ld, int64_t max_dim, size_t *span)
{
	*span = 0;
	const int64_t min_ld = cols > 1 ? cols : 1;
	if (ld < min_ld)
		return bad("ld%s = %" PRId64 " < max(1, %" PRId64
			   ") (the columns of %s)",
			   name, ld, cols, name);
	if (ld > max_dim)
		return bad("ld%s = %" PRId64 " is too large (max %" PRId64 ")",
			   name, ld, max_dim);
	if (rows == 0 || cols == 0)
		return {};
	if (p == nullptr)
		return bad("%s is NULL but has %" PRId64 " x %" PRId64
			   " elements",
			   name, rows, cols);
	int64_t s = 0;
	size_t bytes = 0;
	if (__builtin_mul_overflow(rows - 1, ld, &s) ||
	    __builtin_add_overflow(s, cols, &s) ||
	    !bytes_of(static_cast<size_t>(s), sizeof(float), &bytes))
		return bad("%s (%" PRId64 " x %" PRId64 ", ld %" PRId64
			   ") is too large",
			   name, rows, cols, ld);
	*span = static_cast<size_t>(s);
	return {};
}

// The floats each sgemm operand spans in the caller's memory.
struct SgemmSpans {
	size_t a = 0, b = 0, c = 0;
};

// sgemm's arguments (row-major C = alpha A B + beta C, A m x k, B k x n,
// C m x n): a session, sizes >= 0 and at most @p max_dim (what the
// backend's integers hold), and each operand as matrix() checks it.
inline Check sgemm(const vaccel_session *sess, int64_t m, int64_t n, int64_t k,
		   const float *a, int64_t lda, const float *b, int64_t ldb,
		   const float *c, int64_t ldc,
		   int64_t max_dim = std::numeric_limits<int64_t>::max(),
		   SgemmSpans *spans = nullptr)
{
	if (sess == nullptr)
		return bad("session is NULL");
	if (m < 0 || n < 0 || k < 0)
		return bad("negative size (m %" PRId64 ", n %" PRId64
			   ", k %" PRId64 ")",
			   m, n, k);
	if (m > max_dim || n > max_dim || k > max_dim)
		return bad("size (m %" PRId64 ", n %" PRId64 ", k %" PRId64
			   ") is too large (max %" PRId64 ")",
			   m, n, k, max_dim);
	SgemmSpans s;
	Check ck = matrix("a", a, m, k, lda, max_dim, &s.a);
	if (ck.ok())
		ck = matrix("b", b, k, n, ldb, max_dim, &s.b);
	if (ck.ok())
		ck = matrix("c", c, m, n, ldc, max_dim, &s.c);
	if (ck.ok() && spans != nullptr)
		*spans = s;
	return ck;
}

// The element-wise ops: a session, every buffer when there are elements,
// and @p n elements of @p elem bytes that fit in size_t bytes.
inline Check elems(const vaccel_session *sess, size_t n, size_t elem,
		   std::initializer_list<const void *> bufs)
{
	if (sess == nullptr)
		return bad("session is NULL");
	if (n == 0)
		return {};
	for (const void *p : bufs)
		if (p == nullptr)
			return bad("NULL array with %zu elements", n);
	size_t bytes = 0;
	if (!bytes_of(n, elem, &bytes))
		return bad("%zu elements are too many", n);
	return {};
}

// fpga_vadd: c = a + b over len_a elements; b must hold as many.
inline Check vadd(const vaccel_session *sess, const float *a, const float *b,
		  const float *c, size_t len_a, size_t len_b)
{
	Check ck = elems(sess, len_a, sizeof(float), {a, b, c});
	if (ck.ok() && len_b < len_a)
		return bad("len_b %zu < len_a %zu", len_b, len_a);
	return ck;
}

// The n with n * n == @p len, or 0 when len is not a perfect square.
inline size_t square_side(size_t len)
{
	if (len == 0)
		return 0;
	auto n = static_cast<size_t>(std::sqrt(static_cast<double>(len)));
	// The double square root may be off by one for large len.
	while (n > 0 && (n > len / n || n * n > len))
		n--;
	while ((n + 1) <= len / (n + 1))
		n++;
	return n * n == len ? n : 0;
}

// fpga_mmult: c = a b for n x n matrices of len_a = n * n floats, n at
// most @p max_side; *@p side is n.
inline Check mmult(const vaccel_session *sess, const float *a, const float *b,
		   const float *c, size_t len_a, size_t *side,
		   size_t max_side = std::numeric_limits<size_t>::max())
{
	*side = 0;
	Check ck = elems(sess, len_a, sizeof(float), {a, b, c});
	if (!ck.ok())
		return ck;
	const size_t n = square_side(len_a);
	if (len_a != 0 && n == 0)
		return bad("len_a %zu is not the size of a square matrix "
			   "(n * n)",
			   len_a);
	if (n > max_side)
		return bad("%zu x %zu matrices are too large", n, n);
	*side = n;
	return {};
}

// minmax: data to clamp into [low, high] and somewhere for the results.
inline Check minmax(const vaccel_session *sess, const double *indata, int ndata,
		    int low, int high, const double *outdata, const double *min,
		    const double *max)
{
	if (sess == nullptr || indata == nullptr || outdata == nullptr ||
	    min == nullptr || max == nullptr)
		return bad("NULL session, data or result pointer");
	if (ndata <= 0)
		return bad("ndata %d must be > 0", ndata);
	if (low > high)
		return bad("low_threshold %d > high_threshold %d", low, high);
	return {};
}

} // namespace vaccel::op_args
