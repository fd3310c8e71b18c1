// SPDX-License-Identifier: Apache-2.0
// One thread accepting connections for many servers: the launcher's
// attached sandboxes (launcher.h). A server with its own accept thread
// costs an attach a thread hand-off (or, when no cached thread is idle, a
// new thread) before the launcher's call can return; a server in this set
// costs two epoll_ctl() calls. Accepting is short (the connection goes to
// a reader thread at once), so one thread keeps up with every sandbox.
#pragma once

#include "core/status.h"

#include <mutex>
#include <thread>
#include <unordered_set>

namespace vaccel::agent
{

class Server;

class AcceptSet
{
public:
	AcceptSet() = default;
	AcceptSet(const AcceptSet &) = delete;
	AcceptSet &operator=(const AcceptSet &) = delete;
	// Servers must have been removed.
	~AcceptSet();

	// Accepts for @p s from now on: its listener and its wake descriptor
	// (finished readers to reap) are watched. Starts the thread on the
	// first call.
	core::Status add(Server &s);
	// Stops watching @p s; when it returns, no call into @p s is running
	// or will be made.
	void remove(Server &s);

private:
	void loop();
	core::Status start_locked();

	std::mutex mu_; // held while a server is served, and by add/remove
	std::unordered_set<Server *> servers_;
	int epoll_fd_ = -1;
	int stop_fd_ = -1; // eventfd: the destructor's
	std::thread thread_;
};

} // namespace vaccel::agent
