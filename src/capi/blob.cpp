// SPDX-License-Identifier: Apache-2.0
// Blobs (vaccel/blob.h): one file or buffer of a resource.
//
// A blob's bytes are either borrowed, malloc'd (BUFFER blobs that own a
// copy) or an mmap of its file (MAPPED). Files are mapped MAP_PRIVATE with
// write access: programs and plugins may scribble on the bytes without
// touching the file. Strings and structs handed to C are malloc'd.
#include "capi/funnel.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vaccel/blob.h>
#include <vaccel/error.h>
#include <vaccel/log.h>

using vaccel::capi::guard;

namespace
{

// Files a blob creates: private to the user, executable so that a library
// resource made from a buffer can be loaded from its file.
constexpr mode_t kFileMode = S_IRWXU;

char *dup_cstr(const std::string &s) noexcept
{
	auto *p = static_cast<char *>(std::malloc(s.size() + 1));
	if (p != nullptr)
		std::memcpy(p, s.c_str(), s.size() + 1);
	return p;
}

std::string base_name(const std::string &path)
{
	const size_t slash = path.rfind('/');
	return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool plain_file_name(const char *name) noexcept
{
	return name[0] != '\0' && std::strchr(name, '/') == nullptr &&
	       std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0;
}

// Map the whole regular file at @p path. Empty files cannot be mapped.
int map_file(const char *path, uint8_t **data, size_t *size) noexcept
{
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		const int err = errno;
		vaccel_error("blob: cannot open %s: %s", path, strerror(err));
		return err;
	}
	struct stat st {
	};
	if (fstat(fd, &st) != 0) {
		const int err = errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		vaccel_error("blob: %s is empty or not a regular file", path);
		close(fd);
		return VACCEL_EINVAL;
	}
	const auto len = static_cast<size_t>(st.st_size);
	void *p =
	    mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	const int err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		vaccel_error("blob: cannot map %s: %s", path, strerror(err));
		return err;
	}
	*data = static_cast<uint8_t *>(p);
	*size = len;
	return VACCEL_OK;
}

int write_all(int fd, const uint8_t *data, size_t size) noexcept
{
	while (size > 0) {
		const ssize_t n = write(fd, data, size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		data += n;
		size -= static_cast<size_t>(n);
	}
	return VACCEL_OK;
}

// Create `dir/filename` exclusively (with a random suffix before the
// extension when @p randomize); returns the fd and the final path.
int create_file(const std::string &dir, const char *filename, bool randomize,
		std::string *path, int *fd)
{
	std::string p = dir;
	if (p.empty() || p.back() != '/')
		p += '/';
	const size_t name_at = p.size();
	p += filename;

	if (!randomize) {
		if (p.size() >= PATH_MAX)
			return VACCEL_ENAMETOOLONG;
		const int f =
		    open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			 kFileMode);
		if (f < 0)
			return errno;
		*fd = f;
		*path = std::move(p);
		return VACCEL_OK;
	}

	// "model.pt" -> "model_XXXXXX.pt"; a leading dot is not an extension.
	const size_t dot = p.rfind('.');
	const size_t ext_at =
	    dot != std::string::npos && dot > name_at ? dot : p.size();
	const int ext_len = static_cast<int>(p.size() - ext_at);
	p.insert(ext_at, "_XXXXXX");
	if (p.size() >= PATH_MAX)
		return VACCEL_ENAMETOOLONG;
	const int f = mkostemps(p.data(), ext_len, O_CLOEXEC);
	if (f < 0)
		return errno;
	if (fchmod(f, kFileMode) != 0) {
		const int err = errno;
		close(f);
		unlink(p.c_str());
		return err;
	}
	*fd = f;
	*path = std::move(p);
	return VACCEL_OK;
}

bool initialized(const vaccel_blob *blob) noexcept;

// Upstream vAccel answers VACCEL_ENOENT for any @p dir that is not an
// existing directory, NULL included; programs written to it test for that.
bool is_dir(const char *dir) noexcept
{
	struct stat st {
	};
	return dir != nullptr && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

// The checks of persist, in upstream's order (it decides which code a
// call with several faults gets).
int check_persist(const vaccel_blob *blob, const char *dir,
		  const char *filename) noexcept
{
	if (blob == nullptr || blob->data == nullptr || blob->size == 0 ||
	    !initialized(blob)) {
		vaccel_error("blob: only a non-empty blob can be persisted");
		return VACCEL_EINVAL;
	}
	if (filename == nullptr || !plain_file_name(filename)) {
		vaccel_error("blob: persist needs a plain file name");
		return VACCEL_EINVAL;
	}
	if (!is_dir(dir)) {
		vaccel_error("blob: %s is not a directory",
			     dir != nullptr ? dir : "(null)");
		return VACCEL_ENOENT;
	}
	if (blob->path != nullptr || blob->type != VACCEL_BLOB_BUFFER) {
		vaccel_error("blob: already backed by %s; not overwriting it",
			     blob->path != nullptr ? blob->path : "a file");
		return VACCEL_EEXIST;
	}
	return VACCEL_OK;
}

int persist(vaccel_blob *blob, const char *dir, const char *filename,
	    bool randomize)
{
	if (int rc = check_persist(blob, dir, filename); rc != VACCEL_OK)
		return rc;

	std::string path;
	int fd = -1;
	if (int rc = create_file(dir, filename, randomize, &path, &fd);
	    rc != VACCEL_OK) {
		vaccel_error("blob: cannot create %s in %s: %s", filename, dir,
			     strerror(rc));
		return rc;
	}
	int rc = write_all(fd, blob->data, blob->size);
	if (close(fd) != 0 && rc == VACCEL_OK)
		rc = errno;
	uint8_t *mapped = nullptr;
	size_t mapped_size = 0;
	if (rc == VACCEL_OK)
		rc = map_file(path.c_str(), &mapped, &mapped_size);
	char *c_path = rc == VACCEL_OK ? dup_cstr(path) : nullptr;
	char *c_name = rc == VACCEL_OK ? dup_cstr(base_name(path)) : nullptr;
	if (rc == VACCEL_OK && (c_path == nullptr || c_name == nullptr))
		rc = VACCEL_ENOMEM;
	if (rc != VACCEL_OK) {
		vaccel_error("blob: cannot write %s: %s", path.c_str(),
			     strerror(rc));
		if (mapped != nullptr)
			munmap(mapped, mapped_size);
		std::free(c_path);
		std::free(c_name);
		unlink(path.c_str());
		return rc == VACCEL_ENOMEM ? rc : VACCEL_EIO;
	}

	if (blob->data_owned)
		std::free(blob->data);
	std::free(blob->name);
	blob->type = VACCEL_BLOB_MAPPED;
	blob->name = c_name;
	blob->path = c_path;
	blob->path_owned = true;
	blob->data = mapped;
	blob->data_owned = true;
	blob->size = mapped_size;
	vaccel_debug("blob: persisted %zu bytes to %s", mapped_size, c_path);
	return VACCEL_OK;
}

int init_file(vaccel_blob *blob, const char *path)
{
	if (blob == nullptr || path == nullptr)
		return VACCEL_EINVAL;
	struct stat st {
	};
	// Upstream answers VACCEL_EINVAL for a path that is not a file,
	// missing ones included.
	if (stat(path, &st) != 0) {
		const int err = errno;
		vaccel_error("blob: cannot stat %s: %s", path, strerror(err));
		return err == ENOENT ? VACCEL_EINVAL : err;
	}
	if (!S_ISREG(st.st_mode)) {
		vaccel_error("blob: %s is not a regular file", path);
		return VACCEL_EINVAL;
	}
	char *c_path = dup_cstr(path);
	char *c_name = dup_cstr(base_name(path));
	if (c_path == nullptr || c_name == nullptr) {
		std::free(c_path);
		std::free(c_name);
		return VACCEL_ENOMEM;
	}
	blob->type = VACCEL_BLOB_FILE;
	blob->name = c_name;
	blob->path = c_path;
	blob->path_owned = false;
	blob->data = nullptr;
	blob->data_owned = false;
	blob->size = 0;
	return VACCEL_OK;
}

int init_buf(vaccel_blob *blob, const uint8_t *buf, size_t size, bool own,
	     const char *filename, const char *dir, bool randomize)
{
	if (blob == nullptr || buf == nullptr || size == 0 ||
	    filename == nullptr) {
		vaccel_error("blob: a buffer blob needs bytes and a filename");
		return VACCEL_EINVAL;
	}
	if (!plain_file_name(filename)) {
		vaccel_error("blob: '%s' is not a plain file name", filename);
		return VACCEL_EINVAL;
	}

	if (dir != nullptr) {
		// Stage as a borrowed buffer blob; persist replaces the bytes
		// with the mapped file and sets the name.
		vaccel_blob tmp{};
		tmp.type = VACCEL_BLOB_BUFFER;
		tmp.data = const_cast<uint8_t *>(buf);
		tmp.size = size;
		if (int rc = persist(&tmp, dir, filename, randomize);
		    rc != VACCEL_OK)
			return rc;
		*blob = tmp;
		return VACCEL_OK;
	}

	char *c_name = dup_cstr(filename);
	if (c_name == nullptr)
		return VACCEL_ENOMEM;
	auto *data = const_cast<uint8_t *>(buf);
	if (own) {
		data = static_cast<uint8_t *>(std::malloc(size));
		if (data == nullptr) {
			std::free(c_name);
			return VACCEL_ENOMEM;
		}
		std::memcpy(data, buf, size);
	}
	blob->type = VACCEL_BLOB_BUFFER;
	blob->name = c_name;
	blob->path = nullptr;
	blob->path_owned = false;
	blob->data = data;
	blob->data_owned = own;
	blob->size = size;
	return VACCEL_OK;
}

bool initialized(const vaccel_blob *blob) noexcept
{
	if (blob == nullptr)
		return false;
	const int type = static_cast<int>(blob->type);
	return type >= VACCEL_BLOB_FILE && type < VACCEL_BLOB_MAX;
}

int release(vaccel_blob *blob) noexcept
{
	if (!initialized(blob)) {
		vaccel_error("blob: release of a NULL or uninitialized blob");
		return VACCEL_EINVAL;
	}
	// A MAPPED blob's bytes are always a mapping this library made
	// (persist or read), whatever data_owned says.
	if (blob->data != nullptr &&
	    (blob->data_owned || blob->type == VACCEL_BLOB_MAPPED)) {
		if (blob->type == VACCEL_BLOB_MAPPED) {
			if (munmap(blob->data, blob->size) != 0) {
				const int err = errno;
				vaccel_error("blob: cannot unmap %s: %s",
					     blob->path ? blob->path : "",
					     strerror(err));
				return err;
			}
		} else {
			std::free(blob->data);
		}
	}
	if (blob->path != nullptr && blob->path_owned &&
	    unlink(blob->path) != 0)
		vaccel_warn("blob: cannot remove %s: %s", blob->path,
			    strerror(errno));
	std::free(blob->path);
	std::free(blob->name);
	blob->type = VACCEL_BLOB_MAX;
	blob->name = nullptr;
	blob->path = nullptr;
	blob->path_owned = false;
	blob->data = nullptr;
	blob->data_owned = false;
	blob->size = 0;
	return VACCEL_OK;
}

int read_blob(vaccel_blob *blob) noexcept
{
	if (!initialized(blob))
		return VACCEL_EINVAL;
	if (blob->data != nullptr)
		return VACCEL_OK;
	if (blob->path == nullptr)
		return VACCEL_EINVAL;
	uint8_t *data = nullptr;
	size_t size = 0;
	if (int rc = map_file(blob->path, &data, &size); rc != VACCEL_OK)
		return rc;
	// data_owned stays as upstream leaves it (false): the bytes are the
	// file's, which the blob does not own. The mapping is still ours,
	// and release() undoes every mapping of a MAPPED blob.
	blob->type = VACCEL_BLOB_MAPPED;
	blob->data = data;
	blob->size = size;
	return VACCEL_OK;
}

template <class Init> int allocate(vaccel_blob **out, Init &&init)
{
	if (out == nullptr)
		return VACCEL_EINVAL;
	auto *b =
	    static_cast<vaccel_blob *>(std::calloc(1, sizeof(vaccel_blob)));
	if (b == nullptr)
		return VACCEL_ENOMEM;
	if (int rc = init(b); rc != VACCEL_OK) {
		std::free(b);
		return rc;
	}
	*out = b;
	return VACCEL_OK;
}

} // namespace

extern "C" {

int vaccel_blob_persist(struct vaccel_blob *blob, const char *dir,
			const char *filename, bool randomize)
{
	return guard("vaccel_blob_persist",
		     [&] { return persist(blob, dir, filename, randomize); });
}

int vaccel_blob_init(struct vaccel_blob *blob, const char *path)
{
	return guard("vaccel_blob_init", [&] { return init_file(blob, path); });
}

int vaccel_blob_init_from_buf(struct vaccel_blob *blob, const uint8_t *buf,
			      size_t size, bool own, const char *filename,
			      const char *dir, bool randomize)
{
	return guard("vaccel_blob_init_from_buf", [&] {
		return init_buf(blob, buf, size, own, filename, dir, randomize);
	});
}

int vaccel_blob_release(struct vaccel_blob *blob)
{
	return release(blob);
}

int vaccel_blob_new(struct vaccel_blob **blob, const char *path)
{
	return guard("vaccel_blob_new", [&] {
		return allocate(
		    blob, [&](vaccel_blob *b) { return init_file(b, path); });
	});
}

int vaccel_blob_from_buf(struct vaccel_blob **blob, const uint8_t *buf,
			 size_t size, bool own, const char *filename,
			 const char *dir, bool randomize)
{
	return guard("vaccel_blob_from_buf", [&] {
		return allocate(blob, [&](vaccel_blob *b) {
			return init_buf(b, buf, size, own, filename, dir,
					randomize);
		});
	});
}

int vaccel_blob_delete(struct vaccel_blob *blob)
{
	if (int rc = release(blob); rc != VACCEL_OK)
		return rc;
	std::free(blob);
	return VACCEL_OK;
}

int vaccel_blob_read(struct vaccel_blob *blob)
{
	return read_blob(blob);
}

uint8_t *vaccel_blob_data(struct vaccel_blob *blob, size_t *size)
{
	if (!initialized(blob))
		return nullptr;
	if ((blob->data == nullptr || blob->size == 0) &&
	    read_blob(blob) != VACCEL_OK)
		return nullptr;
	if (size != nullptr)
		*size = blob->size;
	return blob->data;
}

const char *vaccel_blob_path(struct vaccel_blob *blob)
{
	if (blob == nullptr || blob->path == nullptr)
		return nullptr;
	if (blob->type != VACCEL_BLOB_FILE && blob->type != VACCEL_BLOB_MAPPED)
		return nullptr;
	return blob->path;
}

bool vaccel_blob_valid(const struct vaccel_blob *blob)
{
	if (!initialized(blob) || blob->name == nullptr)
		return false;
	return blob->path != nullptr ||
	       (blob->data != nullptr && blob->size > 0);
}

} // extern "C"
