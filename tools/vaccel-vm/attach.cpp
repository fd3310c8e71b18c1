// SPDX-License-Identifier: Apache-2.0
#include "attach.h"

#include "rpc/ext.pb.h"
#include "transport/transport.h"
#include "transport/unary_call.h"

#include <stdexcept>
#include <vector>

namespace vaccel::vm
{

namespace
{

namespace tr = vaccel::transport;

// One Launcher call on the admin socket; its reply payload, or throws.
std::string call(const std::string &admin, const char *method,
		 const std::string &payload, std::vector<int> fds = {})
{
	auto a = tr::parse_address(admin);
	if (!a)
		throw std::runtime_error("--attach " + admin + ": " +
					 a.status().message());
	auto reply = tr::unary_call(a.value(), {.service = tr::kServiceLauncher,
						.method = method,
						.payload = payload,
						.fds = fds});
	if (!reply)
		throw std::runtime_error("agent admin socket " + admin + ": " +
					 reply.status().message());
	return std::move(reply).value();
}

} // namespace

Attachment::Attachment(std::string admin, const std::string &listen_address,
		       const std::string &tenant, const std::string &policy)
    : admin_(std::move(admin))
{
	auto a = tr::parse_address(listen_address);
	if (!a)
		throw std::runtime_error(a.status().message());
	auto l = tr::Listener::bind(a.value());
	if (!l)
		throw std::runtime_error("cannot bind the sandbox's socket: " +
					 l.status().message());
	tr::UniqueFd fd = l->release();
	rpc::ext::AttachRequest req;
	req.set_tenant(tenant);
	req.set_policy(policy);
	req.set_listen_fd(true);
	rpc::ext::AttachResponse resp;
	resp.ParseFromString(
	    call(admin_, "Attach", req.SerializeAsString(), {fd.get()}));
	sandbox_ = resp.sandbox();
}

Attachment::~Attachment()
{
	rpc::ext::DetachRequest req;
	req.set_sandbox(sandbox_);
	try {
		call(admin_, "Detach", req.SerializeAsString());
	} catch (const std::exception &) {
		// The agent went away: nothing of the sandbox is left there.
	}
}

} // namespace vaccel::vm
