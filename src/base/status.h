// SPDX-License-Identifier: Apache-2.0
// Status / Result<T>: the error idiom inside the core, the transport, the
// plugins and the agent. A Status is a vAccel code plus a message; OK
// carries no allocation, so returning Status on hot paths is free when
// nothing fails.
#pragma once

#include <vaccel/error.h>

#include <cstdarg>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace vaccel::base
{

// What a caller may branch on where the vAccel code alone does not tell
// conditions apart (an orderly close and a timeout are both VACCEL_EIO to a
// C caller). Set where the condition arises; control flow reads this, never
// the message.
enum class Cause : uint8_t {
	None,
	// The peer closed the stream before a read received any byte: an
	// orderly close between messages. A close in the middle of a read
	// cuts data short and is a plain error.
	PeerClosed,
	// A deadline passed while waiting for I/O.
	TimedOut,
	// The peer does not have the method called (ttrpc UNIMPLEMENTED), as
	// opposed to an op that ran there and failed: the caller may try
	// another method.
	Unimplemented,
	// The agent is draining and did not run the request (ext.proto,
	// Draining): safe to send to another agent.
	Draining,
	// The request never reached the peer whole (the stream had failed
	// before, or failed while it was written), so the peer cannot have
	// run it: safe to send elsewhere.
	NotSent,
};

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

	// This status, marked with @p cause.
	Status with(Cause cause) &&
	{
		cause_ = cause;
		return std::move(*this);
	}

	[[nodiscard]] bool is_ok() const noexcept { return code_ == VACCEL_OK; }
	explicit operator bool() const noexcept { return is_ok(); }
	[[nodiscard]] int code() const noexcept { return code_; }
	[[nodiscard]] Cause cause() const noexcept { return cause_; }
	[[nodiscard]] const std::string &message() const noexcept
	{
		return message_;
	}

private:
	int code_ = VACCEL_OK;
	Cause cause_ = Cause::None;
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

} // namespace vaccel::base

// Early exit on a failing Status.
#define VACCEL_RETURN_IF_ERROR(expr)                                           \
	do {                                                                   \
		::vaccel::base::Status vaccel_st_ = (expr);                    \
		if (!vaccel_st_.is_ok())                                       \
			return vaccel_st_;                                     \
	} while (0)
