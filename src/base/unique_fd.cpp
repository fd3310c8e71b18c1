// SPDX-License-Identifier: Apache-2.0
#include "base/unique_fd.h"

#include <unistd.h>

namespace vaccel::base
{

void UniqueFd::reset() noexcept
{
	if (fd_ >= 0)
		::close(std::exchange(fd_, -1));
}

} // namespace vaccel::base
