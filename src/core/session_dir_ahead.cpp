// SPDX-License-Identifier: Apache-2.0
#include "core/session_dir_ahead.h"

#include <sys/stat.h>

namespace vaccel::core
{

void SessionDirAhead::make(std::string path)
{
	if (ready_ == path || ::mkdir(path.c_str(), 0700) != 0)
		return; // prepared already, or a live session's
	ready_ = std::move(path);
}

bool SessionDirAhead::claim(const std::string &path) noexcept
{
	std::lock_guard lock(mu_);
	if (ready_.empty() || ready_ != path)
		return false;
	ready_.clear();
	return true;
}

} // namespace vaccel::core
