// SPDX-License-Identifier: Apache-2.0
#include "server.h"

#include "audit.h"
#include "identity.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <new>
#include <span>
#include <system_error>
#include <unordered_map>

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"

namespace vaccel::agent
{

using transport::Frame;
using transport::FrameHeader;
using transport::MsgType;

// Memory a large call holds against Limits::max_buffered; given
// back when the call is done (or refused).
class Server::Reservation
{
public:
	Reservation() = default;
	explicit Reservation(Server *s) : server_(s) {}
	Reservation(Reservation &&o) noexcept
	    : server_(o.server_), bytes_(std::exchange(o.bytes_, 0))
	{
	}
	Reservation &operator=(Reservation &&o) noexcept
	{
		if (this != &o) {
			release();
			server_ = o.server_;
			bytes_ = std::exchange(o.bytes_, 0);
		}
		return *this;
	}
	Reservation(const Reservation &) = delete;
	Reservation &operator=(const Reservation &) = delete;
	~Reservation() { release(); }

	bool grow(uint64_t n) noexcept
	{
		if (!server_->service_.reserve(n))
			return false;
		bytes_ += n;
		return true;
	}
	void release() noexcept
	{
		if (server_ != nullptr && bytes_ > 0)
			server_->service_.unreserve(std::exchange(bytes_, 0));
	}

private:
	Server *server_ = nullptr;
	uint64_t bytes_ = 0;
};

// A client-streaming call being reassembled (reader thread only).
struct Server::Inbound {
	enum class Kind { Genop, Call } kind = Kind::Call;
	Reservation held;
	bool failed = false; // refused: swallow its data until it closes
	// Call: the message's bytes, allocated once at its announced size
	// and filled by the reader straight from the socket.
	std::string service, method;
	uint64_t expected = 0;
	uint64_t got = 0;
	std::unique_ptr<uint8_t[]> bytes;
	// Genop (upstream's parts: an arg split over several messages)
	rpc::genop::Request genop;
	rpc::genop::Arg read_part, write_part;
	uint32_t read_next = 1, write_next = 1;
};

// One unit of work for the pool.
struct Server::Job {
	enum class Kind { Frame, Call, Genop } kind = Kind::Frame;
	uint32_t stream_id = 0;
	transport::Frame frame;      // Frame
	std::string service, method; // Call: the reassembled inner request
	std::unique_ptr<uint8_t[]> bytes;
	size_t size = 0;
	rpc::genop::Request genop; // Genop
	Reservation held;
	// When the reader stopped polling for it, and when it was read
	// whole (traced requests only).
	std::chrono::steady_clock::time_point arrived, read;
};

struct Server::Conn {
	Conn(ConnId i, transport::Stream s, bool shm,
	     std::atomic<uint64_t> *region_counter, HostMemoryPinner *pinner)
	    : id(i), stream(std::move(s)), local(shm),
	      regions(region_counter, {}, pinner)
	{
	}

	const ConnId id;
	transport::Stream stream;
	// Who the connection acts for, and its share of that tenant's
	// connection quota (given back when the reader ends).
	Tenant *tenant = nullptr;
	Charge quota;
	// A unix-socket peer: descriptors are accepted and the
	// shared-memory plane is offered.
	const bool local;
	RegionTable regions;
	std::unordered_map<uint32_t, Inbound> inbound; // reader thread only
	std::mutex write_mu; // one frame at a time on the socket
	// In-flight accounting, for the reader's back-pressure.
	std::mutex mu;
	std::condition_variable cv;
	size_t in_flight = 0;
	std::atomic<bool> closing{false};
	std::thread reader;
	std::atomic<bool> done{false}; // reader finished; may be joined
	// Smoothed wait for the next frame, ns (reader thread only).
	int64_t read_wait_ns = 0;
	// The reader's copy of the request slots it watches
	// (RegionTable::slots(); reader thread only).
	RegionTable::Slots slots;
	uint64_t slots_version = 0;
	size_t next_slot = 0; // where the next look at the slots starts

	// Wakes every thread blocked on this connection; the fd stays open
	// until the last job holding the connection lets go.
	void close_down() noexcept
	{
		closing = true;
		stream.shutdown();
		std::lock_guard lock(mu);
		cv.notify_all();
	}
};

Server::Server(Service &service, ServerOptions opts)
    : service_(service), opts_(std::move(opts)),
      reader_spin_(opts_.spin, std::chrono::microseconds{50})
{
}

namespace
{

bool loopback_host(const std::string &host)
{
	return host == "localhost" || host == "::1" || host == "[::1]" ||
	       host.rfind("127.", 0) == 0;
}

} // namespace

// What the listener itself must not expose (docs/security.md): abstract
// unix sockets, reachable by any process in the network namespace, and
// plaintext TCP beyond loopback (TLS with client certificates is fine).
core::Status Server::check_exposure() const
{
	using K = transport::Address::Kind;
	const auto &a = opts_.address;
	if (a.kind == K::UnixAbstract && !opts_.allow_abstract)
		return core::Status::error(
		    VACCEL_EPERM,
		    "abstract unix socket %s has no file permissions: any "
		    "local "
		    "process could connect; pass --allow-abstract to use it",
		    transport::to_string(a).c_str());
	if (opts_.tls && a.kind != K::Tcp)
		return core::Status::error(
		    VACCEL_EINVAL, "TLS is for tcp:// listeners, not %s",
		    transport::to_string(a).c_str());
	// With TLS every client proves who it is: any address will do.
	if (a.kind == K::Tcp && !opts_.tls && !loopback_host(a.host)) {
		if (!opts_.insecure_tcp)
			return core::Status::error(
			    VACCEL_EPERM,
			    "plaintext TCP on %s (not loopback) lets anyone on "
			    "the network act as tenant \"%s\"; use TLS "
			    "(--tls-cert, --tls-key, --tls-client-ca) or "
			    "pass --insecure-tcp to allow it",
			    transport::to_string(a).c_str(),
			    opts_.tenant.empty() ? "tcp"
						 : opts_.tenant.c_str());
		vaccel_warn("agent: --insecure-tcp: plaintext TCP on %s; every "
			    "peer that reaches it is tenant \"%s\"",
			    transport::to_string(a).c_str(),
			    opts_.tenant.empty() ? "tcp"
						 : opts_.tenant.c_str());
		audit::event("insecure-tcp", transport::to_string(a));
	}
	return core::Status::ok();
}

core::Status Server::start()
{
	VACCEL_RETURN_IF_ERROR(check_exposure());
	auto listener = transport::Listener::bind(
	    opts_.address, 128,
	    transport::UnixPerms{opts_.socket_mode, opts_.socket_gid});
	if (!listener)
		return listener.status();
	listener_ = std::move(listener.value());
	wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd_ < 0)
		return core::Status::error(VACCEL_EIO, "eventfd: %s",
					   std::strerror(errno));
	// A quarter of the cores at most, and at least one: with many busy
	// clients the rest block as before.
	max_polling_readers_ =
	    std::max<size_t>(1, std::thread::hardware_concurrency() / 4);
	try {
		pool_.emplace(opts_.workers, opts_.spin);
		acceptor_ = std::thread([this] { accept_loop(); });
	} catch (const std::system_error &e) {
		stop();
		return core::Status::error(
		    VACCEL_ENOMEM, "cannot start threads: %s", e.what());
	}
	return core::Status::ok();
}

void Server::wake() noexcept
{
	const uint64_t one = 1;
	if (wake_fd_ >= 0) {
		[[maybe_unused]] ssize_t n =
		    ::write(wake_fd_, &one, sizeof(one));
	}
}

void Server::stop()
{
	if (stopped_)
		return;
	stopped_ = true;
	stopping_ = true;
	wake();
	if (acceptor_.joinable())
		acceptor_.join();
	listener_.close();

	// The acceptor is gone: nobody adds to conns_ any more.
	for (auto &c : conns_)
		c->close_down();
	for (auto &c : conns_)
		if (c->reader.joinable())
			c->reader.join();
	// Requests still queued belong to closed connections and are
	// skipped; running ones finish (an op cannot be interrupted).
	if (pool_)
		pool_->stop();
	conns_.clear();
	service_.clear();
	if (wake_fd_ >= 0)
		::close(std::exchange(wake_fd_, -1));
}

void Server::accept_loop()
{
	pollfd fds[2] = {{listener_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
	while (!stopping_) {
		if (::poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vaccel_error("agent: poll: %s", std::strerror(errno));
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(100));
			continue;
		}
		if (fds[1].revents != 0) {
			uint64_t n = 0;
			[[maybe_unused]] ssize_t r =
			    ::read(wake_fd_, &n, sizeof(n));
			reap(false);
		}
		if (stopping_ || (fds[0].revents & POLLIN) == 0)
			continue;
		auto stream = listener_.accept();
		if (stream) {
			admit(std::move(stream.value()));
			continue;
		}
		if (stream.status().code() == VACCEL_EAGAIN)
			continue;
		// Typically EMFILE: back off instead of spinning on it.
		vaccel_warn("agent: %s", stream.status().message().c_str());
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
}

// The tenant a new connection acts for, with its connection charged to
// the tenant's and the agent's caps; null (connection refused, audited).
Tenant *Server::admit_tenant(int fd, ConnId id, Charge *quota)
{
	TenantRegistry &tenants = service_.tenants();
	auto name = identify(fd, listener_.address(), tenants.policy().identity,
			     opts_.tenant);
	if (!name) {
		audit::event("connection-refused", name.status().message());
		return nullptr;
	}
	Tenant &t = tenants.get(*name);
	if (!tenants.take_connection()) {
		audit::refused(t.name(), id, "connect", "agent.max_connections",
			       "the agent's connection cap is reached");
		return nullptr;
	}
	if (!Charge::take(t, Limit::Connections, 1, "connect", id, quota)
		 .is_ok()) {
		tenants.give_back_connection();
		return nullptr;
	}
	return &t;
}

void Server::admit(transport::Stream stream)
{
	using K = transport::Address::Kind;
	const bool local = opts_.shm && service_.limits().extensions &&
			   (opts_.address.kind == K::Unix ||
			    opts_.address.kind == K::UnixAbstract);
	const ConnId id = ++next_id_;
	Charge quota;
	Tenant *tenant = nullptr;
	if (!opts_.tls) {
		tenant = admit_tenant(stream.fd(), id, &quota);
		if (tenant == nullptr)
			return; // closing the stream tells the client
	} else if (!service_.tenants().take_connection()) {
		// The tenant is known after the handshake, on the reader
		// thread (a slow handshaker must not hold up accepting); the
		// agent's cap bounds handshakes in progress too.
		audit::event("connection-refused",
			     "connection " + std::to_string(id) +
				 ": the agent's connection cap is reached "
				 "(rule agent.max_connections)");
		return;
	}
	auto conn =
	    std::make_shared<Conn>(id, std::move(stream), local,
				   &service_.regions_mapped(), opts_.pinner);
	conn->tenant = tenant;
	conn->quota = std::move(quota);
	service_.open_connection(conn->id);
	++open_conns_;
	try {
		conn->reader = std::thread([this, conn] { read_loop(conn); });
	} catch (const std::system_error &e) {
		vaccel_warn("agent: connection %llu: cannot start its reader "
			    "(%s); closing",
			    static_cast<unsigned long long>(conn->id),
			    e.what());
		service_.close_connection(conn->id);
		--open_conns_;
		conn->quota.reset();
		service_.tenants().give_back_connection();
		return;
	}
	if (tenant != nullptr)
		vaccel_info("agent: connection %llu opened (tenant %s)",
			    static_cast<unsigned long long>(conn->id),
			    tenant->name().c_str());
	std::lock_guard lock(conns_mu_);
	conns_.push_back(std::move(conn));
}

// Joins finished readers (all of them when @p all).
void Server::reap(bool all)
{
	std::list<std::shared_ptr<Conn>> finished;
	{
		std::lock_guard lock(conns_mu_);
		for (auto it = conns_.begin(); it != conns_.end();) {
			if (all || (*it)->done) {
				finished.push_back(std::move(*it));
				it = conns_.erase(it);
			} else {
				++it;
			}
		}
	}
	for (auto &c : finished)
		if (c->reader.joinable())
			c->reader.join();
}

void Server::read_loop(const std::shared_ptr<Conn> &conn)
{
	if (conn->tenant != nullptr || secure(*conn))
		read_frames(conn);
	conn->inbound.clear();
	conn->slots = {};
	conn->regions.clear();
	conn->close_down();
	service_.close_connection(conn->id);
	--open_conns_;
	conn->quota.reset();
	service_.tenants().give_back_connection();
	conn->done = true;
	wake(); // let the acceptor join us
}

bool Server::secure(Conn &conn)
{
	const auto id = static_cast<unsigned long long>(conn.id);
	const auto refuse = [&](const std::string &why) {
		if (conn.closing) // the agent is stopping
			return false;
		audit::event("connection-refused",
			     "connection " + std::to_string(id) + ": " + why);
		return false;
	};
	if (auto st = transport::tls_accept(
		conn.stream, *opts_.tls,
		transport::deadline_in(opts_.tls_handshake_timeout));
	    !st)
		return refuse(st.message());
	TenantRegistry &tenants = service_.tenants();
	auto name = identify_tls(transport::tls_peer_common_name(conn.stream),
				 tenants.policy().identity);
	if (!name)
		return refuse(name.status().message());
	Tenant &t = tenants.get(*name);
	if (!Charge::take(t, Limit::Connections, 1, "connect", conn.id,
			  &conn.quota)
		 .is_ok())
		return false; // refused and audited by the charge
	conn.tenant = &t;
	vaccel_info("agent: connection %llu opened (tenant %s)", id,
		    t.name().c_str());
	return true;
}

void Server::read_frames(const std::shared_ptr<Conn> &conn)
{
	const auto id = static_cast<unsigned long long>(conn->id);
	for (;;) {
		{
			std::unique_lock lock(conn->mu);
			conn->cv.wait(lock, [&] {
				return conn->closing ||
				       conn->in_flight < opts_.max_in_flight;
			});
		}
		if (conn->closing)
			break;
		const auto wait_start = std::chrono::steady_clock::now();
		// How long this wait took, for the next one's polling plan.
		const auto note_wait = [&] {
			conn->read_wait_ns = reader_spin_.update(
			    conn->read_wait_ns,
			    std::chrono::duration_cast<
				std::chrono::nanoseconds>(
				std::chrono::steady_clock::now() - wait_start)
				.count());
		};
		if (auto job = wait_for_frame(*conn)) {
			// A request the client posted in a slot: no frame
			// to read.
			note_wait();
			if (!submit(conn, std::move(job)))
				break;
			continue;
		}
		const auto arrived = opts_.trace != nullptr
					 ? std::chrono::steady_clock::now()
					 : wait_start;
		// The header first: a Data frame of a chunked call is read
		// straight into that call's buffer, without a copy.
		std::vector<transport::UniqueFd> fds;
		auto *fd_sink = conn->local ? &fds : nullptr;
		auto hdr = transport::read_header(conn->stream, opts_.max_frame,
						  std::nullopt, fd_sink);
		core::Result<transport::Frame> frame = hdr.status();
		bool direct = false;
		if (hdr) {
			transport::Frame fr;
			fr.header = *hdr;
			const uint32_t len = fr.header.length;
			Inbound *in = nullptr;
			if (fr.header.type == MsgType::Data) {
				auto it =
				    conn->inbound.find(fr.header.stream_id);
				if (it != conn->inbound.end() &&
				    it->second.kind == Inbound::Kind::Call &&
				    !it->second.failed &&
				    len <= it->second.expected - it->second.got)
					in = &it->second;
			}
			core::Status rd;
			if (in != nullptr) {
				rd = conn->stream.read_exact(
				    std::span(in->bytes.get() + in->got, len),
				    std::nullopt, fd_sink);
				in->got += len;
				direct = true;
			} else {
				fr.payload.resize(len);
				rd = conn->stream.read_exact(
				    std::span(fr.payload), std::nullopt,
				    fd_sink);
			}
			fr.fds = std::move(fds);
			if (rd)
				frame = std::move(fr);
			else
				frame = rd;
		}
		if (!frame) {
			const core::Status st = frame.status();
			const std::string &msg = st.message();
			if (conn->closing)
				break;
			if (msg.find("peer closed (0 of") != std::string::npos)
				vaccel_info("agent: connection %llu closed by "
					    "peer",
					    id);
			else
				vaccel_warn("agent: connection %llu: %s; "
					    "closing it",
					    id, msg.c_str());
			break;
		}
		note_wait();
		transport::Frame &f = frame.value();
		bool keep = true;
		if (f.header.type == MsgType::Data) {
			keep = feed_stream(conn, f, direct);
		} else if (f.header.type != MsgType::Request) {
			vaccel_warn("agent: connection %llu: unexpected frame "
				    "type %u on stream %u; ignored",
				    id, static_cast<unsigned>(f.header.type),
				    f.header.stream_id);
		} else if ((f.header.flags & transport::kFlagRemoteOpen) != 0) {
			keep = open_stream(conn, f);
		} else {
			auto job = std::make_shared<Job>();
			job->stream_id = f.header.stream_id;
			job->frame = std::move(f);
			job->arrived = arrived;
			keep = submit(conn, std::move(job));
		}
		if (!keep)
			break;
	}
}

std::shared_ptr<Server::Job> Server::take_slot_request(Conn &conn)
{
	const auto &s = conn.slots;
	if (!s.region)
		return nullptr;
	// From where the last look stopped, so that no slot goes first
	// every time.
	for (size_t n = 0; n < s.count; ++n) {
		const size_t i = (conn.next_slot + n) % s.count;
		const transport::ReplySlot slot(
		    s.region->data() + i * s.slot_size, s.slot_size);
		try {
			uint32_t id = 0;
			std::vector<uint8_t> bytes;
			if (!slot.take_request(&id, &bytes))
				continue;
			conn.next_slot = i + 1;
			auto job = std::make_shared<Job>();
			job->stream_id = id;
			job->frame.header.stream_id = id;
			job->frame.header.type = MsgType::Request;
			job->frame.header.length =
			    static_cast<uint32_t>(bytes.size());
			job->frame.payload = std::move(bytes);
			if (opts_.trace != nullptr)
				job->arrived = std::chrono::steady_clock::now();
			service_.slot_requests().fetch_add(
			    1, std::memory_order_relaxed);
			return job;
		} catch (const std::bad_alloc &) {
			// The slot's request is gone: so is the connection,
			// as when a frame cannot be read.
			vaccel_warn(
			    "agent: connection %llu: out of memory "
			    "taking a request from slot %zu; closing it",
			    static_cast<unsigned long long>(conn.id), i);
			conn.close_down();
			return nullptr;
		}
	}
	return nullptr;
}

std::shared_ptr<Server::Job> Server::wait_for_frame(Conn &conn)
{
	// The slot region may have come or gone since the last wait.
	if (const uint64_t v = conn.regions.slots_version();
	    v != conn.slots_version) {
		conn.slots = conn.regions.slots();
		conn.slots_version = v;
	}
	// One posted while we were last watching (with several callers).
	if (auto job = take_slot_request(conn))
		return job;
	// Bytes TLS already took off the socket: poll() would not see them.
	if (conn.stream.pending())
		return nullptr;
	const auto plan = reader_spin_.plan(conn.read_wait_ns);
	if (plan.poll.count() <= 0 || open_conns_.load() > max_polling_readers_)
		return nullptr;
	// An error or hang-up shows as an event too: the read that follows
	// reports it.
	pollfd p{conn.stream.fd(), POLLIN, 0};
	if (plan.sleep.count() > 0 &&
	    transport::plan_poll(std::span(&p, 1), {plan.sleep, {}}) != 0)
		return nullptr;
	// Only the polling takes one of the places.
	std::shared_ptr<Job> job;
	if (polling_readers_.fetch_add(1) < max_polling_readers_) {
		if (conn.slots.region)
			job = watch(conn, p, plan.poll);
		else
			(void)transport::spin_poll(std::span(&p, 1), plan.poll);
	}
	polling_readers_.fetch_sub(1);
	return job;
}

std::shared_ptr<Server::Job> Server::watch(Conn &conn, pollfd &p,
					   std::chrono::nanoseconds budget)
{
	// While the flag is up, callers post requests in their slots
	// instead of writing them to the socket (transport/reply_slot.h).
	const auto flag = transport::reader_polling(conn.slots.region->data());
	flag.store(1, std::memory_order_seq_cst);
	std::shared_ptr<Job> job;
	(void)transport::spin_poll_or(std::span(&p, 1), budget, [&] {
		return (job = take_slot_request(conn)) != nullptr;
	});
	// Down, then one more look: a caller that saw the flag up has posted
	// its request by now, and will not send it on the socket.
	flag.store(0, std::memory_order_seq_cst);
	if (!job)
		job = take_slot_request(conn);
	return job;
}

bool Server::submit(const std::shared_ptr<Conn> &conn, std::shared_ptr<Job> job)
{
	if (opts_.trace != nullptr) {
		job->read = std::chrono::steady_clock::now();
		// A call reassembled from chunks: its last frame's wait is
		// not known here.
		if (job->arrived == decltype(job->arrived){})
			job->arrived = job->read;
	}
	{
		std::lock_guard lock(conn->mu);
		++conn->in_flight;
	}
	return pool_->submit([this, conn, job] { process(conn, *job); });
}

namespace
{

rpc::ttrpc::Response error_response(const RpcStatus &st)
{
	rpc::ttrpc::Response r;
	set_status(r, st);
	return r;
}

// Merges one message of upstream's GenopStream into the call being
// assembled: an arg sent whole is appended as is; an arg split into
// `parts` messages (one arg each, part_no 1..parts) is concatenated.
RpcStatus merge_part(rpc::genop::Arg &part, uint32_t &next,
		     rpc::genop::Arg &&in,
		     google::protobuf::RepeatedPtrField<rpc::genop::Arg> *out)
{
	if (in.part_no() != next || in.part_no() > in.parts())
		return RpcStatus::invalid(
		    "GenopStream: part %u of %u arrived, part %u expected",
		    in.part_no(), in.parts(), next);
	if (next == 1) {
		part.set_arg_type(in.arg_type());
		part.set_custom_type_id(in.custom_type_id());
		part.set_size(in.size());
		part.mutable_buf()->reserve(in.size());
	}
	part.mutable_buf()->append(in.buf());
	if (part.buf().size() > part.size())
		return RpcStatus::invalid("GenopStream: arg parts exceed the "
					  "announced %u bytes",
					  part.size());
	if (in.part_no() < in.parts()) {
		++next;
		return RpcStatus::ok();
	}
	if (part.buf().size() != part.size())
		return RpcStatus::invalid(
		    "GenopStream: arg of %u bytes announced, %zu received",
		    part.size(), part.buf().size());
	*out->Add() = std::move(part);
	part.Clear();
	next = 1;
	return RpcStatus::ok();
}

} // namespace

bool Server::open_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame)
{
	const uint32_t sid = frame.header.stream_id;
	constexpr size_t kMaxOpenStreams = 16;
	rpc::ttrpc::Request req;
	if (!req.ParseFromArray(frame.payload.data(),
				static_cast<int>(frame.payload.size()))) {
		vaccel_warn("agent: connection %llu: malformed stream request "
			    "on stream %u; closing it",
			    static_cast<unsigned long long>(conn->id), sid);
		return false;
	}
	if (conn->inbound.contains(sid)) {
		vaccel_warn("agent: connection %llu: stream %u opened twice; "
			    "closing it",
			    static_cast<unsigned long long>(conn->id), sid);
		return false;
	}
	Inbound in;
	in.held = Reservation(this);
	RpcStatus st;
	const bool upstream_genop =
	    (req.service() == transport::kServiceSync ||
	     req.service() == transport::kServiceAsync) &&
	    req.method() == "GenopStream";
	const bool call = service_.limits().extensions &&
			  req.service() == transport::kServiceData &&
			  req.method() == "Call";
	if (conn->inbound.size() >= kMaxOpenStreams) {
		st = RpcStatus::exhausted("more than %zu streaming calls open "
					  "on one connection",
					  kMaxOpenStreams);
	} else if (upstream_genop) {
		in.kind = Inbound::Kind::Genop;
	} else if (call) {
		rpc::ext::CallHeader h;
		if (!h.ParseFromString(req.payload()))
			st = RpcStatus::invalid("malformed CallHeader");
		else if (h.size() > opts_.max_message)
			st = RpcStatus::exhausted(
			    "chunked call of %llu bytes exceeds the limit of "
			    "%llu",
			    static_cast<unsigned long long>(h.size()),
			    static_cast<unsigned long long>(opts_.max_message));
		else if (!in.held.grow(h.size()))
			st = RpcStatus::exhausted(
			    "agent busy: %llu bytes of large calls already "
			    "buffered",
			    static_cast<unsigned long long>(
				service_.buffered()));
		else {
			in.kind = Inbound::Kind::Call;
			in.service = h.service();
			in.method = h.method();
			in.expected = h.size();
			in.bytes.reset(new (std::nothrow)
					   uint8_t[h.size() + 1]);
			if (!in.bytes)
				st = RpcStatus::exhausted(
				    "chunked call: cannot allocate %llu bytes",
				    static_cast<unsigned long long>(h.size()));
		}
	} else {
		st = RpcStatus::unimplemented("%s/%s is not a streaming method",
					      req.service().c_str(),
					      req.method().c_str());
	}
	if (!st.is_ok()) {
		vaccel_warn("agent: connection %llu: stream %u: %s",
			    static_cast<unsigned long long>(conn->id), sid,
			    st.message().c_str());
		in.held.release();
		in.failed = true;
		reply(*conn, sid, error_response(st));
	}
	conn->inbound.emplace(sid, std::move(in));
	return true;
}

bool Server::feed_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame, bool consumed)
{
	const uint32_t sid = frame.header.stream_id;
	const bool last =
	    (frame.header.flags & transport::kFlagRemoteClosed) != 0;
	auto it = conn->inbound.find(sid);
	if (it == conn->inbound.end()) {
		vaccel_debug("agent: connection %llu: data for unknown stream "
			     "%u; ignored",
			     static_cast<unsigned long long>(conn->id), sid);
		return true;
	}
	Inbound &in = it->second;
	RpcStatus st;
	const bool has_data =
	    (frame.header.flags & transport::kFlagNoData) == 0 &&
	    !frame.payload.empty();
	if (!in.failed && has_data && !consumed) {
		if (in.kind == Inbound::Kind::Call) {
			// The reader put every frame that fits straight into
			// the buffer; one that got here does not fit.
			st = RpcStatus::invalid(
			    "chunked call: more than the announced %llu bytes",
			    static_cast<unsigned long long>(in.expected));
		} else {
			rpc::genop::Request part;
			if (!part.ParseFromArray(
				frame.payload.data(),
				static_cast<int>(frame.payload.size())))
				st = RpcStatus::invalid(
				    "GenopStream: malformed message");
			else if (in.genop.ByteSizeLong() +
				     frame.payload.size() >
				 opts_.max_message)
				st = RpcStatus::exhausted(
				    "GenopStream: more than %llu bytes",
				    static_cast<unsigned long long>(
					opts_.max_message));
			else if (!in.held.grow(frame.payload.size()))
				st = RpcStatus::exhausted(
				    "agent busy: %llu bytes of large calls "
				    "already buffered",
				    static_cast<unsigned long long>(
					service_.buffered()));
			if (st.is_ok()) {
				in.genop.set_session_id(part.session_id());
				const bool split_read =
				    part.read_args_size() == 1 &&
				    part.read_args(0).parts() > 0;
				const bool split_write =
				    part.write_args_size() == 1 &&
				    part.write_args(0).parts() > 0;
				if (split_read)
					st = merge_part(
					    in.read_part, in.read_next,
					    std::move(
						*part.mutable_read_args(0)),
					    in.genop.mutable_read_args());
				else if (split_write)
					st = merge_part(
					    in.write_part, in.write_next,
					    std::move(
						*part.mutable_write_args(0)),
					    in.genop.mutable_write_args());
				else {
					for (auto &a :
					     *part.mutable_read_args())
						*in.genop.add_read_args() =
						    std::move(a);
					for (auto &a :
					     *part.mutable_write_args())
						*in.genop.add_write_args() =
						    std::move(a);
				}
			}
		}
	}
	std::vector<uint8_t>().swap(frame.payload);
	if (!st.is_ok()) {
		vaccel_warn("agent: connection %llu: stream %u: %s",
			    static_cast<unsigned long long>(conn->id), sid,
			    st.message().c_str());
		in.failed = true;
		in.bytes.reset();
		in.genop.Clear();
		in.held.release();
		reply(*conn, sid, error_response(st));
	}
	if (!last)
		return true;

	// Half-closed: the call is complete (or was refused).
	Inbound done = std::move(in);
	conn->inbound.erase(it);
	if (done.failed)
		return true;
	auto job = std::make_shared<Job>();
	job->stream_id = sid;
	job->held = std::move(done.held);
	if (done.kind == Inbound::Kind::Call) {
		if (done.got != done.expected) {
			reply(*conn, sid,
			      error_response(RpcStatus::invalid(
				  "chunked call: %llu of %llu bytes received",
				  static_cast<unsigned long long>(done.got),
				  static_cast<unsigned long long>(
				      done.expected))));
			return true;
		}
		job->kind = Job::Kind::Call;
		job->service = std::move(done.service);
		job->method = std::move(done.method);
		job->bytes = std::move(done.bytes);
		job->size = done.got;
	} else {
		if (done.read_next != 1 || done.write_next != 1) {
			reply(*conn, sid,
			      error_response(RpcStatus::invalid(
				  "GenopStream: closed in the middle of a "
				  "split arg")));
			return true;
		}
		job->kind = Job::Kind::Genop;
		job->genop = std::move(done.genop);
	}
	return submit(conn, std::move(job));
}

void Server::process(const std::shared_ptr<Conn> &conn, Job &job)
{
	struct Done {
		Conn &c;
		~Done()
		{
			std::lock_guard lock(c.mu);
			--c.in_flight;
			c.cv.notify_all();
		}
	} done{*conn};
	if (conn->closing)
		return;

	using Clock = std::chrono::steady_clock;
	TraceRecord tr;
	std::string method; // copied only when traced
	const bool traced = opts_.trace != nullptr;
	if (traced) {
		tr.started = Clock::now();
		tr.cpu_started = sched_getcpu();
	}

	// Where the caller polls for the reply, if it named a slot; the
	// region stays mapped until the reply is in.
	std::shared_ptr<ShmRegion> slot_region;
	transport::ReplySlot slot;
	CallInfo info;
	info.regions = conn->local ? &conn->regions : nullptr;
	info.op_time = traced ? &tr.op : nullptr;
	info.tenant = conn->tenant;
	rpc::ttrpc::Response resp;
	bool chunked = false;
	switch (job.kind) {
	case Job::Kind::Frame: {
		// The envelope by hand (transport/codec.h): views into the
		// frame, which stays until the reply is built.
		transport::codec::RequestView req;
		Frame &frame = job.frame;
		tr.request_bytes = frame.payload.size();
		if (!transport::codec::parse_request(frame.payload, &req)) {
			set_status(resp,
				   RpcStatus::invalid(
				       "malformed ttrpc request (%zu bytes)",
				       frame.payload.size()));
			break;
		}
		info.fds = &frame.fds;
		if (traced)
			method = req.method;
		if (conn->local && opts_.shm)
			find_reply_slot(*conn, req, &slot_region, &slot);
		resp = service_.handle(conn->id, req.service, req.method,
				       req.payload, info);
		std::vector<uint8_t>().swap(frame.payload);
		break;
	}
	case Job::Kind::Call:
		tr.request_bytes = job.size;
		if (traced)
			method = job.method;
		info.reply_limit = opts_.max_message;
		resp =
		    service_.handle(conn->id, job.service, job.method,
				    std::span(job.bytes.get(), job.size), info);
		job.bytes.reset();
		chunked = true;
		break;
	case Job::Kind::Genop:
		if (traced) {
			tr.request_bytes = job.genop.ByteSizeLong();
			method = "GenopStream";
		}
		resp = service_.handle_genop(conn->id, job.genop, info);
		job.genop.Clear();
		break;
	}
	job.held.release();
	if (!traced) {
		reply(*conn, job.stream_id, std::move(resp), chunked, nullptr,
		      &slot);
		return;
	}
	tr.handled = Clock::now();
	tr.status = resp.has_status() ? resp.status().code() : 0;
	tr.reply_bytes = reply(*conn, job.stream_id, std::move(resp), chunked,
			       &tr.status, &slot);
	tr.replied = Clock::now();
	tr.cpu_replied = sched_getcpu();
	tr.arrived = job.arrived;
	tr.read = job.read;
	tr.conn = conn->id;
	tr.stream = job.stream_id;
	tr.method = method;
	opts_.trace->record(tr);
}

void Server::find_reply_slot(Conn &conn,
			     const transport::codec::RequestView &req,
			     std::shared_ptr<ShmRegion> *region,
			     transport::ReplySlot *slot)
{
	std::string_view value("", 0); // never null, for %.*s
	if (req.metadata(transport::kReplySlotKey, &value)) {
		uint32_t id = 0;
		uint64_t offset = 0, size = 0;
		// A slot the agent cannot use costs the caller its polling
		// time only: the reply goes to the socket as without one.
		if (!transport::parse_reply_slot(value, &id, &offset, &size) ||
		    offset % transport::kReplySlotHeader != 0 ||
		    size <= transport::kReplySlotHeader ||
		    size > std::numeric_limits<uint32_t>::max() ||
		    !conn.regions.find(id, region).is_ok() ||
		    !(*region)->contains(offset, size)) {
			vaccel_debug("agent: connection %llu: ignoring reply "
				     "slot '%.*s'",
				     static_cast<unsigned long long>(conn.id),
				     static_cast<int>(value.size()),
				     value.data());
			region->reset();
			return;
		}
		*slot = transport::ReplySlot((*region)->data() + offset,
					     static_cast<size_t>(size));
	}
}

size_t Server::reply(Conn &conn, uint32_t stream_id, rpc::ttrpc::Response resp,
		     bool chunked, int *status,
		     const transport::ReplySlot *slot)
{
	// The serialized Response is the envelope (status, then the payload
	// field's header) followed by the payload's own bytes, sent from
	// where they are rather than copied into one buffer.
	std::string payload = std::move(*resp.mutable_payload());
	resp.clear_payload();
	std::string head;
	const uint64_t limit = chunked ? opts_.max_message : opts_.max_frame;
	bool encoded = true;
	if (resp.has_status() && resp.status().code() == 0 &&
	    resp.status().message().empty() &&
	    resp.status().details_size() == 0) {
		// Every successful call: two bytes, by hand (codec.h).
		transport::codec::put_ok_response_head(&head, payload.size());
	} else {
		encoded = resp.SerializeToString(&head);
		if (encoded && !payload.empty())
			head += transport::field_header(2, payload.size());
	}
	const size_t total = head.size() + payload.size();
	if (!encoded || total > limit) {
		rpc::ttrpc::Response too_big;
		set_status(too_big,
			   RpcStatus::exhausted(
			       "response of %zu bytes exceeds the %llu-byte "
			       "limit",
			       total, static_cast<unsigned long long>(limit)));
		head = too_big.SerializeAsString();
		if (status != nullptr)
			*status = too_big.status().code();
		payload.clear();
	}
	resp.Clear();

	auto as_bytes = [](const std::string &s) {
		return std::span(reinterpret_cast<const uint8_t *>(s.data()),
				 s.size());
	};
	std::span<const uint8_t> pieces[2] = {as_bytes(head),
					      as_bytes(payload)};
	const size_t total_sent = head.size() + payload.size();
	if (slot != nullptr && slot->valid() && !conn.closing &&
	    slot->deliver(stream_id, pieces) ==
		transport::ReplySlot::Delivery::Delivered) {
		service_.slot_replies().fetch_add(1, std::memory_order_relaxed);
		return total_sent;
	}
	core::Status st;
	FrameHeader h;
	h.stream_id = stream_id;
	auto send = [&](std::span<const std::span<const uint8_t>> parts) {
		std::lock_guard lock(conn.write_mu);
		if (conn.closing)
			return false;
		st = transport::write_frame_parts(
		    conn.stream, h, parts,
		    transport::deadline_in(opts_.write_timeout));
		return true;
	};
	if (head.size() + payload.size() <= opts_.max_frame) {
		h.type = MsgType::Response;
		if (!send(pieces))
			return 0;
	} else {
		// Chunks leave one frame at a time, so other replies on this
		// connection interleave instead of waiting for the whole.
		h.type = MsgType::Data;
		size_t at = 0; // index into pieces
		while (st && at < 2) {
			std::span<const uint8_t> parts[2];
			size_t np = 0, room = opts_.max_frame;
			while (room > 0 && at < 2) {
				auto &p = pieces[at];
				const size_t n = std::min(room, p.size());
				if (n > 0)
					parts[np++] = p.first(n);
				p = p.subspan(n);
				room -= n;
				if (p.empty())
					++at;
			}
			if (!send(std::span(parts, np)))
				return 0;
		}
		h.type = MsgType::Response;
		if (st && !send({}))
			return 0;
	}
	if (st)
		return total_sent;
	vaccel_warn("agent: connection %llu: %s; closing it",
		    static_cast<unsigned long long>(conn.id),
		    st.message().c_str());
	conn.close_down(); // its reader sees the shutdown and cleans up
	return 0;
}

} // namespace vaccel::agent
