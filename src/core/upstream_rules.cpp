// SPDX-License-Identifier: Apache-2.0
#include "core/upstream_rules.h"

namespace vaccel::core
{

bool is_transport(const Plugin &p) noexcept
{
	return (p.desc != nullptr && p.desc->info != nullptr &&
		p.desc->info->is_virtio) ||
	       (p.type & VACCEL_PLUGIN_REMOTE) != 0;
}

Plugin *
upstream_session_plugin(const std::vector<std::unique_ptr<Plugin>> &plugins,
			unsigned int hint)
{
	if ((hint & VACCEL_PLUGIN_REMOTE) != 0) {
		for (const auto &p : plugins)
			if (is_transport(*p))
				return p.get();
		return nullptr;
	}
	if (hint != 0)
		for (const auto &p : plugins)
			if ((p->type & hint) != 0)
				return p.get();
	for (const auto &p : plugins)
		if (!is_transport(*p) || plugins.size() == 1)
			return p.get();
	return nullptr;
}

} // namespace vaccel::core
