// SPDX-License-Identifier: Apache-2.0
// vaccel_genop() argument checks: malformed layouts are refused with
// VACCEL_EINVAL (and a message) before any op runs, so no plugin is needed.
// Running the ops through a plugin is tested with the noop plugin elsewhere.
#include <vaccel.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace
{

// Storage for the op-type byte of read[0], shared by copies of a Layout.
uint8_t *op_byte(vaccel_op_type_t op)
{
	static uint8_t bytes[256] = {};
	const auto i = static_cast<uint8_t>(op);
	bytes[i] = i;
	return &bytes[i];
}

// Builds read/write arg lists (the args point at the caller's values).
class Layout
{
public:
	explicit Layout(vaccel_op_type_t op)
	{
		read.push_back(arg(op_byte(op), 1, VACCEL_ARG_UINT8));
	}

	static vaccel_arg arg(void *buf, size_t size, vaccel_arg_type_t type)
	{
		return {buf, size, type, 0, false};
	}

	int run(vaccel_session *sess = nullptr)
	{
		return vaccel_genop(sess, read.data(),
				    static_cast<int>(read.size()),
				    write.empty() ? nullptr : write.data(),
				    static_cast<int>(write.size()));
	}

	std::vector<vaccel_arg> read;
	std::vector<vaccel_arg> write;
};

bool last_error_mentions(const char *what)
{
	return std::string(vaccel_last_error()).find(what) != std::string::npos;
}

TEST(Genop, NeedsTheOpTypeArg)
{
	EXPECT_EQ(vaccel_genop(nullptr, nullptr, 0, nullptr, 0), VACCEL_EINVAL);
	vaccel_arg a{};
	EXPECT_EQ(vaccel_genop(nullptr, &a, 0, nullptr, 0), VACCEL_EINVAL);
	EXPECT_EQ(vaccel_genop(nullptr, nullptr, 1, nullptr, 0), VACCEL_EINVAL);
}

TEST(Genop, OpTypeMustBeUint8)
{
	uint32_t op = VACCEL_OP_NOOP;
	vaccel_arg read[1] = {{&op, sizeof(op), VACCEL_ARG_UINT32, 0, false}};
	EXPECT_EQ(vaccel_genop(nullptr, read, 1, nullptr, 0), VACCEL_EINVAL);
	read[0].type = VACCEL_ARG_RAW;
	EXPECT_EQ(vaccel_genop(nullptr, read, 1, nullptr, 0), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("op type"));
}

TEST(Genop, UnknownOpIsInvalid)
{
	uint8_t op = VACCEL_OP_MAX;
	vaccel_arg read[1] = {{&op, 1, VACCEL_ARG_UINT8, 0, false}};
	EXPECT_EQ(vaccel_genop(nullptr, read, 1, nullptr, 0), VACCEL_EINVAL);
	op = 200;
	EXPECT_EQ(vaccel_genop(nullptr, read, 1, nullptr, 0), VACCEL_EINVAL);
}

TEST(Genop, OpsWithoutLayoutAreNotSupported)
{
	for (auto op : {VACCEL_OP_TF_MODEL_LOAD, VACCEL_OP_TFLITE_MODEL_RUN,
			VACCEL_OP_TORCH_MODEL_RUN, VACCEL_OP_TORCH_SGEMM}) {
		Layout l(op);
		EXPECT_EQ(l.run(), VACCEL_ENOTSUP) << vaccel_op_type_to_str(op);
	}
}

TEST(Genop, WriteListMustBeConsistent)
{
	Layout l(VACCEL_OP_NOOP);
	EXPECT_EQ(vaccel_genop(nullptr, l.read.data(), 1, nullptr, 1),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_genop(nullptr, l.read.data(), 1, nullptr, -1),
		  VACCEL_EINVAL);
}

TEST(Genop, NoopTakesNoArgs)
{
	Layout l(VACCEL_OP_NOOP);
	int extra = 0;
	l.read.push_back(Layout::arg(&extra, sizeof(extra), VACCEL_ARG_INT32));
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("noop expects 0 read args, got 1"));
}

TEST(Genop, WellFormedNoopReachesDispatch)
{
	vaccel_session sess{};
	ASSERT_EQ(vaccel_session_init(&sess, 0), VACCEL_OK);
	Layout l(VACCEL_OP_NOOP);
	// No plugin is loaded: the layout is accepted and the op is routed.
	EXPECT_EQ(l.run(&sess), VACCEL_ENOTSUP);
	EXPECT_EQ(vaccel_session_release(&sess), VACCEL_OK);
}

struct Sgemm {
	int64_t m = 2, n = 2, k = 2, lda = 2, ldb = 2, ldc = 2;
	float alpha = 1, beta = 0;
	std::vector<float> a = std::vector<float>(4, 1.0F);
	std::vector<float> b = std::vector<float>(4, 1.0F);
	std::vector<float> c = std::vector<float>(4, 0.0F);

	Layout layout()
	{
		Layout l(VACCEL_OP_BLAS_SGEMM);
		auto &r = l.read;
		r.push_back(Layout::arg(&m, 8, VACCEL_ARG_INT64));
		r.push_back(Layout::arg(&n, 8, VACCEL_ARG_INT64));
		r.push_back(Layout::arg(&k, 8, VACCEL_ARG_INT64));
		r.push_back(Layout::arg(&alpha, 4, VACCEL_ARG_FLOAT32));
		r.push_back(Layout::arg(a.data(), a.size() * 4,
					VACCEL_ARG_FLOAT32_ARRAY));
		r.push_back(Layout::arg(&lda, 8, VACCEL_ARG_INT64));
		r.push_back(Layout::arg(b.data(), b.size() * 4,
					VACCEL_ARG_FLOAT32_ARRAY));
		r.push_back(Layout::arg(&ldb, 8, VACCEL_ARG_INT64));
		r.push_back(Layout::arg(&beta, 4, VACCEL_ARG_FLOAT32));
		r.push_back(Layout::arg(&ldc, 8, VACCEL_ARG_INT64));
		l.write.push_back(Layout::arg(c.data(), c.size() * 4,
					      VACCEL_ARG_FLOAT32_ARRAY));
		return l;
	}
};

TEST(Genop, SgemmCounts)
{
	Sgemm s;
	Layout l = s.layout();
	l.read.resize(4);
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("sgemm expects 10 read args, got 3"));
	l = s.layout();
	l.write.clear();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
}

TEST(Genop, SgemmTypesAndSizes)
{
	Sgemm s;
	Layout l = s.layout();
	l.read[4].type = VACCEL_ARG_FLOAT64; // alpha as a double tag
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("alpha"));

	l = s.layout();
	l.read[1].size = 4; // m with 4 bytes
	EXPECT_EQ(l.run(), VACCEL_EINVAL);

	l = s.layout();
	l.read[5].size = 6; // a: not a whole number of floats
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
}

TEST(Genop, SgemmBounds)
{
	Sgemm s;
	s.m = 3; // a needs 3 x 2 floats, only 4 given
	Layout l = s.layout();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("a needs 6 floats, got 4"));

	Sgemm t;
	t.lda = 1; // leading dimension below the row length
	l = t.layout();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);

	Sgemm u;
	u.c.resize(3); // the output is too small
	l = u.layout();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);

	Sgemm v;
	v.k = -1;
	l = v.layout();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);

	Sgemm w;
	w.m = INT64_MAX; // overflow in the size computation
	w.lda = INT64_MAX;
	l = w.layout();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);

	Sgemm ok;
	l = ok.layout();
	// A well-formed request passes the checks and reaches dispatch, which
	// refuses the NULL session.
	EXPECT_NE(l.run(), VACCEL_OK);
}

TEST(Genop, ImageLayouts)
{
	uint8_t img[16] = {};
	unsigned char name[32] = {};
	unsigned char text[32] = {};

	Layout l(VACCEL_OP_IMAGE_CLASSIFY);
	l.read.push_back(Layout::arg(img, sizeof(img), VACCEL_ARG_BUFFER));
	l.write.push_back(
	    Layout::arg(name, sizeof(name), VACCEL_ARG_UCHAR_ARRAY));
	EXPECT_EQ(l.run(), VACCEL_EINVAL); // classification writes two args
	l.write.push_back(Layout::arg(text, sizeof(text), VACCEL_ARG_RAW));
	EXPECT_EQ(l.run(), VACCEL_EINVAL); // out_text must be UCHAR_ARRAY
	EXPECT_TRUE(last_error_mentions("out_text"));

	Layout d(VACCEL_OP_IMAGE_DEPTH);
	d.read.push_back(Layout::arg(img, sizeof(img), VACCEL_ARG_RAW));
	d.write.push_back(
	    Layout::arg(name, sizeof(name), VACCEL_ARG_UCHAR_ARRAY));
	EXPECT_EQ(d.run(), VACCEL_EINVAL); // img must be a BUFFER
	EXPECT_TRUE(last_error_mentions("image_depth"));
}

TEST(Genop, ExecLayouts)
{
	char lib[] = "libfoo.so";
	char sym[] = "foo";
	int64_t id = 1;

	Layout l(VACCEL_OP_EXEC);
	l.read.push_back(Layout::arg(lib, sizeof(lib), VACCEL_ARG_STRING));
	EXPECT_EQ(l.run(), VACCEL_EINVAL); // needs library and symbol
	l.read.push_back(Layout::arg(sym, sizeof(sym) - 1, VACCEL_ARG_STRING));
	EXPECT_EQ(l.run(), VACCEL_EINVAL); // symbol not NUL-terminated
	EXPECT_TRUE(last_error_mentions("fn_symbol"));

	Layout r(VACCEL_OP_EXEC_WITH_RESOURCE);
	r.read.push_back(Layout::arg(lib, sizeof(lib), VACCEL_ARG_STRING));
	r.read.push_back(Layout::arg(sym, sizeof(sym), VACCEL_ARG_STRING));
	EXPECT_EQ(r.run(), VACCEL_EINVAL); // the id must be an INT64
	r.read[1] = Layout::arg(&id, sizeof(id), VACCEL_ARG_INT64);
	id = 987654321; // no such resource
	EXPECT_NE(r.run(), VACCEL_OK);
}

TEST(Genop, MinmaxLayout)
{
	std::vector<double> in(8, 1.0);
	std::vector<double> out(8);
	int ndata = 8;
	int low = 0;
	int high = 10;
	double mn = 0;
	double mx = 0;
	auto make = [&] {
		Layout l(VACCEL_OP_MINMAX);
		l.read.push_back(
		    Layout::arg(in.data(), in.size() * 8, VACCEL_ARG_RAW));
		l.read.push_back(Layout::arg(&ndata, 4, VACCEL_ARG_RAW));
		l.read.push_back(Layout::arg(&low, 4, VACCEL_ARG_RAW));
		l.read.push_back(Layout::arg(&high, 4, VACCEL_ARG_RAW));
		l.write.push_back(
		    Layout::arg(out.data(), out.size() * 8, VACCEL_ARG_RAW));
		l.write.push_back(Layout::arg(&mn, 8, VACCEL_ARG_RAW));
		l.write.push_back(Layout::arg(&mx, 8, VACCEL_ARG_RAW));
		return l;
	};
	ndata = 9; // more than indata holds
	Layout l = make();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("ndata=9"));
	ndata = 0;
	l = make();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	ndata = 8;
	l = make();
	l.write[1].size = 4; // min is a double
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	l = make();
	l.read[1].type = VACCEL_ARG_FLOAT32; // wrong tag for an int
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
	l = make();
	l.read.pop_back();
	EXPECT_EQ(l.run(), VACCEL_EINVAL);
}

TEST(Genop, FpgaLayouts)
{
	std::vector<int> a(4);
	std::vector<int> small(3);
	Layout copy(VACCEL_OP_FPGA_ARRAYCOPY);
	copy.read.push_back(Layout::arg(a.data(), 16, VACCEL_ARG_INT32_ARRAY));
	copy.write.push_back(Layout::arg(small.data(), 12, VACCEL_ARG_RAW));
	EXPECT_EQ(copy.run(), VACCEL_EINVAL);
	EXPECT_TRUE(last_error_mentions("out_a holds 3 elements, needs 4"));

	std::vector<float> f(4);
	std::vector<float> g(2);
	Layout vadd(VACCEL_OP_FPGA_VECTORADD);
	vadd.read.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	vadd.read.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	vadd.write.push_back(Layout::arg(g.data(), 8, VACCEL_ARG_RAW));
	EXPECT_EQ(vadd.run(), VACCEL_EINVAL);

	Layout par(VACCEL_OP_FPGA_PARALLEL);
	par.read.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	par.read.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	par.write.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	EXPECT_EQ(par.run(), VACCEL_EINVAL); // two outputs expected
	par.write.push_back(Layout::arg(g.data(), 8, VACCEL_ARG_RAW));
	EXPECT_EQ(par.run(), VACCEL_EINVAL); // mult_output too small

	Layout mm(VACCEL_OP_FPGA_MMULT);
	mm.read.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	mm.read.push_back(Layout::arg(g.data(), 8, VACCEL_ARG_RAW));
	mm.write.push_back(Layout::arg(f.data(), 16, VACCEL_ARG_RAW));
	EXPECT_EQ(mm.run(), VACCEL_EINVAL); // b shorter than a
}

TEST(Genop, OpencvUnpackChecksCounts)
{
	EXPECT_EQ(vaccel_opencv_unpack(nullptr, nullptr, -1, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_opencv_unpack(nullptr, nullptr, 1, nullptr, 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_opencv_unpack(nullptr, nullptr, 0, nullptr, 2),
		  VACCEL_EINVAL);
}

} // namespace
