// SPDX-License-Identifier: Apache-2.0
// Shared fixture of the torch plugin tests: the runtime bootstrapped with
// only libvaccel-torch.so, logging at info level into a file the tests can
// read (the plugin logs one "loaded model" line per model load), one
// session, and readers for the fixtures that make_fixtures.py writes.
#pragma once

#include <gtest/gtest.h>
#include <vaccel.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace torch_test
{

inline const std::string kFixtures = TEST_FIXTURES;
inline const std::string kSourceDir = TEST_SOURCE_DIR;
inline const std::string kFashionModel =
    kSourceDir + "/models/fashion_mnist.pt";
inline const std::string kFashionLabels =
    kSourceDir + "/models/fashion_mnist_labels.txt";

// Every variable the plugin reads; cleared before each test.
inline const char *const kEnvVars[] = {
    "VACCEL_TORCH_DEVICE",       "VACCEL_TORCH_LABELS",
    "VACCEL_TORCH_IMAGE_SIZE",   "VACCEL_TORCH_IMAGE_CHANNELS",
    "VACCEL_TORCH_IMAGE_MEAN",   "VACCEL_TORCH_IMAGE_STD",
    "VACCEL_TORCH_JIT_OPTIMIZE", "VACCEL_TORCH_THREADS"};

// The classification settings of the Fashion-MNIST model (models/README.md).
inline void set_fashion_env()
{
	setenv("VACCEL_TORCH_IMAGE_SIZE", "28", 1);
	setenv("VACCEL_TORCH_IMAGE_CHANNELS", "1", 1);
	setenv("VACCEL_TORCH_IMAGE_MEAN", "0.5", 1);
	setenv("VACCEL_TORCH_IMAGE_STD", "0.5", 1);
	setenv("VACCEL_TORCH_LABELS", kFashionLabels.c_str(), 1);
}

inline std::vector<uint8_t> read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	EXPECT_TRUE(in.good()) << path;
	return {std::istreambuf_iterator<char>(in),
		std::istreambuf_iterator<char>()};
}

inline std::vector<std::string> read_lines(const std::string &path)
{
	std::ifstream in(path);
	std::vector<std::string> lines;
	for (std::string line; std::getline(in, line);)
		lines.push_back(line);
	return lines;
}

inline size_t elem_size(int type)
{
	switch (type) {
	case VACCEL_TORCH_BYTE:
	case VACCEL_TORCH_CHAR:
		return 1;
	case VACCEL_TORCH_SHORT:
	case VACCEL_TORCH_HALF:
		return 2;
	case VACCEL_TORCH_INT:
	case VACCEL_TORCH_FLOAT:
		return 4;
	case VACCEL_TORCH_LONG:
		return 8;
	default:
		return 0;
	}
}

// A tensor of a fixture.
struct Tensor {
	int type = 0;
	std::vector<int64_t> dims;
	std::vector<uint8_t> data;
};

struct IoCase {
	std::vector<Tensor> inputs;
	std::vector<Tensor> outputs;
};

// Reads a *.io fixture (format in make_fixtures.py).
inline IoCase read_io(const std::string &name)
{
	const std::vector<uint8_t> bytes = read_file(kFixtures + "/" + name);
	size_t pos = 0;
	const auto take = [&](void *dst, size_t n) {
		if (pos + n > bytes.size())
			throw std::runtime_error("truncated fixture " + name);
		std::memcpy(dst, bytes.data() + pos, n);
		pos += n;
	};
	char magic[4];
	take(magic, 4);
	if (std::memcmp(magic, "VTIO", 4) != 0)
		throw std::runtime_error("not a .io fixture: " + name);
	uint32_t counts[2];
	take(counts, sizeof(counts));
	IoCase io;
	for (uint32_t i = 0; i < counts[0] + counts[1]; i++) {
		Tensor t;
		uint32_t head[2];
		take(head, sizeof(head));
		t.type = static_cast<int>(head[0]);
		t.dims.resize(head[1]);
		take(t.dims.data(), t.dims.size() * sizeof(int64_t));
		uint64_t n = 0;
		take(&n, sizeof(n));
		t.data.resize(n);
		take(t.data.data(), n);
		(i < counts[0] ? io.inputs : io.outputs)
		    .push_back(std::move(t));
	}
	return io;
}

// IEEE half to float, for comparing HALF outputs.
inline float half_to_float(uint16_t h)
{
	const uint32_t sign = (h >> 15) & 1U;
	const uint32_t exp = (h >> 10) & 0x1fU;
	const uint32_t man = h & 0x3ffU;
	float v = 0.0F;
	if (exp == 0)
		v = std::ldexp(static_cast<float>(man), -24);
	else if (exp == 31)
		v = man != 0 ? NAN : INFINITY;
	else
		v = std::ldexp(static_cast<float>(man | 0x400U),
			       static_cast<int>(exp) - 25);
	return sign != 0 ? -v : v;
}

// A vAccel tensor (owned by the caller; free with
// vaccel_torch_tensor_delete()) holding a copy of @p t.
inline vaccel_torch_tensor *make_tensor(const Tensor &t)
{
	vaccel_torch_tensor *out = nullptr;
	EXPECT_EQ(vaccel_torch_tensor_allocate(
		      &out, static_cast<int64_t>(t.dims.size()), t.dims.data(),
		      static_cast<vaccel_torch_data_type>(t.type),
		      t.data.size()),
		  VACCEL_OK);
	if (out != nullptr && !t.data.empty())
		std::memcpy(out->data, t.data.data(), t.data.size());
	return out;
}

inline Tensor float_tensor(std::vector<int64_t> dims,
			   const std::vector<float> &values)
{
	Tensor t;
	t.type = VACCEL_TORCH_FLOAT;
	t.dims = std::move(dims);
	t.data.resize(values.size() * sizeof(float));
	std::memcpy(t.data.data(), values.data(), t.data.size());
	return t;
}

inline std::vector<float> floats(const vaccel_torch_tensor *t)
{
	std::vector<float> v(t->size / sizeof(float));
	std::memcpy(v.data(), t->data, v.size() * sizeof(float));
	return v;
}

// Expects @p got to equal @p want: same type and dims, integers exactly,
// floats within a relative and absolute tolerance.
inline void expect_tensor_eq(const vaccel_torch_tensor *got, const Tensor &want,
			     const std::string &what)
{
	ASSERT_NE(got, nullptr) << what;
	EXPECT_EQ(static_cast<int>(got->data_type), want.type) << what;
	ASSERT_EQ(got->nr_dims, static_cast<int64_t>(want.dims.size())) << what;
	for (size_t d = 0; d < want.dims.size(); d++)
		EXPECT_EQ(got->dims[d], want.dims[d]) << what << " dim " << d;
	ASSERT_EQ(got->size, want.data.size()) << what;
	ASSERT_TRUE(got->data != nullptr || got->size == 0) << what;
	if (want.type == VACCEL_TORCH_FLOAT) {
		const size_t n = want.data.size() / sizeof(float);
		std::vector<float> w(n);
		std::memcpy(w.data(), want.data.data(), want.data.size());
		const std::vector<float> g = floats(got);
		for (size_t i = 0; i < n; i++)
			ASSERT_NEAR(g[i], w[i], 1e-4 + 1e-4 * std::fabs(w[i]))
			    << what << " element " << i;
	} else if (want.type == VACCEL_TORCH_HALF) {
		const size_t n = want.data.size() / 2;
		for (size_t i = 0; i < n; i++) {
			uint16_t g = 0;
			uint16_t w = 0;
			std::memcpy(
			    &g, static_cast<const uint8_t *>(got->data) + 2 * i,
			    2);
			std::memcpy(&w, want.data.data() + 2 * i, 2);
			ASSERT_NEAR(half_to_float(g), half_to_float(w),
				    1e-3 * (1 + std::fabs(half_to_float(w))))
			    << what << " element " << i;
		}
	} else {
		EXPECT_EQ(
		    std::memcmp(got->data, want.data.data(), want.data.size()),
		    0)
		    << what;
	}
}

class TorchTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		for (const char *v : kEnvVars)
			unsetenv(v);
		char tmpl[] = "/tmp/vaccel-torch-test-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
		log_ = dir_ + "/vaccel.log";
		ASSERT_NO_FATAL_FAILURE(restart());
		ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
	}

	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		for (const char *v : kEnvVars)
			unsetenv(v);
		std::error_code ec;
		std::filesystem::remove_all(dir_, ec);
	}

	// The runtime with only the torch plugin, logging into log_.
	void restart()
	{
		ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
		struct vaccel_config cfg {
		};
		ASSERT_EQ(vaccel_config_init(&cfg, TEST_TORCH_PLUGIN,
					     VACCEL_LOG_INFO, log_.c_str(),
					     false, false),
			  VACCEL_OK);
		const int rc = vaccel_bootstrap_with_config(&cfg);
		vaccel_config_release(&cfg);
		ASSERT_EQ(rc, VACCEL_OK);
		ASSERT_EQ(vaccel_plugin_count(), 1U);
	}

	// Lines of the log that contain @p needle.
	size_t log_count(const std::string &needle) const
	{
		size_t n = 0;
		for (const std::string &line : read_lines(log_))
			if (line.find(needle) != std::string::npos)
				n++;
		return n;
	}

	size_t loads() const { return log_count("[torch] loaded model"); }

	void make_resource(vaccel_resource *res, const std::string &path,
			   vaccel_session *sess = nullptr)
	{
		ASSERT_EQ(vaccel_resource_init(res, path.c_str(),
					       VACCEL_RESOURCE_MODEL),
			  VACCEL_OK)
		    << path;
		ASSERT_EQ(vaccel_resource_register(
			      res, sess != nullptr ? sess : &sess_),
			  VACCEL_OK);
	}

	void release(vaccel_resource *res, vaccel_session *sess = nullptr)
	{
		EXPECT_EQ(vaccel_resource_unregister(
			      res, sess != nullptr ? sess : &sess_),
			  VACCEL_OK);
		EXPECT_EQ(vaccel_resource_release(res), VACCEL_OK);
	}

	// Runs @p res on copies of @p inputs; @p outputs gets nr_outputs
	// tensors (or NULLs). Returns the op's code.
	int run(vaccel_resource *res, const std::vector<Tensor> &inputs,
		std::vector<vaccel_torch_tensor *> &outputs, int nr_outputs,
		vaccel_session *sess = nullptr)
	{
		std::vector<vaccel_torch_tensor *> in;
		for (const Tensor &t : inputs)
			in.push_back(make_tensor(t));
		outputs.assign(static_cast<size_t>(nr_outputs), nullptr);
		const int rc = vaccel_torch_model_run(
		    sess != nullptr ? sess : &sess_, res, nullptr, in.data(),
		    static_cast<int>(in.size()), outputs.data(), nr_outputs);
		for (vaccel_torch_tensor *t : in)
			vaccel_torch_tensor_delete(t);
		return rc;
	}

	static void free_outputs(std::vector<vaccel_torch_tensor *> &outputs)
	{
		for (vaccel_torch_tensor *&t : outputs) {
			if (t != nullptr) {
				EXPECT_EQ(vaccel_torch_tensor_delete(t),
					  VACCEL_OK);
			}
			t = nullptr;
		}
	}

	std::string dir_;
	std::string log_;
	vaccel_session sess_{};
};

} // namespace torch_test
