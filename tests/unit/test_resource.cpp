// SPDX-License-Identifier: Apache-2.0
// Resources: every way to create one, registration with sessions, lookups,
// and URL resources fetched from an in-process HTTP server.
#include "http_server.h"
#include "test_util.h"

#include <cstring>

using namespace vaccel_test;

namespace
{

std::string blob_bytes(vaccel_blob *b)
{
	size_t n = 0;
	uint8_t *d = vaccel_blob_data(b, &n);
	if (d == nullptr)
		return "<null>";
	return std::string(reinterpret_cast<const char *>(d), n);
}

class Resource : public RuntimeTest
{
protected:
	TempDir files_;
};

TEST_F(Resource, FromFile)
{
	const std::string path = files_.write("model.onnx", "model-bytes");
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_GT(res.id, 0);
	EXPECT_EQ(res.type, VACCEL_RESOURCE_MODEL);
	EXPECT_EQ(res.path_type, VACCEL_PATH_LOCAL_FILE);
	ASSERT_EQ(res.nr_paths, 1U);
	EXPECT_STREQ(res.paths[0], path.c_str());
	ASSERT_EQ(res.nr_blobs, 1U);
	EXPECT_STREQ(res.blobs[0]->name, "model.onnx");
	EXPECT_STREQ(vaccel_blob_path(res.blobs[0]), path.c_str());
	EXPECT_EQ(blob_bytes(res.blobs[0]), "model-bytes");
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);
	EXPECT_EQ(vaccel_resource_count(), 1U);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(res.id, 0);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	// The program's file is not the runtime's to delete.
	EXPECT_TRUE(fs::exists(path));
}

TEST_F(Resource, BadArguments)
{
	const std::string path = files_.write("f", "x");
	struct vaccel_resource res {
	};
	EXPECT_EQ(
	    vaccel_resource_init(nullptr, path.c_str(), VACCEL_RESOURCE_DATA),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_init(&res, nullptr, VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_init(&res, "", VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_MAX),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_EQ(vaccel_resource_refcount(nullptr), -VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_release(nullptr), VACCEL_EINVAL);
}

// Upstream parity: a missing path is VACCEL_EINVAL (it was VACCEL_ENOENT
// here before).
TEST_F(Resource, MissingPathIsEinvalAndLeavesNothing)
{
	struct vaccel_resource res {
	};
	const std::string missing = files_.file("nope.bin");
	EXPECT_EQ(
	    vaccel_resource_init(&res, missing.c_str(), VACCEL_RESOURCE_DATA),
	    VACCEL_EINVAL);
	EXPECT_EQ(res.id, 0);
	EXPECT_EQ(res.state, nullptr);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_NE(std::string(vaccel_last_error()).find("nope.bin"),
		  std::string::npos)
	    << vaccel_last_error();
	struct vaccel_resource *r = nullptr;
	EXPECT_EQ(
	    vaccel_resource_new(&r, missing.c_str(), VACCEL_RESOURCE_DATA),
	    VACCEL_EINVAL);
	EXPECT_EQ(r, nullptr);
}

TEST_F(Resource, FromDirectory)
{
	TempDir dir;
	dir.write("c.bin", "C");
	dir.write("a.bin", "A");
	dir.write("b.bin", "B");
	fs::create_directory(dir.path() / "sub");
	dir.write("sub/ignored.bin", "nested");
	const std::string d = dir.path().string();

	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_resource_init(&res, d.c_str(), VACCEL_RESOURCE_MODEL),
		  VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_EQ(res.path_type, VACCEL_PATH_LOCAL_DIR);
	ASSERT_EQ(res.nr_blobs, 3U); // regular files only, sorted
	EXPECT_STREQ(res.blobs[0]->name, "a.bin");
	EXPECT_STREQ(res.blobs[1]->name, "b.bin");
	EXPECT_STREQ(res.blobs[2]->name, "c.bin");
	EXPECT_EQ(blob_bytes(res.blobs[2]), "C");

	char small[4];
	EXPECT_EQ(
	    vaccel_resource_directory(&res, small, sizeof(small), nullptr),
	    VACCEL_ENAMETOOLONG);
	char exact[4096];
	ASSERT_EQ(vaccel_resource_directory(&res, exact, d.size() + 1, nullptr),
		  VACCEL_OK);
	EXPECT_EQ(std::string(exact), d);
	EXPECT_EQ(vaccel_resource_directory(&res, exact, d.size(), nullptr),
		  VACCEL_ENAMETOOLONG);
	char *alloc = nullptr;
	ASSERT_EQ(vaccel_resource_directory(&res, nullptr, 0, &alloc),
		  VACCEL_OK);
	ASSERT_NE(alloc, nullptr);
	EXPECT_EQ(std::string(alloc), d);
	free(alloc);
	EXPECT_EQ(vaccel_resource_directory(&res, nullptr, 0, nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	// The directory is the program's.
	EXPECT_TRUE(fs::exists(dir.path() / "a.bin"));
}

TEST_F(Resource, DirectoryOfAFileResourceIsEinval)
{
	const std::string path = files_.write("f.bin", "x");
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_DATA),
	    VACCEL_OK);
	char buf[4096];
	EXPECT_EQ(vaccel_resource_directory(&res, buf, sizeof(buf), nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_directory(nullptr, buf, sizeof(buf), nullptr),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(Resource, EmptyDirectoryIsEnoent)
{
	TempDir empty;
	struct vaccel_resource res {
	};
	EXPECT_EQ(vaccel_resource_init(&res, empty.path().c_str(),
				       VACCEL_RESOURCE_DATA),
		  VACCEL_ENOENT);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

TEST_F(Resource, MultiplePaths)
{
	const std::string lib = files_.write("libmain.so", "main");
	const std::string dep = files_.write("libdep.so", "dep");
	const char *paths[] = {lib.c_str(), dep.c_str()};
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init_multi(&res, paths, 2, VACCEL_RESOURCE_LIB),
	    VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_EQ(res.type, VACCEL_RESOURCE_LIB);
	ASSERT_EQ(res.nr_paths, 2U);
	ASSERT_EQ(res.nr_blobs, 2U);
	// Path order, not name order.
	EXPECT_STREQ(res.blobs[0]->name, "libmain.so");
	EXPECT_STREQ(res.blobs[1]->name, "libdep.so");
	EXPECT_EQ(blob_bytes(res.blobs[1]), "dep");
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);

	struct vaccel_resource *r = nullptr;
	ASSERT_EQ(vaccel_resource_multi_new(&r, paths, 2, VACCEL_RESOURCE_LIB),
		  VACCEL_OK);
	EXPECT_EQ(r->nr_blobs, 2U);
	EXPECT_EQ(vaccel_resource_delete(r), VACCEL_OK);
}

TEST_F(Resource, MultiplePathsErrors)
{
	const std::string f = files_.write("f.bin", "x");
	const std::string missing = files_.file("missing.bin");
	struct vaccel_resource res {
	};
	const char *with_missing[] = {f.c_str(), missing.c_str()};
	EXPECT_EQ(vaccel_resource_init_multi(&res, with_missing, 2,
					     VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	const std::string dir = files_.path().string();
	const char *with_dir[] = {f.c_str(), dir.c_str()};
	EXPECT_EQ(
	    vaccel_resource_init_multi(&res, with_dir, 2, VACCEL_RESOURCE_DATA),
	    VACCEL_EINVAL);
	const char *mixed[] = {f.c_str(), "http://127.0.0.1:1/x.bin"};
	EXPECT_EQ(
	    vaccel_resource_init_multi(&res, mixed, 2, VACCEL_RESOURCE_DATA),
	    VACCEL_EINVAL);
	const char *with_null[] = {f.c_str(), nullptr};
	EXPECT_EQ(vaccel_resource_init_multi(&res, with_null, 2,
					     VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_init_multi(&res, with_null, 0,
					     VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_resource_init_multi(&res, nullptr, 1, VACCEL_RESOURCE_DATA),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

TEST_F(Resource, FromBufferInMemory)
{
	const std::string bytes = "in-memory-bytes";
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes.data(), bytes.size(), VACCEL_RESOURCE_DATA,
		      "mem.bin", true),
		  VACCEL_OK)
	    << vaccel_last_error();
	ASSERT_EQ(res.nr_blobs, 1U);
	vaccel_blob *b = res.blobs[0];
	EXPECT_EQ(b->type, VACCEL_BLOB_BUFFER);
	EXPECT_EQ(vaccel_blob_path(b), nullptr);
	EXPECT_STREQ(b->name, "mem.bin");
	EXPECT_EQ(blob_bytes(b), bytes);
	// A copy, not the caller's buffer.
	EXPECT_NE(static_cast<const void *>(b->data),
		  static_cast<const void *>(bytes.data()));
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(Resource, FromBufferOnDisk)
{
	std::string bytes(4096, '\0');
	for (size_t i = 0; i < bytes.size(); ++i)
		bytes[i] = static_cast<char>(i * 7);
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes.data(), bytes.size(), VACCEL_RESOURCE_MODEL,
		      "weights.bin", false),
		  VACCEL_OK)
	    << vaccel_last_error();
	ASSERT_NE(res.rundir, nullptr);
	const std::string rundir = res.rundir;
	EXPECT_EQ(rundir.rfind(vaccel_rundir(), 0), 0U) << rundir;
	ASSERT_EQ(res.nr_blobs, 1U);
	const char *p = vaccel_blob_path(res.blobs[0]);
	ASSERT_NE(p, nullptr);
	const std::string path = p;
	EXPECT_EQ(fs::path(path).parent_path(), fs::path(rundir));
	EXPECT_EQ(fs::path(path).filename(), "weights.bin");
	EXPECT_EQ(read_text(path), bytes);
	EXPECT_EQ(blob_bytes(res.blobs[0]), bytes);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_FALSE(fs::exists(path));
	EXPECT_FALSE(fs::exists(rundir));
}

TEST_F(Resource, FromBufferDefaultsAndErrors)
{
	const char bytes[] = "abc";
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes, 3, VACCEL_RESOURCE_DATA, nullptr, false),
		  VACCEL_OK);
	EXPECT_STREQ(res.blobs[0]->name, "file");
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);

	EXPECT_EQ(vaccel_resource_init_from_buf(
		      &res, nullptr, 3, VACCEL_RESOURCE_DATA, "x", true),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes, 0, VACCEL_RESOURCE_DATA, "x", true),
		  VACCEL_EINVAL);
	// The name must not escape the resource's directory.
	EXPECT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes, 3, VACCEL_RESOURCE_DATA, "../escape", false),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_init_from_buf(
		      &res, bytes, 3, VACCEL_RESOURCE_DATA, "..", false),
		  VACCEL_EINVAL);
	EXPECT_FALSE(
	    fs::exists(fs::path(vaccel_rundir()).parent_path() / "escape"));
	EXPECT_EQ(vaccel_resource_count(), 0U);

	struct vaccel_resource *r = nullptr;
	ASSERT_EQ(vaccel_resource_from_buf(&r, bytes, 3, VACCEL_RESOURCE_DATA,
					   "y", true),
		  VACCEL_OK);
	EXPECT_EQ(blob_bytes(r->blobs[0]), "abc");
	EXPECT_EQ(vaccel_resource_delete(r), VACCEL_OK);
}

TEST_F(Resource, FromBlobs)
{
	const std::string fpath = files_.write("file-blob.bin", "from-file");
	vaccel_blob *fb = nullptr;
	ASSERT_EQ(vaccel_blob_new(&fb, fpath.c_str()), VACCEL_OK);
	const uint8_t mem[] = {'m', 'e', 'm'};
	vaccel_blob *mb = nullptr;
	ASSERT_EQ(vaccel_blob_from_buf(&mb, mem, sizeof(mem), true, "mem.bin",
				       nullptr, false),
		  VACCEL_OK);
	const vaccel_blob *blobs[] = {fb, mb};
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_resource_init_from_blobs(&res, blobs, 2,
						  VACCEL_RESOURCE_DATA),
		  VACCEL_OK)
	    << vaccel_last_error();
	ASSERT_EQ(res.nr_blobs, 2U);
	// Copies: the resource does not depend on the caller's blobs.
	EXPECT_NE(res.blobs[0], fb);
	EXPECT_NE(res.blobs[1], mb);
	EXPECT_EQ(vaccel_blob_delete(fb), VACCEL_OK);
	EXPECT_EQ(vaccel_blob_delete(mb), VACCEL_OK);
	EXPECT_STREQ(res.blobs[0]->name, "file-blob.bin");
	EXPECT_EQ(blob_bytes(res.blobs[0]), "from-file");
	EXPECT_STREQ(res.blobs[1]->name, "mem.bin");
	EXPECT_EQ(blob_bytes(res.blobs[1]), "mem");
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	// The caller's file survives.
	EXPECT_TRUE(fs::exists(fpath));

	EXPECT_EQ(vaccel_resource_init_from_blobs(&res, nullptr, 1,
						  VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	const vaccel_blob *nulls[] = {nullptr};
	EXPECT_EQ(vaccel_resource_init_from_blobs(&res, nulls, 1,
						  VACCEL_RESOURCE_DATA),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

// A persisted blob owns its file and deletes it when released: the
// resource's copy must not depend on it.
TEST_F(Resource, FromBlobsOutlivesOwnedFileOfSource)
{
	TempDir staging;
	const uint8_t mem[] = {'o', 'w', 'n'};
	vaccel_blob *owned = nullptr;
	ASSERT_EQ(vaccel_blob_from_buf(&owned, mem, sizeof(mem), true,
				       "owned.bin", staging.path().c_str(),
				       false),
		  VACCEL_OK);
	ASSERT_TRUE(owned->path_owned);
	const std::string src_path = owned->path;
	const vaccel_blob *blobs[] = {owned};
	struct vaccel_resource res {
	};
	ASSERT_EQ(vaccel_resource_init_from_blobs(&res, blobs, 1,
						  VACCEL_RESOURCE_MODEL),
		  VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_EQ(vaccel_blob_delete(owned), VACCEL_OK);
	EXPECT_FALSE(fs::exists(src_path));
	ASSERT_EQ(res.nr_blobs, 1U);
	EXPECT_EQ(blob_bytes(res.blobs[0]), "own");
	const char *p = vaccel_blob_path(res.blobs[0]);
	ASSERT_NE(p, nullptr); // still a file, for backends that need a path
	EXPECT_EQ(read_text(p), "own");
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(Resource, ReleaseTwiceIsEinval)
{
	const std::string path = files_.write("f", "x");
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_DATA),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_EINVAL);
	struct vaccel_resource never {
	};
	EXPECT_EQ(vaccel_resource_release(&never), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_delete(nullptr), VACCEL_EINVAL);
}

TEST_F(Resource, RegistrationRules)
{
	const std::string path = files_.write("f", "x");
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init(&res, path.c_str(), VACCEL_RESOURCE_DATA),
	    VACCEL_OK);
	struct vaccel_session s1 {
	}, s2{};
	ASSERT_EQ(vaccel_session_init(&s1, 0), VACCEL_OK);
	ASSERT_EQ(vaccel_session_init(&s2, 0), VACCEL_OK);

	EXPECT_EQ(vaccel_resource_unregister(&res, &s1), VACCEL_EPERM);
	ASSERT_EQ(vaccel_resource_register(&res, &s1), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res), 1);
	EXPECT_EQ(vaccel_resource_register(&res, &s1), VACCEL_EEXIST);
	EXPECT_EQ(vaccel_resource_refcount(&res), 1);
	ASSERT_EQ(vaccel_resource_register(&res, &s2), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res), 2);

	ASSERT_EQ(vaccel_resource_unregister(&res, &s1), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res), 1);
	EXPECT_FALSE(vaccel_session_has_resource(&s1, &res));
	EXPECT_TRUE(vaccel_session_has_resource(&s2, &res));
	EXPECT_EQ(vaccel_resource_unregister(&res, &s1), VACCEL_EPERM);
	ASSERT_EQ(vaccel_resource_unregister(&res, &s2), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_refcount(&res), 0);

	// Sync needs a registration; locally it is a no-op.
	EXPECT_EQ(vaccel_resource_sync(&res, &s1), VACCEL_EPERM);
	ASSERT_EQ(vaccel_resource_register(&res, &s1), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_sync(&res, &s1), VACCEL_OK);
	ASSERT_EQ(vaccel_resource_unregister(&res, &s1), VACCEL_OK);

	EXPECT_EQ(vaccel_resource_register(nullptr, &s1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_register(&res, nullptr), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_unregister(nullptr, &s1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_resource_unregister(&res, nullptr), VACCEL_EINVAL);

	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_register(&res, &s1), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_session_release(&s1), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&s2), VACCEL_OK);
}

TEST_F(Resource, GlobalLookups)
{
	const std::string path = files_.write("f", "x");
	struct vaccel_resource m1 {
	}, d1{}, m2{};
	ASSERT_EQ(
	    vaccel_resource_init(&m1, path.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_init(&d1, path.c_str(), VACCEL_RESOURCE_DATA),
		  VACCEL_OK);
	ASSERT_EQ(
	    vaccel_resource_init(&m2, path.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_OK);
	EXPECT_LT(m1.id, d1.id);
	EXPECT_LT(d1.id, m2.id);

	struct vaccel_resource *r = nullptr;
	ASSERT_EQ(vaccel_resource_get_by_id(&r, d1.id), VACCEL_OK);
	EXPECT_EQ(r, &d1);
	EXPECT_EQ(vaccel_resource_get_by_id(nullptr, d1.id), VACCEL_EINVAL);
	r = nullptr;
	EXPECT_EQ(vaccel_resource_get_by_id(&r, m2.id + 1000), VACCEL_ENOENT);
	EXPECT_EQ(r, nullptr);

	ASSERT_EQ(vaccel_resource_get_by_type(&r, VACCEL_RESOURCE_MODEL),
		  VACCEL_OK);
	EXPECT_EQ(r, &m1); // lowest id
	r = nullptr;
	EXPECT_EQ(vaccel_resource_get_by_type(&r, VACCEL_RESOURCE_LIB),
		  VACCEL_ENOENT);
	EXPECT_EQ(r, nullptr);

	struct vaccel_resource **all = nullptr;
	size_t n = 0;
	ASSERT_EQ(
	    vaccel_resource_get_all_by_type(&all, &n, VACCEL_RESOURCE_MODEL),
	    VACCEL_OK);
	ASSERT_EQ(n, 2U);
	EXPECT_EQ(all[0], &m1);
	EXPECT_EQ(all[1], &m2);
	free(all);
	all = nullptr;
	n = 7;
	EXPECT_EQ(
	    vaccel_resource_get_all_by_type(&all, &n, VACCEL_RESOURCE_LIB),
	    VACCEL_ENOENT);
	EXPECT_EQ(n, 0U);
	EXPECT_EQ(all, nullptr);

	const vaccel_id_t gone = m1.id;
	ASSERT_EQ(vaccel_resource_release(&m1), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_get_by_id(&r, gone), VACCEL_ENOENT);
	ASSERT_EQ(vaccel_resource_get_by_type(&r, VACCEL_RESOURCE_MODEL),
		  VACCEL_OK);
	EXPECT_EQ(r, &m2);
	EXPECT_EQ(vaccel_resource_release(&d1), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&m2), VACCEL_OK);
}

// ---- URL resources
// -----------------------------------------------------------

class UrlResource : public Resource
{
protected:
	// A proxy from the environment must not intercept 127.0.0.1.
	ScopedEnv no_proxy1_{"no_proxy", "127.0.0.1,localhost"};
	ScopedEnv no_proxy2_{"NO_PROXY", "127.0.0.1,localhost"};
	ScopedEnv http_proxy_{"http_proxy", std::nullopt};
};

TEST_F(UrlResource, Downloads)
{
	std::string body(10000, '\0');
	for (size_t i = 0; i < body.size(); ++i)
		body[i] = static_cast<char>('a' + i % 26);
	HttpServer server(HttpServer::Mode::Ok, body);
	const std::string url = server.url("/models/net.bin?rev=3");
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init(&res, url.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_OK)
	    << vaccel_last_error();
	EXPECT_EQ(server.requests(), 1);
	EXPECT_EQ(res.path_type, VACCEL_PATH_REMOTE_FILE);
	ASSERT_EQ(res.nr_paths, 1U);
	EXPECT_STREQ(res.paths[0], url.c_str());
	ASSERT_EQ(res.nr_blobs, 1U);
	ASSERT_NE(res.rundir, nullptr);
	const char *p = vaccel_blob_path(res.blobs[0]);
	ASSERT_NE(p, nullptr);
	const std::string path = p;
	EXPECT_EQ(fs::path(path).parent_path(), fs::path(res.rundir));
	// Named after the URL's last path segment, without the query.
	EXPECT_NE(path.find("net.bin"), std::string::npos) << path;
	EXPECT_EQ(path.find('?'), std::string::npos) << path;
	EXPECT_EQ(read_text(path), body);
	EXPECT_EQ(blob_bytes(res.blobs[0]), body);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_FALSE(fs::exists(path));
}

TEST_F(UrlResource, MultipleUrls)
{
	HttpServer server(HttpServer::Mode::Ok, "same");
	const std::string u1 = server.url("/a/model.bin");
	const std::string u2 = server.url("/b/model.bin"); // same basename
	const char *urls[] = {u1.c_str(), u2.c_str()};
	struct vaccel_resource res {
	};
	ASSERT_EQ(
	    vaccel_resource_init_multi(&res, urls, 2, VACCEL_RESOURCE_MODEL),
	    VACCEL_OK)
	    << vaccel_last_error();
	ASSERT_EQ(res.nr_blobs, 2U);
	EXPECT_STRNE(vaccel_blob_path(res.blobs[0]),
		     vaccel_blob_path(res.blobs[1]));
	EXPECT_EQ(blob_bytes(res.blobs[1]), "same");
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(UrlResource, NotFoundIsEio)
{
	HttpServer server(HttpServer::Mode::NotFound);
	const std::string url = server.url("/missing.bin");
	struct vaccel_resource res {
	};
	EXPECT_EQ(
	    vaccel_resource_init(&res, url.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_EIO);
	EXPECT_EQ(server.requests(), 1);
	EXPECT_EQ(res.state, nullptr);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_NE(std::string(vaccel_last_error()).find("missing.bin"),
		  std::string::npos)
	    << vaccel_last_error();
	// Nothing left in the runtime's directory.
	size_t entries = 0;
	for ([[maybe_unused]] const auto &e :
	     fs::recursive_directory_iterator(vaccel_rundir()))
		++entries;
	EXPECT_EQ(entries, 0U);
}

TEST_F(UrlResource, UnresponsiveServerTimesOut)
{
	ScopedEnv timeout("VACCEL_RESOURCE_FETCH_TIMEOUT", "1");
	HttpServer server(HttpServer::Mode::Hang);
	const std::string url = server.url("/slow.bin");
	struct vaccel_resource res {
	};
	// Bounded by the 1 s timeout (and the test's ctest TIMEOUT).
	EXPECT_EQ(
	    vaccel_resource_init(&res, url.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_EIO);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_NE(std::string(vaccel_last_error()).find("timed out"),
		  std::string::npos)
	    << vaccel_last_error();
}

TEST_F(UrlResource, ConnectionRefusedIsEio)
{
	int port = 0;
	{
		HttpServer probe(HttpServer::Mode::Ok);
		const std::string u = probe.url("");
		port = std::stoi(u.substr(u.rfind(':') + 1));
	} // closed: nothing listens there now
	const std::string url =
	    "http://127.0.0.1:" + std::to_string(port) + "/x.bin";
	struct vaccel_resource res {
	};
	EXPECT_EQ(vaccel_resource_init(&res, url.c_str(), VACCEL_RESOURCE_DATA),
		  VACCEL_EIO);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

} // namespace
