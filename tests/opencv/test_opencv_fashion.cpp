// SPDX-License-Identifier: Apache-2.0
// The opencv plugin on a real classifier: the Fashion-MNIST CNN of models/
// on the sample images of examples/data/fashion and on held-out images of
// the Fashion-MNIST test set (Debian's dataset-fashion-mnist, never used in
// training). Each plugin answer is also checked against cv::dnn run
// directly on a tensor built here with naive loops.
#include "opencv_test.h"

#include <opencv2/dnn.hpp>

#include <zlib.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <thread>

namespace
{

using namespace ocv_test;

constexpr int kSide = 28;
// Preprocessing of the model (models/README.md): (pixel / 255 - 0.5) / 0.5.
constexpr double kScale = 1.0 / 255.0; // the plugin's default
constexpr double kMean = 0.5;
constexpr double kStd = 0.5;

std::vector<unsigned char> gunzip(const std::string &path)
{
	std::vector<unsigned char> out;
	gzFile f = gzopen(path.c_str(), "rb");
	if (f == nullptr)
		return out;
	unsigned char buf[1 << 16];
	int n = 0;
	while ((n = gzread(f, buf, sizeof(buf))) > 0)
		out.insert(out.end(), buf, buf + n);
	gzclose(f);
	return out;
}

uint32_t be32(const unsigned char *p)
{
	return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
	       (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct TestSet {
	std::vector<cv::Mat> images; // 28x28 CV_8U
	std::vector<int> labels;
};

// The first @p n images of the t10k set (idx format: big-endian header).
TestSet load_test_set(size_t n)
{
	TestSet s;
	const auto img = gunzip(std::string(TEST_FASHION_DATA) +
				"/t10k-images-idx3-ubyte.gz");
	const auto lab = gunzip(std::string(TEST_FASHION_DATA) +
				"/t10k-labels-idx1-ubyte.gz");
	if (img.size() < 16 || lab.size() < 8 || be32(img.data()) != 2051 ||
	    be32(lab.data()) != 2049 || be32(img.data() + 8) != kSide ||
	    be32(img.data() + 12) != kSide)
		return s;
	n = std::min<size_t>({n, be32(img.data() + 4), be32(lab.data() + 4)});
	if (img.size() < 16 + n * kSide * kSide || lab.size() < 8 + n)
		return s;
	for (size_t i = 0; i < n; i++) {
		cv::Mat m(kSide, kSide, CV_8U);
		std::memcpy(m.data, img.data() + 16 + i * kSide * kSide,
			    kSide * kSide);
		s.images.push_back(m);
		s.labels.push_back(lab[8 + i]);
	}
	return s;
}

std::vector<std::string> labels()
{
	return lines_of(read_text(TEST_FASHION_LABELS));
}

// The class cv::dnn picks for a 28x28 gray image, from a tensor built
// with naive loops.
int direct_class(cv::dnn::Net &net, const cv::Mat &gray)
{
	const int dims[] = {1, 1, kSide, kSide};
	cv::Mat t(4, dims, CV_32F);
	for (int i = 0; i < kSide * kSide; i++)
		t.ptr<float>()[i] =
		    static_cast<float>((gray.data[i] * kScale - kMean) / kStd);
	net.setInput(t);
	const cv::Mat out = net.forward();
	int best = 0;
	for (size_t i = 1; i < out.total(); i++)
		if (out.ptr<float>()[i] > out.ptr<float>()[best])
			best = static_cast<int>(i);
	return best;
}

class FashionTest : public OpencvTest
{
protected:
	void SetUp() override
	{
		OpencvTest::SetUp();
		// The model's normalisation, in a settings file that travels
		// with it in the resource.
		const std::string cfg = tmp_file("fashion_mnist.cfg");
		{
			std::ofstream os(cfg);
			os << "mean = 0.5\nstd = 0.5\n";
		}
		add_resource({TEST_FASHION_MODEL, TEST_FASHION_LABELS, cfg});
		net_ = cv::dnn::readNetFromONNX(TEST_FASHION_MODEL);
	}
	cv::dnn::Net net_;
};

TEST_F(FashionTest, HeldOutAccuracy)
{
	const TestSet set = load_test_set(500);
	ASSERT_EQ(set.images.size(), 500U);
	const auto names = labels();
	ASSERT_EQ(names.size(), 10U);
	size_t correct = 0;
	for (size_t i = 0; i < set.images.size(); i++) {
		const OpResult r = classify(png(set.images[i]), 64, 0);
		ASSERT_EQ(r.rc, VACCEL_OK) << log();
		const int direct = direct_class(net_, set.images[i]);
		EXPECT_EQ(r.text, names[static_cast<size_t>(direct)]) << i;
		if (r.text == names[static_cast<size_t>(set.labels[i])])
			correct++;
	}
	const double acc = double(correct) / set.images.size();
	RecordProperty("accuracy", std::to_string(acc));
	std::printf("accuracy on %zu held-out images: %.3f\n",
		    set.images.size(), acc);
	EXPECT_GE(acc, 0.80) << correct << " of " << set.images.size();
}

TEST_F(FashionTest, SampleImages)
{
	// examples/data/fashion/<index>_<label>.png, the label in lower case
	// with '-' for anything but letters and digits ("T-shirt/top" is
	// "t-shirt-top").
	const auto names = labels();
	auto file_form = [](std::string s) {
		for (char &c : s)
			c = std::isalnum(static_cast<unsigned char>(c)) != 0
				? static_cast<char>(std::tolower(
				      static_cast<unsigned char>(c)))
				: '-';
		return s;
	};
	size_t seen = 0;
	for (const auto &e : fs::directory_iterator(TEST_FASHION_SAMPLES)) {
		if (e.path().extension() != ".png")
			continue;
		const std::string stem = e.path().stem().string();
		const std::string want = stem.substr(stem.find('_') + 1);
		const cv::Mat gray =
		    cv::imread(e.path().string(), cv::IMREAD_GRAYSCALE);
		ASSERT_EQ(gray.size(), cv::Size(kSide, kSide));
		const OpResult r = classify(read_bytes(e.path().string()));
		ASSERT_EQ(r.rc, VACCEL_OK) << log();
		EXPECT_EQ(file_form(r.text), want) << e.path();
		EXPECT_EQ(r.text,
			  names[static_cast<size_t>(direct_class(net_, gray))]);
		EXPECT_TRUE(fs::exists(r.imgname));
		seen++;
	}
	EXPECT_EQ(seen, 10U);
}

TEST_F(FashionTest, FourThreadsAgreeWithOne)
{
	const TestSet set = load_test_set(120);
	ASSERT_EQ(set.images.size(), 120U);
	std::vector<std::vector<unsigned char>> pngs;
	std::vector<std::string> want;
	for (const auto &m : set.images) {
		pngs.push_back(png(m));
		want.push_back(classify(pngs.back(), 64, 0).text);
	}
	std::atomic<int> wrong{0};
	std::vector<std::thread> threads;
	for (size_t t = 0; t < 4; t++)
		threads.emplace_back([&, t] {
			for (size_t i = t; i < pngs.size(); i += 4) {
				unsigned char text[64] = {0};
				const int rc = vaccel_image_classification(
				    &sess_, pngs[i].data(), text, nullptr,
				    pngs[i].size(), sizeof(text), 0);
				if (rc != VACCEL_OK ||
				    want[i] != reinterpret_cast<char *>(text))
					wrong++;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(wrong.load(), 0) << log();
}

} // namespace
