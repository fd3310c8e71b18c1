// SPDX-License-Identifier: Apache-2.0
// Shared by the agent fuzz targets: the runtime with only the noop plugin
// (never the exec plugin: it would dlopen() fuzzer-chosen paths), the two
// policies every target runs under (the default one, and a permissive one
// that allows every op, exec included: with the noop plugin exec runs
// nothing), sealed memfds for MapRegion, and the leak checks that follow
// each input.
#pragma once

#include "audit.h"
#include "service.h"
#include "shm.h"

#include "transport/transport.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <vaccel.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace fuzz
{

namespace agent = vaccel::agent;
namespace tr = vaccel::transport;

// Aborts with a message: libFuzzer saves the input as a crash.
[[noreturn]] inline void fail(const char *what)
{
	std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
	std::abort();
}

inline void bootstrap_noop()
{
	tr::silence_protobuf_logging();
	// libvaccel bootstraps itself when loaded: again, with noop only.
	if (vaccel_cleanup() != VACCEL_OK)
		fail("vaccel_cleanup");
	struct vaccel_config cfg {
	};
	// Refusals are the point: their log lines only cost time.
	if (vaccel_config_init(&cfg, FUZZ_NOOP_PLUGIN, VACCEL_LOG_ERROR,
			       "/dev/null", false, false) != VACCEL_OK)
		fail("vaccel_config_init");
	static std::FILE *null = std::fopen("/dev/null", "w");
	agent::audit::set_sink(null); // the audit lines of refusals, too
	const int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	if (rc != VACCEL_OK || vaccel_plugin_count() != 1)
		fail("bootstrap with the noop plugin");
}

// Every op, exec of anything ("*"); URL downloads stay off.
inline agent::Policy permissive_policy()
{
	agent::Policy p;
	p.defaults.ops.set();
	p.defaults.exec = {{"*", "*"}};
	p.origin = "fuzz: permissive";
	return p;
}

inline agent::Policy pick_policy(FuzzedDataProvider &in)
{
	return in.ConsumeBool() ? permissive_policy() : agent::Policy{};
}

// A memfd of @p size bytes; @p seal: sealed against shrinking, as MapRegion
// requires (unsealed ones must be refused).
inline tr::UniqueFd memfd(size_t size, bool seal)
{
	const int fd =
	    ::memfd_create("fuzz-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		fail("memfd_create");
	tr::UniqueFd out(fd);
	if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
		fail("ftruncate");
	if (seal && ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0)
		fail("F_ADD_SEALS");
	return out;
}

// Descriptors to send with a MapRegion: usually one sealed memfd of
// @p size bytes, sometimes none, two, an unsealed one or a pipe.
inline std::vector<tr::UniqueFd> region_fds(FuzzedDataProvider &in, size_t size)
{
	std::vector<tr::UniqueFd> fds;
	switch (in.ConsumeIntegralInRange<int>(0, 7)) {
	case 0:
		break;
	case 1:
		fds.push_back(memfd(size, true));
		fds.push_back(memfd(size, true));
		break;
	case 2:
		fds.push_back(memfd(size, false));
		break;
	case 3: {
		int p[2];
		if (::pipe2(p, O_CLOEXEC) != 0)
			fail("pipe2");
		fds.emplace_back(p[0]);
		::close(p[1]);
		break;
	}
	default:
		fds.push_back(memfd(size, true));
		break;
	}
	return fds;
}

// After every connection closed: nothing of the input is left behind but
// the models the host model cache keeps (on purpose, across connections),
// which emptying the cache releases.
inline void check_released(agent::Service &svc,
			   const std::string &tenant = "local")
{
	svc.model_cache().clear();
	if (vaccel_session_count() != 0)
		fail("sessions left after the connections closed");
	if (vaccel_resource_count() != 0)
		fail("resources left after the connections closed");
	if (svc.buffered() != 0)
		fail("buffer budget not given back");
	if (svc.regions_mapped().load() != 0)
		fail("regions left mapped");
	auto &t = svc.tenants().get(tenant);
	for (auto l : {agent::Limit::Connections, agent::Limit::Sessions,
		       agent::Limit::Resources, agent::Limit::DiskBytes,
		       agent::Limit::BufferedBytes, agent::Limit::Calls,
		       agent::Limit::UrlFetches, agent::Limit::ModelCacheBytes})
		if (t.used(l) != 0)
			fail("a tenant quota not given back");
}

} // namespace fuzz
