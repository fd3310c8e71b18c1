// SPDX-License-Identifier: Apache-2.0
// vaccel_str_to_lower(): the one string helper of the C API, used by the
// generated enum name functions.
#include <cstdlib>
#include <cstring>
#include <vaccel/error.h>
#include <vaccel/utils/str.h>

namespace
{

// ASCII only: enum and op names are ASCII, and the C locale must not
// change what a name maps to.
constexpr char ascii_lower(char c) noexcept
{
	return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

void lower_into(const char *src, size_t n, char *dst) noexcept
{
	for (size_t i = 0; i < n; ++i)
		dst[i] = ascii_lower(src[i]);
	dst[n] = '\0';
}

} // namespace

extern "C" int vaccel_str_to_lower(const char *str, char *lower, size_t size,
				   char **alloc_lower)
{
	if (str == nullptr)
		return VACCEL_EINVAL;
	const size_t len = std::strlen(str);

	// As upstream: an allocation, when asked for, wins over the buffer.
	if (alloc_lower != nullptr) {
		auto *copy = static_cast<char *>(std::malloc(len + 1));
		if (copy == nullptr)
			return VACCEL_ENOMEM;
		lower_into(str, len, copy);
		*alloc_lower = copy;
		return VACCEL_OK;
	}
	if (lower == nullptr || size == 0)
		return VACCEL_EINVAL;
	// A short buffer gets the terminated prefix, and that is success
	// (upstream's contract; callers size buffers for names they know).
	lower_into(str, len < size ? len : size - 1, lower);
	return VACCEL_OK;
}
