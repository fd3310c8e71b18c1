// SPDX-License-Identifier: Apache-2.0
// path_*: upstream's exported path helpers (vaccel/compat/path.h).
#include <vaccel.h>
#include <vaccel/compat/path.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace
{

TEST(CompatPath, UriKinds)
{
	const fs::path dir = fs::temp_directory_path();
	const fs::path file = dir / "vaccel-compat-path-file";
	std::ofstream(file) << "x";

	vaccel_path_type_t type{};
	char buf[4096];
	ASSERT_EQ(path_init_from_uri(buf, sizeof(buf), &type,
				     ("file://" + file.string()).c_str()),
		  VACCEL_OK);
	EXPECT_EQ(std::string(buf), file.string());
	EXPECT_EQ(type, VACCEL_PATH_LOCAL_FILE);
	ASSERT_EQ(path_init_from_uri(nullptr, 0, &type, dir.c_str()),
		  VACCEL_OK);
	EXPECT_EQ(type, VACCEL_PATH_LOCAL_DIR);

	char *out = nullptr;
	ASSERT_EQ(path_from_uri(&out, &type, "https://example.com/m.pt"),
		  VACCEL_OK);
	EXPECT_STREQ(out, "https://example.com/m.pt");
	EXPECT_EQ(type, VACCEL_PATH_REMOTE_FILE);
	free(out);

	EXPECT_EQ(path_from_uri(nullptr, &type, "/no/such/path"),
		  VACCEL_EINVAL);
	EXPECT_EQ(path_from_uri(nullptr, &type, "s3://bucket/x"),
		  VACCEL_EINVAL);
	char tiny[4];
	EXPECT_EQ(path_init_from_uri(tiny, sizeof(tiny), nullptr, dir.c_str()),
		  VACCEL_ENAMETOOLONG);
	fs::remove(file);
}

TEST(CompatPath, UrlAndType)
{
	EXPECT_TRUE(path_is_url("http://h/x"));
	EXPECT_TRUE(path_is_url("ftp://h/x"));
	EXPECT_FALSE(path_is_url("/tmp"));
	EXPECT_FALSE(path_is_url(nullptr));
	vaccel_path_type_t type{};
	ASSERT_EQ(path_type("https://h/x", &type), VACCEL_OK);
	EXPECT_EQ(type, VACCEL_PATH_REMOTE_FILE);
	ASSERT_EQ(path_type("/tmp", &type), VACCEL_OK);
	EXPECT_EQ(type, VACCEL_PATH_LOCAL_DIR);
	EXPECT_EQ(path_type("/no/such/path", &type), VACCEL_ENOTSUP);
}

TEST(CompatPath, JoinsParts)
{
	char buf[32];
	ASSERT_EQ(
	    path_init_from_parts(buf, sizeof(buf), "/a", "b", "c.txt", nullptr),
	    VACCEL_OK);
	EXPECT_STREQ(buf, "/a/b/c.txt");
	char small[6];
	EXPECT_EQ(
	    path_init_from_parts(small, sizeof(small), "/a", "bcd", nullptr),
	    VACCEL_ENAMETOOLONG);
	char *out = nullptr;
	ASSERT_EQ(path_from_parts(&out, "x", "y", nullptr), VACCEL_OK);
	EXPECT_STREQ(out, "x/y");
	free(out);
	EXPECT_EQ(path_from_parts(&out, nullptr), VACCEL_EINVAL);
}

TEST(CompatPath, FileName)
{
	char buf[16];
	ASSERT_EQ(path_file_name("/a/b/model.pt", buf, sizeof(buf), nullptr),
		  VACCEL_OK);
	EXPECT_STREQ(buf, "model.pt");
	char *out = nullptr;
	ASSERT_EQ(path_file_name("plain", nullptr, 0, &out), VACCEL_OK);
	EXPECT_STREQ(out, "plain");
	free(out);
	char tiny[4];
	EXPECT_EQ(path_file_name("/a/long.name", tiny, sizeof(tiny), nullptr),
		  VACCEL_ENAMETOOLONG);
}

TEST(CompatPath, RandomSuffixBeforeExtension)
{
	char buf[64];
	size_t ext = 99;
	ASSERT_EQ(path_file_name_add_random_suffix(buf, sizeof(buf), &ext,
						   "/d.x/model.tar.gz", "_S"),
		  VACCEL_OK);
	EXPECT_STREQ(buf, "/d.x/model.tar_S.gz");
	EXPECT_EQ(ext, 3U);
	ASSERT_EQ(path_file_name_add_random_suffix(buf, sizeof(buf), &ext,
						   "/d.x/model", "_S"),
		  VACCEL_OK);
	EXPECT_STREQ(buf, "/d.x/model_S");
	EXPECT_EQ(ext, 0U);
	char small[8];
	EXPECT_EQ(path_file_name_add_random_suffix(small, sizeof(small), &ext,
						   "model.pt", "_XXXXXX"),
		  VACCEL_ENAMETOOLONG);
}

} // namespace
