// SPDX-License-Identifier: Apache-2.0
// path_*: upstream's exported path helpers (vaccel/compat/path.h). A URL is
// recognised by its scheme only: this library never probes the network to
// classify a path.
#include <climits>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vaccel/compat/fs.h>
#include <vaccel/compat/path.h>
#include <vaccel/error.h>

namespace
{

bool remote_scheme(std::string_view uri)
{
	for (std::string_view s : {"http://", "https://", "ftp://"})
		if (uri.substr(0, s.size()) == s)
			return true;
	return false;
}

// Splits @p uri into the path it names and its kind.
int parse_uri(const char *uri, const char **path, vaccel_path_type_t *type)
{
	const char *sep = std::strstr(uri, "://");
	if (sep != nullptr && remote_scheme(uri)) {
		*path = uri;
		*type = VACCEL_PATH_REMOTE_FILE;
	} else {
		if (sep != nullptr && std::strncmp(uri, "file://", 7) != 0)
			return VACCEL_EINVAL;
		*path = sep != nullptr ? sep + 3 : uri;
		if (fs_path_is_dir(*path))
			*type = VACCEL_PATH_LOCAL_DIR;
		else if (fs_path_is_file(*path))
			*type = VACCEL_PATH_LOCAL_FILE;
		else
			return VACCEL_EINVAL;
	}
	return std::strlen(*path) > PATH_MAX ? VACCEL_ENAMETOOLONG : VACCEL_OK;
}

// Joins @p first and the NULL-terminated rest with '/'.
std::string join(const char *first, va_list args)
{
	std::string out(first);
	while (const char *part = va_arg(args, const char *)) {
		out += '/';
		out += part;
	}
	return out;
}

int copy_out(const std::string &s, char *dst, size_t size)
{
	if (s.size() >= size)
		return VACCEL_ENAMETOOLONG;
	std::memcpy(dst, s.c_str(), s.size() + 1);
	return VACCEL_OK;
}

int dup_out(std::string_view s, char **dst)
{
	*dst = strndup(s.data(), s.size());
	return *dst != nullptr ? VACCEL_OK : VACCEL_ENOMEM;
}

// Parses @p uri; gives its path to @p put when @p want_path, its type to
// @p type when not NULL. The first failure's code.
template <class Put>
int from_uri(const char *uri, vaccel_path_type_t *type, bool want_path, Put put)
{
	const char *p = nullptr;
	vaccel_path_type_t t{};
	if (const int rc = parse_uri(uri, &p, &t); rc != VACCEL_OK)
		return rc;
	if (want_path) {
		if (const int rc = put(p); rc != VACCEL_OK)
			return rc;
	}
	if (type != nullptr)
		*type = t;
	return VACCEL_OK;
}

} // namespace

extern "C" {

int path_init_from_uri(char *path, size_t size, vaccel_path_type_t *type,
		       const char *uri)
{
	if (uri == nullptr || (path != nullptr && size == 0) ||
	    (path == nullptr && type == nullptr))
		return VACCEL_EINVAL;
	return from_uri(uri, type, path != nullptr,
			[&](const char *p) { return copy_out(p, path, size); });
}

int path_from_uri(char **path, vaccel_path_type_t *type, const char *uri)
{
	if (uri == nullptr || (path == nullptr && type == nullptr))
		return VACCEL_EINVAL;
	return from_uri(uri, type, path != nullptr,
			[&](const char *p) { return dup_out(p, path); });
}

bool path_is_url(const char *path)
{
	return path != nullptr && remote_scheme(path);
}

int path_type(const char *path, vaccel_path_type_t *type)
{
	if (path == nullptr || type == nullptr)
		return VACCEL_EINVAL;
	if (path_is_url(path))
		*type = VACCEL_PATH_REMOTE_FILE;
	else if (fs_path_is_dir(path))
		*type = VACCEL_PATH_LOCAL_DIR;
	else if (fs_path_is_file(path))
		*type = VACCEL_PATH_LOCAL_FILE;
	else
		return VACCEL_ENOTSUP;
	return VACCEL_OK;
}

int path_init_from_parts(char *path, size_t size, const char *first_part, ...)
{
	if (path == nullptr || size == 0 || first_part == nullptr)
		return VACCEL_EINVAL;
	if (size > PATH_MAX)
		return VACCEL_ENAMETOOLONG;
	va_list args;
	va_start(args, first_part);
	const std::string joined = join(first_part, args);
	va_end(args);
	// Upstream keeps one byte spare: a result of size - 1 bytes fails.
	return joined.size() + 1 >= size ? VACCEL_ENAMETOOLONG
					 : copy_out(joined, path, size);
}

int path_from_parts(char **path, const char *first_part, ...)
{
	if (path == nullptr || first_part == nullptr)
		return VACCEL_EINVAL;
	va_list args;
	va_start(args, first_part);
	const std::string joined = join(first_part, args);
	va_end(args);
	if (joined.size() + 1 > PATH_MAX)
		return VACCEL_ENAMETOOLONG;
	return dup_out(joined, path);
}

int path_file_name(const char *path, char *name, size_t size, char **alloc_name)
{
	if (path == nullptr || (name == nullptr && alloc_name == nullptr) ||
	    (size == 0 && alloc_name == nullptr))
		return VACCEL_EINVAL;
	const char *slash = std::strrchr(path, '/');
	const std::string base(slash != nullptr ? slash + 1 : path);
	if (base.size() >= NAME_MAX)
		return VACCEL_ENAMETOOLONG;
	if (alloc_name != nullptr)
		return dup_out(base, alloc_name);
	return copy_out(base, name, size);
}

int path_file_name_add_random_suffix(char *path, size_t size, size_t *ext_len,
				     const char *base_path, const char *suffix)
{
	if (path == nullptr || ext_len == nullptr || base_path == nullptr ||
	    suffix == nullptr || size == 0)
		return VACCEL_EINVAL;
	const std::string base(base_path);
	const size_t name_at = base.find_last_of('/') + 1; // npos + 1 == 0
	const size_t dot = base.find_last_of('.');
	const size_t stem =
	    dot != std::string::npos && dot >= name_at ? dot : base.size();
	*ext_len = base.size() - stem;
	const std::string out =
	    base.substr(0, stem) + suffix + base.substr(stem);
	if (out.size() + 1 > size || out.size() >= PATH_MAX)
		return VACCEL_ENAMETOOLONG;
	return copy_out(out, path, size);
}

} // extern "C"
