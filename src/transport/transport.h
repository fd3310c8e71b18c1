// SPDX-License-Identifier: Apache-2.0
// Transport shared by the vaccel-agent and the rpc plugin: addresses,
// byte streams over sockets and character devices, listeners, and ttrpc
// framing. Everything returns Status/Result (base/status.h); nothing throws.
//
// Wire format (ttrpc, as upstream vAccel RPC): every message is a 10-byte
// header followed by `length` bytes of payload:
//   uint32 length (big endian) | uint32 stream_id (big endian) |
//   uint8 type (1 request, 2 response, 3 data) | uint8 flags
// Request/response payloads are the protobuf messages of rpc/ttrpc.proto
// wrapping the vAccel messages of rpc/*.proto. Lengths are checked against
// the receiver's limit before any allocation.
#pragma once

#include "base/status.h"
#include "base/unique_fd.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vaccel::transport
{

using base::Cause;
using base::Result;
using base::Status;
using Clock = std::chrono::steady_clock;
// A point in time after which I/O gives up with VACCEL_EIO and
// Cause::TimedOut; std::nullopt means wait forever.
using Deadline = std::optional<Clock::time_point>;

inline Deadline deadline_in(std::chrono::milliseconds ms)
{
	if (ms.count() <= 0)
		return std::nullopt;
	return Clock::now() + ms;
}

// ---- addresses --------------------------------------------------------------

struct Address {
	enum class Kind {
		Unix,         // unix:///path/to/sock
		UnixAbstract, // unix://@name
		Tcp,          // tcp://host:port, tcp://[v6]:port
		Vsock,        // vsock://cid:port
		HybridVsock,  // hvsock:///path/to/vsock.sock:port (Firecracker,
			     // Cloud Hypervisor): client connects to `path` and
			     // sends "CONNECT <port>\n"; listener binds
			     // path_PORT
		Serial, // virtio-serial:///dev/virtio-ports/NAME (client only)
	};
	Kind kind = Kind::Unix;
	// Unix, UnixAbstract (without the '@'), HybridVsock, Serial.
	std::string path;
	std::string host;  // Tcp
	uint32_t port = 0; // Tcp, Vsock, HybridVsock
	uint32_t cid = 0;  // Vsock
};

// Parses the forms above (plus "vsock://any:port": cid VMADDR_CID_ANY,
// for listeners). Errors are VACCEL_EINVAL and name the offending part.
Result<Address> parse_address(std::string_view text);
std::string to_string(const Address &addr);

// ---- file descriptors -----------------------------------------------

// The memfds of the shared-memory data plane travel as UniqueFds (passed
// with SCM_RIGHTS on unix sockets).
using base::UniqueFd;

// At most this many descriptors are accepted with one read; more (or a
// truncated control message) is a protocol error.
constexpr size_t kMaxFdsPerRead = 4;

// ---- streams --------------------------------------------------------

class TlsSession; // tls_session.h; made by tls_accept()/tls_connect()

// A connected byte stream. Move-only; closes its fd. Streams made by
// connect() and Listener::accept() are non-blocking fds (so they can sit in
// a poll/epoll set); the methods below wait with poll() up to the deadline
// and work the same on blocking fds handed to Stream(int). Once a TLS
// handshake succeeded on it (tls.h), every read and write goes through TLS.
class Stream
{
public:
	Stream() noexcept;
	explicit Stream(int fd) noexcept;
	Stream(Stream &&o) noexcept;
	Stream &operator=(Stream &&o) noexcept;
	Stream(const Stream &) = delete;
	Stream &operator=(const Stream &) = delete;
	~Stream();

	// With receive() in use the fd is in blocking mode: a plain read()
	// or write() on it (rather than this class's calls) could block.
	[[nodiscard]] int fd() const noexcept { return fd_; }
	[[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
	// Writes everything (handles EINTR/short writes; MSG_NOSIGNAL).
	Status write_all(std::span<const uint8_t> data, Deadline dl);
	// Gathers several buffers in one writev where possible.
	Status write_all(std::span<const std::span<const uint8_t>> parts,
			 Deadline dl);
	// As above, passing @p fds (SCM_RIGHTS) with the first byte; unix
	// sockets only (VACCEL_ENOTSUP elsewhere). The descriptors stay
	// open on this side.
	Status write_all(std::span<const std::span<const uint8_t>> parts,
			 std::span<const int> fds, Deadline dl);
	// Reads exactly data.size() bytes. EOF is VACCEL_EIO, with
	// Cause::PeerClosed when no byte of @p data had arrived; a deadline
	// passed is Cause::TimedOut. After a failure part of the data may have
	// been consumed: the stream is then out of step and should be closed.
	Status read_exact(std::span<uint8_t> data, Deadline dl);
	// As above, also accepting descriptors passed with these bytes; they
	// are appended to *@p fds (close-on-exec). More than kMaxFdsPerRead
	// in total, or a truncated control message, fails the read.
	Status read_exact(std::span<uint8_t> data, Deadline dl,
			  std::vector<UniqueFd> *fds);
	// Whatever has arrived, at least one byte, waiting for it until @p dl;
	// 0 when the peer closed. For byte pumps (a relay), not framing.
	Result<size_t> read_available(std::span<uint8_t> data, Deadline dl);
	// Wakes up blocked readers/writers (shutdown(2)); fd stays open. No
	// effect on character devices (Serial).
	void shutdown() noexcept;
	void close() noexcept;

	// TLS (tls.h): set once its handshake succeeded. A TLS stream carries
	// no descriptors (VACCEL_ENOTSUP).
	void set_tls(std::unique_ptr<TlsSession> tls) noexcept;
	[[nodiscard]] const TlsSession *tls() const noexcept
	{
		return tls_.get();
	}
	// Whether bytes already received wait inside the TLS layer: they are
	// readable now though poll() on fd() may not say so, so code that
	// polls fd() before reading checks this first. False without TLS.
	[[nodiscard]] bool pending() const;
	// Reads ahead into a buffer of @p bytes (0: never, the default):
	// a read shorter than that takes whatever has arrived, so that a
	// small frame's header and payload cost one system call instead of
	// two. Bytes read ahead count as pending(). TLS streams buffer in
	// their TLS layer instead. With @p descriptors, reads may take
	// descriptors passed on a unix socket; one receive can then take a
	// frame's descriptors together with bytes of the frames before it,
	// so they are held until claim_descriptors() names their frame.
	// Without, a read_exact() with descriptors is VACCEL_ENOTSUP.
	void set_read_ahead(size_t bytes, bool descriptors = false);
	// How many bytes reads have taken so far (with read-ahead only).
	[[nodiscard]] uint64_t read_position() const noexcept;
	// Moves into @p fds the descriptors that came with the message that
	// occupies bytes [@p begin, @p end) of the stream: those of the last
	// receive in which it starts, when no later message starts in that
	// receive. (The kernel ends a unix-socket receive with the write
	// that carried descriptors, and our peers pass them with the first
	// byte of a frame.) Descriptors no message can claim any more are
	// closed. With read-ahead and descriptors only; a no-op otherwise.
	Status claim_descriptors(uint64_t begin, uint64_t end,
				 std::vector<UniqueFd> *fds);
	// Whether receive() can wait in the kernel's receive itself: a
	// socket, read-ahead on, no TLS.
	[[nodiscard]] bool can_block();
	// Waits for bytes in one blocking receive into the read-ahead buffer,
	// without a poll() first: true when bytes, the peer's close or an
	// error are there for the next read; false when @p dl passed or a
	// signal came first (look at the clock and call again). Past the
	// deadline it still takes what has already arrived. The deadline is
	// kept by SO_RCVTIMEO, changed only when it moves by more than a
	// sixty-fourth (at least 5 ms): a wait may end that much late. The fd
	// is switched to blocking mode on first use (on its open file
	// description, which a dup or a fork shares); every other read and
	// write of a socket stays non-blocking (MSG_DONTWAIT). Where the fd
	// cannot block (someone made it non-blocking again, or SO_RCVTIMEO
	// was refused) it polls instead. Only where can_block().
	bool receive(Deadline dl);

private:
	struct ReadAhead;
	Status read_tls(std::span<uint8_t> data, Deadline dl);
	Status read_ahead(std::span<uint8_t> data, Deadline dl,
			  std::vector<UniqueFd> *fds);
	// One receive into the empty read-ahead buffer (@p wait: blocking);
	// as receive() answers.
	bool fill(bool wait);

	int fd_ = -1;
	std::unique_ptr<TlsSession> tls_;
	std::unique_ptr<ReadAhead> ahead_;
	// A character device (Serial): read/writev at once, not a socket
	// call that fails first (learnt from the first ENOTSOCK).
	bool not_socket_ = false;
};

// Connects (TCP_NODELAY on TCP; CONNECT handshake for hybrid vsock; opens
// the character device for Serial). Errors are VACCEL_EIO with the reason.
Result<Stream> connect(const Address &addr, std::chrono::milliseconds timeout);

// A listening socket. Move-only.
// Who may open a unix socket file a listener creates: its mode is exactly
// @p mode whatever the umask (never looser, even for the instant between
// bind and chmod), and its group @p gid (-1: the process's).
struct UnixPerms {
	uint32_t mode = 0600;
	int64_t gid = -1;
};

class Listener
{
public:
	// Binds and listens. A unix path left by a dead listener is replaced;
	// a live listener (VACCEL_EBUSY) or a non-socket file (VACCEL_EEXIST)
	// is not. HybridVsock listens on the unix socket path + "_" + port;
	// Vsock may use cid VMADDR_CID_ANY ("vsock://any:port"); Serial is
	// VACCEL_ENOTSUP. The listening fd is blocking.
	// Unix socket files get @p perms.
	static Result<Listener> bind(const Address &addr, int backlog = 128,
				     const UnixPerms &perms = {});
	// Takes over @p fd, a socket already bound and listening (a
	// launcher's), as a listener for @p addr; VACCEL_EINVAL when @p fd
	// is not a listening stream socket. Closing it never unlinks.
	static Result<Listener> adopt(UniqueFd fd, const Address &addr);
	Listener() = default;
	Listener(Listener &&o) noexcept;
	Listener &operator=(Listener &&o) noexcept;
	Listener(const Listener &) = delete;
	Listener &operator=(const Listener &) = delete;
	~Listener();

	// With receive() in use the fd is in blocking mode: a plain read()
	// or write() on it (rather than this class's calls) could block.
	[[nodiscard]] int fd() const noexcept { return fd_; }
	// Accepts one connection (TCP_NODELAY set on TCP). Non-blocking
	// listeners return VACCEL_EAGAIN when none is pending.
	Result<Stream> accept();
	// The address actually bound (tcp port 0 -> the chosen port).
	[[nodiscard]] const Address &address() const noexcept { return addr_; }
	// Wakes up a thread blocked in accept() (which then fails); the fd
	// stays open until close().
	void shutdown() noexcept;
	void close() noexcept; // also unlinks a unix socket path it created
	// Gives up the listening socket (to hand it over to another
	// process): the caller owns it, and no path is unlinked.
	UniqueFd release() noexcept;

private:
	int fd_ = -1;
	Address addr_;
	std::string unlink_path_;
};

// ---- ttrpc framing --------------------------------------------------

constexpr size_t kFrameHeaderSize = 10;
// ttrpc's default limit; payloads above it are refused by both sides
// unless raised by configuration (and then only up to kMaxFrameLimit).
constexpr uint32_t kDefaultMaxFrame = 4u << 20;
constexpr uint32_t kMaxFrameLimit = 64u << 20;

enum class MsgType : uint8_t { Request = 1, Response = 2, Data = 3 };

// ttrpc stream flags. A client-streaming call opens with a Request frame
// flagged RemoteOpen, sends Data frames, and half-closes with a Data frame
// flagged RemoteClosed (plus NoData when it carries no payload).
constexpr uint8_t kFlagRemoteClosed = 0x1;
constexpr uint8_t kFlagRemoteOpen = 0x2;
constexpr uint8_t kFlagNoData = 0x4;

struct FrameHeader {
	uint32_t length = 0;
	uint32_t stream_id = 0;
	MsgType type = MsgType::Request;
	uint8_t flags = 0;
};

void encode_header(const FrameHeader &h,
		   uint8_t out[kFrameHeaderSize]) noexcept;
// Rejects unknown types and lengths above max_len (VACCEL_EINVAL, message
// says which), before the caller allocates anything.
Result<FrameHeader> decode_header(const uint8_t in[kFrameHeaderSize],
				  uint32_t max_len) noexcept;

// write_frame sends h with length = payload.size() (h.length is ignored),
// header and payload in one gathered write; payloads above kMaxFrameLimit
// are refused. read_frame allocates the payload only after decode_header
// accepted the length.

struct Frame {
	FrameHeader header;
	std::vector<uint8_t> payload;
	// Descriptors that arrived with this frame's bytes (only when the
	// reader asked for them).
	std::vector<UniqueFd> fds;
};

Status write_frame(Stream &s, const FrameHeader &h,
		   std::span<const uint8_t> payload, Deadline dl,
		   std::span<const int> fds = {});
Result<Frame> read_frame(Stream &s, uint32_t max_len, Deadline dl,
			 bool accept_fds = false);
// Reads and checks one frame header only; the caller then reads exactly
// header.length payload bytes (e.g. straight into their destination).
// Descriptors that came with the frame go to @p fds, on a stream that
// reads ahead too (Stream::claim_descriptors).
Result<FrameHeader> read_header(Stream &s, uint32_t max_len, Deadline dl,
				std::vector<UniqueFd> *fds = nullptr);
// As write_frame, the payload gathered from @p parts (no copy).
Status write_frame_parts(Stream &s, const FrameHeader &h,
			 std::span<const std::span<const uint8_t>> parts,
			 Deadline dl);

// ---- envelopes without copying the payload -------------------------
// Large payloads are the bulk of a message; these let the envelope be
// written around them (a prefix, then the payload's own bytes) and read
// out of a received buffer, instead of serializing or parsing a copy.

// The bytes of a protobuf length-delimited field header: tag (field,
// wire type 2) and the varint length.
std::string field_header(uint32_t field, size_t len);
// Finds the last occurrence of length-delimited field @p field in the
// serialized message @p msg; false if the message is malformed. An
// absent field gives an empty span.
bool find_field(std::span<const uint8_t> msg, uint32_t field,
		std::span<const uint8_t> *out);
// Every occurrence of length-delimited field @p field (a repeated field),
// in order; false if the message is malformed.
bool find_fields(std::span<const uint8_t> msg, uint32_t field,
		 std::vector<std::span<const uint8_t>> *out);
// The protobuf varint encoding of @p v, appended to @p out.
void put_varint(std::string *out, uint64_t v);

// ---- ttrpc envelope -------------------------------------------------

// Drops libprotobuf's own log lines (process-wide). proto3 string fields
// must be UTF-8: a peer sending anything else makes parsing fail, as it
// should, but libprotobuf also prints an ERROR line each time, which would
// let a peer flood the agent's log. The agent calls this at start; a plugin
// should not (the host program may use protobuf itself).
void silence_protobuf_logging() noexcept;

// Service names under which the agent answers (upstream's sync and async
// generated services; same methods).
inline constexpr std::string_view kServiceSync =
    "vaccel.sync.agent.AgentService";
inline constexpr std::string_view kServiceAsync =
    "vaccel.asynchronous.agent.AgentService";

// Our data-plane extension service (docs/protocol.md, "Large data"):
// chunked calls and the shared-memory plane. Used only after the peer
// announced the feature in AgentAdmin/Hello.
inline constexpr std::string_view kServiceData = "vaccel.ext.AgentData";
inline constexpr std::string_view kServiceAdmin = "vaccel.ext.AgentAdmin";
// The admin socket's service (launchers attaching sandboxes).
inline constexpr std::string_view kServiceLauncher = "vaccel.ext.Launcher";

// gRPC status codes used in ttrpc Response.status.
enum class RpcCode : int32_t {
	Ok = 0,
	InvalidArgument = 3,
	DeadlineExceeded = 4,
	NotFound = 5,
	PermissionDenied = 7,
	ResourceExhausted = 8,
	Unimplemented = 12,
	Internal = 13,
	Unavailable = 14,
};

// The Any type URL upstream puts on a vaccel error detail.
inline constexpr std::string_view kVaccelErrorTypeUrl =
    "type.googleapis.com/vaccel.ProtoError";
// Ours: the detail of a draining agent's refusal (ext.proto, Draining).
inline constexpr std::string_view kDrainingTypeUrl =
    "type.googleapis.com/vaccel.rpc.ext.Draining";

} // namespace vaccel::transport
