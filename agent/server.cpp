// SPDX-License-Identifier: Apache-2.0
// Server lifecycle: binding or adopting the listener, accepting, deciding
// a connection's tenant and quota, handing it over (isolation) or starting
// its reader, and stopping. The rest of the server: server_parts.h.
#include "server_parts.h"

#include "accept_set.h"
#include "audit.h"
#include "drain.h"
#include "identity.h"
#include "tenant_workers.h"
#include "tls_relay.h"
#include "wire_bounds.h"

#include "transport/wire.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	// (Read once: each call reads a file in /sys, and a launcher starts
	// a server per sandbox.)
	static const size_t cores = std::thread::hardware_concurrency();
	max_polling_readers_ = std::max<size_t>(1, cores / 4);
	try {
		constexpr std::chrono::microseconds kSpinFloor{50};
		pool_.emplace(opts_.workers, opts_.spin, kSpinFloor,
			      opts_.lazy_threads ? 0 : SIZE_MAX);
		// Downloads are rare: their threads start when one comes.
		download_pool_.emplace(
		    std::max<size_t>(1, opts_.download_threads),
		    std::chrono::microseconds{0}, kSpinFloor, 0);
		if (opts_.metrics != nullptr)
			opts_.metrics->add(&*pool_);
		if (opts_.acceptors == nullptr)
			acceptor_ = ThreadCache::connections().run(
			    [this] { accept_loop(); });
		accepting_ = !opts_.adopt_only;
	} catch (const std::system_error &e) {
		stop();
		return core::Status::error(
		    VACCEL_ENOMEM, "cannot start threads: %s", e.what());
	}
	if (opts_.acceptors != nullptr) {
		// The set's thread must never wait in accept(): a connection
		// may be gone between its event and the call.
		const int fl = ::fcntl(listener_.fd(), F_GETFL);
		auto st = fl >= 0 && ::fcntl(listener_.fd(), F_SETFL,
					     fl | O_NONBLOCK) == 0
			      ? opts_.acceptors->add(*this)
			      : core::Status::error(VACCEL_EIO, "fcntl: %s",
						    std::strerror(errno));
		if (!st) {
			stop();
			return st;
		}
		shared_accept_ = true;
	}
	return core::Status::ok();
}

core::Status Server::listen()
{
	using K = transport::Address::Kind;
	VACCEL_RETURN_IF_ERROR(check_exposure());
	const bool adopted = opts_.listen_fd >= 0;
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
	struct stat st {
	};
	// The file to watch (accepting()); an adopted socket's is the
	// launcher's business.
	if (!adopted && listener_.address().kind == K::Unix &&
	    ::stat(listener_.address().path.c_str(), &st) == 0) {
		socket_dev_ = st.st_dev;
		socket_ino_ = st.st_ino;
	}
	return core::Status::ok();
}

bool Server::accepting() const
{
	if (!accepting_ || stopping_)
		return false;
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (::getsockopt(listener_.fd(), SOL_SOCKET, SO_ACCEPTCONN, &listening,
			 &len) != 0 ||
	    listening == 0)
		return false;
	if (socket_ino_ == 0)
		return true;
	struct stat st {
	};
	return ::stat(listener_.address().path.c_str(), &st) == 0 &&
	       S_ISSOCK(st.st_mode) && st.st_dev == socket_dev_ &&
	       st.st_ino == socket_ino_;
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
	accepting_ = false;
	// A shared acceptor forgets this server at once; only a thread of
	// its own needs waking (waking the shared one would only cost it a
	// round of its loop, beside the next sandbox's attach).
	if (shared_accept_)
		opts_.acceptors->remove(*this);
	else
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
	if (pool_) {
		pool_->stop();
		if (opts_.metrics != nullptr)
			opts_.metrics->remove(&*pool_);
	}
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
		if (fds[1].revents != 0)
			reap_finished();
		if (stopping_ || (fds[0].revents & POLLIN) == 0)
			continue;
		// Typically EMFILE: back off instead of spinning on it.
		if (!accept_ready())
			std::this_thread::sleep_for(
			    std::chrono::milliseconds(100));
	}
}

void Server::start_workers()
{
	if (pool_)
		pool_->start_all();
}

void Server::reap_finished()
{
	uint64_t n = 0;
	[[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof(n));
	reap(false);
}

bool Server::accept_ready()
{
	if (stopping_)
		return true;
	auto stream = listener_.accept();
	if (stream && isolating() && !opts_.tls) {
		hand_over(std::move(stream.value()));
		return true;
	}
	if (stream) {
		admit(std::move(stream.value()), local_listener(), 0,
		      opts_.sandbox_memory);
		return true;
	}
	if (stream.status().code() == VACCEL_EAGAIN)
		return true;
	vaccel_warn("agent: %s", stream.status().message().c_str());
	return false;
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

bool Server::isolating() const noexcept
{
	// A new connection while the agent drains holds nothing and may
	// start nothing (drain.h): the agent answers it itself rather than
	// start a worker for it.
	return opts_.isolate != nullptr &&
	       (opts_.drain == nullptr || !opts_.drain->active());
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
	worker_channel::Message m{id, 0, {}};
	int memory_fd = -1;
	if (opts_.sandbox_memory && service_.limits().extensions) {
		m.flags |= worker_channel::kSandboxMemory;
		m.token = opts_.sandbox_memory->token();
		memory_fd = opts_.sandbox_memory->fd();
	}
	opts_.isolate->hand_over(
	    *tenant, m, std::move(stream),
	    Admission(std::move(quota), &service_.tenants()), memory_fd);
}

void Server::relay_to_worker(Conn &conn)
{
	int sv[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		vaccel_warn("agent: connection %llu: socketpair: %s; closing",
			    static_cast<unsigned long long>(conn.id),
			    std::strerror(errno));
		return;
	}
	transport::Stream mine(sv[0]);
	transport::Stream theirs(sv[1]);
	// The places under the caps stay with conn (its reader gives them
	// back when the relay ends): the worker's Admission holds none.
	if (!opts_.isolate->hand_over(
		*conn.tenant,
		worker_channel::Message{conn.id, worker_channel::kRelayed, {}},
		std::move(theirs), Admission()))
		return;
	relay(conn.stream, std::move(mine), opts_.write_timeout);
}

void Server::adopt(transport::Stream stream, uint64_t tag, bool relayed,
		   std::shared_ptr<SandboxMemory> sandbox)
{
	if (relayed) {
		admit(std::move(stream), false, tag, std::move(sandbox));
		return;
	}
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	const bool unix_peer =
	    ::getsockname(stream.fd(), reinterpret_cast<sockaddr *>(&ss),
			  &len) == 0 &&
	    ss.ss_family == AF_UNIX;
	admit(std::move(stream),
	      unix_peer && opts_.shm && service_.limits().extensions, tag,
	      std::move(sandbox));
}

void Server::admit(transport::Stream stream, bool local, uint64_t tag,
		   std::shared_ptr<SandboxMemory> sandbox)
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
	if (service_.limits().extensions)
		conn->sandbox = std::move(sandbox);
	conn->holds_connection = tenant != nullptr; // TLS: after its handshake
	conn->tag = tag;
	conn->quota = std::move(quota);
	service_.open_connection(conn->id);
	++open_conns_;
	// Before its reader starts: its first reply must not come before
	// the line that says it opened.
	if (tenant != nullptr)
		vaccel_info("agent: connection %llu opened (tenant %s)",
			    static_cast<unsigned long long>(conn->id),
			    tenant->name().c_str());
	try {
		// Listed before its reader serves anything, so that quiet()
		// never misses a connection that holds a session; under the
		// lock, so that reap() never joins a reader not yet stored.
		std::lock_guard lock(conns_mu_);
		conn->reader = ThreadCache::connections().run(
		    [this, conn] { read_loop(conn); });
		conns_.push_back(conn);
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
}

bool Server::quiet()
{
	std::lock_guard lock(conns_mu_);
	for (const auto &c : conns_) {
		if (c->done)
			continue;
		if (c->streaming.load(std::memory_order_relaxed) ||
		    c->out.queued() != 0)
			return false;
		{
			std::lock_guard l(c->mu);
			if (c->in_flight != 0)
				return false;
		}
		if (c->extended.load(std::memory_order_relaxed) &&
		    service_.objects().owns_sessions(c->id))
			return false;
	}
	return true;
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

} // namespace vaccel::agent
