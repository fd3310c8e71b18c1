// SPDX-License-Identifier: Apache-2.0
// TLS over non-blocking sockets with OpenSSL: contexts, handshakes, and the
// record I/O that Stream delegates to once a handshake succeeded.
#include "transport/tls.h"

#include "base/lazy_openssl.h"
#include "io_util.h"
#include "tls_session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

namespace vaccel::transport
{

namespace
{

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// This thread's OpenSSL errors, drained, as one line.
std::string ssl_errors()
{
	std::string out;
	while (const unsigned long e = ERR_get_error()) {
		const char *reason = ERR_reason_error_string(e);
		if (!out.empty())
			out += "; ";
		out +=
		    reason != nullptr ? reason : "error " + std::to_string(e);
	}
	return out.empty() ? std::string("unknown TLS error") : out;
}

// Why an SSL call failed: OpenSSL's reasons, the certificate check's
// verdict when that is what failed, or the socket's errno.
std::string failure_text(SSL *ssl, int err, int saved_errno)
{
	if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		return saved_errno != 0 ? detail::errno_text(saved_errno)
					: std::string("peer closed");
	std::string why = ssl_errors();
	const long verify = SSL_get_verify_result(ssl);
	if (verify != X509_V_OK)
		why += std::string(" (") +
		       X509_verify_cert_error_string(verify) + ")";
	return why;
}

Status ctx_error(const char *what, const std::string &file = {})
{
	const std::string why = ssl_errors();
	if (file.empty())
		return Status::error(VACCEL_EINVAL, "tls: %s: %s", what,
				     why.c_str());
	return Status::error(VACCEL_EINVAL, "tls: %s %s: %s", what,
			     file.c_str(), why.c_str());
}

// What both sides share: TLS 1.2 or later, no renegotiation (a peer could
// use it to make us work), no compression, writes that may return after
// each record (so a retry after WANT_WRITE can resume), and buffers given
// back while a connection is idle.
// OpenSSL is loaded on first use (base/lazy_openssl.cpp): a machine
// without it gets this error, not a stop in the first OpenSSL call.
Status openssl_ready()
{
	const std::string &why = base::openssl_load_error();
	if (why.empty())
		return Status::ok();
	return Status::error(VACCEL_ENOTSUP, "tls: OpenSSL 3 is needed: %s",
			     why.c_str());
}

CtxPtr new_ctx(const SSL_METHOD *method)
{
	CtxPtr ctx(SSL_CTX_new(method), &SSL_CTX_free);
	if (!ctx)
		return ctx;
	SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
	// A peer that closes without close_notify only truncates a frame,
	// which framing notices: report it as an ordinary close.
	SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION |
					   SSL_OP_NO_COMPRESSION |
					   SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
					SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
					SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
	return ctx;
}

Status load_key_pair(SSL_CTX *ctx, const TlsFiles &f)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1)
		return ctx_error("certificate", f.cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) !=
	    1)
		return ctx_error("private key", f.key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ctx_error("private key does not match the certificate",
				 f.key);
	return Status::ok();
}

Status make_nonblocking(int fd)
{
	const int fl = ::fcntl(fd, F_GETFL);
	if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return Status::error(VACCEL_EIO, "tls: fcntl: %s",
				     detail::errno_text(errno).c_str());
	return Status::ok();
}

// OpenSSL's socket BIO writes with write(2), so a peer that hung up raises
// SIGPIPE, which kills a program using the rpc plugin unless it ignores the
// signal. This BIO is the same minus that: send(MSG_NOSIGNAL), as Stream.

int socket_of(BIO *b)
{
	return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
}

bool retryable(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO *b, const char *buf, int len)
{
	BIO_clear_retry_flags(b);
	const ssize_t n =
	    ::send(socket_of(b), buf, static_cast<size_t>(len), MSG_NOSIGNAL);
	if (n < 0 && retryable(errno))
		BIO_set_retry_write(b);
	return static_cast<int>(n);
}

int bio_read(BIO *b, char *buf, int len)
{
	BIO_clear_retry_flags(b);
	const ssize_t n =
	    ::recv(socket_of(b), buf, static_cast<size_t>(len), 0);
	if (n < 0 && retryable(errno))
		BIO_set_retry_read(b);
	else if (n == 0) // what BIO_eof() reports: the peer closed
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
	return static_cast<int>(n);
}

long bio_ctrl(BIO *b, int cmd, long, void *)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
	default:
		return 0;
	}
}

// Made once, kept for the life of the process.
const BIO_METHOD *socket_method()
{
	static BIO_METHOD *const m = [] {
		BIO_METHOD *bm =
		    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
				     BIO_TYPE_DESCRIPTOR,
				 "vaccel socket");
		if (bm != nullptr && (BIO_meth_set_write(bm, bio_write) != 1 ||
				      BIO_meth_set_read(bm, bio_read) != 1 ||
				      BIO_meth_set_ctrl(bm, bio_ctrl) != 1)) {
			BIO_meth_free(bm);
			bm = nullptr;
		}
		return bm;
	}();
	return m;
}

// @p ssl reads and writes @p fd through socket_method().
bool attach_socket(SSL *ssl, int fd)
{
	const BIO_METHOD *m = socket_method();
	BIO *bio = m != nullptr ? BIO_new(m) : nullptr;
	if (bio == nullptr)
		return false;
	BIO_set_data(bio, reinterpret_cast<void *>(static_cast<intptr_t>(fd)));
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio); // one reference, now the SSL's
	return true;
}

// A session on @p s's socket, its handshake run to completion.
Status start(Stream &s, const TlsContext &ctx, Deadline dl,
	     const std::function<bool(SSL *)> &setup)
{
	if (!s.valid())
		return Status::error(VACCEL_EIO, "tls: stream is closed");
	if (s.tls() != nullptr)
		return Status::error(VACCEL_EINVAL, "tls: already started");
	// Blocking I/O inside an SSL call would hold the session's lock.
	VACCEL_RETURN_IF_ERROR(make_nonblocking(s.fd()));
	SSL *ssl = SSL_new(ctx.native());
	if (ssl == nullptr)
		return ctx_error("SSL_new");
	auto session = std::make_unique<TlsSession>(ssl);
	if (!attach_socket(ssl, s.fd()) || !setup(ssl))
		return ctx_error("session setup");
	VACCEL_RETURN_IF_ERROR(session->handshake(s.fd(), dl));
	s.set_tls(std::move(session));
	return Status::ok();
}

} // namespace

// ---- TlsContext -------------------------------------------------------------

TlsContext::~TlsContext()
{
	SSL_CTX_free(ctx_);
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const TlsFiles &f)
{
	if (f.cert.empty() || f.key.empty() || f.ca.empty())
		return Status::error(VACCEL_EINVAL,
				     "tls: a server needs a certificate, its "
				     "key and the CA of its clients");
	VACCEL_RETURN_IF_ERROR(openssl_ready());
	CtxPtr ctx = new_ctx(TLS_server_method());
	if (!ctx)
		return ctx_error("SSL_CTX_new");
	VACCEL_RETURN_IF_ERROR(load_key_pair(ctx.get(), f));
	if (SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) !=
	    1)
		return ctx_error("client CA", f.ca);
	// Tells clients which CA we accept (they pick their certificate).
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(f.ca.c_str());
	if (names == nullptr)
		return ctx_error("client CA names", f.ca);
	SSL_CTX_set_client_CA_list(ctx.get(), names);
	SSL_CTX_set_verify(ctx.get(),
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   nullptr);
	// No resumption: every connection proves its certificate afresh,
	// and the server sends nothing after the handshake.
	SSL_CTX_set_num_tickets(ctx.get(), 0);
	return std::make_shared<const TlsContext>(ctx.release());
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const TlsFiles &f)
{
	if (f.cert.empty() != f.key.empty())
		return Status::error(VACCEL_EINVAL,
				     "tls: a client certificate and its key "
				     "go together (got only the %s)",
				     f.cert.empty() ? "key" : "certificate");
	VACCEL_RETURN_IF_ERROR(openssl_ready());
	CtxPtr ctx = new_ctx(TLS_client_method());
	if (!ctx)
		return ctx_error("SSL_CTX_new");
	if (!f.cert.empty())
		VACCEL_RETURN_IF_ERROR(load_key_pair(ctx.get(), f));
	const int loaded =
	    f.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
			 : SSL_CTX_load_verify_locations(ctx.get(),
							 f.ca.c_str(), nullptr);
	if (loaded != 1)
		return ctx_error("CA", f.ca.empty() ? "(system)" : f.ca);
	SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
	return std::make_shared<const TlsContext>(ctx.release());
}

// ---- handshakes -------------------------------------------------------------

Status tls_accept(Stream &s, const TlsContext &ctx, Deadline dl)
{
	return start(s, ctx, dl, [](SSL *ssl) {
		SSL_set_accept_state(ssl);
		return true;
	});
}

Status tls_connect(Stream &s, const TlsContext &ctx,
		   std::string_view server_name, Deadline dl)
{
	const std::string name(server_name);
	return start(s, ctx, dl, [&](SSL *ssl) {
		SSL_set_connect_state(ssl);
		in6_addr ip{};
		const bool literal =
		    ::inet_pton(AF_INET, name.c_str(), &ip) == 1 ||
		    ::inet_pton(AF_INET6, name.c_str(), &ip) == 1;
		// An address is matched against the certificate's IP SANs;
		// a name against its DNS SANs, and sent as SNI.
		if (literal)
			return X509_VERIFY_PARAM_set1_ip_asc(
				   SSL_get0_param(ssl), name.c_str()) == 1;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		// SSL_set_tlsext_host_name(), without its macro's C cast.
		return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
				TLSEXT_NAMETYPE_host_name,
				const_cast<char *>(name.c_str())) == 1 &&
		       SSL_set1_host(ssl, name.c_str()) == 1;
	});
}

std::string tls_peer_common_name(const Stream &s)
{
	const TlsSession *t = s.tls();
	if (t == nullptr || SSL_get_verify_result(t->ssl()) != X509_V_OK)
		return {};
	X509 *cert = SSL_get0_peer_certificate(t->ssl());
	if (cert == nullptr)
		return {};
	X509_NAME *subject = X509_get_subject_name(cert);
	const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	// Exactly one CN: with two, which one names the tenant is a guess.
	if (at < 0 ||
	    X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0)
		return {};
	unsigned char *utf8 = nullptr;
	const int len = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
	if (len < 0)
		return {};
	std::string cn(reinterpret_cast<char *>(utf8),
		       static_cast<size_t>(len));
	OPENSSL_free(utf8);
	return cn;
}

// ---- TlsSession -------------------------------------------------------------

TlsSession::~TlsSession()
{
	SSL_free(ssl_);
}

template <class Op>
Status TlsSession::run(int fd, Deadline dl, const char *what, Op op, size_t *n,
		       bool *closed)
{
	*closed = false;
	for (;;) {
		int err = SSL_ERROR_NONE;
		std::string why;
		{
			std::lock_guard lock(mu_);
			ERR_clear_error();
			errno = 0;
			const int rc = op(ssl_, n);
			const int saved_errno = errno;
			if (rc == 1)
				return Status::ok();
			err = SSL_get_error(ssl_, rc);
			if (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL)
				why = failure_text(ssl_, err, saved_errno);
		}
		switch (err) {
		case SSL_ERROR_WANT_READ:
			VACCEL_RETURN_IF_ERROR(
			    detail::wait_fd(fd, POLLIN, dl, what));
			continue;
		case SSL_ERROR_WANT_WRITE:
			VACCEL_RETURN_IF_ERROR(
			    detail::wait_fd(fd, POLLOUT, dl, what));
			continue;
		case SSL_ERROR_ZERO_RETURN:
			*closed = true;
			return Status::ok();
		default:
			return Status::error(VACCEL_EIO, "%s: tls: %s", what,
					     why.empty() ? "failed"
							 : why.c_str());
		}
	}
}

Status TlsSession::handshake(int fd, Deadline dl)
{
	size_t n = 0;
	bool closed = false;
	VACCEL_RETURN_IF_ERROR(run(
	    fd, dl, "tls handshake",
	    [](SSL *s, size_t *) { return SSL_do_handshake(s); }, &n, &closed));
	if (closed)
		return Status::error(VACCEL_EIO, "tls handshake: peer closed");
	return Status::ok();
}

Result<size_t> TlsSession::read_some(int fd, std::span<uint8_t> data,
				     Deadline dl)
{
	size_t n = 0;
	bool closed = false;
	VACCEL_RETURN_IF_ERROR(run(
	    fd, dl, "read",
	    [&](SSL *s, size_t *got) {
		    return SSL_read_ex(s, data.data(), data.size(), got);
	    },
	    &n, &closed));
	return closed ? size_t{0} : n;
}

Status TlsSession::write_one(int fd, std::span<const uint8_t> data, Deadline dl)
{
	while (!data.empty()) {
		size_t n = 0;
		bool closed = false;
		// After WANT_WRITE the same bytes are offered again, as
		// OpenSSL requires.
		VACCEL_RETURN_IF_ERROR(run(
		    fd, dl, "write",
		    [&](SSL *s, size_t *put) {
			    return SSL_write_ex(s, data.data(), data.size(),
						put);
		    },
		    &n, &closed));
		if (closed)
			return Status::error(VACCEL_EIO, "write: peer closed");
		data = data.subspan(n);
	}
	return Status::ok();
}

Status TlsSession::write_all(int fd,
			     std::span<const std::span<const uint8_t>> parts,
			     Deadline dl)
{
	// Each SSL_write makes at least one record and one syscall: small
	// parts (a frame header, a short message) are gathered into full
	// records, large ones leave from where they are.
	constexpr size_t kRecord = 16384;
	std::vector<uint8_t> stage;
	for (auto p : parts) {
		if (!stage.empty() || p.size() < kRecord) {
			const size_t take =
			    std::min(kRecord - stage.size(), p.size());
			stage.insert(stage.end(), p.begin(), p.begin() + take);
			p = p.subspan(take);
			if (stage.size() == kRecord) {
				VACCEL_RETURN_IF_ERROR(
				    write_one(fd, stage, dl));
				stage.clear();
			}
		}
		if (p.size() >= kRecord)
			VACCEL_RETURN_IF_ERROR(write_one(fd, p, dl));
		else if (!p.empty()) // the stage was sent: it is empty
			stage.assign(p.begin(), p.end());
	}
	if (!stage.empty())
		return write_one(fd, stage, dl);
	return Status::ok();
}

bool TlsSession::pending() const
{
	std::lock_guard lock(mu_);
	return SSL_has_pending(ssl_) == 1;
}

} // namespace vaccel::transport
