// SPDX-License-Identifier: Apache-2.0
// The agent's network side. Threads and why:
//  - one accept thread, so that accepting never waits behind a request;
//  - one reader thread per connection that only reads frames off its
//    socket and queues them. It never runs an op, so a slow op cannot stop
//    a connection from reading (and so from having several requests in
//    flight, matched by stream id), and a silent client costs one blocked
//    thread, not a worker. A reader whose client calls again and again
//    polls its socket before blocking (a few readers at a time), as idle
//    workers poll the queue: a blocked thread's wake-up is a large part of
//    a short call;
//  - a fixed worker pool (worker_pool.h) that runs the requests of every
//    connection, so a slow op occupies one worker and other sessions and
//    connections keep being served by the rest;
//  - a worker hands its response to the connection's reply queue
//    (reply_queue.h), which writes what the socket takes at once and
//    leaves the rest to a writer thread of that connection, started the
//    first time a reply has to wait: a worker never waits for a client.
//    Responses may leave in any order, as ttrpc allows.
// A connection that sends a malformed or oversized frame, or hangs up, is
// closed alone, and everything it owned is released (Service). So is one
// that stops reading its replies (queue cap, write deadline), leaves a
// frame half sent (read deadline), or holds no session and sends nothing
// (idle timeout); a streaming call that stops sending is dropped alone.
#pragma once

#include "reply_queue.h"
#include "service.h"
#include "trace.h"
#include "worker_pool.h"

#include "transport/codec.h"
#include "transport/reply_slot.h"
#include "transport/tls.h"
#include "transport/transport.h"

#include <poll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace vaccel::agent
{

class TenantWorkers;
class PluginGate;
class SandboxMemory;
class AcceptSet;
class Drain;

struct ServerOptions {
	transport::Address address;
	size_t workers = 2;
	uint32_t max_frame = transport::kDefaultMaxFrame;
	// Requests one connection may have queued or running; its reader
	// stops reading (TCP pushes back on the client) until one finishes.
	// This bounds the memory a single client can pin.
	size_t max_in_flight = 64;
	// A client whose socket takes no byte of its queued replies for this
	// long is dropped (--write-timeout-ms; 0: never).
	std::chrono::milliseconds write_timeout{30000};
	// Bytes of replies that may wait behind the one being written; a
	// client that lets more pile up is dropped (--max-queued-reply).
	size_t max_queued_reply = size_t{64} << 20;
	// Once a frame's first byte came, the rest must arrive within this;
	// a streaming call (chunked Call, GenopStream) whose next frame
	// takes longer is dropped and its buffer budget released
	// (--read-timeout-ms; 0: never).
	std::chrono::milliseconds read_timeout{30000};
	// A connection that owns no session, has nothing in flight and
	// sends nothing for this long is closed (--idle-timeout-ms; 0:
	// never). Connections with sessions are never closed for idling.
	std::chrono::milliseconds idle_timeout{60000};
	// Largest request or reply of a chunked call (AgentData/Call) or
	// upstream GenopStream, after reassembly. (The memory all such calls
	// may hold together is the service's Limits::max_buffered.)
	uint64_t max_message = uint64_t{1} << 30;
	// The most an idle worker polls for the next request before it
	// sleeps, and a connection's reader its socket for the next frame;
	// how long within that adapts to the gaps between requests
	// (transport/spin.h). 0 disables.
	std::chrono::microseconds spin{2000};
	// A request of a kind that took less than this lately (per tenant,
	// call_times.h) runs on its connection's reader when nothing else
	// of the connection is in flight, instead of going to a worker.
	// 0: every op goes to a worker.
	std::chrono::microseconds inline_limit{50};
	// Offer the shared-memory plane to peers on unix sockets.
	bool shm = true;
	// The memory of the sandbox this server serves (a VM's ivshmem
	// device, sandbox_memory.h); every connection may map it once its
	// client proves it sees the same memory. Null: none.
	std::shared_ptr<SandboxMemory> sandbox_memory;
	// Where each request's timings go (--trace); null: nowhere. Must
	// outlive the server.
	RequestTrace *trace = nullptr;
	// Page-locks shared-memory regions that ops copy to a GPU
	// (host_pin.h); null: never (--no-pin-shm). Must outlive the server.
	HostMemoryPinner *pinner = nullptr;
	// The tenant of every connection on this listener (--tenant); empty:
	// derived per connection (identity.h).
	std::string tenant;
	// Unix sockets: the socket file's mode and group (-1: the agent's).
	uint32_t socket_mode = 0600;
	int64_t socket_gid = -1;
	// Abstract unix sockets have no file permissions: any local process
	// in the network namespace can connect. Refused unless allowed.
	bool allow_abstract = false;
	// Plain TCP on an address other than loopback: refused unless set,
	// and warned about.
	bool insecure_tcp = false;
	// URL downloads at once, all tenants together, on threads of their
	// own (each tenant is also held to its url.max_concurrent).
	size_t download_threads = 4;
	// Worker threads start as requests need them instead of all at
	// start: an attached sandbox is served at once, and one that stays
	// idle holds no threads but its acceptor.
	bool lazy_threads = false;
	// A listening socket to serve instead of binding `address` (a
	// launcher's, launcher.h); start() takes it over. -1: bind.
	int listen_fd = -1;
	// A tcp:// listener speaks TLS with this (null: plaintext). Clients
	// must present a certificate it verifies; its subject names their
	// tenant (identity.h). Allowed on any address.
	std::shared_ptr<const transport::TlsContext> tls;
	// A TLS client must finish its handshake within this.
	std::chrono::milliseconds tls_handshake_timeout{10000};
	// TLS handshakes in progress at once; more connections are closed
	// at once (they have not proved who they are).
	size_t max_handshakes = 64;
	// --isolate-tenants: a connection, once its tenant is known and
	// charged, goes to that tenant's worker process (tenant_workers.h)
	// instead of being served here. TLS connections stay here and are
	// relayed to the worker (tls_relay.h). Null: served here. Must
	// outlive the server.
	TenantWorkers *isolate = nullptr;
	// A worker process's server: no listener; its connections come
	// through adopt(), all of tenant `tenant`, already admitted.
	bool adopt_only = false;
	// Called with a connection's tag (adopt()) once it is closed and
	// everything it held released.
	std::function<void(uint64_t tag)> on_closed;
	// --metrics: every call is counted into its tenant's counters
	// (metrics.h), and the server's queue is added here while it runs.
	// Null: nothing is counted. Must outlive the server.
	metrics::Queues *metrics = nullptr;
	// Connections wait here before their first request while the
	// plugins load (plugin_gate.h); null: no waiting. Must outlive the
	// server.
	PluginGate *plugins = nullptr;
	// Accept on this set's thread instead of a thread of the server's
	// own (accept_set.h: the launcher's sandboxes). Must outlive the
	// server.
	AcceptSet *acceptors = nullptr;
	// Decides what each request gets while the agent drains (drain.h);
	// null: never drains. Must outlive the server.
	const Drain *drain = nullptr;
};

class Server
{
public:
	Server(Service &service, ServerOptions opts);
	Server(const Server &) = delete;
	Server &operator=(const Server &) = delete;
	~Server() { stop(); }

	// Binds the address and starts the threads.
	core::Status start();
	// The address actually bound (tcp port 0 -> the real port).
	[[nodiscard]] const transport::Address &address() const noexcept
	{
		return listener_.address();
	}
	// Whether the listener takes connections: started, not stopping, the
	// socket listening and, for a unix socket the server bound, its file
	// still the one bound (a removed or replaced file reaches nobody).
	// For liveness probes (health.h).
	[[nodiscard]] bool accepting() const;
	// Serves @p stream, a connection the agent process accepted and
	// admitted (ServerOptions::adopt_only); @p tag goes back through
	// ServerOptions::on_closed when it closes. @p relayed: the stream
	// is the agent's relay of a remote client (tls_relay.h).
	// @p sandbox: the memory of the connection's sandbox (null: none).
	void adopt(transport::Stream stream, uint64_t tag, bool relayed,
		   std::shared_ptr<SandboxMemory> sandbox = nullptr);
	// Stops accepting, closes every connection of this server (releasing
	// their objects), waits for running requests and joins every thread.
	// Other servers on the same Service are untouched. Idempotent.
	void stop();
	// Starts the worker threads that ServerOptions::lazy_threads left to
	// the first requests.
	void start_workers();

	// For the AcceptSet serving this server (ServerOptions::acceptors):
	// the descriptors it watches; accepts one connection when the
	// listener is readable (false: accepting fails, e.g. no descriptor
	// left, and the caller should back off); joins finished readers
	// when the wake descriptor is.
	[[nodiscard]] int listen_fd() const noexcept { return listener_.fd(); }
	[[nodiscard]] int wake_fd() const noexcept { return wake_fd_; }
	bool accept_ready();
	void reap_finished();
	// Whether a draining agent may leave as far as this server goes:
	// nothing queued, running, being streamed in or waiting for the
	// socket, and no connection that negotiated our extensions holding
	// a session (drain.h). Any thread.
	[[nodiscard]] bool quiet();

private:
	struct Conn;
	struct Inbound;
	struct Job;
	class Reservation;

	core::Status check_exposure() const;
	// Binds (or adopts) the listener.
	core::Status listen();
	// Whether connections on the listener may use the shared-memory
	// plane (unix sockets, extensions on).
	bool local_listener() const;
	// --isolate-tenants, and new connections go to the tenants' workers
	// (not while the agent drains).
	[[nodiscard]] bool isolating() const noexcept;
	void accept_loop();
	Tenant *admit_tenant(int fd, ConnId id, Charge *quota);
	void admit(transport::Stream stream, bool local, uint64_t tag,
		   std::shared_ptr<SandboxMemory> sandbox);
	// --isolate-tenants: identifies and charges the connection, then
	// gives it to its tenant's worker process.
	void hand_over(transport::Stream stream);
	// On the reader thread of a TLS connection: the handshake, then the
	// tenant its client certificate names, charged; false (audited) when
	// the connection must be closed.
	bool secure(Conn &conn);
	// --isolate-tenants, after secure(): gives the tenant's worker one
	// end of a socketpair and relays @p conn's TLS stream to it until
	// either closes.
	void relay_to_worker(Conn &conn);
	// The connection's whole life on its reader thread, and reading
	// its frames once it has a tenant.
	void read_loop(const std::shared_ptr<Conn> &conn);
	void read_frames(const std::shared_ptr<Conn> &conn);
	// Each plain connection's read-ahead buffer: most requests fit whole.
	static constexpr size_t kReadAhead = 4096;
	// Polls @p conn's socket a while (see ServerOptions::spin) before
	// the reader blocks in read; with request slots, watches those too
	// and returns a request taken from one (null: read the socket).
	std::shared_ptr<Job> wait_for_frame(Conn &conn);
	// The polling part of wait_for_frame() with request slots.
	std::shared_ptr<Job> watch(Conn &conn, pollfd &p,
				   std::chrono::nanoseconds budget);
	// A request a caller posted in one of @p conn's slots, taken.
	std::shared_ptr<Job> take_slot_request(Conn &conn);
	// Streaming calls, on the reader thread: returns false when the
	// connection must be closed.
	// Waits for @p conn's next frame, dropping streaming calls that
	// stalled meanwhile; false: the connection idled out.
	bool await_frame(Conn &conn);
	// await_frame() on a plain socket with no streamed call open: the
	// wait is the blocking receive that reads the frame ahead, with no
	// poll() before it (Stream::receive).
	bool receive_frame(Conn &conn);
	// After a wait for @p conn's next frame that ended with nothing to
	// read: true (logged) when its idle deadline passed and it holds
	// nothing; when it holds something, its idle spell starts afresh.
	bool idled_out(Conn &conn);
	// Whether @p conn holds nothing an idle timeout would cost it.
	bool idle(Conn &conn);
	void expire_stalled(Conn &conn,
			    std::chrono::steady_clock::time_point now);
	// Reads one frame within the read timeout; *@p direct: its payload
	// went straight into its chunked call's buffer.
	core::Result<transport::Frame> read_frame(Conn &conn, bool *direct);
	// Whether @p h keeps ttrpc's stream id rules; a frame that breaks
	// them is answered on its own id and goes no further.
	bool stream_id_ok(Conn &conn, const transport::FrameHeader &h);
	// Nothing of @p conn is queued, running or being streamed in
	// (reader thread only).
	static bool nothing_in_flight(Conn &conn);
	bool open_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame);
	// @p consumed: the reader already put the frame's payload into its
	// call's buffer.
	bool feed_stream(const std::shared_ptr<Conn> &conn,
			 transport::Frame &frame, bool consumed);
	bool submit(const std::shared_ptr<Conn> &conn,
		    std::shared_ptr<Job> job);
	// Notes a Hello (the connection speaks our extensions), then asks
	// the drain whether @p job runs; false: refused, answered already.
	bool let_through(Conn &conn, Job &job);
	static bool is_download(const Job &job);
	static bool runs_inline(const Job &job);
	// The kind of @p job for CallTimes, or CallTimes::kNone when it
	// must go to a worker whatever its kind took (not a parsed frame,
	// a download).
	static size_t timed_kind(const Job &job);
	// process(), its duration noted under @p kind for the tenant.
	void run_timed(const std::shared_ptr<Conn> &conn, Job &job,
		       size_t kind);
	static bool expired(const Job &job, int64_t timeout_nano);
	// Runs @p job and sends its reply; true when it ran and succeeded
	// (false: refused, expired, malformed, failed, or its connection
	// closing).
	bool process(const std::shared_ptr<Conn> &conn, Job &job);
	// The reply slot @p req names (transport/reply_slot.h), checked
	// against the connection's regions; left empty when none is named or
	// it is unusable.
	void find_reply_slot(Conn &conn,
			     const transport::codec::RequestView &req,
			     std::shared_ptr<ShmRegion> *region,
			     transport::ReplySlot *slot);
	// Sends @p resp; when @p chunked and it is larger than a frame, as
	// Data frames followed by an empty Response frame; into @p slot
	// instead when the caller polls one (transport/reply_slot.h). Returns
	// the reply's size (0 when it could not be sent) and where it went;
	// *@p status (may be NULL) becomes the status sent when a reply too
	// large is replaced.
	struct Sent {
		size_t bytes = 0; // 0: not sent
		bool in_slot = false;
	};
	Sent reply(Conn &conn, uint32_t stream_id, rpc::ttrpc::Response resp,
		   bool chunked = false, int *status = nullptr,
		   const transport::ReplySlot *slot = nullptr);
	// reply() in two steps, so that a call is counted before its caller
	// can see the reply. The serialized Response is the envelope
	// (status, then the payload field's header) followed by the
	// payload's own bytes, sent from where they are rather than copied
	// into one buffer.
	struct Encoded {
		std::string head, payload;
		[[nodiscard]] size_t size() const noexcept
		{
			return head.size() + payload.size();
		}
	};
	Encoded encode(rpc::ttrpc::Response resp, bool chunked, int *status);
	Sent send(Conn &conn, uint32_t stream_id, Encoded e,
		  const transport::ReplySlot *slot);
	// Answers stream @p stream_id with @p st without running it, counted
	// (--metrics) as a call of @p method.
	void refuse(Conn &conn, uint32_t stream_id, const RpcStatus &st,
		    metrics::MethodId method);
	// What a job, or a streaming call being reassembled, is counted
	// under.
	metrics::MethodId method_of(Job &job);
	metrics::MethodId method_of(const Inbound &in) const;
	// Whether @p conn's calls are counted.
	[[nodiscard]] bool counted(const Conn &conn) const noexcept;
	// Adds a call that ran to its tenant's counters: @p tr's start,
	// request bytes and status, its reply @p e, ready at @p ready, bound
	// for @p slot (may be null).
	void count(Conn &conn, const Job &job, const TraceRecord &tr,
		   const Encoded &e, const transport::ReplySlot *slot,
		   std::chrono::steady_clock::time_point ready,
		   metrics::CallSample &sample);

	void reap(bool all);
	void wake() noexcept;

	Service &service_;
	ServerOptions opts_;
	transport::SpinPolicy reader_spin_;
	transport::Listener listener_;
	std::optional<WorkerPool> pool_;
	// URL downloads (RegisterResource with paths): they wait on the
	// network for up to the tenant's URL timeout, so they run here, never
	// on the workers every other request needs.
	std::optional<WorkerPool> download_pool_;
	int wake_fd_ = -1;      // eventfd: stop requests and finished readers
	PooledThread acceptor_; // on ThreadCache::connections()
	std::atomic<bool> stopping_{false};
	bool stopped_ = false;

	// Readers polling their sockets now, and the most allowed: polling
	// costs a core each.
	std::atomic<size_t> polling_readers_{0};
	size_t max_polling_readers_ = 1;
	// Connections whose reader runs. With more than may poll, none
	// does: the pollers would take cores that the other connections'
	// requests need (64 busy clients on 2 cores: 29k calls/s with a
	// polling reader, 60k without).
	std::atomic<size_t> open_conns_{0};
	std::atomic<size_t> handshakes_{0};  // TLS handshakes in progress
	std::atomic<bool> accepting_{false}; // the accept thread runs
	bool shared_accept_ = false;         // in opts_.acceptors
	// The unix socket file bound (accepting()); 0: none.
	uint64_t socket_dev_ = 0, socket_ino_ = 0;

	std::mutex conns_mu_;
	std::list<std::shared_ptr<Conn>> conns_;
};

} // namespace vaccel::agent
