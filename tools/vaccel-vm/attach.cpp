// SPDX-License-Identifier: Apache-2.0
#include "attach.h"

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/ttrpc.pb.h"
#include "transport/transport.h"

#include <stdexcept>
#include <vector>

namespace vaccel::vm
{

namespace
{

namespace tr = vaccel::transport;
using namespace std::chrono_literals;

// One Launcher call on the admin socket; its reply payload, or throws.
std::string call(const std::string &admin, const char *method,
		 const std::string &payload, std::vector<int> fds = {})
{
	auto a = tr::parse_address(admin);
	if (!a)
		throw std::runtime_error("--attach " + admin + ": " +
					 a.status().message());
	auto s = tr::connect(a.value(), 5000ms);
	if (!s)
		throw std::runtime_error("cannot reach the agent's admin "
					 "socket " +
					 admin + ": " + s.status().message());
	rpc::ttrpc::Request req;
	req.set_service(std::string(tr::kServiceLauncher));
	req.set_method(method);
	req.set_payload(payload);
	const std::string bytes = req.SerializeAsString();
	tr::FrameHeader h;
	h.stream_id = 1;
	h.type = tr::MsgType::Request;
	auto st = tr::write_frame(
	    s.value(), h,
	    std::span(reinterpret_cast<const uint8_t *>(bytes.data()),
		      bytes.size()),
	    tr::deadline_in(5000ms), fds);
	auto f =
	    st ? tr::read_frame(s.value(), 1u << 20, tr::deadline_in(15000ms))
	       : tr::Result<tr::Frame>(st);
	if (!f)
		throw std::runtime_error("agent admin socket " + admin + ": " +
					 f.status().message());
	rpc::ttrpc::Response resp;
	if (!resp.ParseFromArray(f->payload.data(),
				 static_cast<int>(f->payload.size())))
		throw std::runtime_error("agent admin socket " + admin +
					 ": malformed reply");
	if (resp.status().code() != 0)
		throw std::runtime_error(std::string("the agent refused ") +
					 method + ": " +
					 resp.status().message());
	return resp.payload();
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
