// SPDX-License-Identifier: Apache-2.0
// RpcStatus: the error idiom of the agent's request handlers. It carries the
// gRPC code the client sees in ttrpc Response.status and, for failed vAccel
// calls, the vAccel code that travels in the status details so the guest
// plugin can hand the very same code to its caller.
#pragma once

#include "core/status.h"
#include "transport/transport.h"

#include <cstdarg>
#include <string>
#include <string_view>

namespace vaccel::agent
{

using transport::RpcCode;

class [[nodiscard]] RpcStatus
{
public:
	RpcStatus() noexcept = default;
	RpcStatus(RpcCode code, std::string message, int ffi_code = 0)
	    : code_(code), ffi_code_(ffi_code), message_(std::move(message))
	{
	}

	static RpcStatus ok() noexcept { return {}; }
	// printf-style builders, one per code the handlers produce.
	static RpcStatus invalid(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	static RpcStatus not_found(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	static RpcStatus denied(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	static RpcStatus exhausted(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	static RpcStatus internal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	static RpcStatus unimplemented(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	// A method's request message that does not parse: INTERNAL, the code
	// containerd's ttrpc server answers when a handler cannot unmarshal
	// its payload (a ttrpc envelope that does not parse is
	// INVALID_ARGUMENT there, and here).
	static RpcStatus malformed(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
	// A vAccel call returned @p code (non-zero): INTERNAL with the code in
	// the details, as upstream's agent encodes it.
	static RpcStatus vaccel(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
	// vaccel() with a message made already, kept whole.
	static RpcStatus vaccel(int code, std::string message)
	{
		return {RpcCode::Internal, std::move(message), code};
	}
	// UNAVAILABLE: the request was not run (a draining agent, drain.h).
	static RpcStatus unavailable(std::string message)
	{
		return {RpcCode::Unavailable, std::move(message)};
	}

	// Adds a detail (a google.protobuf.Any: @p type_url and the
	// serialized message @p value) that set_status() puts in the reply
	// besides the vAccel code's.
	RpcStatus &&with_detail(std::string_view type_url, std::string value) &&
	{
		detail_type_ = type_url;
		detail_value_ = std::move(value);
		return std::move(*this);
	}
	// The detail's type URL; empty when there is none.
	[[nodiscard]] std::string_view detail_type() const noexcept
	{
		return detail_type_;
	}
	[[nodiscard]] const std::string &detail_value() const noexcept
	{
		return detail_value_;
	}

	[[nodiscard]] bool is_ok() const noexcept
	{
		return code_ == RpcCode::Ok;
	}
	[[nodiscard]] RpcCode code() const noexcept { return code_; }
	// The vAccel code of a failed vAccel call; 0 for every other status.
	[[nodiscard]] int ffi_code() const noexcept { return ffi_code_; }
	[[nodiscard]] const std::string &message() const noexcept
	{
		return message_;
	}

private:
	static RpcStatus make(RpcCode code, int ffi, const char *fmt,
			      va_list ap);

	RpcCode code_ = RpcCode::Ok;
	int ffi_code_ = 0;
	std::string message_;
	std::string detail_type_;
	std::string detail_value_;
};

} // namespace vaccel::agent

#define AGENT_RETURN_IF_ERROR(expr)                                            \
	do {                                                                   \
		::vaccel::agent::RpcStatus agent_st_ = (expr);                 \
		if (!agent_st_.is_ok())                                        \
			return agent_st_;                                      \
	} while (0)
