// SPDX-License-Identifier: Apache-2.0
// The libcurl functions vAccel calls, loaded on first use instead of at
// program start. libcurl and the libraries it needs (TLS, Kerberos, LDAP,
// SSH, HTTP/2...) are most of what the dynamic loader does when a program
// linked with libvaccel starts, and only URL resources need them: linked
// normally they were most of a fresh agent's start to ready and of every
// client process's start. libvaccel (core/fetch.cpp) and the agent
// (url_fetch.cpp) link this library instead of libcurl; each keeps a
// private copy (hidden in libvaccel by its version script). Without
// libcurl.so.4 on the system, the functions fail as libcurl's do when it
// cannot start (CURLE_FAILED_INIT, NULL handles).
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "lazy_symbol.h"

#include <dlfcn.h>

#include <cstdarg>
#include <mutex>

namespace
{

struct Curl {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)();
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	void (*free)(void *);
	CURLU *(*url)();
	void (*url_cleanup)(CURLU *);
	CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
};

using vaccel::base::find_symbol;

bool load(Curl &c)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (lib == nullptr)
		return false;
	// Never closed: libcurl keeps global state for the process's life.
	return find_symbol(lib, "curl_global_init", &c.global_init) &&
	       find_symbol(lib, "curl_easy_init", &c.easy_init) &&
	       find_symbol(lib, "curl_easy_setopt", &c.easy_setopt) &&
	       find_symbol(lib, "curl_easy_perform", &c.easy_perform) &&
	       find_symbol(lib, "curl_easy_cleanup", &c.easy_cleanup) &&
	       find_symbol(lib, "curl_easy_getinfo", &c.easy_getinfo) &&
	       find_symbol(lib, "curl_easy_strerror", &c.easy_strerror) &&
	       find_symbol(lib, "curl_free", &c.free) &&
	       find_symbol(lib, "curl_url", &c.url) &&
	       find_symbol(lib, "curl_url_cleanup", &c.url_cleanup) &&
	       find_symbol(lib, "curl_url_get", &c.url_get) &&
	       find_symbol(lib, "curl_url_set", &c.url_set);
}

// libcurl's functions, or null when it cannot be loaded.
const Curl *curl()
{
	static Curl c{};
	static bool ok = false;
	static std::once_flag once;
	std::call_once(once, [] { ok = load(c); });
	return ok ? &c : nullptr;
}

} // namespace

extern "C" {

CURLcode curl_global_init(long flags)
{
	const Curl *c = curl();
	return c ? c->global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
	const Curl *c = curl();
	return c ? c->easy_init() : nullptr;
}

// The value's type follows from the option's number, as in libcurl's own
// setopt: long, object pointer, function pointer, curl_off_t, blob.
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	const Curl *c = curl();
	if (c == nullptr)
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, opt);
	CURLcode rc;
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = c->easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = c->easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = c->easy_setopt(h, opt, va_arg(ap, void (*)()));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = c->easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = c->easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	const Curl *c = curl();
	return c ? c->easy_perform(h) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL *h)
{
	if (const Curl *c = curl())
		c->easy_cleanup(h);
}

// Every CURLINFO takes a pointer to where the value goes.
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	const Curl *c = curl();
	if (c == nullptr)
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	const CURLcode rc = c->easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *curl_easy_strerror(CURLcode code)
{
	const Curl *c = curl();
	return c ? c->easy_strerror(code) : "libcurl.so.4 cannot be loaded";
}

void curl_free(void *p)
{
	if (const Curl *c = curl())
		c->free(p);
}

CURLU *curl_url(void)
{
	const Curl *c = curl();
	return c ? c->url() : nullptr;
}

void curl_url_cleanup(CURLU *u)
{
	if (const Curl *c = curl())
		c->url_cleanup(u);
}

CURLUcode curl_url_get(CURLU *u, CURLUPart what, char **part,
		       unsigned int flags)
{
	const Curl *c = curl();
	return c ? c->url_get(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part,
		       unsigned int flags)
{
	const Curl *c = curl();
	return c ? c->url_set(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

} // extern "C"
