// SPDX-License-Identifier: Apache-2.0
#include "server.h"

#include "audit.h"
#include "identity.h"
#include "tenant_workers.h"
#include "wire_bounds.h"

#include "transport/wire.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
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

// Memory a large call holds against the agent's Limits::max_buffered and
// its tenant's buffered_bytes quota (so that one tenant cannot take the
// whole budget); given back when the call is done, refused or stalled.
class Server::Reservation
{
public:
	Reservation() = default;
	Reservation(Server *s, Tenant *t, ConnId conn)
	    : server_(s), tenant_(t), conn_(conn)
	{
	}
	Reservation(Reservation &&o) noexcept
	    : server_(o.server_), tenant_(o.tenant_), conn_(o.conn_),
	      bytes_(std::exchange(o.bytes_, 0)), charge_(std::move(o.charge_))
	{
	}
	Reservation &operator=(Reservation &&o) noexcept
	{
		if (this != &o) {
			release();
			server_ = o.server_;
			tenant_ = o.tenant_;
			conn_ = o.conn_;
			bytes_ = std::exchange(o.bytes_, 0);
			charge_ = std::move(o.charge_);
		}
		return *this;
	}
	Reservation(const Reservation &) = delete;
	Reservation &operator=(const Reservation &) = delete;
	~Reservation() { release(); }

	RpcStatus grow(uint64_t n)
	{
		if (!server_->service_.reserve(n))
			return RpcStatus::exhausted(
			    "agent busy: %llu bytes of large calls already "
			    "buffered",
			    static_cast<unsigned long long>(
				server_->service_.buffered()));
		if (tenant_ != nullptr) {
			RpcStatus st = charge(n);
			if (!st.is_ok()) {
				server_->service_.unreserve(n);
				return st;
			}
		}
		bytes_ += n;
		return RpcStatus::ok();
	}
	void release() noexcept
	{
		charge_.reset();
		if (server_ != nullptr && bytes_ > 0)
			server_->service_.unreserve(std::exchange(bytes_, 0));
	}
	[[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }

private:
	RpcStatus charge(uint64_t n)
	{
		if (charge_.amount() == 0)
			return Charge::take(*tenant_, Limit::BufferedBytes, n,
					    "chunked call", conn_, &charge_);
		if (charge_.grow(n))
			return RpcStatus::ok();
		return RpcStatus::exhausted(
		    "tenant %s: quota buffered_bytes (%llu) reached",
		    tenant_->name().c_str(),
		    static_cast<unsigned long long>(
			tenant_->cap(Limit::BufferedBytes)));
	}

	Server *server_ = nullptr;
	Tenant *tenant_ = nullptr;
	ConnId conn_ = 0;
	uint64_t bytes_ = 0;
	Charge charge_;
};

// A client-streaming call being reassembled (reader thread only).
struct Server::Inbound {
	enum class Kind { Genop, Call } kind = Kind::Call;
	Reservation held;
	bool failed = false; // refused: swallow its data until it closes
	// When its last frame came: a call that stops making progress is
	// dropped after ServerOptions::read_timeout, its budget released.
	std::chrono::steady_clock::time_point progress;
	// Call: the message's bytes, allocated once at its announced size
	// (not zeroed: pages become memory as the bytes arrive) and filled
	// by the reader straight from the socket.
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
	// The tenant's concurrent-call quota, held from the moment the job
	// is queued until it is done (a queued call occupies as much as a
	// running one: the queue is what one tenant can fill).
	Charge call;
	// When the reader stopped polling for it, and when it was read
	// whole (traced requests only).
	std::chrono::steady_clock::time_point arrived, read;
};

struct Server::Conn {
	Conn(ConnId i, transport::Stream s, bool shm,
	     std::atomic<uint64_t> *region_counter, HostMemoryPinner *pinner,
	     const ReplyQueue::Options &out_opts)
	    : id(i), stream(std::move(s)), local(shm),
	      regions(region_counter, {}, pinner),
	      out(stream, out_opts, [this](const std::string &why) {
		      vaccel_warn("agent: connection %llu: %s; closing it",
				  static_cast<unsigned long long>(id),
				  why.c_str());
		      close_down();
	      })
	{
	}

	const ConnId id;
	uint64_t tag = 0; // the agent process's id for it (Server::adopt)
	transport::Stream stream;
	// Who the connection acts for, and its share of that tenant's
	// connection quota (given back when the reader ends).
	Tenant *tenant = nullptr;
	Charge quota;
	// Holds a place under the agent-wide connection cap (a TLS
	// connection only once its handshake succeeded).
	bool holds_connection = false;
	// A unix-socket peer: descriptors are accepted and the
	// shared-memory plane is offered.
	const bool local;
	RegionTable regions;
	std::unordered_map<uint32_t, Inbound> inbound; // reader thread only
	// Replies waiting for the socket (workers never wait for it).
	ReplyQueue out;
	// When the last frame or slot request came (reader thread only).
	std::chrono::steady_clock::time_point active =
	    std::chrono::steady_clock::now();
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
		out.close(); // its queued replies are dropped
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
	if (!opts_.adopt_only)
		VACCEL_RETURN_IF_ERROR(listen());
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
		download_pool_.emplace(
		    std::max<size_t>(1, opts_.download_threads));
		acceptor_ = std::thread([this] { accept_loop(); });
	} catch (const std::system_error &e) {
		stop();
		return core::Status::error(
		    VACCEL_ENOMEM, "cannot start threads: %s", e.what());
	}
	return core::Status::ok();
}

core::Status Server::listen()
{
	VACCEL_RETURN_IF_ERROR(check_exposure());
	auto listener =
	    opts_.listen_fd >= 0
		? transport::Listener::adopt(
		      transport::UniqueFd(std::exchange(opts_.listen_fd, -1)),
		      opts_.address)
		: transport::Listener::bind(
		      opts_.address, 128,
		      transport::UnixPerms{opts_.socket_mode,
					   opts_.socket_gid});
	if (!listener)
		return listener.status();
	listener_ = std::move(listener.value());
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
	if (opts_.listen_fd >= 0) // never started: the socket is still ours
		::close(std::exchange(opts_.listen_fd, -1));
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
	if (download_pool_)
		download_pool_->stop();
	conns_.clear();
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
		if (stream && opts_.isolate != nullptr && !opts_.tls) {
			hand_over(std::move(stream.value()));
			continue;
		}
		if (stream) {
			admit(std::move(stream.value()), local_listener(), 0);
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
	// Adopted connections were identified by the agent process.
	auto name = opts_.adopt_only
			? core::Result<std::string>(opts_.tenant)
			: identify(fd, listener_.address(),
				   tenants.policy().identity, opts_.tenant);
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

bool Server::local_listener() const
{
	using K = transport::Address::Kind;
	return opts_.shm && service_.limits().extensions &&
	       (opts_.address.kind == K::Unix ||
		opts_.address.kind == K::UnixAbstract);
}

void Server::hand_over(transport::Stream stream)
{
	const ConnId id = service_.next_connection_id();
	Charge quota;
	Tenant *tenant = admit_tenant(stream.fd(), id, &quota);
	if (tenant == nullptr)
		return; // refused and audited; closing the stream tells
	opts_.isolate->hand_over(
	    tenant->name(), id, std::move(stream),
	    Admission(std::move(quota), &service_.tenants()));
}

void Server::adopt(transport::Stream stream, uint64_t tag)
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	const bool unix_peer =
	    ::getsockname(stream.fd(), reinterpret_cast<sockaddr *>(&ss),
			  &len) == 0 &&
	    ss.ss_family == AF_UNIX;
	admit(std::move(stream),
	      unix_peer && opts_.shm && service_.limits().extensions, tag);
}

void Server::admit(transport::Stream stream, bool local, uint64_t tag)
{
	// From the Service: servers sharing it (launcher.h) never reuse an id.
	const ConnId id = service_.next_connection_id();
	Charge quota;
	Tenant *tenant = nullptr;
	if (!opts_.tls) {
		tenant = admit_tenant(stream.fd(), id, &quota);
		if (tenant == nullptr)
			return; // closing the stream tells the client
	} else if (handshakes_.fetch_add(1) >= opts_.max_handshakes) {
		// The tenant is known after the handshake, on the reader
		// thread (a slow handshaker must not hold up accepting).
		// Handshakes in progress have a cap of their own: peers that
		// proved nothing must not take the places of tenants that did
		// (the agent's connection cap is charged once one succeeds).
		--handshakes_;
		audit::event("connection-refused",
			     "connection " + std::to_string(id) +
				 ": too many TLS handshakes in progress (" +
				 std::to_string(opts_.max_handshakes) + ")");
		return;
	}
	const ReplyQueue::Options out{opts_.max_queued_reply,
				      opts_.write_timeout};
	auto conn = std::make_shared<Conn>(id, std::move(stream), local,
					   &service_.regions_mapped(),
					   opts_.pinner, out);
	conn->tenant = tenant;
	conn->holds_connection = tenant != nullptr; // TLS: after its handshake
	conn->tag = tag;
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
	conn->out.join();
	service_.close_connection(conn->id);
	--open_conns_;
	conn->quota.reset();
	if (conn->holds_connection)
		service_.tenants().give_back_connection();
	if (opts_.on_closed)
		opts_.on_closed(conn->tag);
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
	auto st = transport::tls_accept(
	    conn.stream, *opts_.tls,
	    transport::deadline_in(opts_.tls_handshake_timeout));
	--handshakes_;
	if (!st)
		return refuse(st.message());
	TenantRegistry &tenants = service_.tenants();
	if (!tenants.take_connection())
		return refuse("the agent's connection cap is reached (rule "
			      "agent.max_connections)");
	conn.holds_connection = true;
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
			conn->active = std::chrono::steady_clock::now();
			if (!submit(conn, std::move(job)))
				break;
			continue;
		}
		if (!await_frame(*conn))
			break;
		const auto arrived = opts_.trace != nullptr
					 ? std::chrono::steady_clock::now()
					 : wait_start;
		bool direct = false;
		core::Result<transport::Frame> frame =
		    read_frame(*conn, &direct);
		if (!frame) {
			const core::Status st = frame.status();
			const std::string &msg = st.message();
			if (conn->closing)
				break;
			if (st.cause() == transport::Cause::TimedOut)
				vaccel_warn(
				    "agent: connection %llu: a frame "
				    "stalled for more than %lld ms (%s); "
				    "closing it",
				    id,
				    static_cast<long long>(
					opts_.read_timeout.count()),
				    msg.c_str());
			else if (st.cause() == transport::Cause::PeerClosed)
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
		conn->active = std::chrono::steady_clock::now();
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

namespace
{

rpc::ttrpc::Response error_response(const RpcStatus &st)
{
	rpc::ttrpc::Response r;
	set_status(r, st);
	return r;
}

// Frames a reply of @p head then @p payload into @p m: one Response frame
// when it fits, else Data frames of @p max_frame bytes and an empty
// Response frame.
void frame_reply(OutMessage &m, uint32_t stream_id, std::string_view head,
		 std::string_view payload, uint32_t max_frame)
{
	FrameHeader h;
	h.stream_id = stream_id;
	uint8_t buf[transport::kFrameHeaderSize];
	const size_t total = head.size() + payload.size();
	if (total <= max_frame) {
		h.type = MsgType::Response;
		h.length = static_cast<uint32_t>(total);
		transport::encode_header(h, buf);
		m.add_frame(buf, {head, payload});
		return;
	}
	h.type = MsgType::Data;
	for (size_t at = 0; at < total;) {
		const size_t n = std::min<size_t>(max_frame, total - at);
		const size_t in_head = at < head.size() ? head.size() - at : 0;
		const std::string_view hp = head.substr(
		    std::min(at, head.size()), std::min(n, in_head));
		const size_t pat = at + hp.size() - head.size();
		const std::string_view pp = payload.substr(pat, n - hp.size());
		h.length = static_cast<uint32_t>(n);
		transport::encode_header(h, buf);
		m.add_frame(buf, {hp, pp});
		at += n;
	}
	h.type = MsgType::Response;
	h.length = 0;
	transport::encode_header(h, buf);
	m.add_frame(buf, {});
}

// Reads @p len payload bytes into @p out, growing it as they arrive (by
// doubling from 64 KiB): a header that announces megabytes and sends
// nothing costs a little, not what it announced.
core::Status read_growing(transport::Stream &s, size_t len,
			  transport::Deadline dl,
			  std::vector<transport::UniqueFd> *fds,
			  std::vector<uint8_t> *out)
{
	constexpr size_t kFirst = size_t{64} << 10;
	size_t got = 0;
	while (got < len) {
		const size_t step = std::min(len - got, std::max(kFirst, got));
		out->resize(got + step);
		VACCEL_RETURN_IF_ERROR(
		    s.read_exact(std::span(out->data() + got, step), dl, fds));
		got += step;
	}
	return core::Status::ok();
}

} // namespace

core::Result<transport::Frame> Server::read_frame(Conn &conn, bool *direct)
{
	// Once a frame has begun, all of it is due within the read timeout.
	const transport::Deadline dl =
	    transport::deadline_in(opts_.read_timeout);
	std::vector<transport::UniqueFd> fds;
	auto *fd_sink = conn.local ? &fds : nullptr;
	// The header first: a Data frame of a chunked call is read straight
	// into that call's buffer, without a copy.
	auto hdr =
	    transport::read_header(conn.stream, opts_.max_frame, dl, fd_sink);
	if (!hdr)
		return hdr.status();
	transport::Frame fr;
	fr.header = *hdr;
	const uint32_t len = fr.header.length;
	Inbound *in = nullptr;
	if (fr.header.type == MsgType::Data) {
		auto it = conn.inbound.find(fr.header.stream_id);
		if (it != conn.inbound.end() &&
		    it->second.kind == Inbound::Kind::Call &&
		    !it->second.failed &&
		    len <= it->second.expected - it->second.got)
			in = &it->second;
	}
	core::Status rd;
	if (in != nullptr) {
		rd = conn.stream.read_exact(
		    std::span(in->bytes.get() + in->got, len), dl, fd_sink);
		in->got += len;
		*direct = true;
	} else {
		rd = read_growing(conn.stream, len, dl, fd_sink, &fr.payload);
	}
	if (!rd)
		return rd;
	fr.fds = std::move(fds);
	return fr;
}

bool Server::await_frame(Conn &conn)
{
	using Clock = std::chrono::steady_clock;
	const bool idle_on = opts_.idle_timeout.count() > 0;
	for (;;) {
		auto now = Clock::now();
		expire_stalled(conn, now);
		auto wake = Clock::time_point::max();
		if (idle_on)
			wake = conn.active + opts_.idle_timeout;
		if (opts_.read_timeout.count() > 0)
			for (const auto &kv : conn.inbound)
				wake = std::min(wake, kv.second.progress +
							  opts_.read_timeout);
		int ms = -1;
		if (wake != Clock::time_point::max())
			ms = static_cast<int>(std::clamp<int64_t>(
			    std::chrono::ceil<std::chrono::milliseconds>(wake -
									 now)
				.count(),
			    0, 60000));
		pollfd p{conn.stream.fd(), POLLIN, 0};
		// Ready, an error or a signal: the read that follows tells.
		if (::poll(&p, 1, ms) != 0 || conn.closing)
			return true;
		now = Clock::now();
		if (!idle_on || now < conn.active + opts_.idle_timeout)
			continue;
		if (idle(conn)) {
			vaccel_info(
			    "agent: connection %llu: idle for %lld ms "
			    "with no session; closing it",
			    static_cast<unsigned long long>(conn.id),
			    static_cast<long long>(opts_.idle_timeout.count()));
			return false;
		}
		conn.active = now;
	}
}

bool Server::idle(Conn &conn)
{
	if (!conn.inbound.empty() || conn.out.queued() != 0)
		return false;
	{
		std::lock_guard lock(conn.mu);
		if (conn.in_flight != 0)
			return false;
	}
	return !service_.objects().owns_sessions(conn.id);
}

void Server::expire_stalled(Conn &conn,
			    std::chrono::steady_clock::time_point now)
{
	if (opts_.read_timeout.count() <= 0)
		return;
	for (auto it = conn.inbound.begin(); it != conn.inbound.end();) {
		Inbound &in = it->second;
		if (now - in.progress < opts_.read_timeout) {
			++it;
			continue;
		}
		if (!in.failed) {
			const RpcStatus st = RpcStatus::exhausted(
			    "streaming call: no data for %lld ms; dropped, "
			    "its %llu bytes of buffer budget released",
			    static_cast<long long>(opts_.read_timeout.count()),
			    static_cast<unsigned long long>(in.held.bytes()));
			vaccel_warn("agent: connection %llu: stream %u: %s",
				    static_cast<unsigned long long>(conn.id),
				    it->first, st.message().c_str());
			reply(conn, it->first, error_response(st));
		}
		it = conn.inbound.erase(it);
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

// A RegisterResource naming URLs (RegisterRequest.paths, field 1) that the
// host will download. Looked up wherever the field sits, so that no
// reordering of fields moves a download onto the workers.
bool Server::is_download(const Job &job)
{
	if (job.kind != Job::Kind::Frame)
		return false;
	transport::codec::RequestView req;
	if (!transport::codec::parse_request(job.frame.payload, &req) ||
	    req.method != "RegisterResource")
		return false;
	transport::wire::Reader r(req.payload);
	for (transport::wire::Field f; r.next(&f);)
		if (f.is(1, transport::wire::WireType::Len))
			return true;
	return false;
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
	if (conn->tenant != nullptr) {
		const RpcStatus st =
		    Charge::take(*conn->tenant, Limit::Calls, 1, "queue",
				 conn->id, &job->call);
		if (!st.is_ok()) { // refused at once, nothing queued
			reply(*conn, job->stream_id, error_response(st));
			return true;
		}
	}
	{
		std::lock_guard lock(conn->mu);
		++conn->in_flight;
	}
	WorkerPool &pool = is_download(*job) ? *download_pool_ : *pool_;
	return pool.submit([this, conn, job] { process(conn, *job); });
}

namespace
{

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
		// Never reserved at the announced size: a 20-byte part may
		// announce 4 GiB. The buffer grows as parts arrive (each
		// charged to the budget when its frame was read).
		part.set_size(in.size());
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

// One message of an upstream GenopStream, parsed after its args were
// counted on the wire (empty args expand when parsed: wire_bounds.h), and
// checked against what the call already holds.
RpcStatus parse_genop_part(const rpc::genop::Request &held,
			   std::span<const uint8_t> bytes, const Limits &limits,
			   uint64_t max_message, rpc::genop::Request *part)
{
	AGENT_RETURN_IF_ERROR(
	    check_repeated(bytes, bounds::genop, limits, "GenopStream"));
	if (!part->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
		return RpcStatus::invalid("GenopStream: malformed message");
	const auto count = [](int a, int b) {
		return static_cast<size_t>(a) + static_cast<size_t>(b);
	};
	if (count(held.read_args_size(), part->read_args_size()) >
		limits.max_args ||
	    count(held.write_args_size(), part->write_args_size()) >
		limits.max_args)
		return RpcStatus::invalid(
		    "GenopStream: more than %zu read or write args",
		    limits.max_args);
	if (held.ByteSizeLong() + bytes.size() > max_message)
		return RpcStatus::exhausted(
		    "GenopStream: more than %llu bytes",
		    static_cast<unsigned long long>(max_message));
	return RpcStatus::ok();
}

} // namespace

bool Server::open_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame)
{
	const uint32_t sid = frame.header.stream_id;
	constexpr size_t kMaxOpenStreams = 16;
	rpc::ttrpc::Request req;
	if (!check_repeated(frame.payload, bounds::ttrpc_request,
			    service_.limits(), "ttrpc request")
		 .is_ok() ||
	    !req.ParseFromArray(frame.payload.data(),
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
	in.held = Reservation(this, conn->tenant, conn->id);
	in.progress = std::chrono::steady_clock::now();
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
		else if (st = in.held.grow(h.size()); st.is_ok()) {
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
	in.progress = std::chrono::steady_clock::now();
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
			st = parse_genop_part(in.genop, frame.payload,
					      service_.limits(),
					      opts_.max_message, &part);
			if (st.is_ok())
				st = in.held.grow(frame.payload.size());
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
	if (conn.closing)
		return 0;
	auto msg = std::make_unique<OutMessage>();
	const std::string_view head_view = msg->own(std::move(head));
	const std::string_view payload_view = msg->own(std::move(payload));
	frame_reply(*msg, stream_id, head_view, payload_view, opts_.max_frame);
	// Never waits for the peer: a reply the socket cannot take now
	// waits in the connection's queue (reply_queue.h).
	if (!conn.out.push(std::move(msg)))
		return 0;
	return total_sent;
}

} // namespace vaccel::agent
