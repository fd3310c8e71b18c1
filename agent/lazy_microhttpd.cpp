// SPDX-License-Identifier: Apache-2.0
// The libmicrohttpd functions of the metrics listener (metrics_http.cpp),
// loaded when --metrics starts it instead of at the agent's start:
// libmicrohttpd brings GnuTLS and its libraries, whose loading and
// constructors were a large part of a fresh agent's start to ready,
// although most agents never serve metrics. As for libcurl
// (src/base/lazy_curl.cpp). Without libmicrohttpd.so.12, MHD_start_daemon
// fails (NULL) and the agent says it cannot start the listener.
#include <microhttpd.h>

#include "base/lazy_symbol.h"

#include <dlfcn.h>

#include <cstdarg>
#include <mutex>

namespace
{

struct Mhd {
	MHD_Daemon *(*start_daemon_va)(unsigned int, uint16_t,
				       MHD_AcceptPolicyCallback, void *,
				       MHD_AccessHandlerCallback, void *,
				       va_list);
	void (*stop_daemon)(MHD_Daemon *);
	MHD_Result (*queue_response)(MHD_Connection *, unsigned int,
				     MHD_Response *);
	MHD_Response *(*create_response_from_buffer)(size_t, void *,
						     MHD_ResponseMemoryMode);
	void (*destroy_response)(MHD_Response *);
	MHD_Result (*add_response_header)(MHD_Response *, const char *,
					  const char *);
};

using vaccel::base::find_symbol;

bool load(Mhd &m)
{
	void *lib = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
	if (lib == nullptr)
		return false;
	// Never closed: the listener's threads run its code until exit.
	return find_symbol(lib, "MHD_start_daemon_va", &m.start_daemon_va) &&
	       find_symbol(lib, "MHD_stop_daemon", &m.stop_daemon) &&
	       find_symbol(lib, "MHD_queue_response", &m.queue_response) &&
	       find_symbol(lib, "MHD_create_response_from_buffer",
			   &m.create_response_from_buffer) &&
	       find_symbol(lib, "MHD_destroy_response", &m.destroy_response) &&
	       find_symbol(lib, "MHD_add_response_header",
			   &m.add_response_header);
}

const Mhd *mhd()
{
	static Mhd m{};
	static bool ok = false;
	static std::once_flag once;
	std::call_once(once, [] { ok = load(m); });
	return ok ? &m : nullptr;
}

} // namespace

extern "C" {

MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
			     MHD_AcceptPolicyCallback apc, void *apc_cls,
			     MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	const Mhd *m = mhd();
	if (m == nullptr)
		return nullptr;
	va_list ap;
	va_start(ap, dh_cls);
	MHD_Daemon *d =
	    m->start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(MHD_Daemon *d)
{
	if (const Mhd *m = mhd())
		m->stop_daemon(d);
}

MHD_Result MHD_queue_response(MHD_Connection *c, unsigned int status,
			      MHD_Response *r)
{
	const Mhd *m = mhd();
	return m ? m->queue_response(c, status, r) : MHD_NO;
}

MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
					      MHD_ResponseMemoryMode mode)
{
	const Mhd *m = mhd();
	return m ? m->create_response_from_buffer(size, buffer, mode) : nullptr;
}

void MHD_destroy_response(MHD_Response *r)
{
	if (const Mhd *m = mhd())
		m->destroy_response(r);
}

MHD_Result MHD_add_response_header(MHD_Response *r, const char *header,
				   const char *content)
{
	const Mhd *m = mhd();
	return m ? m->add_response_header(r, header, content) : MHD_NO;
}

} // extern "C"
