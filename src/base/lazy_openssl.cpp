// SPDX-License-Identifier: Apache-2.0
// The OpenSSL functions vAccel calls (TLS in transport/tls.cpp, SHA-256 in
// transport/content_hash.cpp), loaded on first use instead of at program
// start. libcrypto is the largest library the agent linked, and mapping and
// relocating it and libssl at start was the biggest part of a fresh agent's
// start to ready, although only TLS listeners and model digests need them.
// The rpc plugin links this too, so client programs skip it as well.
//
// Each function below has OpenSSL's own name and prototype (the headers
// declare them; the definitions here replace the libraries at link time)
// and finds the real one on its first call. This file is compiled with
// hidden visibility: the definitions never leave the program or plugin
// they are linked into, so nothing else that loads OpenSSL can bind to them.
//
// TlsContext checks openssl_load_error() before its first OpenSSL call, so
// a machine without the libraries gets an error naming them. A digest has
// no error to return; without libcrypto it stops the process with that
// message, as the dynamic loader stopped it at start before.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "lazy_openssl.h"

#include "lazy_symbol.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace
{

struct Libs {
	void *crypto = nullptr;
	void *ssl = nullptr;
	std::string error;
};

const Libs &libs()
{
	// Never closed: OpenSSL keeps global state for the process's life.
	static const Libs l = [] {
		Libs r;
		r.crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
		if (r.crypto != nullptr)
			r.ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
		if (r.ssl == nullptr) {
			const char *why = dlerror();
			r.error = why != nullptr ? why : "cannot load OpenSSL";
		}
		return r;
	}();
	return l;
}

template <class F> F resolve(void *lib, const char *name)
{
	F f = nullptr;
	if (lib == nullptr || !vaccel::base::find_symbol(lib, name, &f)) {
		std::fprintf(
		    stderr, "vaccel: OpenSSL's %s is not available%s%s\n", name,
		    libs().error.empty() ? "" : ": ", libs().error.c_str());
		std::abort();
	}
	return f;
}

} // namespace

// Defines @p name with OpenSSL's prototype: @p params as declared, @p args
// the same names in parentheses, found in @p lib (crypto or ssl).
#define VACCEL_LAZY(lib, name, params, args)                                   \
	extern "C" auto name params->decltype(name args)                       \
	{                                                                      \
		static const auto real =                                       \
		    resolve<decltype(&name)>(libs().lib, #name);               \
		return real args;                                              \
	}

VACCEL_LAZY(crypto, ASN1_STRING_to_UTF8,
	    (unsigned char **out, const ASN1_STRING *in), (out, in))
VACCEL_LAZY(crypto, BIO_clear_flags, (BIO * b, int flags), (b, flags))
VACCEL_LAZY(crypto, BIO_get_data, (BIO * b), (b))
VACCEL_LAZY(crypto, BIO_get_new_index, (), ())
VACCEL_LAZY(crypto, BIO_meth_free, (BIO_METHOD * m), (m))
VACCEL_LAZY(crypto, BIO_meth_new, (int type, const char *name), (type, name))
VACCEL_LAZY(crypto, BIO_meth_set_ctrl,
	    (BIO_METHOD * m, long (*ctrl)(BIO *, int, long, void *)), (m, ctrl))
VACCEL_LAZY(crypto, BIO_meth_set_read,
	    (BIO_METHOD * m, int (*read)(BIO *, char *, int)), (m, read))
VACCEL_LAZY(crypto, BIO_meth_set_write,
	    (BIO_METHOD * m, int (*write)(BIO *, const char *, int)),
	    (m, write))
VACCEL_LAZY(crypto, BIO_new, (const BIO_METHOD *type), (type))
VACCEL_LAZY(crypto, BIO_set_data, (BIO * b, void *ptr), (b, ptr))
VACCEL_LAZY(crypto, BIO_set_flags, (BIO * b, int flags), (b, flags))
VACCEL_LAZY(crypto, BIO_set_init, (BIO * b, int init), (b, init))
VACCEL_LAZY(crypto, BIO_test_flags, (const BIO *b, int flags), (b, flags))
VACCEL_LAZY(crypto, CRYPTO_free, (void *ptr, const char *file, int line),
	    (ptr, file, line))
VACCEL_LAZY(crypto, ERR_clear_error, (), ())
VACCEL_LAZY(crypto, ERR_get_error, (), ())
VACCEL_LAZY(crypto, ERR_peek_error, (), ())
VACCEL_LAZY(crypto, ERR_reason_error_string, (unsigned long e), (e))
VACCEL_LAZY(crypto, SHA256,
	    (const unsigned char *d, size_t n, unsigned char *md), (d, n, md))
VACCEL_LAZY(crypto, SHA256_Final, (unsigned char *md, SHA256_CTX *c), (md, c))
VACCEL_LAZY(crypto, SHA256_Init, (SHA256_CTX * c), (c))
VACCEL_LAZY(crypto, SHA256_Update,
	    (SHA256_CTX * c, const void *data, size_t len), (c, data, len))
VACCEL_LAZY(crypto, X509_NAME_ENTRY_get_data, (const X509_NAME_ENTRY *ne), (ne))
VACCEL_LAZY(crypto, X509_NAME_get_entry, (const X509_NAME *name, int loc),
	    (name, loc))
VACCEL_LAZY(crypto, X509_NAME_get_index_by_NID,
	    (const X509_NAME *name, int nid, int lastpos), (name, nid, lastpos))
VACCEL_LAZY(crypto, X509_VERIFY_PARAM_set1_ip_asc,
	    (X509_VERIFY_PARAM * param, const char *ipasc), (param, ipasc))
VACCEL_LAZY(crypto, X509_get_subject_name, (const X509 *a), (a))
VACCEL_LAZY(crypto, X509_verify_cert_error_string, (long n), (n))

VACCEL_LAZY(ssl, SSL_CTX_check_private_key, (const SSL_CTX *ctx), (ctx))
VACCEL_LAZY(ssl, SSL_CTX_ctrl, (SSL_CTX * ctx, int cmd, long larg, void *parg),
	    (ctx, cmd, larg, parg))
VACCEL_LAZY(ssl, SSL_CTX_free, (SSL_CTX * ctx), (ctx))
VACCEL_LAZY(ssl, SSL_CTX_load_verify_locations,
	    (SSL_CTX * ctx, const char *file, const char *path),
	    (ctx, file, path))
VACCEL_LAZY(ssl, SSL_CTX_new, (const SSL_METHOD *meth), (meth))
VACCEL_LAZY(ssl, SSL_CTX_set_client_CA_list,
	    (SSL_CTX * ctx, STACK_OF(X509_NAME) * names), (ctx, names))
VACCEL_LAZY(ssl, SSL_CTX_set_default_verify_paths, (SSL_CTX * ctx), (ctx))
VACCEL_LAZY(ssl, SSL_CTX_set_num_tickets, (SSL_CTX * ctx, size_t n), (ctx, n))
VACCEL_LAZY(ssl, SSL_CTX_set_options, (SSL_CTX * ctx, uint64_t op), (ctx, op))
VACCEL_LAZY(ssl, SSL_CTX_set_verify,
	    (SSL_CTX * ctx, int mode, SSL_verify_cb cb), (ctx, mode, cb))
VACCEL_LAZY(ssl, SSL_CTX_use_PrivateKey_file,
	    (SSL_CTX * ctx, const char *file, int type), (ctx, file, type))
VACCEL_LAZY(ssl, SSL_CTX_use_certificate_chain_file,
	    (SSL_CTX * ctx, const char *file), (ctx, file))
VACCEL_LAZY(ssl, SSL_ctrl, (SSL * s, int cmd, long larg, void *parg),
	    (s, cmd, larg, parg))
VACCEL_LAZY(ssl, SSL_do_handshake, (SSL * s), (s))
VACCEL_LAZY(ssl, SSL_free, (SSL * s), (s))
VACCEL_LAZY(ssl, SSL_get0_param, (SSL * s), (s))
VACCEL_LAZY(ssl, SSL_get0_peer_certificate, (const SSL *s), (s))
VACCEL_LAZY(ssl, SSL_get_error, (const SSL *s, int ret), (s, ret))
VACCEL_LAZY(ssl, SSL_get_verify_result, (const SSL *s), (s))
VACCEL_LAZY(ssl, SSL_has_pending, (const SSL *s), (s))
VACCEL_LAZY(ssl, SSL_load_client_CA_file, (const char *file), (file))
VACCEL_LAZY(ssl, SSL_new, (SSL_CTX * ctx), (ctx))
VACCEL_LAZY(ssl, SSL_read_ex, (SSL * s, void *buf, size_t num, size_t *n),
	    (s, buf, num, n))
VACCEL_LAZY(ssl, SSL_set1_host, (SSL * s, const char *host), (s, host))
VACCEL_LAZY(ssl, SSL_set_accept_state, (SSL * s), (s))
VACCEL_LAZY(ssl, SSL_set_bio, (SSL * s, BIO *rbio, BIO *wbio), (s, rbio, wbio))
VACCEL_LAZY(ssl, SSL_set_connect_state, (SSL * s), (s))
VACCEL_LAZY(ssl, SSL_set_hostflags, (SSL * s, unsigned int flags), (s, flags))
VACCEL_LAZY(ssl, SSL_write_ex,
	    (SSL * s, const void *buf, size_t num, size_t *n), (s, buf, num, n))
VACCEL_LAZY(ssl, TLS_client_method, (), ())
VACCEL_LAZY(ssl, TLS_server_method, (), ())

const std::string &vaccel::base::openssl_load_error()
{
	return libs().error;
}
