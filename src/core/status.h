// SPDX-License-Identifier: Apache-2.0
// Status / Result<T>: the error idiom inside the core and the plugins. A
// Status is a vAccel code plus a message; OK carries no allocation, so
// returning Status on hot paths is free when nothing fails.
#pragma once

#include <vaccel/error.h>

#include <cstdarg>
#include <string>
#include <utility>
#include <variant>

namespace vaccel::core
{

class [[nodiscard]] Status
{
public:
	Status() noexcept = default;
	Status(int code, std::string message)
	    : code_(code), message_(std::move(message))
	{
	}

	static Status ok() noexcept { return {}; }
	// printf-style constructor: Status::error(VACCEL_EINVAL, "m=%d", m)
	static Status error(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

	[[nodiscard]] bool is_ok() const noexcept { return code_ == VACCEL_OK; }
	explicit operator bool() const noexcept { return is_ok(); }
	[[nodiscard]] int code() const noexcept { return code_; }
	[[nodiscard]] const std::string &message() const noexcept
	{
		return message_;
	}

private:
	int code_ = VACCEL_OK;
	std::string message_;
};

// Result<T>: a value or a non-OK Status.
template <class T> class [[nodiscard]] Result
{
public:
	Result(T value) : v_(std::move(value)) {} // NOLINT: implicit by design
	Result(Status status) : v_(std::move(status)) {} // NOLINT

	[[nodiscard]] bool is_ok() const noexcept
	{
		return std::holds_alternative<T>(v_);
	}
	explicit operator bool() const noexcept { return is_ok(); }
	T &value() & { return std::get<T>(v_); }
	T &&value() && { return std::get<T>(std::move(v_)); }
	T *operator->() { return &std::get<T>(v_); }
	T &operator*() & { return std::get<T>(v_); }
	[[nodiscard]] Status status() const
	{
		return is_ok() ? Status::ok() : std::get<Status>(v_);
	}

private:
	std::variant<T, Status> v_;
};

// The integer a C caller stored in an enum. C may store any int there, but
// in C++ loading an enum outside its enumerators' range is undefined, so
// values that cross the C boundary are validated as plain integers.
template <class E> inline int enum_value(const E &e) noexcept
{
	static_assert(sizeof(E) == sizeof(int));
	int v;
	__builtin_memcpy(&v, &e, sizeof(v));
	return v;
}

// Per-thread message behind vaccel_last_error(); set on every failure path
// that returns a code to a C caller.
void set_thread_error(const std::string &message) noexcept;
const char *thread_error() noexcept;

} // namespace vaccel::core

// Early exit on a failing Status.
#define VACCEL_RETURN_IF_ERROR(expr)                                           \
	do {                                                                   \
		::vaccel::core::Status vaccel_st_ = (expr);                    \
		if (!vaccel_st_.is_ok())                                       \
			return vaccel_st_;                                     \
	} while (0)
