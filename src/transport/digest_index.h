// SPDX-License-Identifier: Apache-2.0
// Model digests computed ahead of time (`vaccel digest --index FILE`, when
// a function's image is built), so that a new sandbox names a large model
// to the agent's model cache without reading and hashing its files first
// (docs/serverless.md, "Naming models by a precomputed digest").
//
// Each entry records, beside the digest, every file's path, size and
// modification time as they were when it was computed. An entry is used
// only while all of them still match: a model rebuilt or copied anew gets
// a new modification time, so a stale index costs the hashing it would
// have saved, never a wrong model. What it cannot see is a file rewritten
// with its old size and modification time put back by hand; the index is
// the function owner's, and so is that model.
//
// The file, text:
//   vaccel-digests 1
//   <digest> <number of files>
//   <size> <mtime seconds>.<mtime nanoseconds, 9 digits> <absolute path>
//   ... one line per file, in the resource's order; then the next entry.
#pragma once

#include "base/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vaccel::transport
{

class DigestIndex
{
public:
	struct File {
		std::string path; // absolute, no symbolic links
		uint64_t size = 0;
		int64_t mtime_sec = 0;
		int64_t mtime_nsec = 0;
	};
	struct Entry {
		std::string digest; // 64 lower-case hex digits
		std::vector<File> files;
	};

	// Parses an index; an error names the line that is wrong.
	static base::Result<DigestIndex> parse(const std::string &text);
	// Reads and parses the index at @p path.
	static base::Result<DigestIndex> load(const std::string &path);
	// The text of @p entries.
	static std::string format(const std::vector<Entry> &entries);

	// @p path's entry (canonical path, size, mtime) as the file is now.
	static base::Result<File> stat_file(const std::string &path);

	// The digest of the resource whose files are @p paths (as given to
	// the resource; made canonical here), if an entry lists exactly
	// those files and each still has its recorded size and modification
	// time; "" otherwise.
	[[nodiscard]] std::string
	find(const std::vector<std::string> &paths) const;

	[[nodiscard]] const std::vector<Entry> &entries() const noexcept
	{
		return entries_;
	}

private:
	std::vector<Entry> entries_;
};

} // namespace vaccel::transport
