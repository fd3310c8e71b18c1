// SPDX-License-Identifier: Apache-2.0
// Upstream's remote profiling, the client side: a program that runs with
// profiling enabled (VACCEL_PROFILING_ENABLED=1) gets, when it releases a
// session, the agent's regions of that session (GetProfiler: each op the
// agent ran for it) logged like its own regions, "[prof] [vaccel-agent]
// genop: total_time: <ns> nsec nr_entries: <n>" (vaccel_prof_region_print()),
// as upstream's rpc plugin does. Asked before the session is destroyed: the
// agent forgets a session's regions with it.
#pragma once

#include "plugin.h"

namespace vaccel::rpc_plugin
{

// Nothing unless profiling is enabled. A failure is logged, never the
// release's: the session goes anyway.
void print_remote_profile(const Remote &session);

} // namespace vaccel::rpc_plugin
