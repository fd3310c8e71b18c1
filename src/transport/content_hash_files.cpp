// SPDX-License-Identifier: Apache-2.0
// ResourceDigest::add_file: a model's file digested as it is read, a piece
// at a time, instead of read whole first (models are tens of megabytes).
#include "content_hash.h"

#include "base/unique_fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vaccel::transport
{

base::Result<uint64_t> ResourceDigest::add_file(std::string_view name,
						const std::string &path)
{
	const base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	struct stat st {
	};
	if (!fd.valid() || ::fstat(fd.get(), &st) != 0)
		return base::Status::error(VACCEL_ENOENT, "cannot open %s: %s",
					   path.c_str(), std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		return base::Status::error(VACCEL_EINVAL, "%s is not a file",
					   path.c_str());
	const auto size = static_cast<uint64_t>(st.st_size);
	feed_size(name.size());
	feed(name.data(), name.size());
	feed_size(size);
	std::vector<char> buf(size_t{1} << 20);
	uint64_t done = 0;
	while (done < size) {
		const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		feed(buf.data(), static_cast<size_t>(n));
		done += static_cast<uint64_t>(n);
	}
	if (done != size) // a read error, or the file changed meanwhile
		return base::Status::error(
		    VACCEL_EIO, "%s: read %llu of its %llu bytes", path.c_str(),
		    static_cast<unsigned long long>(done),
		    static_cast<unsigned long long>(size));
	return size;
}

} // namespace vaccel::transport
