// SPDX-License-Identifier: Apache-2.0
#include "tls_relay.h"

#include <vaccel.h>

#include <array>
#include <cstdint>
#include <exception>
#include <system_error>
#include <thread>

namespace vaccel::agent
{

namespace
{

// A TLS record's worth: one read of the client's side never holds more
// than OpenSSL hands out at once.
constexpr size_t kChunk = 16384;

// Copies @p from to @p to until @p from ends or a write fails.
void pump(transport::Stream &from, transport::Stream &to,
	  std::chrono::milliseconds write_timeout)
{
	std::array<uint8_t, kChunk> buf{};
	for (;;) {
		auto n = from.read_available(buf, transport::Deadline{});
		if (!n || *n == 0)
			return;
		const auto dl = write_timeout.count() > 0
				    ? transport::deadline_in(write_timeout)
				    : transport::Deadline{};
		if (!to.write_all(std::span(buf.data(), *n), dl))
			return;
	}
}

} // namespace

void relay(transport::Stream &client, transport::Stream worker,
	   std::chrono::milliseconds write_timeout)
{
	// Either direction ending ends both: a pump blocked writing to a
	// side that no longer reads must not keep the relay alive.
	const auto end_both = [&] {
		client.shutdown();
		worker.shutdown();
	};
	const auto guarded = [&](transport::Stream &from, transport::Stream &to,
				 std::chrono::milliseconds timeout) noexcept {
		try {
			pump(from, to, timeout);
		} catch (const std::exception &e) {
			vaccel_warn("agent: relay: %s; closing", e.what());
		}
		end_both();
	};
	std::thread back;
	try {
		back = std::thread(
		    [&] { guarded(worker, client, write_timeout); });
	} catch (const std::system_error &e) {
		vaccel_warn("agent: cannot start a relay thread (%s); closing",
			    e.what());
		return;
	}
	guarded(client, worker, std::chrono::milliseconds(0));
	back.join();
}

} // namespace vaccel::agent
