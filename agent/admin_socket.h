// SPDX-License-Identifier: Apache-2.0
// The admin socket (--admin-socket unix:///path): where launchers attach
// and detach sandboxes (launcher.h). It is a unix socket created 0600 and
// only peers running as the agent's own user or root are served (checked
// with SO_PEERCRED on every connection), whatever the policy says of
// tenants. Requests are ttrpc frames of service vaccel.ext.Launcher, served
// one connection at a time on one thread: launchers are few and trusted,
// and a launcher's call must not wait behind tenants' work.
#pragma once

#include "launcher.h"

#include "rpc/ttrpc.pb.h"
#include "transport/transport.h"

#include <atomic>
#include <thread>

namespace vaccel::agent
{

class AdminSocket
{
public:
	AdminSocket(Launcher &launcher, transport::Address address)
	    : launcher_(launcher), address_(std::move(address))
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
	void loop();
	void serve(transport::Stream stream);
	// Waits until @p fd is readable or stop() is called; false on stop
	// or after the idle limit.
	bool wait_readable(int fd);
	transport::Frame handle(transport::Frame &request);
	RpcStatus dispatch(transport::Frame &request,
			   rpc::ttrpc::Response *resp);

	Launcher &launcher_;
	transport::Address address_;
	transport::Listener listener_;
	int wake_fd_ = -1;
	std::atomic<bool> stopping_{false};
	std::thread thread_;
};

} // namespace vaccel::agent
