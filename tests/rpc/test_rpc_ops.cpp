// SPDX-License-Identifier: Apache-2.0
// Every op through the rpc plugin and a real vaccel-agent (noop backend)
// must give what the noop plugin gives when called locally. The client
// runtime loads noop and rpc: a session with hint 0 runs on the local noop,
// one with hint VACCEL_PLUGIN_REMOTE on the agent, so each test runs the
// same call on both and compares.
#include "rpc_test.h"

#include "../unit/http_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace rpc_test
{
namespace
{

class RpcOps : public ::testing::Test
{
protected:
	static void SetUpTestSuite()
	{
		dir_ = new TempDir();
		agent_ = new Agent(dir_->path(), "noop");
		ASSERT_TRUE(agent_->start(TEST_NOOP_PLUGIN)) << agent_->log();
	}
	static void TearDownTestSuite()
	{
		delete agent_;
		agent_ = nullptr;
		delete dir_;
		dir_ = nullptr;
	}

	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime(
		    std::string(TEST_NOOP_PLUGIN) + ":" + TEST_RPC_PLUGIN,
		    agent_->address()));
		ASSERT_EQ(vaccel_session_init(&local_, 0), VACCEL_OK);
		ASSERT_EQ(vaccel_session_init(&remote_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
		ASSERT_TRUE(remote_.is_virtio);
		ASSERT_NE(remote_.remote_id, 0);
	}

	void TearDown() override
	{
		if (local_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&local_), VACCEL_OK);
		}
		if (remote_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&remote_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		EXPECT_TRUE(wait_agent_idle(agent_->address(), 5000ms));
	}

	// Runs @p fn on the local and on the remote session.
	template <class Fn> void both(Fn &&fn)
	{
		fn(&local_);
		fn(&remote_);
	}

	static TempDir *dir_;
	static Agent *agent_;
	vaccel_session local_{};
	vaccel_session remote_{};
};
TempDir *RpcOps::dir_ = nullptr;
Agent *RpcOps::agent_ = nullptr;

TEST_F(RpcOps, Noop)
{
	both([](vaccel_session *s) { EXPECT_EQ(vaccel_noop(s), VACCEL_OK); });
}

TEST_F(RpcOps, ExecThroughNoop)
{
	int out[2][4] = {};
	int in[4] = {1, 2, 3, 4};
	int i = 0;
	both([&](vaccel_session *s) {
		vaccel_arg r{};
		r.buf = in;
		r.size = sizeof(in);
		r.type = VACCEL_ARG_RAW;
		vaccel_arg w{};
		w.buf = out[i++];
		w.size = sizeof(in);
		w.type = VACCEL_ARG_RAW;
		EXPECT_EQ(
		    vaccel_exec(s, "/no/such/lib.so", "sym", &r, 1, &w, 1),
		    VACCEL_OK);
	});
	EXPECT_EQ(std::memcmp(out[0], in, sizeof(in)), 0);
	EXPECT_EQ(std::memcmp(out[0], out[1], sizeof(in)), 0);
}

TEST_F(RpcOps, ImageClassify)
{
	unsigned char text[2][128];
	unsigned char name[2][128];
	std::memset(text, 'x', sizeof(text));
	std::memset(name, 'y', sizeof(name));
	const char img[] = "not really a jpeg";
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_image_classification(s, img, text[i], name[i],
						      sizeof(img), 128, 128),
			  VACCEL_OK);
		++i;
	});
	EXPECT_EQ(std::memcmp(text[0], text[1], 128), 0);
	EXPECT_EQ(std::memcmp(name[0], name[1], 128), 0);
	EXPECT_STREQ(reinterpret_cast<char *>(text[1]),
		     "This is a dummy classification tag!");
	EXPECT_STREQ(reinterpret_cast<char *>(name[1]),
		     "This is a dummy imgname!");
}

// Classification without a result image (out_imgname NULL, length 0)
// works through the agent as it does locally: the tags are the result.
TEST_F(RpcOps, ImageClassifyWithoutResultImage)
{
	unsigned char text[2][128];
	std::memset(text, 'x', sizeof(text));
	const char img[] = "not really a jpeg";
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_image_classification(s, img, text[i], nullptr,
						      sizeof(img), 128, 0),
			  VACCEL_OK);
		++i;
	});
	EXPECT_EQ(std::memcmp(text[0], text[1], 128), 0);
	EXPECT_STREQ(reinterpret_cast<char *>(text[1]),
		     "This is a dummy classification tag!");
}

TEST_F(RpcOps, ImageDetectSegmentPoseDepth)
{
	using Fn = int (*)(vaccel_session *, const void *, unsigned char *,
			   size_t, size_t);
	const Fn fns[] = {vaccel_image_detection, vaccel_image_segmentation,
			  vaccel_image_pose, vaccel_image_depth};
	const char img[] = "pixels";
	for (Fn fn : fns) {
		unsigned char name[2][64];
		std::memset(name, 'z', sizeof(name));
		int i = 0;
		both([&](vaccel_session *s) {
			EXPECT_EQ(fn(s, img, name[i++], sizeof(img), 64),
				  VACCEL_OK);
		});
		EXPECT_EQ(std::memcmp(name[0], name[1], 64), 0);
		EXPECT_STREQ(reinterpret_cast<char *>(name[1]),
			     "This is a dummy imgname!");
	}
}

TEST_F(RpcOps, Sgemm)
{
	float a[6] = {1, 2, 3, 4, 5, 6};
	float b[6] = {6, 5, 4, 3, 2, 1};
	float c[2][4] = {{7, 8, 9, 10}, {7, 8, 9, 10}};
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(
		    vaccel_sgemm(s, 2, 2, 3, 1.0F, a, 3, b, 2, 0.5F, c[i++], 2),
		    VACCEL_OK);
	});
	EXPECT_EQ(std::memcmp(c[0], c[1], sizeof(c[0])), 0);
	// Invalid dimensions are refused (locally by the plugin) alike.
	EXPECT_EQ(
	    vaccel_sgemm(&remote_, 2, 2, 3, 1.0F, a, 1, b, 2, 0.5F, c[1], 2),
	    VACCEL_EINVAL);
}

TEST_F(RpcOps, Minmax)
{
	double in[5] = {3, -1, 7, 2, 9};
	double out[2][5] = {};
	double mn[2] = {};
	double mx[2] = {};
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_minmax(s, in, 5, 0, 8, out[i], &mn[i], &mx[i]),
			  VACCEL_OK);
		++i;
	});
	EXPECT_EQ(std::memcmp(out[0], out[1], sizeof(out[0])), 0);
	EXPECT_EQ(mn[0], mn[1]);
	EXPECT_EQ(mx[0], mx[1]);
}

// Requests whose encoding is just under, at and over the size the client
// serializes on its stack (512 bytes) arrive whole: the noop plugin's
// minmax returns its input, through the agent as in process.
TEST_F(RpcOps, MinmaxRequestsAroundTheClientsStackBuffer)
{
	for (int n = 16; n <= 44; ++n) {
		std::vector<double> in(static_cast<size_t>(n));
		for (int k = 0; k < n; ++k)
			in[static_cast<size_t>(k)] = 0.5 * k - n;
		std::vector<double> out[2];
		double mn[2] = {}, mx[2] = {};
		int i = 0;
		both([&](vaccel_session *s) {
			out[i].assign(in.size(), 0);
			EXPECT_EQ(vaccel_minmax(s, in.data(), n, 0, 8,
						out[i].data(), &mn[i], &mx[i]),
				  VACCEL_OK);
			++i;
		});
		EXPECT_EQ(out[0], out[1]) << n << " doubles";
		EXPECT_EQ(mn[0], mn[1]);
		EXPECT_EQ(mx[0], mx[1]);
	}
}

TEST_F(RpcOps, FpgaOps)
{
	int ia[4] = {1, 2, 3, 4};
	int io[2][4] = {};
	float a[4] = {1, 2, 3, 4};
	float b[6] = {10, 20, 30, 40, 50, 60};
	float c[2][6] = {{-1, -1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1, -1}};
	float d[2][4] = {};
	float e[2][4] = {};
	float m[2][4] = {};
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_fpga_arraycopy(s, ia, io[i], 4), VACCEL_OK);
		EXPECT_EQ(vaccel_fpga_vadd(s, a, b, c[i], 4, 6), VACCEL_OK);
		EXPECT_EQ(vaccel_fpga_parallel(s, a, b, d[i], e[i], 4),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_fpga_mmult(s, a, b, m[i], 4), VACCEL_OK);
		++i;
	});
	EXPECT_EQ(std::memcmp(io[0], io[1], sizeof(io[0])), 0);
	EXPECT_EQ(std::memcmp(io[1], ia, sizeof(ia)), 0);
	EXPECT_EQ(std::memcmp(c[0], c[1], sizeof(c[0])), 0);
	EXPECT_EQ(std::memcmp(d[0], d[1], sizeof(d[0])), 0);
	EXPECT_EQ(std::memcmp(e[0], e[1], sizeof(e[0])), 0);
	EXPECT_EQ(std::memcmp(m[0], m[1], sizeof(m[0])), 0);
}

TEST_F(RpcOps, Genop)
{
	// minmax through vaccel_genop(): unpacked here, sent as the typed op.
	uint8_t op = VACCEL_OP_MINMAX;
	double in[3] = {5, 1, 3};
	int32_t n = 3;
	int32_t lo = 0;
	int32_t hi = 10;
	double out[2][3] = {};
	double mn[2] = {};
	double mx[2] = {};
	int i = 0;
	both([&](vaccel_session *s) {
		vaccel_arg r[5] = {};
		r[0] = {&op, 1, VACCEL_ARG_UINT8, 0, false};
		r[1] = {in, sizeof(in), VACCEL_ARG_FLOAT64_ARRAY, 0, false};
		r[2] = {&n, 4, VACCEL_ARG_INT32, 0, false};
		r[3] = {&lo, 4, VACCEL_ARG_INT32, 0, false};
		r[4] = {&hi, 4, VACCEL_ARG_INT32, 0, false};
		vaccel_arg w[3] = {};
		w[0] = {out[i], sizeof(out[i]), VACCEL_ARG_FLOAT64_ARRAY, 0,
			false};
		w[1] = {&mn[i], 8, VACCEL_ARG_FLOAT64, 0, false};
		w[2] = {&mx[i], 8, VACCEL_ARG_FLOAT64, 0, false};
		EXPECT_EQ(vaccel_genop(s, r, 5, w, 3), VACCEL_OK);
		++i;
		// A layout error is caught before anything is sent.
		EXPECT_EQ(vaccel_genop(s, r, 4, w, 3), VACCEL_EINVAL);
	});
	EXPECT_EQ(std::memcmp(out[0], out[1], sizeof(out[0])), 0);
	EXPECT_EQ(mn[0], mn[1]);
	EXPECT_EQ(mx[0], mx[1]);

	uint8_t noop = VACCEL_OP_NOOP;
	vaccel_arg r0{&noop, 1, VACCEL_ARG_UINT8, 0, false};
	EXPECT_EQ(vaccel_genop(&remote_, &r0, 1, nullptr, 0), VACCEL_OK);
}

TEST_F(RpcOps, Opencv)
{
	int32_t x = 42;
	int32_t out[2] = {-1, -1};
	int i = 0;
	both([&](vaccel_session *s) {
		vaccel_arg r{&x, 4, VACCEL_ARG_INT32, 0, false};
		vaccel_arg w{&out[i++], 4, VACCEL_ARG_INT32, 0, false};
		EXPECT_EQ(vaccel_opencv(s, &r, 1, &w, 1), VACCEL_OK);
	});
	EXPECT_EQ(out[0], out[1]);
}

TEST_F(RpcOps, TorchSgemmIsNotSupported)
{
	EXPECT_EQ(vaccel_torch_sgemm(&remote_, nullptr, nullptr, nullptr, 1, 1,
				     1, nullptr),
		  VACCEL_ENOTSUP);
}

// A model resource registered with both sessions.
class Model
{
public:
	Model(const std::string &path, vaccel_session *a, vaccel_session *b)
	    : a_(a), b_(b)
	{
		write_file(path, "model bytes");
		EXPECT_EQ(vaccel_resource_init(&res_, path.c_str(),
					       VACCEL_RESOURCE_MODEL),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_resource_register(&res_, a), VACCEL_OK);
		EXPECT_EQ(vaccel_resource_register(&res_, b), VACCEL_OK);
	}
	~Model()
	{
		EXPECT_EQ(vaccel_resource_unregister(&res_, a_), VACCEL_OK);
		EXPECT_EQ(vaccel_resource_unregister(&res_, b_), VACCEL_OK);
		EXPECT_EQ(vaccel_resource_release(&res_), VACCEL_OK);
	}
	vaccel_resource *get() { return &res_; }

private:
	vaccel_resource res_{};
	vaccel_session *a_;
	vaccel_session *b_;
};

TEST_F(RpcOps, Tensorflow)
{
	Model model(dir_->file("tf.pb"), &local_, &remote_);
	ASSERT_NE(model.get()->remote_id, 0);
	int64_t dims[2] = {2, 2};
	float data[4] = {1.5F, 2.5F, 3.5F, 4.5F};
	vaccel_tf_tensor *in = nullptr;
	ASSERT_EQ(vaccel_tf_tensor_new(&in, 2, dims, VACCEL_TF_FLOAT),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_tf_tensor_set_data(in, data, sizeof(data)), VACCEL_OK);
	vaccel_tf_node in_node{const_cast<char *>("in"), 0};
	vaccel_tf_node out_node{const_cast<char *>("out"), 0};

	vaccel_tf_status load[2] = {};
	vaccel_tf_status run[2] = {};
	vaccel_tf_status unload[2] = {};
	vaccel_tf_tensor *out[2] = {};
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_tf_model_load(s, model.get(), &load[i]),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_tf_model_run(s, model.get(), nullptr, &in_node,
					      &in, 1, &out_node, &out[i], 1,
					      &run[i]),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_tf_model_unload(s, model.get(), &unload[i]),
			  VACCEL_OK);
		++i;
	});
	for (auto *st : {load, run, unload}) {
		EXPECT_EQ(st[0].code, st[1].code);
		ASSERT_NE(st[1].message, nullptr);
		EXPECT_STREQ(st[0].message, st[1].message);
		vaccel_tf_status_release(&st[0]);
		vaccel_tf_status_release(&st[1]);
	}
	ASSERT_NE(out[1], nullptr);
	EXPECT_EQ(out[1]->nr_dims, 2);
	EXPECT_EQ(out[1]->dims[0], 2);
	EXPECT_EQ(out[1]->data_type, VACCEL_TF_FLOAT);
	ASSERT_EQ(out[1]->size, sizeof(data));
	EXPECT_EQ(std::memcmp(out[1]->data, data, sizeof(data)), 0);
	EXPECT_EQ(std::memcmp(out[0]->data, out[1]->data, sizeof(data)), 0);
	vaccel_tf_tensor_delete(out[0]);
	vaccel_tf_tensor_delete(out[1]);

	// An agent-side failure (noop refuses more outputs than inputs)
	// comes back as the very vAccel code.
	vaccel_tf_tensor *outs[2] = {};
	vaccel_tf_node onodes[2] = {out_node, out_node};
	vaccel_tf_status st{};
	EXPECT_EQ(vaccel_tf_model_run(&remote_, model.get(), nullptr, &in_node,
				      &in, 1, onodes, outs, 2, &st),
		  VACCEL_EINVAL);
	vaccel_tf_status_release(&st);
	vaccel_tf_tensor_delete(in);
}

TEST_F(RpcOps, TensorflowLite)
{
	Model model(dir_->file("m.tflite"), &local_, &remote_);
	int32_t dims[1] = {3};
	int32_t data[3] = {7, 8, 9};
	vaccel_tflite_tensor *in = nullptr;
	ASSERT_EQ(vaccel_tflite_tensor_new(&in, 1, dims, VACCEL_TFLITE_INT32),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_tflite_tensor_set_data(in, data, sizeof(data)),
		  VACCEL_OK);
	vaccel_tflite_tensor *out[2] = {};
	uint8_t status[2] = {99, 99};
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_tflite_model_load(s, model.get()), VACCEL_OK);
		EXPECT_EQ(vaccel_tflite_model_run(s, model.get(), &in, 1,
						  &out[i], 1, &status[i]),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_tflite_model_unload(s, model.get()),
			  VACCEL_OK);
		++i;
	});
	EXPECT_EQ(status[0], status[1]);
	ASSERT_NE(out[1], nullptr);
	EXPECT_EQ(out[1]->data_type, VACCEL_TFLITE_INT32);
	EXPECT_EQ(out[1]->nr_dims, 1);
	EXPECT_EQ(out[1]->dims[0], 3);
	ASSERT_EQ(out[1]->size, sizeof(data));
	EXPECT_EQ(std::memcmp(out[0]->data, out[1]->data, sizeof(data)), 0);
	vaccel_tflite_tensor_delete(out[0]);
	vaccel_tflite_tensor_delete(out[1]);
	vaccel_tflite_tensor_delete(in);
}

TEST_F(RpcOps, Torch)
{
	Model model(dir_->file("m.pt"), &local_, &remote_);
	int64_t dims[2] = {1, 4};
	float data[4] = {0.25F, 0.5F, 0.75F, 1.0F};
	vaccel_torch_tensor *in = nullptr;
	ASSERT_EQ(vaccel_torch_tensor_new(&in, 2, dims, VACCEL_TORCH_FLOAT),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_torch_tensor_set_data(in, data, sizeof(data)),
		  VACCEL_OK);
	char opts[] = "opts";
	vaccel_torch_buffer run_options{opts, sizeof(opts)};
	vaccel_torch_tensor *out[2] = {};
	int i = 0;
	both([&](vaccel_session *s) {
		EXPECT_EQ(vaccel_torch_model_load(s, model.get()), VACCEL_OK);
		EXPECT_EQ(vaccel_torch_model_run(s, model.get(), &run_options,
						 &in, 1, &out[i], 1),
			  VACCEL_OK);
		++i;
	});
	ASSERT_NE(out[1], nullptr);
	EXPECT_EQ(out[1]->data_type, VACCEL_TORCH_FLOAT);
	EXPECT_EQ(out[1]->nr_dims, 2);
	ASSERT_EQ(out[1]->size, sizeof(data));
	EXPECT_EQ(std::memcmp(out[0]->data, out[1]->data, sizeof(data)), 0);
	vaccel_torch_tensor_delete(out[0]);
	vaccel_torch_tensor_delete(out[1]);
	vaccel_torch_tensor_delete(in);
}

// ---- resources ----------------------------------------------------------

// Registers @p res with the remote session, checks the agent holds the
// same bytes (overwrite the local copy, then sync it back from the agent),
// and unregisters it.
void check_roundtrip(vaccel_resource *res, vaccel_session *sess)
{
	ASSERT_EQ(vaccel_resource_register(res, sess), VACCEL_OK);
	EXPECT_NE(res->remote_id, 0);
	std::vector<std::string> before;
	for (size_t i = 0; i < res->nr_blobs; ++i) {
		vaccel_blob *b = res->blobs[i];
		if (b->path != nullptr) {
			before.push_back(slurp(b->path));
			write_file(b->path,
				   std::string(before.back().size(), '#'));
		} else {
			before.emplace_back(reinterpret_cast<char *>(b->data),
					    b->size);
			std::memset(b->data, '#', b->size);
		}
	}
	EXPECT_EQ(vaccel_resource_sync(res, sess), VACCEL_OK);
	for (size_t i = 0; i < res->nr_blobs; ++i) {
		vaccel_blob *b = res->blobs[i];
		std::string now =
		    b->path != nullptr
			? slurp(b->path)
			: std::string(reinterpret_cast<char *>(b->data),
				      b->size);
		EXPECT_EQ(now, before[i]) << "blob " << i;
	}
	EXPECT_EQ(vaccel_resource_unregister(res, sess), VACCEL_OK);
	EXPECT_EQ(res->remote_id, 0);
}

TEST_F(RpcOps, ResourceFromFile)
{
	const std::string f = dir_->file("file.bin");
	write_file(f, std::string("\0\1\2binary", 9));
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init(&res, f.c_str(), VACCEL_RESOURCE_DATA),
		  VACCEL_OK);
	check_roundtrip(&res, &remote_);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(RpcOps, ResourceFromDirectory)
{
	const std::string d = dir_->file("dir");
	std::filesystem::create_directory(d);
	write_file(d + "/a.txt", "first");
	write_file(d + "/b.txt", "second file");
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init(&res, d.c_str(), VACCEL_RESOURCE_MODEL),
		  VACCEL_OK);
	ASSERT_EQ(res.nr_blobs, 2U);
	check_roundtrip(&res, &remote_);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(RpcOps, ResourceFromManyFiles)
{
	const std::string a = dir_->file("m1.so");
	const std::string b = dir_->file("m2.so");
	write_file(a, "one");
	write_file(b, "two two");
	const char *paths[] = {a.c_str(), b.c_str()};
	vaccel_resource res{};
	ASSERT_EQ(
	    vaccel_resource_init_multi(&res, paths, 2, VACCEL_RESOURCE_LIB),
	    VACCEL_OK);
	check_roundtrip(&res, &remote_);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(RpcOps, ResourceFromBuffer)
{
	const char bytes[] = "in-memory model";
	for (bool mem_only : {true, false}) {
		vaccel_resource res{};
		ASSERT_EQ(vaccel_resource_init_from_buf(
			      &res, bytes, sizeof(bytes), VACCEL_RESOURCE_MODEL,
			      "buf.bin", mem_only),
			  VACCEL_OK);
		check_roundtrip(&res, &remote_);
		EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	}
}

TEST_F(RpcOps, ResourceFromUrlIsFetchedByTheHost)
{
	vaccel_test::HttpServer http(vaccel_test::HttpServer::Mode::Ok,
				     "remote model");
	const std::string url = http.url("/model.bin");
	vaccel_resource res{};
	ASSERT_EQ(
	    vaccel_resource_init(&res, url.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_OK);
	ASSERT_EQ(res.path_type, VACCEL_PATH_REMOTE_FILE);
	const int fetched_here = http.requests();
	check_roundtrip(&res, &remote_);
	// The agent downloaded it itself.
	EXPECT_EQ(http.requests(), fetched_here + 1);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(RpcOps, ResourceSharedBySessions)
{
	vaccel_session other{};
	ASSERT_EQ(vaccel_session_init(&other, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	const std::string f = dir_->file("shared.bin");
	write_file(f, "shared");
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init(&res, f.c_str(), VACCEL_RESOURCE_DATA),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &remote_), VACCEL_OK);
	const vaccel_id_t rid = res.remote_id;
	ASSERT_EQ(vaccel_resource_register(&res, &other), VACCEL_OK);
	EXPECT_EQ(res.remote_id, rid); // attached, not uploaded again
	auto stats = agent_stats(agent_->address());
	ASSERT_TRUE(stats);
	EXPECT_EQ(stats->resources(), 1U);
	EXPECT_EQ(stats->sessions(), 2U);
	ASSERT_EQ(vaccel_resource_unregister(&res, &remote_), VACCEL_OK);
	EXPECT_EQ(res.remote_id, rid);
	ASSERT_EQ(vaccel_resource_unregister(&res, &other), VACCEL_OK);
	EXPECT_EQ(res.remote_id, 0);
	stats = agent_stats(agent_->address());
	ASSERT_TRUE(stats);
	EXPECT_EQ(stats->resources(), 0U);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
	EXPECT_EQ(vaccel_session_release(&other), VACCEL_OK);
}

TEST_F(RpcOps, ExecWithResourceNotOnTheAgentIsRefused)
{
	const std::string f = dir_->file("lib.so");
	write_file(f, "lib");
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init(&res, f.c_str(), VACCEL_RESOURCE_LIB),
		  VACCEL_OK);
	// Not registered with the session: the runtime refuses first.
	EXPECT_EQ(vaccel_exec_with_resource(&remote_, &res, "sym", nullptr, 0,
					    nullptr, 0),
		  VACCEL_EPERM);
	// Registered only with the local session: never reaches the agent.
	ASSERT_EQ(vaccel_resource_register(&res, &local_), VACCEL_OK);
	EXPECT_EQ(res.remote_id, 0);
	EXPECT_NE(vaccel_exec_with_resource(&remote_, &res, "sym", nullptr, 0,
					    nullptr, 0),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_resource_unregister(&res, &local_), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(RpcOps, SessionUpdate)
{
	EXPECT_EQ(vaccel_session_update(&remote_, VACCEL_PLUGIN_REMOTE |
						      VACCEL_PLUGIN_CPU),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_noop(&remote_), VACCEL_OK);
}

// 16 threads x 1000 calls on one shared connection: every call answered,
// and answered with its own results (exec echoes the thread's input).
TEST_F(RpcOps, ManyThreads)
{
	constexpr int kThreads = 16;
	constexpr int kCalls = 1000;
	std::atomic<int> ok{0};
	std::atomic<int> wrong{0};
	std::vector<std::thread> threads;
	const auto t0 = Clock::now();
	for (int t = 0; t < kThreads; ++t) {
		threads.emplace_back([&, t] {
			vaccel_session s{};
			// Half the threads share the fixture's session.
			vaccel_session *sp = &remote_;
			if (t % 2 == 0) {
				if (vaccel_session_init(
					&s, VACCEL_PLUGIN_REMOTE) != VACCEL_OK)
					return;
				sp = &s;
			}
			for (int i = 0; i < kCalls; ++i) {
				if (i % 10 == 0) {
					int in = t * 100000 + i;
					int out = -1;
					vaccel_arg r{&in, 4, VACCEL_ARG_RAW, 0,
						     false};
					vaccel_arg w{&out, 4, VACCEL_ARG_RAW, 0,
						     false};
					int rc = vaccel_exec(sp, "x", "y", &r,
							     1, &w, 1);
					(rc == VACCEL_OK && out == in
					     ? ok
					     : wrong)++;
					continue;
				}
				(vaccel_noop(sp) == VACCEL_OK ? ok : wrong)++;
			}
			if (sp == &s)
				vaccel_session_release(&s);
		});
	}
	for (auto &th : threads)
		th.join();
	const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			    Clock::now() - t0)
			    .count();
	EXPECT_EQ(ok.load(), kThreads * kCalls);
	EXPECT_EQ(wrong.load(), 0);
	std::printf("rpc: %d calls from %d threads in %lld ms\n",
		    kThreads * kCalls, kThreads, static_cast<long long>(ms));
}

// With the exec plugin in the agent, libmytestlib.so really runs on the
// host: its output is twice its input.
class RpcExec : public ::testing::Test
{
protected:
	void SetUp() override
	{
		if (std::string(TEST_MYTESTLIB).empty())
			GTEST_SKIP() << "libmytestlib.so is not built";
		agent_ = std::make_unique<Agent>(dir_.path(), "exec");
		ASSERT_TRUE(agent_->start(TEST_EXEC_PLUGIN)) << agent_->log();
		ASSERT_NO_FATAL_FAILURE(
		    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
	}
	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		if (agent_) {
			EXPECT_TRUE(wait_agent_idle(agent_->address(), 5000ms));
		}
	}

	TempDir dir_;
	std::unique_ptr<Agent> agent_;
	vaccel_session sess_{};
};

TEST_F(RpcExec, ExecDoubles)
{
	int32_t in = 21;
	int32_t out = 0;
	vaccel_arg r{&in, 4, VACCEL_ARG_INT32, 0, false};
	vaccel_arg w{&out, 4, VACCEL_ARG_INT32, 0, false};
	EXPECT_EQ(
	    vaccel_exec(&sess_, TEST_MYTESTLIB, "mytestfunc", &r, 1, &w, 1),
	    VACCEL_OK);
	EXPECT_EQ(out, 42);
	// A missing symbol comes back as the exec plugin's code.
	EXPECT_EQ(
	    vaccel_exec(&sess_, TEST_MYTESTLIB, "no_such_fn", &r, 1, &w, 1),
	    VACCEL_ENOSYS);
}

TEST_F(RpcExec, ExecWithResourceDoubles)
{
	vaccel_resource lib{};
	ASSERT_EQ(
	    vaccel_resource_init(&lib, TEST_MYTESTLIB, VACCEL_RESOURCE_LIB),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&lib, &sess_), VACCEL_OK);
	for (int32_t in : {1, 10, -7}) {
		int32_t out = 0;
		vaccel_arg r{&in, 4, VACCEL_ARG_INT32, 0, false};
		vaccel_arg w{&out, 4, VACCEL_ARG_INT32, 0, false};
		EXPECT_EQ(vaccel_exec_with_resource(&sess_, &lib, "mytestfunc",
						    &r, 1, &w, 1),
			  VACCEL_OK);
		EXPECT_EQ(out, 2 * in);
	}
	EXPECT_EQ(vaccel_resource_unregister(&lib, &sess_), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&lib), VACCEL_OK);
}

namespace fs = std::filesystem;

// The names of the session directories in @p rundir, sorted.
std::vector<std::string> session_dirs_in(const std::string &rundir)
{
	std::vector<std::string> names;
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(rundir, ec))
		if (e.path().filename().string().rfind("session.", 0) == 0)
			names.push_back(e.path().filename().string());
	std::sort(names.begin(), names.end());
	return names;
}

// The name of the session directory with the highest id of @p names.
std::string highest(const std::vector<std::string> &names)
{
	auto id = [](const std::string &n) {
		return std::stoll(n.substr(n.find('.') + 1));
	};
	std::string best;
	for (const auto &n : names)
		if (best.empty() || id(n) > id(best))
			best = n;
	return best;
}

// Waits (at most 10 s) until @p rundir holds @p n session directories.
bool session_dirs_become(const std::string &rundir, size_t n)
{
	const auto until = std::chrono::steady_clock::now() + 10s;
	while (session_dirs_in(rundir).size() != n) {
		if (std::chrono::steady_clock::now() > until)
			return false;
		std::this_thread::sleep_for(2ms);
	}
	return true;
}

// The agent makes the next session's run directory ahead, on a thread of
// its own: once its plugins are in, after each CreateSession and after each
// DestroySession. A client's session then finds its directory made, and
// when the sessions are gone only that one prepared directory is left.
TEST(RpcSessionDirs, AgentPreparesTheNextSessionsDirectory)
{
	// The agent's run directory must be found: under its TMPDIR, which
	// it uses only where /run/user/<euid> does not exist.
	if (fs::exists("/run/user/" + std::to_string(::geteuid())))
		GTEST_SKIP() << "the agent would use /run/user/<euid>";
	TempDir dir;
	const std::string tmp = dir.file("agent-tmp");
	ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
	Agent agent(dir.path(), "dirs");
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN, {}, {"TMPDIR=" + tmp}))
	    << agent.log();
	// The agent's run directory: the one directory in its base, made
	// with its plugins, which it loads after it listens.
	const std::string base = tmp + "/vaccel-" + std::to_string(::geteuid());
	std::string rundir;
	const auto until = std::chrono::steady_clock::now() + 15s;
	while (rundir.empty() && std::chrono::steady_clock::now() < until) {
		std::error_code ec;
		for (const auto &e : fs::directory_iterator(base, ec))
			if (e.is_directory())
				rundir = e.path().string();
		if (rundir.empty())
			std::this_thread::sleep_for(2ms);
	}
	ASSERT_FALSE(rundir.empty()) << base;
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	EXPECT_TRUE(session_dirs_become(rundir, 1)) << "none after start-up";

	vaccel_session a{}, b{};
	ASSERT_EQ(vaccel_session_init(&a, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_TRUE(session_dirs_become(rundir, 2)) << "a's and the next one's";
	// The prepared one has the higher id. A marker in it stays when b
	// takes it as it is (making it again would empty it).
	const std::string prepared =
	    rundir + "/" + highest(session_dirs_in(rundir));
	{
		std::ofstream(prepared + "/marker") << "x";
	}
	ASSERT_EQ(vaccel_session_init(&b, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_TRUE(session_dirs_become(rundir, 3));
	EXPECT_TRUE(fs::exists(prepared + "/marker")) << "made again";
	ASSERT_EQ(vaccel_session_release(&a), VACCEL_OK);
	EXPECT_TRUE(session_dirs_become(rundir, 2));
	ASSERT_EQ(vaccel_session_release(&b), VACCEL_OK);
	EXPECT_TRUE(session_dirs_become(rundir, 1)) << "the prepared one only";
	EXPECT_FALSE(fs::exists(prepared)) << "went with b";
	for (const auto &name : session_dirs_in(rundir))
		EXPECT_TRUE(fs::is_empty(rundir + "/" + name)) << name;
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

// The rpc plugin's start-up thread (VACCEL_RPC_START_AHEAD) makes the
// first session's run directory while the program starts; the session
// takes that one. Turned off, no directory appears before a session.
TEST(RpcSessionDirs, ClientPluginPreparesTheFirstSessionsDirectory)
{
	TempDir dir;
	Agent agent(dir.path(), "client-dirs");
	ASSERT_TRUE(agent.start(TEST_NOOP_PLUGIN)) << agent.log();
	::setenv("VACCEL_POLL_BUSY_HOST", "1", 1); // even on a busy host
	::setenv("VACCEL_RPC_START_AHEAD", "0", 1);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	std::this_thread::sleep_for(200ms); // what a thread would have done
	EXPECT_TRUE(session_dirs_in(vaccel_rundir()).empty());

	::setenv("VACCEL_RPC_START_AHEAD", "1", 1);
	ASSERT_NO_FATAL_FAILURE(
	    restart_runtime(TEST_RPC_PLUGIN, agent.address()));
	const std::string rundir = vaccel_rundir();
	ASSERT_TRUE(session_dirs_become(rundir, 1));
	const std::string prepared = session_dirs_in(rundir).front();
	{
		std::ofstream(rundir + "/" + prepared + "/marker") << "x";
	}
	vaccel_session s{};
	ASSERT_EQ(vaccel_session_init(&s, VACCEL_PLUGIN_REMOTE), VACCEL_OK);
	EXPECT_EQ(std::string(s.rundir), rundir + "/" + prepared);
	EXPECT_TRUE(fs::exists(std::string(s.rundir) + "/marker"))
	    << "made again, not taken as it was";
	EXPECT_EQ(session_dirs_in(rundir).size(), 1U);
	ASSERT_EQ(vaccel_session_release(&s), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	::unsetenv("VACCEL_RPC_START_AHEAD");
}

} // namespace
} // namespace rpc_test
