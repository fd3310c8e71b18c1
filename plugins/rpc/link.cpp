// SPDX-License-Identifier: Apache-2.0
#include "link.h"

#include "envelope.h"
#include "sandbox_device.h"

#include "transport/spare_cores.h"
#include "transport/tls.h"

#include "rpc/ext.pb.h"

#include <vaccel/ext.h>
#include <vaccel/log.h>

#include <unistd.h>

#include <atomic>

namespace vaccel::rpc_plugin
{

namespace
{

// Connecting, the TLS handshake and the Hello exchange all wait at most
// VACCEL_RPC_CONNECT_TIMEOUT_MS: when that fired, the message says so
// (a call's own timeout message would name VACCEL_RPC_TIMEOUT_MS).
Status connect_failed(const Config &cfg, const EndpointAddress &where,
		      const Status &st, const char *step)
{
	std::string why = st.message();
	if (st.cause() == base::Cause::TimedOut)
		why = std::string(step) + " took longer than " +
		      std::to_string(cfg.connect_timeout.count()) +
		      " ms (VACCEL_RPC_CONNECT_TIMEOUT_MS=" +
		      std::to_string(cfg.connect_timeout.count()) + ")";
	// A draining agent refusing the handshake stays recognisable.
	return Status(VACCEL_EIO,
		      "cannot connect to " + where.name + ": " + why)
	    .with(st.cause());
}

// Maps the VM's sandbox memory on @p conn, proving with its token that this
// guest sees the memory the agent was given. Whether it is mapped: when not,
// the calls copy, as without the device.
bool map_sandbox_memory(Connection &conn, const Config &cfg,
			const SandboxDevice &device)
{
	rpc::ext::MapSandboxMemory req;
	req.set_region(transport::kSandboxRegion);
	req.set_token(device.token().data(), device.token().size());
	Status st = conn.call(transport::kServiceData, "MapSandboxMemory", req,
			      nullptr, cfg.connect_timeout);
	if (!st)
		vaccel_warn("[rpc] the agent did not map the sandbox memory "
			    "(%s): %s; data is copied instead",
			    device.path().c_str(), st.message().c_str());
	return static_cast<bool>(st);
}

// What the client supports beyond upstream's protocol, asked of the agent.
rpc::ext::Hello hello()
{
	rpc::ext::Hello h;
	h.set_version(1);
	h.add_features("chunked");
	h.add_features("shm");
	h.add_features("reply-slots");
	h.add_features("sandbox-shm");
	return h;
}

// The features both sides use, from the agent's answer to hello() (@p st its
// outcome); an upstream agent answers UNIMPLEMENTED and gets plain calls
// only.
Result<Features> negotiated(Connection &conn, const Config &cfg,
			    const EndpointAddress &where,
			    const SandboxDevice *device, const Status &st,
			    const rpc::ext::Hello &answer)
{
	Features f;
	if (!st) {
		if (st.code() == VACCEL_ENOTSUP)
			return f;
		return connect_failed(cfg, where, st, "the handshake (Hello)");
	}
	using K = transport::Address::Kind;
	const bool local = where.address.kind == K::Unix ||
			   where.address.kind == K::UnixAbstract;
	bool sandbox = false;
	for (const auto &name : answer.features()) {
		sandbox |= name == "sandbox-shm";
		f.chunked |= name == "chunked";
		f.shm |= name == "shm" && local && cfg.shm;
		f.reply_slots |= name == "reply-slots";
		f.request_slots |= name == "request-slots";
		f.model_cache |= name == "model-cache" && cfg.model_cache;
	}
	f.reply_slots = f.reply_slots && f.shm && cfg.reply_slots;
	f.request_slots = f.request_slots && f.reply_slots && cfg.request_slots;
	if (sandbox && device != nullptr && device->usable() && cfg.shm)
		f.sandbox_shm = map_sandbox_memory(conn, cfg, *device);
	return f;
}

// Counts the process's connections, every link and every load of the
// plugin together.
uint64_t next_connection()
{
	static std::atomic<uint64_t> n{0};
	return n.fetch_add(1, std::memory_order_relaxed) + 1;
}

} // namespace

Link::~Link()
{
	std::lock_guard lock(mu_);
	leave_to_parent();
	early_.reset();
	early_conn_.reset();
	conn_.reset();
}

// In a forked child the parent's connection is not ours: leak the object
// rather than talk on the parent's stream.
void Link::leave_to_parent()
{
	for (std::shared_ptr<Connection> *c : {&conn_, &early_conn_}) {
		if (*c && (*c)->fork_epoch() != fork_epoch()) {
			(*c)->abandon_after_fork();
			new std::shared_ptr<Connection>(
			    std::move(*c)); // leaked
			c->reset();
			if (c == &early_conn_)
				early_.reset();
		}
	}
}

Result<std::shared_ptr<Connection>> Link::get(uint64_t generation, Check check)
{
	std::lock_guard lock(mu_);
	leave_to_parent();
	if (generation != 0) {
		if (conn_ && conn_->generation() == generation) {
			// (A request slot asks the socket itself before a
			// request goes there: Connection::slot_watched.)
			const bool cached = check == Check::Cached;
			if (cached ? !conn_->failed() : conn_->alive())
				return conn_;
		}
		return Status(VACCEL_EIO,
			      "the agent connection this object was created "
			      "on is gone (agent restarted or connection "
			      "lost); create a new session");
	}
	if (early_)
		VACCEL_RETURN_IF_ERROR(finish_early());
	if (conn_ && conn_->alive())
		return conn_;
	// Drop the dead connection before opening the next one.
	conn_.reset();
	auto conn = open();
	if (conn)
		conn_ = conn.value();
	return conn;
}

std::shared_ptr<Connection> Link::current()
{
	std::lock_guard lock(mu_);
	leave_to_parent();
	if (conn_ && conn_->alive())
		return conn_;
	return nullptr;
}

ProcessIdentity ProcessIdentity::current()
{
	ProcessIdentity id;
	id.uid = ::geteuid();
	id.gid = ::getegid();
	const int n = ::getgroups(0, nullptr);
	if (n > 0) {
		id.groups.resize(static_cast<size_t>(n));
		const int got = ::getgroups(n, id.groups.data());
		id.groups.resize(got > 0 ? static_cast<size_t>(got) : 0);
	}
	return id;
}

Result<std::shared_ptr<Connection>>
Link::connect(std::chrono::milliseconds timeout)
{
	auto stream = transport::connect(where_.address, timeout);
	if (!stream)
		return connect_failed(cfg_, where_, stream.status(),
				      "connecting");
	if (cfg_.tls && where_.address.kind == transport::Address::Kind::Tcp) {
		const std::string &name = cfg_.tls_server_name.empty()
					      ? where_.tls_name
					      : cfg_.tls_server_name;
		Status st = transport::tls_connect(
		    stream.value(), *cfg_.tls, name,
		    transport::deadline_in(cfg_.connect_timeout));
		if (!st)
			return connect_failed(cfg_, where_, st,
					      "the TLS handshake");
	}
	auto conn = std::make_shared<Connection>(
	    std::move(stream).value(), agent_bits_ | next_connection(), cfg_);
	VACCEL_RETURN_IF_ERROR(conn->start());
	return conn;
}

Result<std::shared_ptr<Connection>> Link::open()
{
	auto conn = connect(cfg_.connect_timeout);
	if (!conn)
		return conn.status();
	rpc::ext::Hello answer;
	Status st = conn.value()->call(transport::kServiceAdmin, "Hello",
				       hello(), &answer, cfg_.connect_timeout);
	return ready(std::move(conn).value(), st, answer);
}

Result<std::shared_ptr<Connection>>
Link::ready(std::shared_ptr<Connection> conn, const Status &hello_status,
	    const rpc::ext::Hello &answer)
{
	auto features =
	    negotiated(*conn, cfg_, where_, device_, hello_status, answer);
	if (!features)
		return features.status();
	const Features f = features.value();
	conn->set_features(f);
	vaccel_debug("[rpc] connected to %s (generation %llu, chunked %d, "
		     "shm %d, reply slots %d, request slots %d, sandbox "
		     "memory %d)",
		     where_.name.c_str(),
		     static_cast<unsigned long long>(conn->generation()),
		     f.chunked, f.shm, f.reply_slots, f.request_slots,
		     f.sandbox_shm);
	return conn;
}

void Link::open_early()
{
	std::lock_guard lock(mu_);
	if (conn_ || early_conn_)
		return;
	early_identity_ = ProcessIdentity::current();
	auto conn = connect(kEarlyWait);
	std::string frame;
	Status st = conn ? encode(transport::kServiceAdmin, "Hello",
				  hello().SerializeAsString(),
				  cfg_.connect_timeout, &frame)
			 : conn.status();
	if (st) {
		auto posted = conn.value()->post(
		    bytes_of(frame), transport::deadline_in(kEarlyWait));
		if (posted) {
			early_conn_ = std::move(conn).value();
			early_ = std::make_unique<Connection::Posted>(
			    std::move(posted).value());
			post_maps(*early_conn_);
			return;
		}
		st = posted.status();
	}
	// The first call connects as if this had not been tried, and reports
	// what fails then.
	vaccel_debug("[rpc] early connection to %s: %s; connecting at the "
		     "first call",
		     where_.name.c_str(), st.message().c_str());
}

void Link::post_maps(Connection &conn) const
{
	using K = transport::Address::Kind;
	const K kind = where_.address.kind;
	if ((kind != K::Unix && kind != K::UnixAbstract) || !cfg_.shm ||
	    device_ != nullptr)
		return;
	const auto dl = transport::deadline_in(kEarlyWait);
	// As Connection::take_reply_slot() decides whether calls use slots.
	if (cfg_.reply_slots && cfg_.poll.count() > 0 &&
	    transport::cores_to_spare())
		conn.shm().post_slot_region(cfg_.request_slots, dl);
	vaccel_shared_memory_place place{};
	place.struct_size = sizeof(place);
	// As large as the start-up thread will give pages to.
	if (vaccel_shared_memory_first_block(cfg_.shm_prewarm, &place) ==
		VACCEL_OK &&
	    place.fd >= 0)
		conn.shm().post_arena_block(place.block, place.fd,
					    place.block_size, dl);
}

Status Link::finish_early()
{
	auto conn = std::move(early_conn_);
	auto posted = std::move(early_);
	// Gone since (the agent restarted, or closed it as idle), or made as
	// someone the process no longer is: dropped quietly, and the caller
	// connects afresh.
	const bool same = ProcessIdentity::current() == early_identity_;
	if (!same || !conn->alive()) {
		vaccel_debug("[rpc] early connection to %s: %s; connecting "
			     "again",
			     where_.name.c_str(),
			     same ? "closed since"
				  : "made under other "
				    "credentials");
		return Status::ok();
	}
	// One wait for the Hello's answer and those of the requests posted
	// behind it.
	const auto dl = transport::deadline_in(cfg_.connect_timeout);
	auto bytes = conn->collect(*posted, dl);
	rpc::ext::Hello answer;
	Status st = bytes ? decode(bytes.value().bytes(), &answer, nullptr)
			  : bytes.status();
	auto ready_conn = ready(std::move(conn), st, answer);
	if (ready_conn) {
		conn_ = std::move(ready_conn).value();
		// Before the connection is checked for life: a request in
		// flight would make it look busy, hence alive.
		const Features &f = conn_->features();
		conn_->shm().settle_posted(dl, f.reply_slots, f.request_slots);
		return Status::ok();
	}
	// An agent that never answered would not answer a second handshake
	// either: say so now rather than after waiting as long again.
	if (st.cause() == base::Cause::TimedOut)
		return ready_conn.status();
	// One that went away meanwhile, or refused: the caller opens a
	// connection afresh, and that one's failure is the one reported.
	vaccel_debug("[rpc] early connection to %s: %s; connecting again",
		     where_.name.c_str(),
		     ready_conn.status().message().c_str());
	return Status::ok();
}

} // namespace vaccel::rpc_plugin
