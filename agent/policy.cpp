// SPDX-License-Identifier: Apache-2.0
// The policy file (TOML) and its effective form. Parsing is strict: an
// unknown key or a value of the wrong type is an error, because a typo in a
// security setting must not silently leave the default in place.
#include "policy.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace vaccel::agent
{

using core::Result;
using core::Status;

namespace
{

constexpr std::array<std::string_view, static_cast<size_t>(OpClass::Count)>
    kClassNames = {"noop",   "image", "blas",   "exec",   "torch", "tf",
		   "tflite", "fpga",  "minmax", "opencv", "stats"};
// Every class named (an initializer list shorter than the array compiles).
static_assert(!kClassNames.back().empty());

} // namespace

bool parse_id(std::string_view text, uint32_t *out) noexcept
{
	uint64_t v = 0;
	auto [end, ec] =
	    std::from_chars(text.data(), text.data() + text.size(), v);
	if (text.empty() || ec != std::errc() ||
	    end != text.data() + text.size() || v > UINT32_MAX)
		return false;
	*out = static_cast<uint32_t>(v);
	return true;
}

std::string_view op_class_name(OpClass c) noexcept
{
	const auto i = static_cast<size_t>(c);
	return i < kClassNames.size() ? kClassNames[i] : "unknown";
}

std::optional<OpClass> op_class_from_name(std::string_view name) noexcept
{
	for (size_t i = 0; i < kClassNames.size(); ++i)
		if (kClassNames[i] == name)
			return static_cast<OpClass>(i);
	return std::nullopt;
}

OpClass op_class_of(vaccel_op_type_t op) noexcept
{
	switch (op) {
	case VACCEL_OP_NOOP:
		return OpClass::Noop;
	case VACCEL_OP_EXEC:
	case VACCEL_OP_EXEC_WITH_RESOURCE:
		return OpClass::Exec;
	case VACCEL_OP_IMAGE_CLASSIFY:
	case VACCEL_OP_IMAGE_DETECT:
	case VACCEL_OP_IMAGE_SEGMENT:
	case VACCEL_OP_IMAGE_POSE:
	case VACCEL_OP_IMAGE_DEPTH:
		return OpClass::Image;
	case VACCEL_OP_TF_MODEL_LOAD:
	case VACCEL_OP_TF_MODEL_UNLOAD:
	case VACCEL_OP_TF_MODEL_RUN:
		return OpClass::Tf;
	case VACCEL_OP_TFLITE_MODEL_LOAD:
	case VACCEL_OP_TFLITE_MODEL_UNLOAD:
	case VACCEL_OP_TFLITE_MODEL_RUN:
		return OpClass::Tflite;
	case VACCEL_OP_TORCH_MODEL_LOAD:
	case VACCEL_OP_TORCH_MODEL_RUN:
	case VACCEL_OP_TORCH_SGEMM:
		return OpClass::Torch;
	case VACCEL_OP_BLAS_SGEMM:
		return OpClass::Blas;
	case VACCEL_OP_FPGA_ARRAYCOPY:
	case VACCEL_OP_FPGA_MMULT:
	case VACCEL_OP_FPGA_PARALLEL:
	case VACCEL_OP_FPGA_VECTORADD:
		return OpClass::Fpga;
	case VACCEL_OP_MINMAX:
		return OpClass::Minmax;
	case VACCEL_OP_OPENCV:
	default:
		return OpClass::Opencv;
	}
}

const ExecRule *TenantPolicy::exec_rule(std::string_view library,
					std::string_view symbol) const
{
	for (const auto &r : exec)
		if ((r.library == "*" || r.library == library) &&
		    (r.symbol == "*" || r.symbol == symbol))
			return &r;
	return nullptr;
}

bool TenantPolicy::exec_names(std::string_view library) const
{
	return std::any_of(exec.begin(), exec.end(), [&](const ExecRule &r) {
		return r.library == "*" || r.library == library;
	});
}

const TenantPolicy &Policy::tenant(std::string_view name) const
{
	auto it = tenants.find(std::string(name));
	return it == tenants.end() ? defaults : it->second;
}

std::string Policy::accelerator_capped() const
{
	if (defaults.quotas.accelerator_bytes != 0)
		return "default";
	for (const auto &[name, t] : tenants)
		if (t.quotas.accelerator_bytes != 0)
			return "tenant." + name;
	return {};
}

// ---- parsing
// -------------------------------------------------------------------

namespace
{

// Reads the keys of one table, refusing any it does not consume.
class Reader
{
public:
	Reader(const toml::table &t, std::string where, std::string origin)
	    : t_(t), where_(std::move(where)), origin_(std::move(origin))
	{
	}

	Status finish() const
	{
		if (!bad_.is_ok())
			return bad_;
		for (const auto &[k, v] : t_)
			if (!seen_.contains(std::string(k.str())))
				return error(std::string(k.str()),
					     "unknown key");
		return Status::ok();
	}

	template <class T> Status number(const char *key, T *out)
	{
		const toml::node *n = take(key);
		if (n == nullptr)
			return Status::ok();
		auto v = n->value<int64_t>();
		if (!v || *v < 0 ||
		    static_cast<uint64_t>(*v) >
			static_cast<uint64_t>(std::numeric_limits<T>::max()))
			return error(key, "must be a non-negative integer "
					  "within range");
		*out = static_cast<T>(*v);
		return Status::ok();
	}

	Status boolean(const char *key, bool *out)
	{
		const toml::node *n = take(key);
		if (n == nullptr)
			return Status::ok();
		auto v = n->value<bool>();
		if (!v)
			return error(key, "must be true or false");
		*out = *v;
		return Status::ok();
	}

	Status strings(const char *key, std::vector<std::string> *out)
	{
		const toml::node *n = take(key);
		if (n == nullptr)
			return Status::ok();
		const auto *arr = n->as_array();
		if (arr == nullptr)
			return error(key, "must be an array of strings");
		out->clear();
		for (const auto &e : *arr) {
			auto s = e.value<std::string>();
			if (!s)
				return error(key,
					     "must be an array of strings");
			out->push_back(*s);
		}
		return Status::ok();
	}

	template <class T> Status integers(const char *key, std::vector<T> *out)
	{
		const toml::node *n = take(key);
		if (n == nullptr)
			return Status::ok();
		const auto *arr = n->as_array();
		if (arr == nullptr)
			return error(key, "must be an array of integers");
		out->clear();
		for (const auto &e : *arr) {
			auto v = e.value<int64_t>();
			if (!v || *v < 0 ||
			    static_cast<uint64_t>(*v) >
				std::numeric_limits<T>::max())
				return error(key, "must be an array of "
						  "non-negative integers");
			out->push_back(static_cast<T>(*v));
		}
		return Status::ok();
	}

	// The table under @p key; null when absent, and when it is not a
	// table (finish() then reports it: a mistyped table must not leave
	// the defaults silently in place).
	const toml::table *table(const char *key)
	{
		const toml::node *n = take(key);
		if (n != nullptr && n->as_table() == nullptr && bad_.is_ok())
			bad_ = error(key, "must be a table");
		return n == nullptr ? nullptr : n->as_table();
	}
	const toml::node *take(const char *key)
	{
		seen_.insert(key);
		return t_.get(key);
	}
	[[nodiscard]] Status error(std::string_view key,
				   std::string_view what) const
	{
		return Status::error(
		    VACCEL_EINVAL, "%s: %s.%.*s: %.*s", origin_.c_str(),
		    where_.c_str(), static_cast<int>(key.size()), key.data(),
		    static_cast<int>(what.size()), what.data());
	}

private:
	const toml::table &t_;
	std::string where_;
	std::string origin_;
	Status bad_;
	std::set<std::string> seen_;
};

bool is_sha256_ref(std::string_view lib)
{
	if (lib.rfind("sha256:", 0) != 0 || lib.size() != 7 + 64)
		return false;
	return std::all_of(lib.begin() + 7, lib.end(), [](char c) {
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
	});
}

Status parse_exec(Reader &r, std::vector<ExecRule> *out)
{
	const toml::node *n = r.take("exec");
	if (n == nullptr)
		return Status::ok();
	const auto *arr = n->as_array();
	if (arr == nullptr)
		return r.error("exec", "must be an array of {library, symbol} "
				       "tables");
	out->clear();
	for (const auto &e : *arr) {
		const auto *t = e.as_table();
		auto lib =
		    t ? (*t)["library"].value<std::string>() : std::nullopt;
		auto sym =
		    t ? (*t)["symbol"].value<std::string>() : std::nullopt;
		if (!lib || !sym || t->size() != 2)
			return r.error("exec", "each entry must be { library = "
					       "\"...\", symbol = \"...\" }");
		if (*lib != "*" && !is_sha256_ref(*lib) &&
		    (lib->empty() || (*lib)[0] != '/'))
			return r.error("exec",
				       "library must be an absolute path, "
				       "\"sha256:\" and 64 lower-case hex "
				       "digits, or \"*\"");
		if (sym->empty())
			return r.error("exec", "symbol must not be empty");
		out->push_back({*lib, *sym});
	}
	return Status::ok();
}

Status parse_ops(Reader &r, OpClassSet *out)
{
	std::vector<std::string> names;
	const bool given = r.take("ops") != nullptr;
	if (!given)
		return Status::ok();
	VACCEL_RETURN_IF_ERROR(r.strings("ops", &names));
	out->reset();
	for (const auto &n : names) {
		if (n == "all") {
			out->set();
			continue;
		}
		auto c = op_class_from_name(n);
		if (!c)
			return r.error("ops",
				       "unknown op class \"" + n +
					   "\" (noop, image, blas, exec, "
					   "torch, tf, tflite, fpga, "
					   "minmax, opencv, stats, all)");
		out->set(static_cast<size_t>(*c));
	}
	return Status::ok();
}

Status parse_url(const toml::table &t, const std::string &where,
		 const std::string &origin, UrlPolicy *u)
{
	Reader r(t, where, origin);
	uint64_t timeout_ms = static_cast<uint64_t>(u->timeout.count());
	VACCEL_RETURN_IF_ERROR(r.boolean("enabled", &u->enabled));
	VACCEL_RETURN_IF_ERROR(r.strings("schemes", &u->schemes));
	VACCEL_RETURN_IF_ERROR(r.strings("hosts", &u->hosts));
	VACCEL_RETURN_IF_ERROR(r.boolean("allow_private", &u->allow_private));
	VACCEL_RETURN_IF_ERROR(r.number("max_bytes", &u->max_bytes));
	VACCEL_RETURN_IF_ERROR(r.number("timeout_ms", &timeout_ms));
	VACCEL_RETURN_IF_ERROR(r.number("max_concurrent", &u->max_concurrent));
	for (const auto &s : u->schemes)
		if (s != "http" && s != "https")
			return r.error("schemes",
				       "only \"http\" and \"https\"");
	for (auto &h : u->hosts)
		std::transform(h.begin(), h.end(), h.begin(), [](char c) {
			return static_cast<char>(
			    std::tolower(static_cast<unsigned char>(c)));
		});
	if (timeout_ms == 0 || timeout_ms > 600000)
		return r.error("timeout_ms", "must be 1..600000");
	u->timeout = std::chrono::milliseconds(timeout_ms);
	return r.finish();
}

// [agent] public_models: SHA-256 digests (model_cache.h), 64 hex digits
// each, kept in lower case as the cache compares them.
Status parse_digests(Reader &r, const char *key, std::set<std::string> *out)
{
	std::vector<std::string> v;
	VACCEL_RETURN_IF_ERROR(r.strings(key, &v));
	for (auto &d : v) {
		std::transform(d.begin(), d.end(), d.begin(), [](char c) {
			return static_cast<char>(
			    std::tolower(static_cast<unsigned char>(c)));
		});
		if (d.size() != 64 || d.find_first_not_of("0123456789abcdef") !=
					  std::string::npos)
			return r.error(key, "a digest must be 64 hex digits "
					    "(SHA-256, as `vaccel-agent "
					    "--digest FILES` prints it)");
		out->insert(std::move(d));
	}
	return Status::ok();
}

Status parse_quotas(const toml::table &t, const std::string &where,
		    const std::string &origin, Quotas *q)
{
	Reader r(t, where, origin);
	VACCEL_RETURN_IF_ERROR(r.number("connections", &q->connections));
	VACCEL_RETURN_IF_ERROR(r.number("sessions", &q->sessions));
	VACCEL_RETURN_IF_ERROR(r.number("resources", &q->resources));
	VACCEL_RETURN_IF_ERROR(r.number("disk_bytes", &q->disk_bytes));
	VACCEL_RETURN_IF_ERROR(r.number("buffered_bytes", &q->buffered_bytes));
	VACCEL_RETURN_IF_ERROR(
	    r.number("concurrent_calls", &q->concurrent_calls));
	VACCEL_RETURN_IF_ERROR(
	    r.number("accelerator_bytes", &q->accelerator_bytes));
	VACCEL_RETURN_IF_ERROR(
	    r.number("model_cache_bytes", &q->model_cache_bytes));
	return r.finish();
}

Status parse_tenant(const toml::table &t, const std::string &where,
		    const std::string &origin, TenantPolicy *p)
{
	Reader r(t, where, origin);
	VACCEL_RETURN_IF_ERROR(parse_ops(r, &p->ops));
	VACCEL_RETURN_IF_ERROR(parse_exec(r, &p->exec));
	if (const auto *u = r.table("url"))
		VACCEL_RETURN_IF_ERROR(
		    parse_url(*u, where + ".url", origin, &p->url));
	if (const auto *q = r.table("quotas"))
		VACCEL_RETURN_IF_ERROR(
		    parse_quotas(*q, where + ".quotas", origin, &p->quotas));
	return r.finish();
}

Status parse_identity(const toml::table &t, const std::string &origin,
		      IdentityPolicy *id)
{
	Reader r(t, "identity", origin);
	VACCEL_RETURN_IF_ERROR(r.integers("allow_uids", &id->allow_uids));
	VACCEL_RETURN_IF_ERROR(r.integers("allow_gids", &id->allow_gids));
	if (const auto *m = r.table("uid_tenants")) {
		for (const auto &[k, v] : *m) {
			uint32_t uid = 0;
			const std::string key(k.str());
			auto name = v.value<std::string>();
			if (!parse_id(key, &uid) || !name || name->empty())
				return r.error("uid_tenants",
					       "entries must be \"<uid>\" = "
					       "\"<tenant>\" with a uid below "
					       "2^32");
			id->uid_tenants[uid] = *name;
		}
	}
	if (const auto *m = r.table("tls_tenants")) {
		for (const auto &[k, v] : *m) {
			auto name = v.value<std::string>();
			if (k.str().empty() || !name || name->empty())
				return r.error("tls_tenants",
					       "entries must be \"<certificate "
					       "common name>\" = \"<tenant>\"");
			id->tls_tenants[std::string(k.str())] = *name;
		}
	}
	return r.finish();
}

// The TOML document, or an error naming @p where and the line.
Result<toml::table> parse_toml(std::string_view text, const std::string &where)
{
	try {
		return toml::parse(text, where);
	} catch (const toml::parse_error &e) {
		std::ostringstream os;
		os << e.description() << " (line " << e.source().begin.line
		   << ")";
		return Status::error(VACCEL_EINVAL, "%s: %s", where.c_str(),
				     os.str().c_str());
	}
}

} // namespace

Result<Policy> parse_policy(std::string_view text, std::string_view origin)
{
	const std::string where(origin);
	auto parsed = parse_toml(text, where);
	if (!parsed)
		return parsed.status();
	const toml::table &doc = parsed.value();
	Policy p;
	p.origin = where;
	Reader top(doc, "policy", where);
	if (const auto *a = top.table("agent")) {
		Reader r(*a, "agent", where);
		VACCEL_RETURN_IF_ERROR(
		    r.number("max_connections", &p.max_connections));
		VACCEL_RETURN_IF_ERROR(
		    r.number("model_cache_bytes", &p.model_cache_bytes));
		VACCEL_RETURN_IF_ERROR(
		    parse_digests(r, "public_models", &p.public_models));
		VACCEL_RETURN_IF_ERROR(r.finish());
	}
	if (const auto *d = top.table("default"))
		VACCEL_RETURN_IF_ERROR(
		    parse_tenant(*d, "default", where, &p.defaults));
	if (const auto *id = top.table("identity"))
		VACCEL_RETURN_IF_ERROR(parse_identity(*id, where, &p.identity));
	if (const auto *ts = top.table("tenant")) {
		for (const auto &[k, v] : *ts) {
			const std::string name(k.str());
			const auto *t = v.as_table();
			if (t == nullptr || name.empty())
				return top.error("tenant." + name,
						 "must be a table");
			TenantPolicy tp = p.defaults; // inherits [default]
			VACCEL_RETURN_IF_ERROR(
			    parse_tenant(*t, "tenant." + name, where, &tp));
			p.tenants.emplace(name, std::move(tp));
		}
	}
	VACCEL_RETURN_IF_ERROR(top.finish());
	return p;
}

Result<Policy> load_policy(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		return Status::error(
		    VACCEL_ENOENT, "cannot read policy file %s", path.c_str());
	std::stringstream ss;
	ss << in.rdbuf();
	return parse_policy(ss.str(), path);
}

// ---- describe
// ------------------------------------------------------------------

namespace
{

std::string quoted(const std::string &s)
{
	std::string out = "\"";
	for (char c : s) {
		if (c == '"' || c == '\\')
			out += '\\';
		out += c;
	}
	return out + "\"";
}

template <class C> std::string list(const C &v)
{
	std::string out = "[";
	for (const auto &x : v) {
		if (out.size() > 1)
			out += ", ";
		if constexpr (std::is_same_v<std::decay_t<decltype(x)>,
					     std::string>)
			out += quoted(x);
		else
			out += std::to_string(x);
	}
	return out + "]";
}

void describe_tenant(std::ostream &os, const std::string &where,
		     const TenantPolicy &t)
{
	std::vector<std::string> ops;
	for (size_t i = 0; i < t.ops.size(); ++i)
		if (t.ops.test(i))
			ops.emplace_back(
			    op_class_name(static_cast<OpClass>(i)));
	os << "\n[" << where << "]\nops = " << list(ops) << "\nexec = [";
	for (size_t i = 0; i < t.exec.size(); ++i)
		os << (i > 0 ? ", " : "")
		   << "{ library = " << quoted(t.exec[i].library)
		   << ", symbol = " << quoted(t.exec[i].symbol) << " }";
	os << "]\n";
	const auto &u = t.url;
	os << "\n[" << where
	   << ".url]\nenabled = " << (u.enabled ? "true" : "false")
	   << "\nschemes = " << list(u.schemes) << "\nhosts = " << list(u.hosts)
	   << "\nallow_private = " << (u.allow_private ? "true" : "false")
	   << "\nmax_bytes = " << u.max_bytes
	   << "\ntimeout_ms = " << u.timeout.count()
	   << "\nmax_concurrent = " << u.max_concurrent << "\n";
	const auto &q = t.quotas;
	os << "\n[" << where << ".quotas]\nconnections = " << q.connections
	   << "\nsessions = " << q.sessions << "\nresources = " << q.resources
	   << "\ndisk_bytes = " << q.disk_bytes
	   << "\nbuffered_bytes = " << q.buffered_bytes
	   << "\nconcurrent_calls = " << q.concurrent_calls
	   << "\naccelerator_bytes = " << q.accelerator_bytes
	   << "\nmodel_cache_bytes = " << q.model_cache_bytes << "\n";
}

} // namespace

std::string describe_tenant_policy(const TenantPolicy &t)
{
	std::ostringstream os;
	describe_tenant(os, "tenant", t);
	return os.str();
}

Result<TenantPolicy> parse_tenant_policy(std::string_view text,
					 const TenantPolicy &base,
					 std::string_view origin)
{
	const std::string where(origin);
	auto parsed = parse_toml(text, where);
	if (!parsed)
		return parsed.status();
	const toml::table &doc = parsed.value();
	TenantPolicy tp = base;
	VACCEL_RETURN_IF_ERROR(parse_tenant(doc, "tenant", where, &tp));
	return tp;
}

std::string describe(const Policy &p)
{
	std::ostringstream os;
	os << "# effective policy (from " << p.origin << ")\n[agent]\n"
	   << "max_connections = " << p.max_connections
	   << "\nmodel_cache_bytes = " << p.model_cache_bytes
	   << "\npublic_models = " << list(p.public_models)
	   << "\n\n[identity]\n"
	   << "allow_uids = " << list(p.identity.allow_uids) << "\n"
	   << "allow_gids = " << list(p.identity.allow_gids) << "\n";
	os << "\n[identity.uid_tenants]\n";
	for (const auto &[uid, name] : p.identity.uid_tenants)
		os << quoted(std::to_string(uid)) << " = " << quoted(name)
		   << "\n";
	os << "\n[identity.tls_tenants]\n";
	for (const auto &[cn, name] : p.identity.tls_tenants)
		os << quoted(cn) << " = " << quoted(name) << "\n";
	describe_tenant(os, "default", p.defaults);
	for (const auto &[name, t] : p.tenants)
		describe_tenant(os, "tenant." + quoted(name), t);
	return os.str();
}

} // namespace vaccel::agent
