// SPDX-License-Identifier: Apache-2.0
// The admin socket (--admin-socket unix:///path): where launchers attach
// and detach sandboxes (launcher.h), and where the operator makes the
// agent drain (Launcher/Drain, drain.h). It is a unix socket created 0600 and
// only peers running as the agent's own user or root are served (checked
// with SO_PEERCRED on every connection), whatever the policy says of
// tenants. Requests are ttrpc frames of service vaccel.ext.Launcher, served
// one at a time on one thread, which watches every launcher's connection:
// launchers are few and trusted, a long-running launcher keeps its
// connection open for all its sandboxes (an attach is then one round
// trip), and a launcher's call must not wait behind tenants' work.
#pragma once

#include "drain.h"
#include "launcher.h"

#include "rpc/ttrpc.pb.h"
#include "transport/transport.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace vaccel::agent
{

class AdminSocket
{
public:
	// @p drain: what Launcher/Drain begins (null: not offered).
	AdminSocket(Launcher &launcher, transport::Address address,
		    Drain *drain = nullptr)
	    : launcher_(launcher), address_(std::move(address)), drain_(drain)
	{
	}
	AdminSocket(const AdminSocket &) = delete;
	AdminSocket &operator=(const AdminSocket &) = delete;
	~AdminSocket() { stop(); }

	core::Status start();
	void stop();
	[[nodiscard]] const transport::Address &address() const
	{
		return listener_.address();
	}

private:
	// After a call the thread polls without sleeping for this long: a
	// launcher's next call often follows at once (a sandbox's detach and
	// the next one's attach, a burst of sandboxes at scale-out), and then
	// it does not wait for this thread to wake up.
	static constexpr std::chrono::microseconds kBurst{100};

	void loop();
	// A new connection from the listener, kept if its peer is trusted.
	void accept_one(std::vector<transport::Stream> &conns);
	// Reads one request of @p stream and answers it; false when the
	// connection is done (closed, malformed, or too slow).
	bool serve_one(transport::Stream &stream);
	transport::Frame handle(transport::Frame &request);
	RpcStatus dispatch(transport::Frame &request,
			   rpc::ttrpc::Response *resp);
	// Launcher/Drain: begins draining; the reply tells the grace left.
	RpcStatus drain(rpc::ttrpc::Response *resp);

	Launcher &launcher_;
	transport::Address address_;
	Drain *drain_;
	transport::Listener listener_;
	int wake_fd_ = -1;
	std::atomic<bool> stopping_{false};
	std::thread thread_;
};

} // namespace vaccel::agent
