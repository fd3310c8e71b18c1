// SPDX-License-Identifier: Apache-2.0
#include "launcher.h"

#include "audit.h"
#include "sandbox_memory.h"
#include "tenant_workers.h"

#include <grp.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <string>
#include <thread>
#include <vector>

namespace vaccel::agent
{

namespace
{

// Where a handed-over listening socket listens, for logs and the reply.
core::Result<transport::Address> bound_address(int fd)
{
	sockaddr_storage ss{};
	socklen_t len = sizeof(ss);
	if (::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0)
		return core::Status::error(VACCEL_EINVAL,
					   "cannot read the socket's address");
	transport::Address a;
	if (ss.ss_family == AF_UNIX) {
		const auto *un = reinterpret_cast<const sockaddr_un *>(&ss);
		const size_t n = len - offsetof(sockaddr_un, sun_path);
		if (n > 0 && un->sun_path[0] == '\0') {
			a.kind = transport::Address::Kind::UnixAbstract;
			a.path.assign(un->sun_path + 1, n - 1);
		} else {
			a.kind = transport::Address::Kind::Unix;
			a.path = un->sun_path;
		}
		return a;
	}
	if (ss.ss_family == AF_VSOCK) {
		const auto *vm = reinterpret_cast<const sockaddr_vm *>(&ss);
		a.kind = transport::Address::Kind::Vsock;
		a.cid = vm->svm_cid;
		a.port = vm->svm_port;
		return a;
	}
	return core::Status::error(VACCEL_EINVAL,
				   "only unix and vsock sockets may be handed "
				   "over");
}

core::Result<int64_t> group_id(const std::string &name)
{
	if (name.empty())
		return int64_t{-1};
	if (uint32_t gid = 0; parse_id(name, &gid))
		return static_cast<int64_t>(gid);
	if (const group *g = ::getgrnam(name.c_str()); g != nullptr)
		return static_cast<int64_t>(g->gr_gid);
	return core::Status::error(VACCEL_EINVAL, "no group '%s'",
				   name.c_str());
}

// A launcher names its tenants freely, but never as one of the names the
// agent derives from transports (uid:N, tls:CN, tcp, vsock, local): a
// sandbox must not be handed another principal's quotas and policy.
RpcStatus check_tenant_name(const std::string &name)
{
	if (name.empty() || name.size() > 255)
		return RpcStatus::invalid("a sandbox needs a tenant name of "
					  "1..255 bytes");
	if (name.find(':') != std::string::npos || name == "tcp" ||
	    name == "vsock" || name == "local")
		return RpcStatus::invalid(
		    "tenant name %s is reserved (names with ':', tcp, vsock "
		    "and local are derived from transports)",
		    name.c_str());
	return RpcStatus::ok();
}

// What a launcher's policy gives a tenant over the host, said loudly (the
// policy file gets the same at start).
void warn_if_dangerous(const std::string &tenant, const TenantPolicy &t)
{
	if (t.allows(OpClass::Exec) && t.exec_names("*"))
		audit::event("policy-warning",
			     "attach." + tenant +
				 ": exec of any library, uploads included");
	if (t.url.enabled && t.url.allow_private)
		audit::event("policy-warning",
			     "attach." + tenant +
				 ": URL downloads may reach internal "
				 "addresses");
}

RpcStatus invalid(const core::Status &st)
{
	return RpcStatus::invalid("%s", st.message().c_str());
}

} // namespace

RpcStatus Launcher::configure(const rpc::ext::AttachRequest &req,
			      std::vector<transport::UniqueFd> &fds,
			      ServerOptions *so)
{
	const size_t want = (req.listen_fd() ? 1 : 0) + (req.shm_fd() ? 1 : 0);
	if (fds.size() != want)
		return RpcStatus::invalid("%zu descriptors came with the "
					  "request, its flags announce %zu",
					  fds.size(), want);
	AGENT_RETURN_IF_ERROR(check_tenant_name(req.tenant()));
	size_t next_fd = 0;
	if (req.listen_fd()) {
		auto a = bound_address(fds[0].get());
		if (!a)
			return invalid(a.status());
		so->address = a.value();
		so->listen_fd = fds[next_fd++].release();
	} else {
		auto a = transport::parse_address(req.address());
		if (!a)
			return invalid(a.status());
		so->address = a.value();
	}
	if (req.shm_fd()) {
		auto memory =
		    SandboxMemory::create(std::move(fds[next_fd]), so->pinner);
		if (!memory)
			return RpcStatus::invalid(
			    "the shared-memory descriptor: %s",
			    memory.status().message().c_str());
		so->sandbox_memory = std::move(memory).value();
	}
	auto gid = group_id(req.socket_group());
	if (!gid)
		return invalid(gid.status());
	so->socket_gid = *gid;
	so->socket_mode = req.socket_mode() != 0 ? req.socket_mode() : 0600;
	if ((so->socket_mode & ~0770U) != 0)
		return RpcStatus::invalid("socket mode %o: at most 0770",
					  so->socket_mode);
	so->tenant = req.tenant();
	return RpcStatus::ok();
}

RpcStatus Launcher::define_policy(const rpc::ext::AttachRequest &req)
{
	if (req.policy().empty())
		return RpcStatus::ok();
	// A tenant's policy never changes once defined (TenantRegistry): a
	// launcher attaching the tenant's next sandbox with the same text
	// needs no parse, and nothing new is said about it.
	{
		std::lock_guard lock(mu_);
		auto it = defined_.find(req.tenant());
		if (it != defined_.end() && it->second == req.policy())
			return RpcStatus::ok();
	}
	TenantRegistry &tenants = service_.tenants();
	const std::string origin = "attach of tenant " + req.tenant();
	auto tp = parse_tenant_policy(req.policy(), tenants.policy().defaults,
				      origin);
	if (!tp)
		return invalid(tp.status());
	if (tp->quotas.accelerator_bytes != 0 && base_.isolate == nullptr)
		return RpcStatus::invalid(
		    "%s: quotas.accelerator_bytes is enforced per "
		    "worker "
		    "process, and this agent runs without "
		    "--isolate-tenants",
		    origin.c_str());
	warn_if_dangerous(req.tenant(), tp.value());
	auto st = tenants.define(req.tenant(), std::move(tp.value()),
				 "attach." + req.tenant());
	if (!st)
		return RpcStatus::invalid("%s", st.message().c_str());
	// Its worker process parses the same text.
	if (base_.isolate != nullptr)
		base_.isolate->define(req.tenant(), req.policy());
	std::lock_guard lock(mu_);
	defined_.insert_or_assign(req.tenant(), req.policy());
	return RpcStatus::ok();
}

RpcStatus Launcher::attach(const rpc::ext::AttachRequest &req,
			   std::vector<transport::UniqueFd> &fds,
			   rpc::ext::AttachResponse *resp)
{
	ServerOptions so = base_;
	so.lazy_threads = true;
	so.acceptors = &acceptors_;
	Sandbox box;
	AGENT_RETURN_IF_ERROR(configure(req, fds, &so));
	const uint64_t shm_size =
	    so.sandbox_memory ? so.sandbox_memory->size() : 0;
	AGENT_RETURN_IF_ERROR(define_policy(req));
	box.tenant = req.tenant();
	box.server = std::make_unique<Server>(service_, so);
	if (auto st = box.server->start(); !st)
		return RpcStatus::invalid("cannot serve %s: %s",
					  req.address().c_str(),
					  st.message().c_str());
	const std::string where = transport::to_string(box.server->address());
	std::lock_guard lock(mu_);
	const uint64_t id = ++next_;
	audit::event(
	    "attach",
	    "sandbox " + std::to_string(id) + " tenant " + req.tenant() +
		" on " + where +
		(req.policy().empty() ? "" : " with its policy") +
		(shm_size == 0
		     ? ""
		     : ", memory of " + std::to_string(shm_size) + " bytes"));
	resp->set_sandbox(id);
	resp->set_address(where);
	resp->set_shm_size(shm_size);
	sandboxes_.emplace(id, std::move(box));
	return RpcStatus::ok();
}

RpcStatus Launcher::detach(uint64_t sandbox)
{
	Sandbox box;
	bool last_of_tenant = true;
	{
		std::lock_guard lock(mu_);
		auto it = sandboxes_.find(sandbox);
		if (it == sandboxes_.end())
			return RpcStatus::not_found(
			    "no sandbox %llu",
			    static_cast<unsigned long long>(sandbox));
		box = std::move(it->second);
		sandboxes_.erase(it);
		for (const auto &[id, other] : sandboxes_)
			last_of_tenant &= other.tenant != box.tenant;
	}
	audit::event("detach", "sandbox " + std::to_string(sandbox) +
				   " tenant " + box.tenant);
	// Stopping waits for the sandbox's running calls: on a thread of its
	// own, so that an op that never returns holds up no launcher's call.
	auto held = std::make_shared<Sandbox>(std::move(box));
	std::lock_guard lock(mu_);
	// Those done earlier go (their handles would pile up otherwise).
	std::erase_if(stoppers_, [](PooledThread &t) {
		if (!t.finished())
			return false;
		t.join();
		return true;
	});
	stoppers_.push_back(
	    ThreadCache::connections().run([this, held, last_of_tenant] {
		    held->server->stop();
		    // With isolation its connections live in the tenant's
		    // worker.
		    if (base_.isolate != nullptr && last_of_tenant)
			    base_.isolate->retire(held->tenant);
	    }));
	return RpcStatus::ok();
}

void Launcher::detach_all()
{
	std::map<uint64_t, Sandbox> all;
	{
		std::lock_guard lock(mu_);
		all.swap(sandboxes_);
	}
	for (auto &[id, box] : all)
		box.server->stop();
	std::vector<PooledThread> stoppers;
	{
		std::lock_guard lock(mu_);
		stoppers.swap(stoppers_);
	}
	for (auto &t : stoppers)
		t.join();
}

size_t Launcher::sandboxes()
{
	std::lock_guard lock(mu_);
	return sandboxes_.size();
}

bool Launcher::quiet()
{
	std::lock_guard lock(mu_);
	for (auto &[id, sb] : sandboxes_)
		if (!sb.server->quiet())
			return false;
	return true;
}

} // namespace vaccel::agent
