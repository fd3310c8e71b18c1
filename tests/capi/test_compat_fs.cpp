// SPDX-License-Identifier: Apache-2.0
// fs_*: upstream's exported file-system helpers (vaccel/compat/fs.h).
#include <vaccel.h>
#include <vaccel/compat/fs.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace
{

class CompatFs : public ::testing::Test
{
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/vaccel-compat-fs-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
	}
	void TearDown() override
	{
		std::error_code ec;
		fs::remove_all(dir_, ec);
	}
	std::string write(const std::string &name, const std::string &text)
	{
		const std::string p = dir_ + "/" + name;
		fs::create_directories(fs::path(p).parent_path());
		std::ofstream(p, std::ios::binary) << text;
		return p;
	}
	std::string dir_;
};

TEST_F(CompatFs, PathPredicates)
{
	const std::string f = write("a.txt", "x");
	EXPECT_TRUE(fs_path_exists(f.c_str()));
	EXPECT_TRUE(fs_path_is_file(f.c_str()));
	EXPECT_FALSE(fs_path_is_dir(f.c_str()));
	EXPECT_TRUE(fs_path_is_dir(dir_.c_str()));
	EXPECT_FALSE(fs_path_exists((dir_ + "/none").c_str()));
	EXPECT_FALSE(fs_path_exists(nullptr));
}

TEST_F(CompatFs, ReadsWholeFile)
{
	const std::string f = write("data.bin", "hello world");
	void *data = nullptr;
	size_t size = 0;
	ASSERT_EQ(fs_file_read(f.c_str(), &data, &size), VACCEL_OK);
	ASSERT_EQ(size, 11U);
	EXPECT_EQ(std::memcmp(data, "hello world", size), 0);
	free(data);

	ASSERT_EQ(fs_file_read_mmap(f.c_str(), &data, &size), VACCEL_OK);
	ASSERT_EQ(size, 11U);
	EXPECT_EQ(std::memcmp(data, "hello world", size), 0);
	munmap(data, size);
}

TEST_F(CompatFs, ReadErrors)
{
	void *data = nullptr;
	EXPECT_EQ(fs_file_read(nullptr, &data, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(fs_file_read((dir_ + "/none").c_str(), &data, nullptr),
		  VACCEL_ENOENT);
	// An empty file is refused, as upstream does.
	const std::string empty = write("empty", "");
	EXPECT_EQ(fs_file_read(empty.c_str(), &data, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(fs_file_read_mmap(empty.c_str(), &data, nullptr),
		  VACCEL_EINVAL);
}

TEST_F(CompatFs, CreatesDirectoriesWithParents)
{
	const std::string d = dir_ + "/x/y/z";
	EXPECT_EQ(fs_dir_create(d.c_str()), VACCEL_OK);
	EXPECT_TRUE(fs::is_directory(d));
	EXPECT_EQ(fs_dir_create(d.c_str()), VACCEL_EEXIST);
	const std::string f = write("file", "x");
	EXPECT_EQ(fs_dir_create(f.c_str()), VACCEL_ENOTDIR);
	EXPECT_EQ(fs_dir_remove(d.c_str()), VACCEL_OK);
	EXPECT_FALSE(fs::exists(d));
	EXPECT_EQ(fs_dir_remove(d.c_str()), VACCEL_ENOENT);
}

TEST_F(CompatFs, UniqueDirectoryIntoBufferOrAllocated)
{
	char buf[4096];
	std::snprintf(buf, sizeof(buf), "%s/sub/name", dir_.c_str());
	ASSERT_EQ(fs_dir_create_unique(buf, sizeof(buf), nullptr), VACCEL_OK);
	EXPECT_TRUE(fs::is_directory(buf));
	EXPECT_EQ(std::string(buf).rfind(dir_ + "/sub/name_", 0), 0U) << buf;

	const std::string inside = dir_ + "/in/";
	std::string copy = inside;
	char *out = nullptr;
	ASSERT_EQ(fs_dir_create_unique(copy.data(), 0, &out), VACCEL_OK);
	EXPECT_TRUE(fs::is_directory(out));
	EXPECT_EQ(fs::path(out).parent_path(), fs::path(dir_ + "/in"));
	free(out);

	char small[8] = "abc";
	EXPECT_EQ(fs_dir_create_unique(small, sizeof(small), nullptr),
		  VACCEL_EINVAL);
}

TEST_F(CompatFs, CreatesFiles)
{
	const std::string f = dir_ + "/new";
	int fd = -1;
	ASSERT_EQ(fs_file_create(f.c_str(), &fd), VACCEL_OK);
	EXPECT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(fs_file_create(f.c_str(), nullptr), VACCEL_EEXIST);
	EXPECT_EQ(fs_file_create(dir_.c_str(), nullptr), VACCEL_EINVAL);
	EXPECT_EQ(fs_file_remove(f.c_str()), VACCEL_OK);
	EXPECT_EQ(fs_file_remove(f.c_str()), VACCEL_ENOENT);
}

TEST_F(CompatFs, UniqueFileKeepsExtension)
{
	char *out = nullptr;
	std::string base = dir_ + "/model.pt";
	ASSERT_EQ(fs_file_create_unique(base.data(), 0, &out, nullptr),
		  VACCEL_OK);
	const std::string name = fs::path(out).filename();
	EXPECT_EQ(name.rfind("model_", 0), 0U) << name;
	EXPECT_EQ(name.substr(name.size() - 3), ".pt") << name;
	EXPECT_EQ(name.size(), std::string("model_XXXXXX.pt").size());
	EXPECT_TRUE(fs::is_regular_file(out));
	free(out);

	char buf[4096];
	std::snprintf(buf, sizeof(buf), "%s/plain", dir_.c_str());
	int fd = -1;
	ASSERT_EQ(fs_file_create_unique(buf, sizeof(buf), nullptr, &fd),
		  VACCEL_OK);
	EXPECT_GE(fd, 0);
	close(fd);
	EXPECT_TRUE(fs::is_regular_file(buf));
}

int count_into(const char *path, int idx, va_list args)
{
	auto *seen = va_arg(args, std::set<std::string> *);
	seen->insert(fs::path(path).filename().string() + "#" +
		     std::to_string(idx));
	return 0;
}

int stop_at_first(const char *, int, va_list)
{
	return VACCEL_EIO;
}

TEST_F(CompatFs, WalksFilesRecursively)
{
	write("a", "1");
	write("d/b", "2");
	write("d/e/c", "3");
	std::set<std::string> seen;
	EXPECT_EQ(fs_dir_process_files(dir_.c_str(), count_into, &seen), 3);
	ASSERT_EQ(seen.size(), 3U);
	std::set<std::string> names;
	for (const auto &s : seen)
		names.insert(s.substr(0, s.find('#')));
	EXPECT_EQ(names, (std::set<std::string>{"a", "b", "c"}));
	EXPECT_EQ(fs_dir_process_files(dir_.c_str(), nullptr), 3);
	EXPECT_EQ(fs_dir_process_files(dir_.c_str(), stop_at_first),
		  -VACCEL_EIO);
	EXPECT_EQ(fs_dir_process_files((dir_ + "/none").c_str(), nullptr),
		  -VACCEL_ENOENT);
}

} // namespace
