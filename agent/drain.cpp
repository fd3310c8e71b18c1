// SPDX-License-Identifier: Apache-2.0
#include "drain.h"

#include "transport/transport.h"

#include "rpc/ext.pb.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace vaccel::agent
{

namespace
{

using namespace std::chrono_literals;

bool agent_service(std::string_view service)
{
	return service == transport::kServiceSync ||
	       service == transport::kServiceAsync;
}

// Calls that only give back what the connection holds: a client moving
// away makes them, and the agent is empty the sooner.
bool releases(std::string_view service, std::string_view method)
{
	if (agent_service(service))
		return method == "DestroySession" ||
		       method == "UnregisterResource";
	return service == transport::kServiceData && method == "UnmapRegion";
}

} // namespace

Drain::Drain(std::chrono::milliseconds grace) noexcept
    : grace_(grace), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
}

Drain::~Drain()
{
	if (event_fd_ >= 0)
		::close(event_fd_);
}

bool Drain::begin_until(Clock::time_point deadline) noexcept
{
	// Never 0, which means "not draining".
	const int64_t ns = std::max<int64_t>(
	    1, std::chrono::duration_cast<std::chrono::nanoseconds>(
		   deadline.time_since_epoch())
		   .count());
	int64_t none = 0;
	if (!deadline_ns_.compare_exchange_strong(none, ns,
						  std::memory_order_acq_rel))
		return false;
	if (event_fd_ >= 0) {
		const uint64_t one = 1;
		[[maybe_unused]] ssize_t n =
		    ::write(event_fd_, &one, sizeof(one));
	}
	return true;
}

uint32_t Drain::left_ms() const noexcept
{
	if (!active())
		return static_cast<uint32_t>(grace_.count());
	const auto left = std::chrono::ceil<std::chrono::milliseconds>(
	    deadline() - Clock::now());
	return static_cast<uint32_t>(std::max<int64_t>(0, left.count()));
}

RpcStatus Drain::admit(std::string_view service, std::string_view method,
		       bool extended) const
{
	if (!active())
		return RpcStatus::ok();
	if (extended) {
		if (releases(service, method))
			return RpcStatus::ok();
		rpc::ext::Draining d;
		d.set_grace_ms(left_ms());
		return RpcStatus::unavailable(
			   "agent draining: request not run, send it to "
			   "another agent")
		    .with_detail(transport::kDrainingTypeUrl,
				 d.SerializeAsString());
	}
	if (agent_service(service) && method == "CreateSession")
		return RpcStatus::unavailable(
		    "agent draining: no new sessions");
	return RpcStatus::ok();
}

DrainEnd wait_drained(const Drain &drain, const std::function<bool()> &quiet,
		      int stop_fd, int *stop_byte)
{
	constexpr auto kLook = 50ms; // how often quiet() is asked
	sigset_t unblocked;
	sigemptyset(&unblocked);
	for (;;) {
		if (quiet())
			return DrainEnd::Quiet;
		const auto left = drain.deadline() - Drain::Clock::now();
		if (left <= Drain::Clock::duration::zero())
			return DrainEnd::Expired;
		const auto wait = std::min<Drain::Clock::duration>(kLook, left);
		const auto ns =
		    std::chrono::duration_cast<std::chrono::nanoseconds>(wait)
			.count();
		const timespec ts{static_cast<time_t>(ns / 1000000000),
				  static_cast<long>(ns % 1000000000)};
		pollfd p{stop_fd, POLLIN, 0};
		const int n = ::ppoll(&p, 1, &ts, &unblocked);
		if (n < 0 && errno != EINTR) {
			*stop_byte = -1;
			return DrainEnd::Stopped;
		}
		unsigned char b = 0;
		if (n > 0 && ::read(stop_fd, &b, 1) == 1) {
			*stop_byte = b;
			return DrainEnd::Stopped;
		}
	}
}

} // namespace vaccel::agent
