// SPDX-License-Identifier: Apache-2.0
// fs_*: upstream's exported file-system helpers (vaccel/compat/fs.h).
// Return codes are errno values, which the VACCEL_E* codes equal.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vaccel/compat/fs.h>
#include <vaccel/compat/path.h>
#include <vaccel/error.h>

namespace
{

bool stat_mode(const char *path, mode_t *mode)
{
	struct stat st {
	};
	if (path == nullptr || stat(path, &st) != 0)
		return false;
	*mode = st.st_mode;
	return true;
}

bool too_long(const char *path)
{
	return std::strlen(path) + 1 > PATH_MAX;
}

// Whether a new object with @p kind of file mode (S_IFDIR, S_IFREG) may be
// made at @p path: VACCEL_OK, VACCEL_EEXIST when one of that kind is there,
// @p other_kind when something else is.
int check_new(const char *path, mode_t kind, int other_kind)
{
	if (path == nullptr)
		return VACCEL_EINVAL;
	if (too_long(path))
		return VACCEL_ENAMETOOLONG;
	mode_t mode = 0;
	if (!stat_mode(path, &mode))
		return VACCEL_OK;
	return (mode & S_IFMT) == kind ? VACCEL_EEXIST : other_kind;
}

// Files are counted (and @p func called) depth first, in readdir() order.
int walk(const std::string &dir, fs_path_callback_t func, int *idx,
	 va_list args)
{
	DIR *d = opendir(dir.c_str());
	if (d == nullptr)
		return -errno;
	int ret = 0;
	while (const dirent *e = readdir(d)) {
		if (std::strcmp(e->d_name, ".") == 0 ||
		    std::strcmp(e->d_name, "..") == 0)
			continue;
		const std::string p = dir + "/" + e->d_name;
		if (p.size() + 1 > PATH_MAX) {
			ret = -VACCEL_ENAMETOOLONG;
			break;
		}
		mode_t mode = 0;
		if (!stat_mode(p.c_str(), &mode)) {
			ret = -errno;
			break;
		}
		if (S_ISDIR(mode)) {
			ret = walk(p, func, idx, args);
		} else if (S_ISREG(mode)) {
			if (func != nullptr) {
				va_list copy;
				va_copy(copy, args);
				const int rc = func(p.c_str(), *idx, copy);
				va_end(copy);
				ret = -rc;
			}
			++*idx;
		}
		if (ret < 0)
			break;
	}
	closedir(d);
	return ret < 0 ? ret : *idx;
}

// Closes @p fd unless the caller wants it.
int hand_over(int fd, int *out)
{
	if (out != nullptr) {
		*out = fd;
		return VACCEL_OK;
	}
	return close(fd) == 0 ? VACCEL_OK : errno;
}

// The name a unique path is made in: the caller's buffer or a new one.
int unique_target(char *path, size_t size, char **final_path, size_t need,
		  char **out)
{
	if (need > PATH_MAX)
		return VACCEL_ENAMETOOLONG;
	if (final_path == nullptr) {
		if (size < need)
			return VACCEL_EINVAL;
		*out = path;
		return VACCEL_OK;
	}
	*final_path = static_cast<char *>(std::malloc(need));
	if (*final_path == nullptr)
		return VACCEL_ENOMEM;
	*out = *final_path;
	return VACCEL_OK;
}

int drop_unique(char **final_path, int rc)
{
	if (final_path != nullptr) {
		std::free(*final_path);
		*final_path = nullptr;
	}
	return rc;
}

// Opens @p path and checks that it is a non-empty file.
int open_sized(const char *path, int *fd, size_t *size)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno;
	struct stat st {
	};
	if (fstat(*fd, &st) != 0 || st.st_size == 0) {
		const int rc = st.st_size == 0 ? VACCEL_EINVAL : errno;
		close(*fd);
		return rc;
	}
	*size = static_cast<size_t>(st.st_size);
	return VACCEL_OK;
}

} // namespace

extern "C" {

bool fs_path_exists(const char *path)
{
	mode_t mode = 0;
	return stat_mode(path, &mode);
}

bool fs_path_is_dir(const char *path)
{
	mode_t mode = 0;
	return stat_mode(path, &mode) && S_ISDIR(mode);
}

bool fs_path_is_file(const char *path)
{
	mode_t mode = 0;
	return stat_mode(path, &mode) && S_ISREG(mode);
}

int fs_dir_process_files(const char *path, fs_path_callback_t func, ...)
{
	if (path == nullptr)
		return -VACCEL_EINVAL;
	va_list args;
	va_start(args, func);
	int idx = 0;
	const int ret = walk(path, func, &idx, args);
	va_end(args);
	return ret;
}

int fs_dir_create(const char *path)
{
	if (const int rc = check_new(path, S_IFDIR, VACCEL_ENOTDIR);
	    rc != VACCEL_OK)
		return rc;
	std::string p(path);
	// Each prefix ending before a '/', then the whole path.
	for (size_t pos = p.find('/', 1);; pos = p.find('/', pos + 1)) {
		const std::string part = p.substr(0, pos);
		if (!part.empty() && mkdir(part.c_str(), S_IRWXU) != 0 &&
		    errno != EEXIST)
			return errno;
		if (pos == std::string::npos)
			return VACCEL_OK;
	}
}

int fs_dir_create_unique(char *path, size_t size, char **final_path)
{
	if (path == nullptr || (final_path == nullptr && size == 0))
		return VACCEL_EINVAL;
	const size_t len = std::strlen(path);
	if (len == 0)
		return VACCEL_EINVAL;
	const bool inside = path[len - 1] == '/';
	std::string base(path, inside ? len - 1 : len);
	const std::string name = base + (inside ? "/XXXXXX" : "_XXXXXX");
	const std::string parent =
	    inside ? base : base.substr(0, base.find_last_of('/'));
	if (base.find('/') != std::string::npos && !parent.empty()) {
		const int rc = fs_dir_create(parent.c_str());
		if (rc != VACCEL_OK && rc != VACCEL_EEXIST)
			return rc;
	}
	char *out = nullptr;
	const int rc =
	    unique_target(path, size, final_path, name.size() + 1, &out);
	if (rc != VACCEL_OK)
		return rc;
	std::memcpy(out, name.c_str(), name.size() + 1);
	if (mkdtemp(out) == nullptr)
		return drop_unique(final_path, errno);
	return VACCEL_OK;
}

int fs_dir_remove(const char *path)
{
	if (path == nullptr)
		return VACCEL_EINVAL;
	return rmdir(path) == 0 ? VACCEL_OK : errno;
}

int fs_file_create(const char *path, int *fd)
{
	if (const int rc = check_new(path, S_IFREG, VACCEL_EINVAL);
	    rc != VACCEL_OK)
		return rc;
	const int f =
	    open(path, O_CREAT | O_RDWR | O_EXCL | O_CLOEXEC, S_IRWXU);
	if (f < 0)
		return errno;
	return hand_over(f, fd);
}

int fs_file_create_unique(char *path, size_t size, char **final_path, int *fd)
{
	if (path == nullptr || (final_path == nullptr && size == 0))
		return VACCEL_EINVAL;
	const std::string base(path);
	const size_t need = base.size() + std::strlen("_XXXXXX") + 1;
	char *out = nullptr;
	int rc = unique_target(path, size, final_path, need, &out);
	if (rc != VACCEL_OK)
		return rc;
	size_t ext_len = 0;
	rc = path_file_name_add_random_suffix(out, need, &ext_len, base.c_str(),
					      "_XXXXXX");
	if (rc != VACCEL_OK)
		return drop_unique(final_path, rc);
	const int f = mkostemps(out, static_cast<int>(ext_len), O_CLOEXEC);
	if (f < 0)
		return drop_unique(final_path, errno);
	rc = hand_over(f, fd);
	return rc == VACCEL_OK ? rc : drop_unique(final_path, rc);
}

int fs_file_remove(const char *path)
{
	if (path == nullptr)
		return VACCEL_EINVAL;
	return std::remove(path) == 0 ? VACCEL_OK : errno;
}

int fs_file_read(const char *path, void **data, size_t *size)
{
	if (path == nullptr || data == nullptr)
		return VACCEL_EINVAL;
	int fd = -1;
	size_t n = 0;
	if (const int rc = open_sized(path, &fd, &n); rc != VACCEL_OK)
		return rc;
	auto *buf = static_cast<unsigned char *>(std::malloc(n));
	size_t got = 0;
	errno = 0;
	while (buf != nullptr && got < n) {
		const ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += static_cast<size_t>(r);
	}
	const int rc = buf == nullptr ? VACCEL_ENOMEM
		       : got < n      ? (errno != 0 ? errno : VACCEL_EIO)
				      : VACCEL_OK;
	close(fd);
	if (rc != VACCEL_OK) {
		std::free(buf);
		return rc;
	}
	*data = buf;
	if (size != nullptr)
		*size = got;
	return VACCEL_OK;
}

int fs_file_read_mmap(const char *path, void **data, size_t *size)
{
	if (path == nullptr || data == nullptr)
		return VACCEL_EINVAL;
	int fd = -1;
	size_t n = 0;
	if (const int rc = open_sized(path, &fd, &n); rc != VACCEL_OK)
		return rc;
	void *p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return VACCEL_ENOMEM;
	*data = p;
	if (size != nullptr)
		*size = n;
	return VACCEL_OK;
}

} // extern "C"
