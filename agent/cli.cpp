// SPDX-License-Identifier: Apache-2.0
#include "cli.h"

#include "metrics_http.h"

#include "transport/transport.h"

#include <vaccel.h>

#include <algorithm>
#include <charconv>
#include <thread>

namespace vaccel::agent
{

using core::Result;
using core::Status;

namespace
{

template <class T> bool parse_uint(std::string_view s, T *out)
{
	if (s.empty())
		return false;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
	return ec == std::errc() && end == s.data() + s.size();
}

bool parse_bool(std::string_view s, bool *out)
{
	if (s == "true" || s == "1") {
		*out = true;
		return true;
	}
	if (s == "false" || s == "0") {
		*out = false;
		return true;
	}
	return false;
}

// Numbers (upstream) or names for the log level.
bool parse_level(std::string_view s, int *out)
{
	static constexpr std::string_view names[] = {"error", "warn", "info",
						     "debug"};
	for (int i = 0; i < 4; ++i)
		if (s == names[i]) {
			*out = i + 1;
			return true;
		}
	return parse_uint(s, out) && *out >= VACCEL_LOG_ERROR &&
	       *out <= VACCEL_LOG_DEBUG;
}

std::string str(std::string_view s)
{
	return std::string(s);
}

// TLS options come as a set, on a TCP listener, and name the tenant
// themselves (from each client's certificate).
Status check_tls(const Options &o)
{
	const int given = int(!o.tls_cert.empty()) + int(!o.tls_key.empty()) +
			  int(!o.tls_client_ca.empty());
	if (given == 0)
		return Status::ok();
	if (given != 3)
		return Status::error(VACCEL_EINVAL,
				     "TLS needs --tls-cert, --tls-key and "
				     "--tls-client-ca together");
	auto addr = transport::parse_address(o.address);
	if (!addr || addr->kind != transport::Address::Kind::Tcp)
		return Status::error(VACCEL_EINVAL,
				     "--tls-* apply to a tcp:// listener, not "
				     "'%s'",
				     o.address.c_str());
	if (!o.tenant.empty())
		return Status::error(VACCEL_EINVAL,
				     "--tenant with TLS: each client's tenant "
				     "comes from its certificate (policy "
				     "[identity.tls_tenants])");
	return Status::ok();
}

} // namespace

Result<ConfigOverrides> parse_vaccel_config(std::string_view text)
{
	ConfigOverrides o;
	size_t pos = 0;
	while (pos <= text.size()) {
		size_t comma = text.find(',', pos);
		if (comma == std::string_view::npos)
			comma = text.size();
		std::string_view part = text.substr(pos, comma - pos);
		pos = comma + 1;
		size_t eq = part.find('=');
		if (eq == std::string_view::npos)
			return Status::error(VACCEL_EINVAL,
					     "--vaccel-config: '%s' is not "
					     "key=value",
					     str(part).c_str());
		std::string_view key = part.substr(0, eq);
		std::string_view value = part.substr(eq + 1);
		bool b = false;
		if (key == "plugins") {
			o.plugins = str(value);
		} else if (key == "log_file") {
			o.log_file = str(value);
		} else if (key == "log_level") {
			int level = 0;
			if (!parse_level(value, &level))
				return Status::error(
				    VACCEL_EINVAL,
				    "--vaccel-config: log_level '%s' must be "
				    "1-4 or error|warn|info|debug",
				    str(value).c_str());
			o.log_level = level;
		} else if (key == "profiling_enabled" ||
			   key == "version_ignore") {
			if (!parse_bool(value, &b))
				return Status::error(
				    VACCEL_EINVAL,
				    "--vaccel-config: %s '%s' must be true or "
				    "false",
				    str(key).c_str(), str(value).c_str());
			(key == "version_ignore" ? o.version_ignore
						 : o.profiling_enabled) = b;
		} else {
			return Status::error(
			    VACCEL_EINVAL, "--vaccel-config: unknown key '%s'",
			    str(key).c_str());
		}
		if (comma == text.size())
			break;
	}
	return o;
}

std::vector<std::string>
worker_command_line(const std::vector<std::string_view> &args)
{
	static constexpr std::string_view kSecret[] = {
	    "--tls-cert", "--tls-key", "--tls-client-ca",
	    "--sandbox-memory-fd"};
	std::vector<std::string> out;
	for (size_t i = 0; i < args.size(); ++i) {
		const std::string_view a = args[i];
		const std::string_view name = a.substr(0, a.find('='));
		const bool secret =
		    i > 0 && std::find(std::begin(kSecret), std::end(kSecret),
				       name) != std::end(kSecret);
		if (!secret) {
			out.emplace_back(a);
			continue;
		}
		if (name.size() == a.size()) // "--tls-key FILE"
			++i;
	}
	return out;
}

Result<Options> parse_cli(const std::vector<std::string_view> &args)
{
	Options o;
	for (size_t i = 1; i < args.size(); ++i) {
		std::string_view arg = args[i];
		std::string_view name = arg;
		std::optional<std::string_view> inline_value;
		if (arg.rfind("--", 0) == 0) {
			if (size_t eq = arg.find('='); eq != arg.npos) {
				name = arg.substr(0, eq);
				inline_value = arg.substr(eq + 1);
			}
		}
		if (name == "-h" || name == "--help") {
			o.help = true;
			continue;
		}
		if (name == "--no-shm") {
			o.shm = false;
			continue;
		}
		if (name == "--no-pin-shm") {
			o.pin_shm = false;
			continue;
		}
		if (name == "--no-extensions") {
			o.extensions = false;
			continue;
		}
		if (name == "--check-config") {
			o.check_config = true;
			continue;
		}
		if (name == "--allow-abstract") {
			o.allow_abstract = true;
			continue;
		}
		if (name == "--insecure-tcp") {
			o.insecure_tcp = true;
			continue;
		}
		if (name == "--isolate-tenants") {
			o.isolate_tenants = true;
			continue;
		}
		if (name == "--metrics-allow-remote") {
			o.metrics_allow_remote = true;
			continue;
		}
		const bool known =
		    name == "-a" || name == "--server-address" ||
		    name == "--vaccel-config" || name == "--workers" ||
		    name == "--max-frame" || name == "--max-message" ||
		    name == "--max-buffered" || name == "--spin-us" ||
		    name == "--inline-us" || name == "--trace" ||
		    name == "--policy" || name == "--tenant" ||
		    name == "--socket-mode" || name == "--socket-group" ||
		    name == "--audit-log" || name == "--admin-socket" ||
		    name == "--read-timeout-ms" ||
		    name == "--idle-timeout-ms" ||
		    name == "--write-timeout-ms" ||
		    name == "--max-queued-reply" || name == "--tls-cert" ||
		    name == "--tls-key" || name == "--tls-client-ca" ||
		    name == "--tls-handshake-ms" || name == "--worker-fd" ||
		    name == "--worker-tenant" ||
		    name == "--worker-tenant-policy" || name == "--metrics" ||
		    name == "--worker-report-fd" ||
		    name == "--sandbox-memory-fd" || name == "--preload" ||
		    name == "--digest" || name == "--drain-grace";
		if (!known)
			return Status::error(VACCEL_EINVAL,
					     "unknown option '%s'",
					     str(arg).c_str());
		std::string_view value;
		if (inline_value) {
			value = *inline_value;
		} else {
			if (i + 1 >= args.size())
				return Status::error(
				    VACCEL_EINVAL, "option '%s' needs a value",
				    str(name).c_str());
			value = args[++i];
		}

		if (name == "-a" || name == "--server-address") {
			if (auto a = transport::parse_address(value); !a)
				return Status::error(
				    VACCEL_EINVAL, "--server-address '%s': %s",
				    str(value).c_str(),
				    a.status().message().c_str());
			o.address = str(value);
		} else if (name == "--vaccel-config") {
			auto c = parse_vaccel_config(value);
			if (!c)
				return c.status();
			o.vaccel_config = std::move(c.value());
		} else if (name == "--workers") {
			size_t n = 0;
			if (!parse_uint(value, &n) || n < 1 || n > 1024)
				return Status::error(VACCEL_EINVAL,
						     "--workers '%s' must be "
						     "1..1024",
						     str(value).c_str());
			o.workers = n;
		} else if (name == "--policy" || name == "--tenant" ||
			   name == "--socket-group" || name == "--audit-log") {
			if (value.empty())
				return Status::error(VACCEL_EINVAL,
						     "%s needs a value",
						     str(name).c_str());
			(name == "--policy"         ? o.policy
			 : name == "--tenant"       ? o.tenant
			 : name == "--socket-group" ? o.socket_group
						    : o.audit_log) = str(value);
		} else if (name == "--worker-fd" ||
			   name == "--worker-report-fd" ||
			   name == "--sandbox-memory-fd") {
			uint32_t n = 0;
			if (!parse_uint(value, &n) || n > 65535)
				return Status::error(VACCEL_EINVAL, "%s '%s'",
						     str(name).c_str(),
						     str(value).c_str());
			(name == "--worker-fd"          ? o.worker_fd
			 : name == "--worker-report-fd" ? o.worker_report_fd
							: o.sandbox_memory_fd) =
			    static_cast<int>(n);
		} else if (name == "--drain-grace") {
			uint32_t n = 0;
			if (!parse_uint(value, &n) || n > 3600)
				return Status::error(VACCEL_EINVAL,
						     "--drain-grace '%s' must "
						     "be 0..3600 seconds",
						     str(value).c_str());
			o.drain_grace_s = n;
		} else if (name == "--metrics") {
			if (auto a = parse_metrics_address(value); !a)
				return a.status();
			o.metrics = str(value);
		} else if (name == "--preload" || name == "--digest") {
			if (value.empty())
				return Status::error(VACCEL_EINVAL,
						     "%s needs FILE[,FILE...]",
						     str(name).c_str());
			if (name == "--digest")
				o.digest = str(value);
			else
				o.preload.push_back(str(value));
		} else if (name == "--worker-tenant") {
			o.worker_tenant = str(value);
		} else if (name == "--worker-tenant-policy") {
			o.worker_tenant_policy = str(value);
		} else if (name == "--admin-socket") {
			auto a = transport::parse_address(value);
			if (!a || a->kind != transport::Address::Kind::Unix)
				return Status::error(
				    VACCEL_EINVAL,
				    "--admin-socket '%s' must be unix:///path",
				    str(value).c_str());
			o.admin_socket = str(value);
		} else if (name == "--tls-cert" || name == "--tls-key" ||
			   name == "--tls-client-ca") {
			if (value.empty())
				return Status::error(VACCEL_EINVAL,
						     "%s needs a file",
						     str(name).c_str());
			(name == "--tls-cert"  ? o.tls_cert
			 : name == "--tls-key" ? o.tls_key
					       : o.tls_client_ca) = str(value);
		} else if (name == "--tls-handshake-ms") {
			uint32_t n = 0;
			if (!parse_uint(value, &n) || n < 1 || n > 600000)
				return Status::error(VACCEL_EINVAL,
						     "--tls-handshake-ms '%s' "
						     "must be 1..600000",
						     str(value).c_str());
			o.tls_handshake_ms = n;
		} else if (name == "--socket-mode") {
			uint32_t m = 0;
			auto [end, ec] = std::from_chars(
			    value.data(), value.data() + value.size(), m, 8);
			if (value.empty() || ec != std::errc() ||
			    end != value.data() + value.size() || m > 0777 ||
			    (m & 0007) != 0)
				return Status::error(
				    VACCEL_EINVAL,
				    "--socket-mode '%s' must be octal, at most "
				    "0770 (others never get access)",
				    str(value).c_str());
			o.socket_mode = m;
		} else if (name == "--trace") {
			if (value.empty())
				return Status::error(
				    VACCEL_EINVAL, "--trace needs a file name "
						   "('-': standard error)");
			o.trace = str(value);
		} else if (name == "--spin-us" || name == "--inline-us") {
			uint32_t n = 0;
			if (!parse_uint(value, &n) || n > 1000000)
				return Status::error(
				    VACCEL_EINVAL, "%s '%s' must be 0..1000000",
				    str(name).c_str(), str(value).c_str());
			(name == "--spin-us" ? o.spin_us : o.inline_us) = n;
		} else if (name == "--read-timeout-ms" ||
			   name == "--idle-timeout-ms" ||
			   name == "--write-timeout-ms") {
			uint32_t n = 0;
			if (!parse_uint(value, &n) || n > 86400000)
				return Status::error(VACCEL_EINVAL,
						     "%s '%s' must be "
						     "0..86400000 (0: none)",
						     str(name).c_str(),
						     str(value).c_str());
			(name == "--read-timeout-ms"   ? o.read_timeout_ms
			 : name == "--idle-timeout-ms" ? o.idle_timeout_ms
						       : o.write_timeout_ms) =
			    n;
		} else if (name == "--max-queued-reply") {
			uint64_t n = 0;
			if (!parse_uint(value, &n) || n < 65536)
				return Status::error(VACCEL_EINVAL,
						     "--max-queued-reply '%s' "
						     "must be at least 65536 "
						     "bytes",
						     str(value).c_str());
			o.max_queued_reply = n;
		} else if (name == "--max-message" ||
			   name == "--max-buffered") {
			uint64_t n = 0;
			if (!parse_uint(value, &n) || n < (1u << 20))
				return Status::error(VACCEL_EINVAL,
						     "%s '%s' must be at least "
						     "1048576 bytes",
						     str(name).c_str(),
						     str(value).c_str());
			(name == "--max-message" ? o.max_message
						 : o.max_buffered) = n;
		} else {
			uint32_t n = 0;
			if (!parse_uint(value, &n) || n < 1024 ||
			    n > transport::kMaxFrameLimit)
				return Status::error(
				    VACCEL_EINVAL,
				    "--max-frame '%s' must be 1024..%u bytes",
				    str(value).c_str(),
				    transport::kMaxFrameLimit);
			o.max_frame = n;
		}
	}
	VACCEL_RETURN_IF_ERROR(check_tls(o));
	if (o.workers == 0)
		o.workers = std::max(2u, std::thread::hardware_concurrency());
	if (o.max_frame == 0)
		o.max_frame = transport::kDefaultMaxFrame;
	return o;
}

Status apply_vaccel_config(const ConfigOverrides &o)
{
	struct vaccel_config base {
	};
	if (int rc = vaccel_config_init_from_env(&base); rc != VACCEL_OK)
		return Status::error(rc, "cannot read the vAccel configuration "
					 "(VACCEL_CONFIG / VACCEL_*)");
	auto pick = [](const std::optional<std::string> &v, const char *dflt) {
		return v ? v->c_str() : dflt;
	};
	struct vaccel_config cfg {
	};
	int rc = vaccel_config_init(
	    &cfg, pick(o.plugins, base.plugins),
	    o.log_level ? static_cast<vaccel_log_level_t>(*o.log_level)
			: base.log_level,
	    pick(o.log_file, base.log_file),
	    o.profiling_enabled.value_or(base.profiling_enabled),
	    o.version_ignore.value_or(base.version_ignore));
	vaccel_config_release(&base);
	if (rc != VACCEL_OK)
		return Status::error(rc, "invalid vAccel configuration");
	vaccel_cleanup();
	rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	if (rc != VACCEL_OK)
		return Status::error(rc, "vAccel bootstrap failed (%d)", rc);
	return Status::ok();
}

std::string usage(std::string_view prog)
{
	std::string p(prog);
	return "Usage: " + p +
	       " [OPTIONS]\n"
	       "A vAccel RPC agent that serves acceleration requests from "
	       "guests.\n"
	       "\n"
	       "Options:\n"
	       "  -a, --server-address ADDR  listen on ADDR "
	       "(default tcp://127.0.0.1:65500);\n"
	       "                             unix:///path, unix://@name, "
	       "tcp://host:port,\n"
	       "                             vsock://cid:port, "
	       "hvsock:///path:port\n"
	       "      --vaccel-config OPTS   vAccel configuration, "
	       "'key=value,...' with keys\n"
	       "                             plugins, log_level, log_file, "
	       "profiling_enabled,\n"
	       "                             version_ignore (default: "
	       "VACCEL_* environment)\n"
	       "      --workers N            requests run at once "
	       "(default: hardware threads, >= 2)\n"
	       "      --max-frame BYTES      largest ttrpc frame accepted "
	       "or sent (default 4194304)\n"
	       "      --max-message BYTES    largest chunked request or "
	       "reply (default 1 GiB)\n"
	       "      --max-buffered BYTES   memory all large calls "
	       "together may hold (default 2 GiB)\n"
	       "      --no-shm               do not offer the shared-memory "
	       "data plane\n"
	       "      --no-pin-shm           do not page-lock shared-memory "
	       "regions for CUDA\n"
	       "                             copies (by default they are, "
	       "when a backend uses\n"
	       "                             CUDA)\n"
	       "      --spin-us N            an idle worker polls for the "
	       "next request up to N us\n"
	       "                             before sleeping, adapting to "
	       "the gaps between\n"
	       "                             requests (default 2000; 0: "
	       "never)\n"
	       "      --inline-us N          a connection's reader runs a "
	       "request itself, with no\n"
	       "                             hand-off to a worker, when "
	       "the tenant's requests of\n"
	       "                             its kind took less than N us "
	       "lately (default 50;\n"
	       "                             0: every op goes to a "
	       "worker)\n"
	       "      --trace FILE           write each request's timings "
	       "(queued, handler, op,\n"
	       "                             reply) to FILE, one "
	       "tab-separated line each ('-':\n"
	       "                             standard error; written at "
	       "shutdown)\n"
	       "      --read-timeout-ms MS   a frame begun must arrive whole, "
	       "and a streaming\n"
	       "                             call send its next frame, "
	       "within MS (default\n"
	       "                             30000; 0: no deadline)\n"
	       "      --idle-timeout-ms MS   close a connection that owns no "
	       "session and sends\n"
	       "                             nothing for MS (default 60000; "
	       "0: never)\n"
	       "      --write-timeout-ms MS  drop a client that reads none "
	       "of its queued replies\n"
	       "                             for MS (default 30000; 0: "
	       "never)\n"
	       "      --max-queued-reply BYTES  drop a client that lets more "
	       "than BYTES of\n"
	       "                             replies queue up unread "
	       "(default 64 MiB)\n"
	       "      --no-extensions        answer like upstream's agent "
	       "(no chunked calls,\n"
	       "                             no shared memory; for "
	       "interoperability tests)\n"
	       "\n"
	       "Trust boundary (docs/security.md; the defaults are safe):\n"
	       "      --policy FILE          tenant policy (TOML): op classes, "
	       "exec allow-list,\n"
	       "                             URL downloads, quotas, who may "
	       "connect\n"
	       "      --check-config         validate the policy, print the "
	       "effective policy, exit\n"
	       "      --tenant NAME          every connection on this "
	       "listener is tenant NAME\n"
	       "      --socket-mode OCTAL    unix socket file mode (default "
	       "0600, at most 0770)\n"
	       "      --socket-group GROUP   unix socket file group (name or "
	       "gid); its members\n"
	       "                             may also connect\n"
	       "      --allow-abstract       allow an abstract unix socket "
	       "(no file permissions)\n"
	       "      --insecure-tcp         allow plaintext TCP beyond "
	       "loopback (warned)\n"
	       "      --tls-cert FILE        TLS on the tcp:// listener: the "
	       "agent's certificate\n"
	       "      --tls-key FILE         ... its private key\n"
	       "      --tls-client-ca FILE   ... the CA of client "
	       "certificates (required; the\n"
	       "                             certificate's CN names the "
	       "tenant)\n"
	       "      --tls-handshake-ms N   drop a client whose handshake "
	       "takes longer (10000)\n"
	       "      --audit-log FILE       audit lines (JSON) to FILE "
	       "instead of standard error\n"
	       "      --admin-socket ADDR    unix:///path where launchers "
	       "attach sandboxes\n"
	       "                             and the operator drains the "
	       "agent (0600; the\n"
	       "                             agent's user and root only)\n"
	       "      --isolate-tenants      run each tenant's ops in a "
	       "worker process of its\n"
	       "                             own (seccomp-filtered, "
	       "restarted on crash)\n"
	       "      --sandbox-memory-fd FD the memory file (a memfd sealed "
	       "against shrinking)\n"
	       "                             of the VM this agent serves, "
	       "its ivshmem device:\n"
	       "                             offered to the listener's "
	       "connections (vaccel-vm)\n"
	       "\n"
	       "Model cache (docs/serverless.md):\n"
	       "      --preload FILES        load a model (its files, "
	       "comma-separated) into the\n"
	       "                             host model cache at start, "
	       "public to every tenant\n"
	       "                             (repeatable)\n"
	       "      --digest FILES         print the digest clients name "
	       "that model by, and exit\n"
	       "\n"
	       "Observability (docs/observability.md):\n"
	       "      --metrics ADDR         serve /metrics (Prometheus), "
	       "/healthz and /readyz\n"
	       "                             over HTTP on HOST:PORT (a bare "
	       "PORT: 127.0.0.1)\n"
	       "      --metrics-allow-remote allow a --metrics address that "
	       "is not loopback\n"
	       "                             (every tenant's activity shows "
	       "there)\n"
	       "\n"
	       "Stopping (docs/observability.md, \"Draining\"):\n"
	       "      --drain-grace SECONDS  on SIGTERM (or Launcher/Drain), "
	       "refuse new sessions,\n"
	       "                             let clients move and calls "
	       "finish, and exit within\n"
	       "                             SECONDS (default 30; 0: stop at "
	       "once). SIGINT, or a\n"
	       "                             second SIGTERM, stops at once\n"
	       "  -h, --help                 print this help and exit\n";
}

} // namespace vaccel::agent
