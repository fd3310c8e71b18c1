// SPDX-License-Identifier: Apache-2.0
// Upstream vAccel's session routing, for programs that ask for it
// (VACCEL_COMPAT=upstream, docs/configuration.md): a session gets one plugin
// when it is created, chosen from its hint, and every op of the session goes
// to that plugin or fails with VACCEL_ENOTSUP. The default routing is per op
// (registry.h).
#pragma once

#include "core/registry.h"

#include <memory>
#include <vector>

namespace vaccel::core
{

// The plugin upstream's rules give a session with @p hint, among @p plugins
// (load order), or nullptr when they give none:
//  - a hint with VACCEL_PLUGIN_REMOTE: the first transport plugin;
//  - other hint bits: the first plugin whose type shares one of them;
//  - else the first local plugin, or the only plugin if there is just one.
Plugin *
upstream_session_plugin(const std::vector<std::unique_ptr<Plugin>> &plugins,
			unsigned int hint);

// Whether @p p is a transport plugin (upstream's is_virtio).
bool is_transport(const Plugin &p) noexcept;

} // namespace vaccel::core
