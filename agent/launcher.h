// SPDX-License-Identifier: Apache-2.0
// Sandboxes a launcher attached (ext.proto, Launcher/Attach): each is a
// Server of its own on the agent's one Service, listening where the
// launcher said (or on the socket it handed over), every connection acting
// for the tenant the launcher named, under the policy it gave. The launcher
// is trusted (only the admin socket reaches this); what it configures is
// host policy like the policy file, and audited as a policy change.
#pragma once

#include "accept_set.h"
#include "server.h"
#include "service.h"
#include "thread_cache.h"

#include "rpc/ext.pb.h"
#include "transport/transport.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace vaccel::agent
{

class Launcher
{
public:
	// @p base: the options every sandbox's server starts from (workers,
	// limits, spin); its address and tenant are the launcher's.
	Launcher(Service &service, ServerOptions base)
	    : service_(service), base_(std::move(base))
	{
	}
	Launcher(const Launcher &) = delete;
	Launcher &operator=(const Launcher &) = delete;
	~Launcher() { detach_all(); }

	// @p fds: the descriptors that came with the request (listening
	// socket, then shared-memory file, as the request's flags say).
	RpcStatus attach(const rpc::ext::AttachRequest &req,
			 std::vector<transport::UniqueFd> &fds,
			 rpc::ext::AttachResponse *resp);
	RpcStatus detach(uint64_t sandbox);
	void detach_all();
	[[nodiscard]] size_t sandboxes();
	// Server::quiet() of every sandbox (drain.h).
	[[nodiscard]] bool quiet();

private:
	struct Sandbox {
		std::unique_ptr<Server> server;
		std::string tenant;
	};

	// The sandbox's server options from the request; with a memory file
	// (shm_fd), so->sandbox_memory maps it (sandbox_memory.h).
	RpcStatus configure(const rpc::ext::AttachRequest &req,
			    std::vector<transport::UniqueFd> &fds,
			    ServerOptions *so);
	// Gives the request's tenant the request's policy, if it has one.
	RpcStatus define_policy(const rpc::ext::AttachRequest &req);

	Service &service_;
	const ServerOptions base_;
	// Accepts for every sandbox (declared before them: it outlives
	// their servers).
	AcceptSet acceptors_;
	std::mutex mu_;
	std::map<uint64_t, Sandbox> sandboxes_;
	// Detached sandboxes stopping (ThreadCache::connections()).
	std::vector<PooledThread> stoppers_;
	uint64_t next_ = 0;
	// The policy text each tenant was defined with through this launcher.
	std::map<std::string, std::string, std::less<>> defined_;
};

} // namespace vaccel::agent
