// SPDX-License-Identifier: Apache-2.0
// Blobs: from files, from buffers (in memory or persisted to a directory),
// reading, validity and cleanup of the files a blob owns.
#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace
{

namespace fs = std::filesystem;

class Blob : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string tmpl =
		    (fs::temp_directory_path() / "vaccel-blob-XXXXXX").string();
		ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
		dir_ = tmpl;
	}
	void TearDown() override { fs::remove_all(dir_); }

	std::string write_file(const std::string &name, const std::string &data)
	{
		const fs::path p = dir_ / name;
		std::ofstream(p, std::ios::binary) << data;
		return p.string();
	}

	static std::string read_file(const std::string &path)
	{
		std::ifstream in(path, std::ios::binary);
		return {std::istreambuf_iterator<char>(in), {}};
	}

	fs::path dir_;
};

const uint8_t kBytes[] = {'v', 'a', 'c', 'c', 'e', 'l', '!'};

TEST_F(Blob, FromFileIsReadLazily)
{
	const std::string path = write_file("model.bin", "0123456789");
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init(&b, path.c_str()), VACCEL_OK);
	EXPECT_EQ(b.type, VACCEL_BLOB_FILE);
	EXPECT_STREQ(b.name, "model.bin");
	EXPECT_STREQ(vaccel_blob_path(&b), path.c_str());
	EXPECT_FALSE(b.path_owned);
	EXPECT_EQ(b.data, nullptr);
	EXPECT_TRUE(vaccel_blob_valid(&b));

	size_t size = 0;
	uint8_t *data = vaccel_blob_data(&b, &size);
	ASSERT_NE(data, nullptr);
	EXPECT_EQ(size, 10U);
	EXPECT_EQ(std::memcmp(data, "0123456789", 10), 0);
	EXPECT_EQ(b.type, VACCEL_BLOB_MAPPED);
	// Upstream parity: the bytes are the file's, not the blob's.
	EXPECT_FALSE(b.data_owned);
	EXPECT_EQ(vaccel_blob_read(&b), VACCEL_OK); // already read: no-op
	EXPECT_EQ(vaccel_blob_data(&b, nullptr), data);

	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK); // unmaps, keeps file
	EXPECT_TRUE(fs::exists(path));
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_EINVAL); // released twice
	EXPECT_FALSE(vaccel_blob_valid(&b));
}

TEST_F(Blob, InitErrors)
{
	vaccel_blob b{};
	EXPECT_EQ(vaccel_blob_init(&b, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_init(nullptr, "/x"), VACCEL_EINVAL);
	// Upstream parity: a missing file is VACCEL_EINVAL (was ENOENT).
	EXPECT_EQ(vaccel_blob_init(&b, (dir_ / "missing").c_str()),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_init(&b, dir_.c_str()), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_release(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_read(nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_data(nullptr, nullptr), nullptr);
	EXPECT_EQ(vaccel_blob_path(nullptr), nullptr);
	EXPECT_FALSE(vaccel_blob_valid(nullptr));
}

TEST_F(Blob, EmptyFileCannotBeRead)
{
	const std::string path = write_file("empty", "");
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init(&b, path.c_str()), VACCEL_OK);
	EXPECT_EQ(vaccel_blob_read(&b), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_data(&b, nullptr), nullptr);
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
}

TEST_F(Blob, FromBufInMemoryOwnedCopy)
{
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&b, kBytes, sizeof(kBytes), true,
					    "buf.bin", nullptr, false),
		  VACCEL_OK);
	EXPECT_EQ(b.type, VACCEL_BLOB_BUFFER);
	EXPECT_NE(b.data, kBytes);
	EXPECT_TRUE(b.data_owned);
	EXPECT_EQ(std::memcmp(b.data, kBytes, sizeof(kBytes)), 0);
	EXPECT_STREQ(b.name, "buf.bin");
	EXPECT_EQ(vaccel_blob_path(&b), nullptr);
	EXPECT_TRUE(vaccel_blob_valid(&b));
	size_t size = 0;
	EXPECT_EQ(vaccel_blob_data(&b, &size), b.data);
	EXPECT_EQ(size, sizeof(kBytes));
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
}

TEST_F(Blob, FromBufInMemoryBorrowed)
{
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&b, kBytes, sizeof(kBytes), false,
					    "buf.bin", nullptr, false),
		  VACCEL_OK);
	EXPECT_EQ(b.data, kBytes);
	EXPECT_FALSE(b.data_owned);
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK); // must not free kBytes
}

TEST_F(Blob, FromBufErrors)
{
	vaccel_blob b{};
	EXPECT_EQ(vaccel_blob_init_from_buf(&b, nullptr, 4, true, "x", nullptr,
					    false),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_blob_init_from_buf(&b, kBytes, 0, true, "x", nullptr, false),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_init_from_buf(&b, kBytes, 4, true, nullptr,
					    nullptr, false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_init_from_buf(&b, kBytes, 4, true, "a/b",
					    dir_.c_str(), false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_init_from_buf(&b, kBytes, 4, true, "..",
					    dir_.c_str(), false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_init_from_buf(&b, kBytes, 4, true, "x",
					    (dir_ / "nope").c_str(), false),
		  VACCEL_ENOENT);
	// Upstream parity: anything but a directory is VACCEL_ENOENT (it was
	// VACCEL_ENOTDIR here before).
	const std::string file = write_file("plain", "x");
	EXPECT_EQ(vaccel_blob_init_from_buf(&b, kBytes, 4, true, "x",
					    file.c_str(), false),
		  VACCEL_ENOENT);
}

TEST_F(Blob, FromBufWithDirPersists)
{
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&b, kBytes, sizeof(kBytes), false,
					    "lib.so", dir_.c_str(), false),
		  VACCEL_OK);
	EXPECT_EQ(b.type, VACCEL_BLOB_MAPPED);
	EXPECT_TRUE(b.path_owned);
	EXPECT_TRUE(b.data_owned);
	EXPECT_STREQ(b.name, "lib.so");
	const std::string path = (dir_ / "lib.so").string();
	EXPECT_STREQ(vaccel_blob_path(&b), path.c_str());
	EXPECT_EQ(read_file(path),
		  std::string(reinterpret_cast<const char *>(kBytes),
			      sizeof(kBytes)));
	EXPECT_EQ(std::memcmp(b.data, kBytes, sizeof(kBytes)), 0);
	EXPECT_TRUE(vaccel_blob_valid(&b));

	// The same name again, without randomization: the file exists.
	vaccel_blob c{};
	EXPECT_EQ(vaccel_blob_init_from_buf(&c, kBytes, sizeof(kBytes), true,
					    "lib.so", dir_.c_str(), false),
		  VACCEL_EEXIST);

	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
	EXPECT_FALSE(fs::exists(path)); // the blob owned the file
}

TEST_F(Blob, RandomizedNamesKeepTheExtension)
{
	vaccel_blob a{};
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&a, kBytes, sizeof(kBytes), true,
					    "model.pt", dir_.c_str(), true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_blob_init_from_buf(&b, kBytes, sizeof(kBytes), true,
					    "model.pt", dir_.c_str(), true),
		  VACCEL_OK);
	const std::string na = a.name;
	const std::string nb = b.name;
	EXPECT_NE(na, nb);
	EXPECT_EQ(na.rfind("model_", 0), 0U) << na;
	EXPECT_EQ(na.substr(na.size() - 3), ".pt") << na;
	EXPECT_EQ(na.size(), std::string("model_XXXXXX.pt").size());
	EXPECT_TRUE(fs::exists(a.path));
	EXPECT_EQ(fs::status(a.path).permissions() & fs::perms::others_read,
		  fs::perms::none);
	const std::string pa = a.path;
	EXPECT_EQ(vaccel_blob_release(&a), VACCEL_OK);
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
	EXPECT_FALSE(fs::exists(pa));

	vaccel_blob dot{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&dot, kBytes, sizeof(kBytes), true,
					    ".hidden", dir_.c_str(), true),
		  VACCEL_OK);
	EXPECT_EQ(std::string(dot.name).rfind(".hidden_", 0), 0U);
	EXPECT_EQ(vaccel_blob_release(&dot), VACCEL_OK);
}

TEST_F(Blob, PersistConvertsBufferBlob)
{
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init_from_buf(&b, kBytes, sizeof(kBytes), true,
					    "data.bin", nullptr, false),
		  VACCEL_OK);
	// Upstream parity: a NULL directory is VACCEL_ENOENT (was EINVAL).
	EXPECT_EQ(vaccel_blob_persist(&b, nullptr, "data.bin", false),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_blob_persist(&b, dir_.c_str(), nullptr, false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_persist(nullptr, dir_.c_str(), "x", false),
		  VACCEL_EINVAL);
	ASSERT_EQ(vaccel_blob_persist(&b, dir_.c_str(), "renamed.bin", false),
		  VACCEL_OK);
	EXPECT_EQ(b.type, VACCEL_BLOB_MAPPED);
	EXPECT_STREQ(b.name, "renamed.bin");
	EXPECT_TRUE(fs::exists(dir_ / "renamed.bin"));
	// A blob backed by a file cannot be persisted again (upstream's
	// VACCEL_EEXIST; was EINVAL).
	EXPECT_EQ(vaccel_blob_persist(&b, dir_.c_str(), "again.bin", false),
		  VACCEL_EEXIST);
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
	EXPECT_FALSE(fs::exists(dir_ / "renamed.bin"));
}

TEST_F(Blob, NewFromBufDelete)
{
	const std::string path = write_file("f.txt", "abc");
	vaccel_blob *f = nullptr;
	ASSERT_EQ(vaccel_blob_new(&f, path.c_str()), VACCEL_OK);
	EXPECT_EQ(vaccel_blob_read(f), VACCEL_OK);
	EXPECT_EQ(f->size, 3U);
	EXPECT_EQ(vaccel_blob_delete(f), VACCEL_OK);

	vaccel_blob *m = nullptr;
	ASSERT_EQ(vaccel_blob_from_buf(&m, kBytes, sizeof(kBytes), true, "m",
				       nullptr, false),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_blob_delete(m), VACCEL_OK);

	vaccel_blob *p = nullptr;
	ASSERT_EQ(vaccel_blob_from_buf(&p, kBytes, sizeof(kBytes), true, "p",
				       dir_.c_str(), true),
		  VACCEL_OK);
	const std::string pp = p->path;
	EXPECT_EQ(vaccel_blob_delete(p), VACCEL_OK);
	EXPECT_FALSE(fs::exists(pp));

	vaccel_blob *untouched = nullptr;
	EXPECT_EQ(vaccel_blob_new(&untouched, "/nonexistent/file"),
		  VACCEL_EINVAL);
	EXPECT_EQ(untouched, nullptr);
	EXPECT_EQ(vaccel_blob_new(nullptr, path.c_str()), VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_blob_from_buf(nullptr, kBytes, 1, true, "x", nullptr, false),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_blob_delete(nullptr), VACCEL_EINVAL);
}

TEST_F(Blob, MappedBytesArePrivate)
{
	const std::string path = write_file("w.bin", "abcd");
	vaccel_blob b{};
	ASSERT_EQ(vaccel_blob_init(&b, path.c_str()), VACCEL_OK);
	uint8_t *data = vaccel_blob_data(&b, nullptr);
	ASSERT_NE(data, nullptr);
	data[0] = 'Z'; // writable, but the file keeps its bytes
	EXPECT_EQ(read_file(path), "abcd");
	EXPECT_EQ(vaccel_blob_release(&b), VACCEL_OK);
}

TEST(BlobValid, Rules)
{
	vaccel_blob b{};
	b.type = VACCEL_BLOB_MAX;
	EXPECT_FALSE(vaccel_blob_valid(&b));
	b.type = VACCEL_BLOB_BUFFER;
	EXPECT_FALSE(vaccel_blob_valid(&b)); // no name
	char name[] = "n";
	b.name = name;
	EXPECT_FALSE(vaccel_blob_valid(&b)); // no data, no path
	uint8_t byte = 1;
	b.data = &byte;
	b.size = 1;
	EXPECT_TRUE(vaccel_blob_valid(&b));
}

} // namespace
