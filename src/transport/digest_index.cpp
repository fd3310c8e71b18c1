// SPDX-License-Identifier: Apache-2.0
#include "digest_index.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace vaccel::transport
{

using base::Result;
using base::Status;

namespace
{

constexpr std::string_view kMagic = "vaccel-digests 1";
// A resource's files at most, per entry: bounds what a corrupt count makes
// the parser reserve.
constexpr uint64_t kMaxFiles = 4096;

bool is_digest(std::string_view s)
{
	if (s.size() != 64)
		return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	return true;
}

// Reads an unsigned decimal number ending at a space; moves @p p past it.
bool number(std::string_view &p, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; i < p.size() && p[i] >= '0' && p[i] <= '9'; ++i) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + static_cast<uint64_t>(p[i] - '0');
	}
	if (i == 0)
		return false;
	*out = v;
	p.remove_prefix(i);
	return true;
}

bool file_line(std::string_view line, DigestIndex::File *f)
{
	uint64_t sec = 0, nsec = 0;
	if (!number(line, &f->size) || !line.starts_with(' '))
		return false;
	line.remove_prefix(1);
	if (!number(line, &sec) || !line.starts_with('.'))
		return false;
	line.remove_prefix(1);
	if (line.size() < 10 || line[9] != ' ')
		return false;
	std::string_view frac = line.substr(0, 9);
	if (!number(frac, &nsec) || !frac.empty() || sec > INT64_MAX)
		return false;
	line.remove_prefix(10);
	if (!line.starts_with('/'))
		return false;
	f->mtime_sec = static_cast<int64_t>(sec);
	f->mtime_nsec = static_cast<int64_t>(nsec);
	f->path.assign(line);
	return true;
}

bool entry_line(std::string_view line, DigestIndex::Entry *e, uint64_t *n)
{
	if (line.size() < 66 || line[64] != ' ' ||
	    !is_digest(line.substr(0, 64)))
		return false;
	e->digest.assign(line.substr(0, 64));
	line.remove_prefix(65);
	return number(line, n) && line.empty() && *n > 0 && *n <= kMaxFiles;
}

Status bad_line(size_t n, const char *what)
{
	return Status::error(VACCEL_EINVAL, "line %zu: %s", n, what);
}

std::string canonical(const std::string &path)
{
	std::unique_ptr<char, decltype(&std::free)> p(
	    ::realpath(path.c_str(), nullptr), &std::free);
	return p ? std::string(p.get()) : std::string();
}

} // namespace

Result<DigestIndex> DigestIndex::parse(const std::string &text)
{
	DigestIndex index;
	std::istringstream in(text);
	std::string line;
	size_t n = 1;
	if (!std::getline(in, line) || line != kMagic)
		return bad_line(n, "not a vaccel digest index (its first "
				   "line is not 'vaccel-digests 1')");
	while (std::getline(in, line)) {
		++n;
		if (line.empty())
			continue;
		Entry e;
		uint64_t files = 0;
		if (!entry_line(line, &e, &files))
			return bad_line(n, "expected '<64 hex digits> "
					   "<number of files>'");
		for (uint64_t i = 0; i < files; ++i) {
			++n;
			File f;
			if (!std::getline(in, line) || !file_line(line, &f))
				return bad_line(
				    n, "expected '<size> <seconds>.<9 digits> "
				       "<absolute path>'");
			e.files.push_back(std::move(f));
		}
		index.entries_.push_back(std::move(e));
	}
	return index;
}

Result<DigestIndex> DigestIndex::load(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return Status::error(VACCEL_ENOENT, "cannot open %s: %s",
				     path.c_str(), std::strerror(errno));
	std::ostringstream text;
	text << in.rdbuf();
	auto index = parse(text.str());
	if (!index)
		return Status::error(index.status().code(), "%s: %s",
				     path.c_str(),
				     index.status().message().c_str());
	return index;
}

std::string DigestIndex::format(const std::vector<Entry> &entries)
{
	std::string out(kMagic);
	out += '\n';
	char frac[16];
	for (const Entry &e : entries) {
		out += e.digest + ' ' + std::to_string(e.files.size()) + '\n';
		for (const File &f : e.files) {
			std::snprintf(frac, sizeof(frac), "%09lld",
				      static_cast<long long>(f.mtime_nsec));
			out += std::to_string(f.size) + ' ' +
			       std::to_string(f.mtime_sec) + '.' + frac + ' ' +
			       f.path + '\n';
		}
	}
	return out;
}

Result<DigestIndex::File> DigestIndex::stat_file(const std::string &path)
{
	File f;
	f.path = canonical(path);
	struct stat st {
	};
	if (f.path.empty() || ::stat(f.path.c_str(), &st) != 0)
		return Status::error(VACCEL_ENOENT, "%s: %s", path.c_str(),
				     std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		return Status::error(VACCEL_EINVAL, "%s is not a file",
				     path.c_str());
	if (f.path.find('\n') != std::string::npos)
		return Status::error(VACCEL_EINVAL,
				     "%s: a path with a newline cannot be "
				     "indexed",
				     path.c_str());
	f.size = static_cast<uint64_t>(st.st_size);
	f.mtime_sec = st.st_mtim.tv_sec;
	f.mtime_nsec = st.st_mtim.tv_nsec;
	return f;
}

std::string DigestIndex::find(const std::vector<std::string> &paths) const
{
	if (entries_.empty() || paths.empty())
		return {};
	std::vector<File> now;
	for (const auto &p : paths) {
		auto f = stat_file(p);
		if (!f)
			return {};
		now.push_back(std::move(f.value()));
	}
	for (const Entry &e : entries_) {
		if (e.files.size() != now.size())
			continue;
		bool same = true;
		for (size_t i = 0; same && i < now.size(); ++i) {
			const File &a = e.files[i], &b = now[i];
			same = a.path == b.path && a.size == b.size &&
			       a.mtime_sec == b.mtime_sec &&
			       a.mtime_nsec == b.mtime_nsec;
		}
		if (same)
			return e.digest;
	}
	return {};
}

} // namespace vaccel::transport
