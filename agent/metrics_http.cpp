// SPDX-License-Identifier: Apache-2.0
#include "metrics_http.h"

#include "audit.h"

#include <vaccel.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace vaccel::agent
{

namespace
{

// Scrapers and probes: a few at a time is plenty; more are refused.
constexpr unsigned kMaxConnections = 16;
// A connection idle this long (seconds) is closed.
constexpr unsigned kIdleTimeoutS = 10;

constexpr std::string_view kPromType = "text/plain; version=0.0.4; "
				       "charset=utf-8";

bool loopback(const sockaddr_storage &ss)
{
	if (ss.ss_family == AF_INET) {
		const auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family != AF_INET6)
		return false;
	const auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
	return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
	       (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
		a->sin6_addr.s6_addr[12] == 127);
}

// Whether @p host names loopback without asking a resolver: "localhost"
// or a loopback address literal.
bool loopback_name(const std::string &host)
{
	if (host == "localhost")
		return true;
	sockaddr_storage ss{};
	auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
	auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
	if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return loopback(ss);
}

bool bound_to_loopback(int fd)
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	return ::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) ==
		   0 &&
	       loopback(ss);
}

MHD_Result send(MHD_Connection *c, const MetricsHttp::Page &p)
{
	MHD_Response *r = MHD_create_response_from_buffer(
	    p.body.size(), const_cast<char *>(p.body.data()),
	    MHD_RESPMEM_MUST_COPY);
	if (r == nullptr)
		return MHD_NO; // closes the connection
	const std::string type(p.type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type.c_str());
	if (p.status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	const MHD_Result ok = MHD_queue_response(c, p.status, r);
	MHD_destroy_response(r);
	return ok;
}

// libmicrohttpd's access handler: every request is answered on its first
// call (none of ours has a body; one that came with a body gets its
// answer before the body is read).
MHD_Result answer(void *cls, MHD_Connection *c, const char *url,
		  const char *method, const char *, const char *, size_t *,
		  void **)
{
	const auto *self = static_cast<const MetricsHttp *>(cls);
	try {
		return send(c, self->page(method, url));
	} catch (const std::exception &e) {
		vaccel_warn("agent: metrics: %s", e.what());
		return MHD_NO;
	}
}

} // namespace

core::Result<transport::Address> parse_metrics_address(std::string_view text)
{
	const bool bare_port =
	    !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
		    return c >= '0' && c <= '9';
	    });
	std::string url;
	if (bare_port)
		url = "tcp://127.0.0.1:" + std::string(text);
	else if (text.starts_with("tcp://"))
		url = std::string(text);
	else
		url = "tcp://" + std::string(text);
	auto a = transport::parse_address(url);
	if (!a)
		return core::Status::error(
		    VACCEL_EINVAL, "--metrics '%.*s': %s",
		    static_cast<int>(text.size()), text.data(),
		    a.status().message().c_str());
	return a;
}

core::Status MetricsHttp::check_exposure() const
{
	const auto &a = opts_.address;
	if (a.kind != transport::Address::Kind::Tcp)
		return core::Status::error(VACCEL_EINVAL,
					   "metrics: %s is not a tcp address",
					   transport::to_string(a).c_str());
	if (loopback_name(a.host))
		return core::Status::ok();
	if (!opts_.allow_remote)
		return core::Status::error(
		    VACCEL_EPERM,
		    "metrics on %s (not loopback) show every tenant's "
		    "activity to whoever reaches that address; bind a "
		    "loopback address or pass --metrics-allow-remote",
		    transport::to_string(a).c_str());
	vaccel_warn("agent: --metrics-allow-remote: metrics on %s, readable "
		    "by every peer that reaches it",
		    transport::to_string(a).c_str());
	audit::event("metrics-remote", transport::to_string(a));
	return core::Status::ok();
}

core::Status MetricsHttp::start()
{
	VACCEL_RETURN_IF_ERROR(check_exposure());
	auto listener = transport::Listener::bind(opts_.address, 16);
	if (!listener)
		return listener.status();
	// "localhost" went through the resolver: check what it gave.
	if (!opts_.allow_remote && !bound_to_loopback(listener->fd()))
		return core::Status::error(
		    VACCEL_EPERM,
		    "metrics: %s resolved to an address that is "
		    "not loopback; pass --metrics-allow-remote "
		    "to use it",
		    transport::to_string(opts_.address).c_str());
	bound_ = listener->address();
	transport::UniqueFd fd = listener->release();
	// Readiness does not promise a connection: accept must not block.
	::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
	// epoll: the agent's descriptors go past select()'s FD_SETSIZE.
	daemon_ = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, nullptr,
	    nullptr, &answer, this, MHD_OPTION_LISTEN_SOCKET, fd.get(),
	    MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
	    MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutS, MHD_OPTION_END);
	if (daemon_ == nullptr)
		return core::Status::error(
		    VACCEL_EIO,
		    "metrics: cannot start the HTTP "
		    "server on %s",
		    transport::to_string(bound_).c_str());
	fd.release(); // the daemon closes it
	return core::Status::ok();
}

void MetricsHttp::stop()
{
	if (daemon_ != nullptr)
		MHD_stop_daemon(std::exchange(daemon_, nullptr));
}

MetricsHttp::Page MetricsHttp::page(std::string_view method,
				    std::string_view path) const
{
	Page p;
	if (method != "GET" && method != "HEAD") {
		p.status = MHD_HTTP_METHOD_NOT_ALLOWED;
		p.body = "only GET and HEAD\n";
		return p;
	}
	auto probe = [&](bool good, const char *bad) {
		p.status = good ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
		p.body = good ? "ok\n" : bad;
	};
	if (path == "/metrics") {
		p.status = MHD_HTTP_OK;
		p.body = opts_.render();
		p.type = kPromType;
	} else if (path == "/healthz") {
		probe(opts_.live(), "the listener does not accept\n");
	} else if (path == "/readyz") {
		probe(opts_.ready(), "not taking new sessions\n");
	} else {
		p.body = "not found; try /metrics, /healthz or /readyz\n";
	}
	return p;
}

} // namespace vaccel::agent
