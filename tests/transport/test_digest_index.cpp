// SPDX-License-Identifier: Apache-2.0
// The digest index (transport/digest_index.h): its text round-trips; every
// malformed line is refused with its number; an entry is found only for the
// same files, in the same order, each with its recorded size and
// modification time, whatever form the paths are given in.
#include "transport/digest_index.h"

#include "transport/content_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace
{

using vaccel::transport::DigestIndex;
namespace fs = std::filesystem;

const std::string kDigestA(64, 'a');
const std::string kDigestB(64, 'b');

class DigestIndexTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/vaccel-digest-index-XXXXXX";
		ASSERT_NE(::mkdtemp(tmpl), nullptr);
		dir_ = fs::canonical(tmpl).string();
		for (const char *name : {"model.pt", "labels.txt"}) {
			std::ofstream(dir_ + "/" + name) << "bytes of " << name;
		}
	}
	void TearDown() override { fs::remove_all(dir_); }

	std::string path(const char *name) const { return dir_ + "/" + name; }

	DigestIndex::Entry entry(const std::string &digest,
				 std::initializer_list<const char *> names)
	{
		DigestIndex::Entry e{digest, {}};
		for (const char *n : names)
			e.files.push_back(
			    DigestIndex::stat_file(path(n)).value());
		return e;
	}

	DigestIndex index(const std::vector<DigestIndex::Entry> &entries)
	{
		auto i = DigestIndex::parse(DigestIndex::format(entries));
		EXPECT_TRUE(i) << i.status().message();
		return std::move(i.value());
	}

	std::string dir_;
};

TEST_F(DigestIndexTest, TextRoundTrips)
{
	const auto a = entry(kDigestA, {"model.pt", "labels.txt"});
	const auto b = entry(kDigestB, {"model.pt"});
	const DigestIndex i = index({a, b});
	ASSERT_EQ(i.entries().size(), 2U);
	EXPECT_EQ(i.entries()[0].digest, kDigestA);
	ASSERT_EQ(i.entries()[0].files.size(), 2U);
	const auto &f = i.entries()[0].files[1];
	EXPECT_EQ(f.path, path("labels.txt"));
	EXPECT_EQ(f.size, a.files[1].size);
	EXPECT_EQ(f.mtime_sec, a.files[1].mtime_sec);
	EXPECT_EQ(f.mtime_nsec, a.files[1].mtime_nsec);
	EXPECT_EQ(DigestIndex::format(i.entries()),
		  DigestIndex::format({a, b}));
}

TEST_F(DigestIndexTest, MalformedTextIsRefusedWithItsLine)
{
	const std::string file = "1 2.000000003 /m\n";
	const std::pair<std::string, std::string> cases[] = {
	    {"", "line 1"},
	    {"vaccel-digests 2\n", "line 1"},
	    {"vaccel-digests 1\n" + kDigestA + "\n", "line 2"},
	    {"vaccel-digests 1\n" + kDigestA.substr(1) + "x 1\n" + file,
	     "line 2"},
	    {"vaccel-digests 1\n" + std::string(64, 'A') + " 1\n" + file,
	     "line 2"},
	    {"vaccel-digests 1\n" + kDigestA + " 0\n", "line 2"},
	    {"vaccel-digests 1\n" + kDigestA + " 99999999\n", "line 2"},
	    {"vaccel-digests 1\n" + kDigestA + " 2\n" + file, "line 4"},
	    {"vaccel-digests 1\n" + kDigestA + " 1\n1 2.3 /m\n", "line 3"},
	    {"vaccel-digests 1\n" + kDigestA + " 1\n1 2.000000003 m\n",
	     "line 3"},
	    {"vaccel-digests 1\n" + kDigestA + " 1\nx 2.000000003 /m\n",
	     "line 3"},
	    {"vaccel-digests 1\n" + kDigestA +
		 " 1\n99999999999999999999999 2.000000003 /m\n",
	     "line 3"},
	};
	for (const auto &[text, where] : cases) {
		auto i = DigestIndex::parse(text);
		ASSERT_FALSE(i) << text;
		EXPECT_NE(i.status().message().find(where), std::string::npos)
		    << text << ": " << i.status().message();
	}
	EXPECT_TRUE(DigestIndex::parse("vaccel-digests 1\n" + kDigestA +
				       " 1\n" + file + "\n"));
}

TEST_F(DigestIndexTest, FindsTheSameFilesInTheSameOrder)
{
	const DigestIndex i =
	    index({entry(kDigestA, {"model.pt"}),
		   entry(kDigestB, {"model.pt", "labels.txt"})});
	EXPECT_EQ(i.find({path("model.pt")}), kDigestA);
	EXPECT_EQ(i.find({path("model.pt"), path("labels.txt")}), kDigestB);
	EXPECT_EQ(i.find({path("labels.txt"), path("model.pt")}), "");
	EXPECT_EQ(i.find({path("labels.txt")}), "");
	EXPECT_EQ(i.find({}), "");
	// Other spellings of the same file.
	EXPECT_EQ(i.find({dir_ + "/./model.pt"}), kDigestA);
	fs::create_symlink(path("model.pt"), path("link.pt"));
	EXPECT_EQ(i.find({path("link.pt")}), kDigestA);
	const std::string cwd = fs::current_path();
	fs::current_path(dir_);
	EXPECT_EQ(i.find({"model.pt"}), kDigestA);
	fs::current_path(cwd);
}

TEST_F(DigestIndexTest, AChangedFileIsNotFound)
{
	const DigestIndex i = index({entry(kDigestA, {"model.pt"})});
	ASSERT_EQ(i.find({path("model.pt")}), kDigestA);
	struct stat st {
	};
	ASSERT_EQ(::stat(path("model.pt").c_str(), &st), 0);

	// One nanosecond later.
	timespec t[2] = {st.st_atim, st.st_mtim};
	t[1].tv_nsec = (t[1].tv_nsec + 1) % 1000000000;
	ASSERT_EQ(::utimensat(AT_FDCWD, path("model.pt").c_str(), t, 0), 0);
	EXPECT_EQ(i.find({path("model.pt")}), "");

	// Back to its time, but another size.
	std::ofstream(path("model.pt"), std::ios::app) << "more";
	t[1] = st.st_mtim;
	ASSERT_EQ(::utimensat(AT_FDCWD, path("model.pt").c_str(), t, 0), 0);
	EXPECT_EQ(i.find({path("model.pt")}), "");

	// Gone.
	fs::remove(path("model.pt"));
	EXPECT_EQ(i.find({path("model.pt")}), "");
}

// A file digested as it is read gives the digest of its bytes added whole,
// and its size; what cannot be read is an error naming it.
TEST_F(DigestIndexTest, FilesAreDigestedAsTheirBytes)
{
	using vaccel::transport::ResourceDigest;
	std::string big(3 * 1024 * 1024 + 7, '\0');
	for (size_t i = 0; i < big.size(); ++i)
		big[i] = static_cast<char>(i * 131 % 251);
	std::ofstream(path("big.bin"), std::ios::binary) << big;
	ResourceDigest whole, read;
	whole.add("model.pt", "bytes of model.pt");
	whole.add("big.bin", big);
	ASSERT_EQ(read.add_file("model.pt", path("model.pt")).value(), 17U);
	ASSERT_EQ(read.add_file("big.bin", path("big.bin")).value(),
		  big.size());
	EXPECT_EQ(read.finish(), whole.finish());

	ResourceDigest d;
	auto none = d.add_file("none", path("none"));
	ASSERT_FALSE(none);
	EXPECT_NE(none.status().message().find("none"), std::string::npos);
	EXPECT_FALSE(d.add_file("dir", dir_));
}

TEST_F(DigestIndexTest, OnlyRegularFilesAreIndexed)
{
	EXPECT_FALSE(DigestIndex::stat_file(dir_));
	EXPECT_FALSE(DigestIndex::stat_file(path("none")));
	EXPECT_FALSE(DigestIndex::load(path("none")));
}

} // namespace
