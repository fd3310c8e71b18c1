// SPDX-License-Identifier: Apache-2.0
#include "attach.h"

#include "rpc/ext.pb.h"

#include <stdexcept>

namespace vaccel::vm
{

namespace tr = vaccel::transport;

Attachment::Attachment(std::string admin, const std::string &listen_address,
		       const std::string &tenant, const std::string &policy,
		       int memory_fd)
    : admin_(std::move(admin))
{
	attach(bind_listener(listen_address), tenant, policy, memory_fd);
}

Attachment::Attachment(tr::UnaryClient &admin, tr::UniqueFd listener,
		       const std::string &tenant, const std::string &policy,
		       int memory_fd)
    : client_(&admin)
{
	attach(std::move(listener), tenant, policy, memory_fd);
}

tr::UniqueFd Attachment::bind_listener(const std::string &listen_address)
{
	auto a = tr::parse_address(listen_address);
	if (!a)
		throw std::runtime_error(a.status().message());
	auto l = tr::Listener::bind(a.value());
	if (!l)
		throw std::runtime_error("cannot bind the sandbox's socket: " +
					 l.status().message());
	return l->release();
}

void Attachment::attach(tr::UniqueFd listener, const std::string &tenant,
			const std::string &policy, int memory_fd)
{
	rpc::ext::AttachRequest req;
	req.set_tenant(tenant);
	req.set_policy(policy);
	req.set_listen_fd(true);
	std::vector<int> fds = {listener.get()};
	if (memory_fd >= 0) {
		req.set_shm_fd(true);
		fds.push_back(memory_fd);
	}
	rpc::ext::AttachResponse resp;
	resp.ParseFromString(call("Attach", req.SerializeAsString(), fds));
	sandbox_ = resp.sandbox();
}

std::string Attachment::call(const char *method, const std::string &payload,
			     std::vector<int> fds)
{
	const tr::UnaryCall c{.service = tr::kServiceLauncher,
			      .method = method,
			      .payload = payload,
			      .fds = fds};
	auto reply = [&]() -> tr::Result<std::string> {
		if (client_ != nullptr)
			return client_->call(c);
		auto a = tr::parse_address(admin_);
		if (!a)
			throw std::runtime_error("--attach " + admin_ + ": " +
						 a.status().message());
		return tr::unary_call(a.value(), c);
	}();
	if (!reply)
		throw std::runtime_error(
		    "agent admin socket " +
		    (client_ != nullptr ? std::string("connection") : admin_) +
		    ": " + reply.status().message());
	return std::move(reply).value();
}

Attachment::~Attachment()
{
	rpc::ext::DetachRequest req;
	req.set_sandbox(sandbox_);
	try {
		call("Detach", req.SerializeAsString());
	} catch (const std::exception &) {
		// The agent went away: nothing of the sandbox is left there.
	}
}

} // namespace vaccel::vm
