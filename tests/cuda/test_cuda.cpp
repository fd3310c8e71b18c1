// SPDX-License-Identifier: Apache-2.0
// The cuda plugin without a usable GPU: it loads, warns once at init, and
// every op returns VACCEL_ENODEV without touching its outputs; bad
// arguments are VACCEL_EINVAL before any device is needed. Every GPU is
// hidden (CUDA_VISIBLE_DEVICES="") so that this holds on GPU machines too;
// on machines without a driver cudaGetDeviceCount fails earlier anyway.
#include "cuda_test.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace
{

using cuda_test::CudaTest;

// Before main(): the CUDA runtime reads CUDA_VISIBLE_DEVICES once, when
// the plugin's init first calls it.
const int g_hide_gpus = setenv("CUDA_VISIBLE_DEVICES", "", 1);

std::string read_file(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

size_t count_of(const std::string &text, const std::string &what)
{
	size_t n = 0;
	for (size_t pos = text.find(what); pos != std::string::npos;
	     pos = text.find(what, pos + what.size()))
		n++;
	return n;
}

// A log file of the test's own, removed at the end.
class LogFile
{
public:
	LogFile()
	{
		char tmpl[] = "/tmp/vaccel-cuda-test-XXXXXX";
		int fd = mkstemp(tmpl);
		EXPECT_GE(fd, 0);
		if (fd >= 0)
			close(fd);
		path_ = tmpl;
	}
	~LogFile() { std::remove(path_.c_str()); }
	const char *path() const { return path_.c_str(); }
	std::string text() const { return read_file(path_); }

private:
	std::string path_;
};

// Each op once with valid arguments; returns their codes in a fixed order
// and checks that no output changed.
std::vector<int> call_every_op(vaccel_session *sess)
{
	std::vector<int> rcs;
	float a[6] = {1, 2, 3, 4, 5, 6};
	float b[6] = {6, 5, 4, 3, 2, 1};
	float c[6] = {7, 7, 7, 7, 7, 7};
	rcs.push_back(
	    vaccel_sgemm(sess, 2, 3, 1, 1.0F, a, 1, b, 3, 0.0F, c, 3));
	float d[6] = {7, 7, 7, 7, 7, 7};
	rcs.push_back(vaccel_fpga_vadd(sess, a, b, d, 6, 6));
	float e[4] = {7, 7, 7, 7};
	rcs.push_back(vaccel_fpga_mmult(sess, a, b, e, 4));
	float add[6] = {7, 7, 7, 7, 7, 7};
	float mul[6] = {7, 7, 7, 7, 7, 7};
	rcs.push_back(vaccel_fpga_parallel(sess, a, b, add, mul, 6));
	int ia[3] = {1, 2, 3};
	int ib[3] = {9, 9, 9};
	rcs.push_back(vaccel_fpga_arraycopy(sess, ia, ib, 3));
	double in[4] = {1.0, -2.0, 3.0, 40.0};
	double out[4] = {7, 7, 7, 7};
	double mn = 7;
	double mx = 7;
	rcs.push_back(vaccel_minmax(sess, in, 4, 0, 10, out, &mn, &mx));
	for (float x : c)
		EXPECT_EQ(x, 7.0F);
	for (float x : d)
		EXPECT_EQ(x, 7.0F);
	for (float x : e)
		EXPECT_EQ(x, 7.0F);
	for (size_t i = 0; i < 6; i++) {
		EXPECT_EQ(add[i], 7.0F);
		EXPECT_EQ(mul[i], 7.0F);
	}
	for (int x : ib)
		EXPECT_EQ(x, 9);
	for (double x : out)
		EXPECT_EQ(x, 7.0);
	EXPECT_EQ(mn, 7.0);
	EXPECT_EQ(mx, 7.0);
	return rcs;
}

const std::vector<int> kAllNoDevice(6, VACCEL_ENODEV);

TEST(CudaNoDevice, HidingGpusWorked)
{
	EXPECT_EQ(g_hide_gpus, 0);
	const char *v = std::getenv("CUDA_VISIBLE_DEVICES");
	ASSERT_NE(v, nullptr);
	EXPECT_STREQ(v, "");
}

TEST(CudaNoDevice, LoadsAndWarnsOnce)
{
	LogFile log;
	ASSERT_NO_FATAL_FAILURE(
	    cuda_test::restart_runtime(VACCEL_LOG_WARN, log.path()));
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK); // closes the log
	std::string text = log.text();
	EXPECT_EQ(count_of(text, "[cuda] no CUDA device: "), 1U) << text;
	EXPECT_NE(text.find("VACCEL_ENODEV"), std::string::npos) << text;
}

TEST(CudaNoDevice, EveryOpReturnsEnodevAndLogsWhy)
{
	LogFile log;
	ASSERT_NO_FATAL_FAILURE(
	    cuda_test::restart_runtime(VACCEL_LOG_WARN, log.path()));
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	EXPECT_EQ(call_every_op(&sess), kAllNoDevice);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	std::string text = log.text();
	for (const char *op : {"sgemm", "fpga_vadd", "fpga_mmult",
			       "fpga_parallel", "fpga_arraycopy", "minmax"}) {
		std::string line =
		    std::string("[cuda] ") + op + ": no CUDA device: ";
		EXPECT_EQ(count_of(text, line), 1U) << op << "\n" << text;
	}
}

TEST(CudaNoDevice, EmptyCallsAlsoReportNoDevice)
{
	ASSERT_NO_FATAL_FAILURE(cuda_test::restart_runtime(VACCEL_LOG_ERROR));
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	float f = 1.0F;
	int i = 1;
	EXPECT_EQ(vaccel_sgemm(&sess, 0, 0, 0, 1.0F, nullptr, 1, nullptr, 1,
			       0.0F, nullptr, 1),
		  VACCEL_ENODEV);
	EXPECT_EQ(vaccel_fpga_vadd(&sess, &f, &f, &f, 0, 0), VACCEL_ENODEV);
	EXPECT_EQ(vaccel_fpga_arraycopy(&sess, &i, &i, 0), VACCEL_ENODEV);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

TEST(CudaNoDevice, GenopReachesThePluginAndReturnsEnodev)
{
	ASSERT_NO_FATAL_FAILURE(cuda_test::restart_runtime(VACCEL_LOG_ERROR));
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	uint8_t op = VACCEL_OP_FPGA_VECTORADD;
	float a[3] = {1, 2, 3};
	float b[3] = {4, 5, 6};
	float c[3] = {0, 0, 0};
	vaccel_arg read[3] = {};
	read[0].buf = &op;
	read[0].size = sizeof(op);
	read[0].type = VACCEL_ARG_UINT8;
	read[1].buf = a;
	read[1].size = sizeof(a);
	read[1].type = VACCEL_ARG_RAW;
	read[2].buf = b;
	read[2].size = sizeof(b);
	read[2].type = VACCEL_ARG_RAW;
	vaccel_arg write[1] = {};
	write[0].buf = c;
	write[0].size = sizeof(c);
	write[0].type = VACCEL_ARG_RAW;
	EXPECT_EQ(vaccel_genop(&sess, read, 3, write, 1), VACCEL_ENODEV);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

TEST(CudaNoDevice, BadDeviceIndexIsReportedAtInit)
{
	for (const char *value : {"abc", "-1", "3x", "99"}) {
		SCOPED_TRACE(value);
		ASSERT_EQ(setenv("VACCEL_CUDA_DEVICE", value, 1), 0);
		LogFile log;
		ASSERT_NO_FATAL_FAILURE(
		    cuda_test::restart_runtime(VACCEL_LOG_WARN, log.path()));
		vaccel_session sess{};
		ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
		EXPECT_EQ(call_every_op(&sess), kAllNoDevice);
		EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
		ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
		std::string text = log.text();
		EXPECT_EQ(count_of(text, "[cuda] no CUDA device: "), 1U)
		    << text;
		// A malformed index is named as such; 99 is a valid index
		// that no device here has.
		if (std::string(value) != "99") {
			EXPECT_NE(text.find("VACCEL_CUDA_DEVICE='"),
				  std::string::npos)
			    << text;
		}
	}
	ASSERT_EQ(unsetenv("VACCEL_CUDA_DEVICE"), 0);
}

TEST(CudaNoDevice, RestartsCleanly)
{
	for (int i = 0; i < 5; i++) {
		ASSERT_NO_FATAL_FAILURE(
		    cuda_test::restart_runtime(VACCEL_LOG_ERROR));
		vaccel_session sess{};
		ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
		EXPECT_EQ(call_every_op(&sess), kAllNoDevice);
		EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
	}
	EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
}

// Ops the plugin does not implement are routed nowhere.
TEST_F(CudaTest, OtherOpsAreNotSupported)
{
	EXPECT_EQ(vaccel_noop(&sess_), VACCEL_ENOTSUP);
	char img[4] = {1, 2, 3, 4};
	unsigned char text[16] = {};
	unsigned char name[16] = {};
	EXPECT_EQ(vaccel_image_classification(&sess_, img, text, name,
					      sizeof(img), sizeof(text),
					      sizeof(name)),
		  VACCEL_ENOTSUP);
}

// Argument checks come before the device check, so these hold anywhere.
TEST_F(CudaTest, SgemmRejectsBadArguments)
{
	std::vector<float> a(64, 1.0F);
	std::vector<float> b(64, 1.0F);
	std::vector<float> c(64, 1.0F);
	auto sgemm = [&](int64_t m, int64_t n, int64_t k, float *pa,
			 int64_t lda, float *pb, int64_t ldb, float *pc,
			 int64_t ldc) {
		return vaccel_sgemm(&sess_, m, n, k, 1.0F, pa, lda, pb, ldb,
				    0.0F, pc, ldc);
	};
	float *pa = a.data();
	float *pb = b.data();
	float *pc = c.data();
	EXPECT_EQ(sgemm(-1, 2, 2, pa, 2, pb, 2, pc, 2), VACCEL_EINVAL);
	EXPECT_EQ(sgemm(2, -1, 2, pa, 2, pb, 2, pc, 2), VACCEL_EINVAL);
	EXPECT_EQ(sgemm(2, 2, -1, pa, 2, pb, 2, pc, 2), VACCEL_EINVAL);
	EXPECT_EQ(sgemm(2, 3, 4, pa, 3, pb, 3, pc, 3), VACCEL_EINVAL); // lda
	EXPECT_EQ(sgemm(2, 3, 4, pa, 4, pb, 2, pc, 3), VACCEL_EINVAL); // ldb
	EXPECT_EQ(sgemm(2, 3, 4, pa, 4, pb, 3, pc, 2), VACCEL_EINVAL); // ldc
	EXPECT_EQ(sgemm(2, 3, 0, pa, 0, pb, 3, pc, 3), VACCEL_EINVAL); // lda<1
	EXPECT_EQ(sgemm(2, 3, 4, nullptr, 4, pb, 3, pc, 3), VACCEL_EINVAL);
	EXPECT_EQ(sgemm(2, 3, 4, pa, 4, nullptr, 3, pc, 3), VACCEL_EINVAL);
	EXPECT_EQ(sgemm(2, 3, 4, pa, 4, pb, 3, nullptr, 3), VACCEL_EINVAL);
	// Spans that overflow 64 bits.
	EXPECT_EQ(sgemm(INT64_MAX / 2, 2, 2, pa, 4, pb, 2, pc, 2),
		  VACCEL_EINVAL);
	EXPECT_EQ(sgemm(2, 2, 2, pa, 2, pb, 2, pc, INT64_MAX), VACCEL_EINVAL);
	for (float x : c)
		EXPECT_EQ(x, 1.0F);
}

TEST_F(CudaTest, FpgaOpsRejectBadArguments)
{
	float a[4] = {1, 2, 3, 4};
	float c[4] = {};
	int ia[2] = {1, 2};
	EXPECT_EQ(vaccel_fpga_vadd(&sess_, a, nullptr, c, 4, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd(&sess_, a, a, c, 4, 3), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_vadd(&sess_, a, a, c, SIZE_MAX, SIZE_MAX),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_mmult(&sess_, a, a, c, 3), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_mmult(&sess_, a, a, nullptr, 4), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_parallel(&sess_, a, a, c, nullptr, 4),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_arraycopy(&sess_, ia, nullptr, 2), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_fpga_arraycopy(&sess_, nullptr, ia, 2), VACCEL_EINVAL);
}

TEST_F(CudaTest, MinmaxRejectsBadArguments)
{
	double in[3] = {1, 2, 3};
	double out[3] = {};
	double mn = 0;
	double mx = 0;
	EXPECT_EQ(vaccel_minmax(&sess_, in, 0, 0, 1, out, &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, in, -3, 0, 1, out, &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, in, 3, 5, 1, out, &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, nullptr, 3, 0, 1, out, &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, in, 3, 0, 1, nullptr, &mn, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, in, 3, 0, 1, out, nullptr, &mx),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_minmax(&sess_, in, 3, 0, 1, out, &mn, nullptr),
		  VACCEL_EINVAL);
}

} // namespace
