// SPDX-License-Identifier: Apache-2.0
// How many times the process image this code runs in has been forked into
// (0 in the process that loaded the plugin). Every call checks that its
// connection belongs to the calling process (a forked child must not talk
// on its parent's stream); comparing this counter costs a load, where
// getpid() is a system call per call.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace vaccel::rpc_plugin
{

namespace detail
{
inline std::atomic<uint64_t> g_fork_epoch{0};
inline void count_fork() noexcept
{
	g_fork_epoch.fetch_add(1, std::memory_order_relaxed);
}
} // namespace detail

inline uint64_t fork_epoch() noexcept
{
	// Registered once, before any connection exists to be compared
	// (glibc drops the handler when the plugin is unloaded).
	[[maybe_unused]] static const int registered =
	    pthread_atfork(nullptr, nullptr, detail::count_fork);
	return detail::g_fork_epoch.load(std::memory_order_relaxed);
}

} // namespace vaccel::rpc_plugin
