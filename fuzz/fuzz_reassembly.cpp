// SPDX-License-Identifier: Apache-2.0
// The agent's server (agent/server.h) over a real unix socket, in-process:
// an input is a sequence of frames written to one or two connections,
// mostly streaming calls - chunked calls (AgentData/Call: a Request flagged
// RemoteOpen with a CallHeader, then Data frames, half-closed by
// RemoteClosed) and upstream's GenopStream (Data frames carrying genop
// messages, args split in parts) - with plain requests, reply slots,
// MapRegion with a memfd passed as SCM_RIGHTS, requests posted in request
// slots, and stray frames in between. Replies are read (and dropped) until
// the server closes the connection after the client's half-close. Checks:
// the server survives, and once the connections are gone the buffer
// budget, sessions, resources, regions and the tenant's quotas are all back
// to zero.
#include "fuzz_agent.h"

#include "server.h"

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/session.pb.h"
#include "rpc/ttrpc.pb.h"

#include "transport/reply_slot.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace
{

namespace rpc = vaccel::rpc;
namespace tr = vaccel::transport;
using namespace std::chrono_literals;

constexpr uint32_t kMaxFrame = 64 * 1024;
constexpr uint64_t kMaxMessage = 256 * 1024;
constexpr size_t kRegion = 64 * 1024;
constexpr char kTenant[] = "fuzz";

struct Agent {
	std::unique_ptr<fuzz::agent::Service> svc;
	std::unique_ptr<fuzz::agent::Server> server;
};

// Two agents: the default policy and a permissive one. The budget is small
// so that running out of it is reached too.
Agent start(const std::string &dir, const char *name, fuzz::agent::Policy p)
{
	fuzz::agent::Limits limits;
	limits.max_frame = kMaxFrame;
	limits.max_message = kMaxMessage;
	limits.max_buffered = 512 * 1024;
	Agent a;
	a.svc = std::make_unique<fuzz::agent::Service>(limits, std::move(p));
	auto addr = tr::parse_address("unix://" + dir + "/" + name);
	if (!addr)
		fuzz::fail("address");
	fuzz::agent::ServerOptions so;
	so.address = addr.value();
	so.workers = 2;
	so.max_frame = kMaxFrame;
	so.max_message = kMaxMessage;
	so.write_timeout = 500ms;
	so.spin = std::chrono::microseconds{0};
	so.tenant = kTenant;
	a.server = std::make_unique<fuzz::agent::Server>(*a.svc, so);
	if (!a.server->start())
		fuzz::fail("server start");
	return a;
}

Agent agents[2];

std::string envelope(std::string_view service, std::string_view method,
		     const std::string &payload, const std::string *slot)
{
	rpc::ttrpc::Request r;
	r.set_service(std::string(service));
	r.set_method(std::string(method));
	r.set_payload(payload);
	if (slot != nullptr) {
		auto *kv = r.add_metadata();
		kv->set_key(std::string(tr::kReplySlotKey));
		kv->set_value(*slot);
	}
	return r.SerializeAsString();
}

// A client connection and what it has open.
struct Client {
	tr::Stream s;
	bool broken = false;
	std::vector<uint32_t> streams;
	uint32_t next_id = 1;
	// The region it mapped on the agent (and here), if any.
	tr::UniqueFd region_fd;
	uint8_t *region = nullptr;
	uint64_t slot_size = 0;

	~Client()
	{
		if (region != nullptr)
			::munmap(region, kRegion);
	}

	void frame(tr::MsgType type, uint32_t id, uint8_t flags,
		   const std::string &payload, std::span<const int> fds = {})
	{
		if (broken)
			return;
		tr::FrameHeader h;
		h.length = static_cast<uint32_t>(payload.size());
		h.stream_id = id;
		h.type = type;
		h.flags = flags;
		auto st = tr::write_frame(
		    s, h,
		    {reinterpret_cast<const uint8_t *>(payload.data()),
		     payload.size()},
		    tr::deadline_in(1000ms), fds);
		if (!st)
			broken = true; // the agent closed it: fine
	}
};

class Driver
{
public:
	explicit Driver(FuzzedDataProvider &in) : in_(in) {}

	void step(Client &c)
	{
		switch (in_.ConsumeIntegralInRange<int>(0, 15)) {
		case 0:
		case 1:
			open_call(c);
			break;
		case 2:
			open_genop(c);
			break;
		case 3:
		case 4:
		case 5:
		case 6:
			data(c);
			break;
		case 7:
			close_stream(c);
			break;
		case 8:
		case 9:
			plain(c);
			break;
		case 10:
			map_region(c);
			break;
		case 11:
			post_slot(c);
			break;
		case 12: { // a frame of any type and flags
			const auto type = static_cast<tr::MsgType>(
			    in_.ConsumeIntegralInRange<int>(0, 4));
			c.frame(type, stream(c), in_.ConsumeIntegral<uint8_t>(),
				in_.ConsumeRandomLengthString(64));
			break;
		}
		case 13: { // raw bytes: a header out of step, say
			auto b = in_.ConsumeBytes<uint8_t>(
			    in_.ConsumeIntegralInRange<size_t>(0, 32));
			if (!c.broken &&
			    !c.s.write_all(std::span<const uint8_t>(b),
					   tr::deadline_in(1000ms)))
				c.broken = true;
			break;
		}
		default:
			plain(c);
			break;
		}
	}

private:
	uint32_t stream(Client &c)
	{
		const auto b = in_.ConsumeIntegral<uint8_t>();
		if (!c.streams.empty() && b < 220)
			return c.streams[b % c.streams.size()];
		if (b < 250)
			return b % 8;
		return in_.ConsumeIntegral<uint32_t>();
	}
	uint32_t new_stream(Client &c)
	{
		const uint32_t id = c.next_id;
		c.next_id += 2;
		if (c.streams.size() < 32)
			c.streams.push_back(id);
		return id;
	}
	std::string bytes(size_t max)
	{
		return in_.ConsumeRandomLengthString(max);
	}

	// An inner request of a chunked call: a real one mostly.
	std::string inner_request(std::string *service, std::string *method)
	{
		switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
		case 0:
			*service = std::string(tr::kServiceSync);
			*method = "CreateSession";
			return rpc::session::CreateRequest()
			    .SerializeAsString();
		case 1:
		case 2: {
			*service = std::string(tr::kServiceSync);
			*method = "Genop";
			return genop_message(false).SerializeAsString();
		}
		case 3:
			*service = std::string(tr::kServiceAdmin);
			*method = "Stats";
			return {};
		default:
			*service = bytes(24);
			*method = bytes(24);
			return bytes(128);
		}
	}

	rpc::genop::Request genop_message(bool split)
	{
		rpc::genop::Request r;
		r.set_session_id(in_.ConsumeIntegralInRange<int64_t>(0, 3));
		const int nr =
		    split ? 1 : in_.ConsumeIntegralInRange<int>(0, 4);
		const int nw =
		    split ? 0 : in_.ConsumeIntegralInRange<int>(0, 3);
		for (int i = 0; i < nr + nw; ++i) {
			auto *a =
			    i < nr ? r.add_read_args() : r.add_write_args();
			a->set_arg_type(static_cast<rpc::genop::ArgType>(
			    in_.ConsumeIntegralInRange<int>(0, 28)));
			a->set_buf(bytes(64));
			a->set_size(
			    in_.ConsumeIntegralInRange<int>(0, 7) == 0
				? in_.ConsumeIntegral<uint32_t>()
				: static_cast<uint32_t>(a->buf().size()));
			if (split ||
			    in_.ConsumeIntegralInRange<int>(0, 7) == 0) {
				a->set_parts(
				    in_.ConsumeIntegralInRange<uint32_t>(0, 4));
				a->set_part_no(
				    in_.ConsumeIntegralInRange<uint32_t>(0, 4));
			}
		}
		if (split && in_.ConsumeBool()) { // a split write arg
			*r.add_write_args() = r.read_args(0);
			r.clear_read_args();
		}
		return r;
	}

	void open_call(Client &c)
	{
		std::string service, method;
		pending_ = inner_request(&service, &method);
		rpc::ext::CallHeader h;
		h.set_service(service);
		h.set_method(method);
		const auto how = in_.ConsumeIntegralInRange<int>(0, 7);
		h.set_size(how == 0   ? in_.ConsumeIntegral<uint64_t>()
			   : how == 1 ? in_.ConsumeIntegralInRange<uint64_t>(
					    0, 2 * kMaxMessage)
				      : pending_.size());
		const bool upstream_name =
		    in_.ConsumeIntegralInRange<int>(0, 7) == 0;
		c.frame(tr::MsgType::Request, new_stream(c),
			tr::kFlagRemoteOpen,
			envelope(upstream_name ? tr::kServiceSync
					       : tr::kServiceData,
				 "Call", h.SerializeAsString(), nullptr));
		pending_stream_ = c.streams.empty() ? 0 : c.streams.back();
	}

	void open_genop(Client &c)
	{
		c.frame(tr::MsgType::Request, new_stream(c),
			tr::kFlagRemoteOpen,
			envelope(in_.ConsumeBool() ? tr::kServiceSync
						   : tr::kServiceAsync,
				 "GenopStream", {}, nullptr));
		pending_.clear();
		pending_stream_ = c.streams.empty() ? 0 : c.streams.back();
	}

	// The next piece of a stream: of the pending chunked call's bytes,
	// or a genop message, or anything.
	void data(Client &c)
	{
		const uint32_t id = in_.ConsumeIntegralInRange<int>(0, 3) != 0
					? pending_stream_
					: stream(c);
		uint8_t flags = 0;
		const auto f = in_.ConsumeIntegralInRange<int>(0, 15);
		if (f == 0)
			flags = tr::kFlagRemoteClosed;
		else if (f == 1)
			flags = tr::kFlagNoData;
		else if (f == 2)
			flags = in_.ConsumeIntegral<uint8_t>();
		std::string payload;
		const auto what = in_.ConsumeIntegralInRange<int>(0, 7);
		if (what < 3 && !pending_.empty()) {
			const size_t n = in_.ConsumeIntegralInRange<size_t>(
			    1, pending_.size());
			payload = pending_.substr(0, n);
			pending_.erase(0, n);
			if (pending_.empty() && in_.ConsumeBool())
				flags |= tr::kFlagRemoteClosed;
		} else if (what < 6) {
			payload = genop_message(in_.ConsumeBool())
				      .SerializeAsString();
		} else {
			payload = bytes(256);
		}
		c.frame(tr::MsgType::Data, id, flags, payload);
	}

	void close_stream(Client &c)
	{
		c.frame(tr::MsgType::Data, stream(c),
			in_.ConsumeBool()
			    ? tr::kFlagRemoteClosed
			    : tr::kFlagRemoteClosed | tr::kFlagNoData,
			{});
	}

	// A plain request, sometimes naming a reply slot.
	void plain(Client &c)
	{
		std::string slot;
		const std::string *slot_p = nullptr;
		if (in_.ConsumeIntegralInRange<int>(0, 3) == 0) {
			const auto how = in_.ConsumeIntegralInRange<int>(0, 3);
			slot =
			    how == 0 ? bytes(32)
			    : how == 1
				? tr::format_reply_slot(
				      in_.ConsumeIntegralInRange<uint32_t>(0,
									   3),
				      in_.ConsumeIntegral<uint64_t>(),
				      in_.ConsumeIntegral<uint64_t>())
				: tr::format_reply_slot(
				      1,
				      64 * in_.ConsumeIntegralInRange<uint64_t>(
					       0, 1100),
				      64 * in_.ConsumeIntegralInRange<uint64_t>(
					       0, 40));
			slot_p = &slot;
		}
		std::string service, method, payload;
		payload = inner_request(&service, &method);
		c.frame(tr::MsgType::Request, new_stream(c), 0,
			envelope(service, method, payload, slot_p));
	}

	// Region 1, sometimes cut into request slots.
	void map_region(Client &c)
	{
		if (c.region == nullptr) {
			c.region_fd = fuzz::memfd(kRegion, true);
			void *p =
			    ::mmap(nullptr, kRegion, PROT_READ | PROT_WRITE,
				   MAP_SHARED, c.region_fd.get(), 0);
			if (p == MAP_FAILED)
				fuzz::fail("mmap");
			c.region = static_cast<uint8_t *>(p);
		}
		rpc::ext::MapRegion m;
		m.set_region(in_.ConsumeIntegralInRange<int>(0, 7) == 0
				 ? in_.ConsumeIntegralInRange<uint32_t>(0, 3)
				 : 1);
		m.set_size(in_.ConsumeIntegralInRange<int>(0, 7) == 0
			       ? in_.ConsumeIntegral<uint64_t>()
			       : kRegion);
		if (in_.ConsumeBool()) {
			c.slot_size =
			    in_.ConsumeIntegralInRange<int>(0, 7) == 0
				? in_.ConsumeIntegral<uint64_t>()
				: 1024u
				      << in_.ConsumeIntegralInRange<int>(0, 6);
			m.set_slot_size(c.slot_size);
		}
		const int fd = c.region_fd.get();
		const int nfds = in_.ConsumeIntegralInRange<int>(0, 7) == 0
				     ? in_.ConsumeIntegralInRange<int>(0, 2)
				     : 1;
		const int fds[2] = {fd, fd};
		c.frame(tr::MsgType::Request, new_stream(c), 0,
			envelope(tr::kServiceData, "MapRegion",
				 m.SerializeAsString(), nullptr),
			std::span<const int>(fds, static_cast<size_t>(nfds)));
	}

	// A request written straight into a request slot, its header words
	// from the input (the length may lie).
	void post_slot(Client &c)
	{
		if (c.region == nullptr)
			return;
		const size_t slot = c.slot_size >= 128 && c.slot_size <= kRegion
					? c.slot_size
					: 1024;
		const size_t i =
		    in_.ConsumeIntegralInRange<size_t>(0, kRegion / slot - 1);
		uint8_t *base = c.region + i * slot;
		std::string service, method;
		std::string req = envelope(
		    service, method, inner_request(&service, &method), nullptr);
		req = envelope(service, method, req, nullptr);
		const size_t n = std::min(req.size(), slot - 64);
		std::memcpy(base + 64, req.data(), n);
		const uint32_t len = in_.ConsumeIntegralInRange<int>(0, 7) == 0
					 ? in_.ConsumeIntegral<uint32_t>()
					 : static_cast<uint32_t>(n);
		std::atomic_ref<uint32_t>(
		    *reinterpret_cast<uint32_t *>(base + 20))
		    .store(len);
		std::atomic_ref<uint32_t>(
		    *reinterpret_cast<uint32_t *>(base + 16))
		    .store(new_stream(c));
	}

	FuzzedDataProvider &in_;
	std::string pending_;
	uint32_t pending_stream_ = 0;
};

// Reads and drops replies until the agent closes the connection.
void drain(Client &c)
{
	// The agent sees the end of its input, answers what it read before
	// and closes: read to the end.
	::shutdown(c.s.fd(), SHUT_WR);
	const auto until = std::chrono::steady_clock::now() + 3s;
	std::vector<uint8_t> buf(1 << 16);
	while (std::chrono::steady_clock::now() < until) {
		pollfd p{c.s.fd(), POLLIN, 0};
		if (::poll(&p, 1, 50) <= 0)
			continue;
		const ssize_t n = ::recv(c.s.fd(), buf.data(), buf.size(), 0);
		if (n <= 0)
			return;
	}
}

// The reader releases a connection's objects when it ends; a request
// still running then (a MapRegion, say) releases what it made when it
// finishes and drops the connection.
bool wait_released(fuzz::agent::Service &svc)
{
	auto &t = svc.tenants().get(kTenant);
	for (int i = 0; i < 400; ++i) {
		if (t.used(fuzz::agent::Limit::Connections) == 0 &&
		    t.used(fuzz::agent::Limit::Calls) == 0 &&
		    svc.buffered() == 0 && vaccel_session_count() == 0 &&
		    vaccel_resource_count() == 0 &&
		    svc.regions_mapped().load() == 0)
			return true;
		std::this_thread::sleep_for(5ms);
	}
	return false;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	fuzz::bootstrap_noop();
	char tmpl[] = "/tmp/vaccel-fuzz-XXXXXX";
	if (::mkdtemp(tmpl) == nullptr)
		fuzz::fail("mkdtemp");
	static std::string dir = tmpl;
	agents[0] = start(dir, "default.sock", fuzz::agent::Policy{});
	agents[1] = start(dir, "permissive.sock", fuzz::permissive_policy());
	std::atexit([] {
		for (auto &a : agents)
			if (a.server)
				a.server->stop();
		std::error_code ec;
		std::filesystem::remove_all(dir, ec);
	});
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzedDataProvider in(data, size);
	Agent &agent = agents[in.ConsumeBool() ? 1 : 0];
	{
		Client clients[2];
		const int n = in.ConsumeBool() ? 2 : 1;
		for (int i = 0; i < n; ++i) {
			auto s = tr::connect(agent.server->address(), 2000ms);
			if (!s)
				fuzz::fail("connect");
			clients[i].s = std::move(s.value());
		}
		Driver d(in);
		for (int steps = 0; steps < 64 && in.remaining_bytes() > 0;
		     ++steps)
			d.step(clients[n == 2 && in.ConsumeBool() ? 1 : 0]);
		for (int i = 0; i < n; ++i)
			drain(clients[i]);
	}
	if (!wait_released(*agent.svc))
		fuzz::fail("connection's budget, calls or sessions not "
			   "released after it closed");
	fuzz::check_released(*agent.svc, kTenant);
	return 0;
}
