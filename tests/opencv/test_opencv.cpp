// SPDX-License-Identifier: Apache-2.0
// The opencv plugin through the public C API, on the synthetic models of
// tests/opencv/fixtures (scripts/make_test_onnx_models.py). Each result is
// checked against a reference computed here: the plugin's own input and
// output tensors (setting save_tensors) against naive loops and against
// cv::dnn called directly, and the decoded results and result images
// against the documented decoding of those tensors and against where the
// shapes really are in the picture.
#include "opencv_test.h"

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <thread>

namespace
{

using namespace ocv_test;

// BGR colours of the shapes the synthetic models look for.
const cv::Vec3b kRed(0, 0, 230);
const cv::Vec3b kGreen(0, 230, 0);
const cv::Vec3b kBlue(230, 0, 0);

cv::Mat noise_image(int w, int h, int maxv, std::mt19937 &rng)
{
	cv::Mat img(h, w, CV_8UC3);
	std::uniform_int_distribution<int> d(0, maxv);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			img.at<cv::Vec3b>(y, x) =
			    cv::Vec3b(static_cast<uchar>(d(rng)),
				      static_cast<uchar>(d(rng)),
				      static_cast<uchar>(d(rng)));
	return img;
}

void fill(cv::Mat &img, cv::Rect r, cv::Vec3b c)
{
	img(r).setTo(cv::Scalar(c[0], c[1], c[2]));
}

cv::Mat direct_forward(const std::string &model, const cv::Mat &input)
{
	cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
	net.setInput(input);
	return net.forward().clone();
}

// The summary file of a result, one vector of fields per line.
std::vector<std::vector<std::string>> summary(const OpResult &r)
{
	std::vector<std::vector<std::string>> out;
	for (const auto &line :
	     lines_of(read_text(stem_of(r.imgname) + ".txt"))) {
		std::stringstream ss(line);
		std::vector<std::string> fields;
		std::string f;
		while (ss >> f)
			fields.push_back(f);
		out.push_back(fields);
	}
	return out;
}

// ----------------------------------------------------------------------------
// Classification

TEST_F(OpencvTest, ClassifiesColoursOfOddSizedImages)
{
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	std::mt19937 rng(1);
	const char *names[] = {"red", "green", "blue"};
	const cv::Vec3b colours[] = {kRed, kGreen, kBlue};
	for (int i = 0; i < 9; i++) {
		const int w = 9 + static_cast<int>(rng() % 70);
		const int h = 7 + static_cast<int>(rng() % 50);
		cv::Mat img = noise_image(w, h, 60, rng);
		fill(img, cv::Rect(0, 0, w, h * 3 / 4), colours[i % 3]);
		const OpResult r = classify(png(img));
		ASSERT_EQ(r.rc, VACCEL_OK) << log();
		EXPECT_EQ(r.text, names[i % 3]) << w << "x" << h;
		// The result image: in the session's run directory, the
		// input's size.
		EXPECT_EQ(fs::path(r.imgname).parent_path(),
			  fs::path(sess_.rundir));
		const cv::Mat out = cv::imread(r.imgname);
		ASSERT_FALSE(out.empty()) << r.imgname;
		EXPECT_EQ(out.size(), img.size());
	}
}

TEST_F(OpencvTest, GrayModelInputShapeDrivesPreprocessing)
{
	// Labels in a DATA resource of their own.
	add_resource({fixture("gray_classifier.onnx")});
	add_resource({fixture("gray_labels.txt")}, VACCEL_RESOURCE_DATA);
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	// A static 1x1x28x28 model: these must not change the input.
	setenv("VACCEL_OPENCV_INPUT_SIZE", "20x12", 1);
	setenv("VACCEL_OPENCV_GRAYSCALE", "0", 1);
	std::mt19937 rng(2);
	for (int i = 0; i < 6; i++) {
		const bool bright = i % 2 == 0;
		const int w = 11 + static_cast<int>(rng() % 60);
		const int h = 5 + static_cast<int>(rng() % 60);
		cv::Mat img = noise_image(w, h, 255, rng);
		img = bright ? img / 4 + cv::Scalar(190, 190, 190) : img / 4;
		const OpResult r = classify(png(img));
		ASSERT_EQ(r.rc, VACCEL_OK) << log();
		EXPECT_EQ(r.text, bright ? "bright" : "dark");

		const cv::Mat in =
		    read_tensor(stem_of(r.imgname) + ".input.bin");
		const cv::Mat out =
		    read_tensor(stem_of(r.imgname) + ".output.bin");
		ASSERT_EQ(shape(in), (std::vector<int>{1, 1, 28, 28}));
		ASSERT_EQ(shape(out), (std::vector<int>{1, 2}));
		// Input: gray, resized, pixel / 255.
		cv::Mat gray;
		cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
		cv::resize(gray, gray, cv::Size(28, 28), 0, 0,
			   cv::INTER_LINEAR);
		double mean = 0;
		const auto *p = in.ptr<float>();
		for (int y = 0; y < 28; y++)
			for (int x = 0; x < 28; x++) {
				const float want =
				    gray.at<uchar>(y, x) / 255.0F;
				ASSERT_NEAR(p[y * 28 + x], want, 1e-6);
				mean += p[y * 28 + x];
			}
		mean /= 28 * 28;
		// Output: the model's formula, and what cv::dnn computes.
		EXPECT_NEAR(out.ptr<float>()[0], 0.5 - mean, 1e-5);
		EXPECT_NEAR(out.ptr<float>()[1], mean - 0.5, 1e-5);
		EXPECT_EQ(
		    max_abs_diff(out, direct_forward(
					  fixture("gray_classifier.onnx"), in)),
		    0.0);
	}
}

// The expected input tensor: resize, channel order, then the affine step,
// in naive loops.
cv::Mat naive_input(const cv::Mat &bgr, int w, int h, bool rgb, double scale,
		    const double mean[3], const double stdv[3], bool nhwc)
{
	cv::Mat r;
	cv::resize(bgr, r, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
	const int dims_nchw[] = {1, 3, h, w};
	const int dims_nhwc[] = {1, h, w, 3};
	cv::Mat t(4, nhwc ? dims_nhwc : dims_nchw, CV_32F);
	auto *p = t.ptr<float>();
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				const int src = rgb ? 2 - c : c;
				const double v =
				    (r.at<cv::Vec3b>(y, x)[src] * scale -
				     mean[c]) /
				    stdv[c];
				const size_t at =
				    nhwc
					? (static_cast<size_t>(y) * w + x) * 3 +
					      c
					: (static_cast<size_t>(c) * h + y) * w +
					      x;
				p[at] = static_cast<float>(v);
			}
	return t;
}

TEST_F(OpencvTest, PreprocessingSettingsFromEnvironment)
{
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	std::mt19937 rng(3);
	const cv::Mat img = noise_image(33, 21, 255, rng);

	// Nothing set: a dynamic model gets 224x224 RGB / 255.
	OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	const double zero[3] = {0, 0, 0};
	const double one[3] = {1, 1, 1};
	cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	EXPECT_LT(max_abs_diff(in, naive_input(img, 224, 224, true, 1 / 255.0,
					       zero, one, false)),
		  1e-6);

	setenv("VACCEL_OPENCV_INPUT_SIZE", "20x12", 1);
	setenv("VACCEL_OPENCV_SCALE", "0.5", 1);
	setenv("VACCEL_OPENCV_MEAN", "10,20,30", 1);
	setenv("VACCEL_OPENCV_STD", "2, 4, 8", 1);
	setenv("VACCEL_OPENCV_SWAP_RB", "0", 1);
	r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	in = read_tensor(stem_of(r.imgname) + ".input.bin");
	ASSERT_EQ(shape(in), (std::vector<int>{1, 3, 12, 20}));
	const double mean[3] = {10, 20, 30};
	const double stdv[3] = {2, 4, 8};
	EXPECT_LT(max_abs_diff(in, naive_input(img, 20, 12, false, 0.5, mean,
					       stdv, false)),
		  1e-5);
	const cv::Mat out = read_tensor(stem_of(r.imgname) + ".output.bin");
	EXPECT_LT(max_abs_diff(out, direct_forward(
					fixture("color_classifier.onnx"), in)),
		  1e-6);
}

TEST_F(OpencvTest, ModelSettingsFileOverridesEnvironment)
{
	const std::string cfg = tmp_file("color.cfg");
	write_bytes(cfg, {});
	{
		std::ofstream os(cfg);
		os << "# preprocessing of color_classifier\n"
		   << "input_size = 8x6   # W x H\n"
		   << "swap_rb = 1\n\n"
		   << "mean = 0.5\n";
	}
	add_resource(
	    {fixture("color_classifier.onnx"), fixture("colors.txt"), cfg});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	setenv("VACCEL_OPENCV_INPUT_SIZE", "20x12", 1);
	setenv("VACCEL_OPENCV_SWAP_RB", "0", 1);
	setenv("VACCEL_OPENCV_STD", "2", 1);
	std::mt19937 rng(4);
	const cv::Mat img = noise_image(17, 13, 255, rng);
	const OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	const cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	ASSERT_EQ(shape(in), (std::vector<int>{1, 3, 6, 8}));
	const double mean[3] = {0.5, 0.5, 0.5};
	const double stdv[3] = {2, 2, 2}; // from the environment
	EXPECT_LT(max_abs_diff(in, naive_input(img, 8, 6, true, 1 / 255.0, mean,
					       stdv, false)),
		  1e-6);
}

TEST_F(OpencvTest, NhwcModelInput)
{
	add_resource(
	    {fixture("color_classifier_nhwc.onnx"), fixture("colors.txt")});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	std::mt19937 rng(5);
	const char *names[] = {"red", "green", "blue"};
	const cv::Vec3b colours[] = {kRed, kGreen, kBlue};
	for (int i = 0; i < 3; i++) {
		cv::Mat img = noise_image(41, 23, 80, rng);
		fill(img, cv::Rect(3, 2, 30, 17), colours[i]);
		const OpResult r = classify(png(img));
		ASSERT_EQ(r.rc, VACCEL_OK) << log();
		EXPECT_EQ(r.text, names[i]);
		const cv::Mat in =
		    read_tensor(stem_of(r.imgname) + ".input.bin");
		ASSERT_EQ(shape(in), (std::vector<int>{1, 16, 16, 3}));
		const double zero[3] = {0, 0, 0};
		const double one[3] = {1, 1, 1};
		EXPECT_LT(
		    max_abs_diff(in, naive_input(img, 16, 16, true, 1 / 255.0,
						 zero, one, true)),
		    1e-6);
	}
}

TEST_F(OpencvTest, LabelsDefaultToClassNumbers)
{
	add_resource({fixture("color_classifier.onnx")});
	std::mt19937 rng(6);
	cv::Mat img = noise_image(20, 20, 40, rng);
	fill(img, cv::Rect(0, 0, 20, 20), kBlue);
	const OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_EQ(r.text, "class2");
}

// A classifier's answer depends on the scaling it was trained with: with
// none configured (no mean, std or scale anywhere) classification refuses
// and names the settings, instead of answering a wrong class.
TEST_F(OpencvTest, ClassificationWithoutPreprocessingIsRefused)
{
	unsetenv("VACCEL_OPENCV_MEAN");
	setenv("VACCEL_OPENCV_CLASSIFY_MODEL",
	       fixture("color_classifier.onnx").c_str(), 1);
	cv::Mat img(20, 20, CV_8UC3, kGreen);
	OpResult r = classify(png(img));
	EXPECT_EQ(r.rc, VACCEL_EINVAL);
	EXPECT_NE(log().find("no preprocessing configured"), std::string::npos)
	    << log();
	EXPECT_NE(log().find("VACCEL_OPENCV_MEAN"), std::string::npos);
	setenv("VACCEL_OPENCV_STD", "1", 1);
	r = classify(png(img));
	EXPECT_EQ(r.rc, VACCEL_OK) << log();
}

// Labels that do not match the outputs one to one would name the wrong
// class: an error naming both counts.
TEST_F(OpencvTest, LabelsThatDoNotMatchTheOutputsAreAnError)
{
	setenv("VACCEL_OPENCV_CLASSIFY_MODEL",
	       fixture("color_classifier.onnx").c_str(), 1);
	setenv("VACCEL_OPENCV_LABELS", fixture("segment_labels.txt").c_str(),
	       1);
	cv::Mat img(20, 20, CV_8UC3, kGreen);
	const OpResult r = classify(png(img));
	EXPECT_EQ(r.rc, VACCEL_EINVAL);
	EXPECT_NE(log().find("outputs but its labels have"), std::string::npos)
	    << log();
}

TEST_F(OpencvTest, LabelsAndModelFromEnvironment)
{
	setenv("VACCEL_OPENCV_CLASSIFY_MODEL",
	       fixture("color_classifier.onnx").c_str(), 1);
	setenv("VACCEL_OPENCV_LABELS", fixture("colors.txt").c_str(), 1);
	std::mt19937 rng(7);
	cv::Mat img = noise_image(20, 20, 40, rng);
	fill(img, cv::Rect(0, 0, 20, 20), kGreen);
	const OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_EQ(r.text, "green");
	// Another task has its own variable.
	const OpResult d = image_op(VACCEL_OP_IMAGE_DETECT, png(img));
	EXPECT_EQ(d.rc, VACCEL_ENOENT);
	EXPECT_NE(log().find("VACCEL_OPENCV_DETECT_MODEL"), std::string::npos);
}

TEST_F(OpencvTest, MemoryOnlyModelResource)
{
	const auto bytes = read_bytes(fixture("color_classifier.onnx"));
	resources_.emplace_back();
	vaccel_resource *res = &resources_.back().first;
	ASSERT_EQ(vaccel_resource_init_from_buf(res, bytes.data(), bytes.size(),
						VACCEL_RESOURCE_MODEL,
						"net.onnx", true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(res, &sess_), VACCEL_OK);
	resources_.back().second = &sess_;
	std::mt19937 rng(8);
	cv::Mat img = noise_image(20, 20, 40, rng);
	fill(img, cv::Rect(0, 0, 20, 20), kRed);
	const OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_EQ(r.text, "class0");
}

TEST_F(OpencvTest, FirstOnnxModelResourceIsUsed)
{
	// A MODEL resource without an .onnx file is skipped; of two ONNX
	// models the first registered wins (the gray one has 2 outputs, which
	// these 3 labels would not match); labels come from the first
	// resource that has a .txt.
	add_resource({fixture("colors.txt")});
	add_resource({fixture("color_classifier.onnx")});
	add_resource({fixture("gray_classifier.onnx")});
	std::mt19937 rng(9);
	cv::Mat img = noise_image(20, 20, 40, rng);
	fill(img, cv::Rect(0, 0, 20, 20), kGreen);
	const OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_EQ(r.text, "green"); // class 1 of the color model
}

TEST_F(OpencvTest, UnregisteringSwitchesModel)
{
	vaccel_resource *color = add_resource(
	    {fixture("color_classifier.onnx"), fixture("colors.txt")});
	std::mt19937 rng(10);
	cv::Mat img = noise_image(30, 30, 40, rng);
	fill(img, cv::Rect(0, 0, 30, 30), kRed);
	EXPECT_EQ(classify(png(img)).text, "red");
	unregister(color);
	EXPECT_EQ(classify(png(img)).rc, VACCEL_ENOENT);
	add_resource(
	    {fixture("gray_classifier.onnx"), fixture("gray_labels.txt")});
	const OpResult r = classify(png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_EQ(r.text, "dark");
	// And back: the cached color model of this session was dropped, a
	// new registration loads it again.
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	EXPECT_EQ(classify(png(img)).text, "dark"); // gray is first now
}

TEST_F(OpencvTest, ClassifyThroughGenop)
{
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	std::mt19937 rng(11);
	cv::Mat img = noise_image(25, 19, 40, rng);
	fill(img, cv::Rect(0, 0, 25, 19), kBlue);
	std::vector<unsigned char> bytes = png(img);
	unsigned char text[64] = {0};
	unsigned char name[512] = {0};
	vaccel_arg_array read;
	vaccel_arg_array write;
	ASSERT_EQ(vaccel_arg_array_init(&read, 2), VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_init(&write, 2), VACCEL_OK);
	uint8_t op = VACCEL_OP_IMAGE_CLASSIFY;
	ASSERT_EQ(vaccel_arg_array_add_uint8(&read, &op), VACCEL_OK);
	ASSERT_EQ(
	    vaccel_arg_array_add_buffer(&read, bytes.data(), bytes.size()),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_add_uchar_array(&write, name, sizeof(name)),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_arg_array_add_uchar_array(&write, text, sizeof(text)),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_genop(&sess_, read.args, static_cast<int>(read.count),
			       write.args, static_cast<int>(write.count)),
		  VACCEL_OK)
	    << log();
	EXPECT_STREQ(reinterpret_cast<char *>(text), "blue");
	EXPECT_TRUE(fs::exists(reinterpret_cast<char *>(name)));
	vaccel_arg_array_release(&write);
	vaccel_arg_array_release(&read);
}

// ----------------------------------------------------------------------------
// Detection

// What the synthetic detectors compute from their input tensor, row c:
// (x1, y1, x2, y2, score) of the pixels of channel c above 0.5.
struct Box {
	double x1, y1, x2, y2, score;
};
std::vector<Box> naive_boxes(const cv::Mat &in)
{
	const int h = in.size[2];
	const int w = in.size[3];
	std::vector<Box> out;
	for (int c = 0; c < 3; c++) {
		std::vector<float> cols(w, 0.0F);
		std::vector<float> rows(h, 0.0F);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				const float v = in.ptr<float>(0, c)[y * w + x];
				const float m = std::clamp((v - 0.5F) * 1000.0F,
							   0.0F, 1.0F);
				cols[x] = std::max(cols[x], m);
				rows[y] = std::max(rows[y], m);
			}
		Box b{0, 0, 0, 0, 0};
		double l = 0;
		double t = 0;
		for (int x = 0; x < w; x++) {
			b.x2 = std::max(b.x2, double(cols[x]) * (x + 1));
			l = std::max(l, double(cols[x]) * (w - x));
			b.score = std::max(b.score, double(cols[x]));
		}
		for (int y = 0; y < h; y++) {
			b.y2 = std::max(b.y2, double(rows[y]) * (y + 1));
			t = std::max(t, double(rows[y]) * (h - y));
		}
		b.x1 = w - l;
		b.y1 = h - t;
		out.push_back(b);
	}
	return out;
}

class DetectTest : public OpencvTest,
		   public ::testing::WithParamInterface<const char *>
{
};

TEST_P(DetectTest, FindsTheColouredRectangles)
{
	const std::string model = fixture(GetParam());
	const bool ssd = std::string(GetParam()) == "detect_ssd.onnx";
	add_resource({model, fixture("colors.txt")});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	std::mt19937 rng(12);
	cv::Mat img = noise_image(150, 97, 60, rng);
	const cv::Rect red(20, 10, 50, 40);
	const cv::Rect green(90, 40, 50, 50);
	fill(img, red, kRed);
	fill(img, green, kGreen);
	const OpResult r = image_op(VACCEL_OP_IMAGE_DETECT, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();

	// The raw output: what cv::dnn computes, and the model's formula.
	const cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	const cv::Mat out = read_tensor(stem_of(r.imgname) + ".output.bin");
	ASSERT_EQ(shape(in), (std::vector<int>{1, 3, 64, 64}));
	EXPECT_EQ(max_abs_diff(out, direct_forward(model, in)), 0.0);
	const std::vector<Box> want = naive_boxes(in);
	ASSERT_EQ(out.total(), ssd ? 21U : 18U);
	for (int c = 0; c < 3; c++) {
		const float *row = out.ptr<float>() + c * (ssd ? 7 : 6);
		const double k = ssd ? 64.0 : 1.0; // SSD is normalised
		const float *xy = ssd ? row + 3 : row;
		EXPECT_NEAR(xy[0] * k, want[c].x1, 1e-2) << c;
		EXPECT_NEAR(xy[1] * k, want[c].y1, 1e-2) << c;
		EXPECT_NEAR(xy[2] * k, want[c].x2, 1e-2) << c;
		EXPECT_NEAR(xy[3] * k, want[c].y2, 1e-2) << c;
		EXPECT_NEAR(ssd ? row[2] : row[4], want[c].score, 1e-3);
		EXPECT_EQ(ssd ? row[1] : row[5], c);
	}

	// The decoded boxes: scaled to the image, blue (score 0) dropped.
	const auto lines = summary(r);
	ASSERT_EQ(lines.size(), 2U) << read_text(stem_of(r.imgname) + ".txt");
	const double sx = 150.0 / 64;
	const double sy = 97.0 / 64;
	const cv::Rect truth[] = {red, green};
	const char *names[] = {"red", "green"};
	const cv::Mat res = cv::imread(r.imgname);
	ASSERT_EQ(res.size(), img.size());
	for (const auto &f : lines) {
		ASSERT_EQ(f.size(), 7U);
		const int c = std::stoi(f[0]);
		ASSERT_TRUE(c == 0 || c == 1);
		EXPECT_EQ(f[6], names[c]);
		EXPECT_NEAR(std::stod(f[1]), 1.0, 1e-3);
		const double x1 = std::stod(f[2]);
		const double y1 = std::stod(f[3]);
		const double x2 = std::stod(f[4]);
		const double y2 = std::stod(f[5]);
		EXPECT_NEAR(x1, want[c].x1 * sx, 0.02);
		EXPECT_NEAR(y1, want[c].y1 * sy, 0.02);
		EXPECT_NEAR(x2, want[c].x2 * sx, 0.02);
		EXPECT_NEAR(y2, want[c].y2 * sy, 0.02);
		// Where the rectangle is, within the 64-pixel grid's error.
		EXPECT_NEAR(x1, truth[c].x, 1.5 * sx);
		EXPECT_NEAR(y1, truth[c].y, 1.5 * sy);
		EXPECT_NEAR(x2, truth[c].br().x, 1.5 * sx);
		EXPECT_NEAR(y2, truth[c].br().y, 1.5 * sy);
		// The box outline in the class's colour: left edge and
		// bottom edge, midway.
		const int xl = static_cast<int>(std::lround(x1));
		const int yb = static_cast<int>(std::lround(y2)) - 1;
		const int ym = static_cast<int>((y1 + y2) / 2);
		const int xm = static_cast<int>((x1 + x2) / 2);
		EXPECT_EQ(res.at<cv::Vec3b>(ym, xl), palette(c)) << c;
		EXPECT_EQ(res.at<cv::Vec3b>(yb, xm), palette(c)) << c;
		// Inside the box, the image is unchanged.
		EXPECT_EQ(res.at<cv::Vec3b>(ym, xm), img.at<cv::Vec3b>(ym, xm));
	}
}

INSTANTIATE_TEST_SUITE_P(Formats, DetectTest,
			 ::testing::Values("detect_boxes.onnx",
					   "detect_ssd.onnx"));

TEST_F(OpencvTest, DetectNothingLeavesImageUnchanged)
{
	add_resource({fixture("detect_boxes.onnx")});
	std::mt19937 rng(13);
	const cv::Mat img = noise_image(70, 45, 100, rng);
	const OpResult r = image_op(VACCEL_OP_IMAGE_DETECT, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_TRUE(summary(r).empty());
	const cv::Mat res = cv::imread(r.imgname);
	ASSERT_EQ(res.size(), img.size());
	EXPECT_EQ(cv::norm(res, img, cv::NORM_INF), 0.0);
}

// ----------------------------------------------------------------------------
// Segmentation

cv::Mat expected_mask(const cv::Mat &out, cv::Size size)
{
	const int c = out.size[1];
	const int h = out.size[2];
	const int w = out.size[3];
	cv::Mat classes(h, w, CV_16U);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int best = 0;
			for (int k = 1; k < c; k++)
				if (out.ptr<float>(0, k)[y * w + x] >
				    out.ptr<float>(0, best)[y * w + x])
					best = k;
			classes.at<uint16_t>(y, x) =
			    static_cast<uint16_t>(best);
		}
	cv::resize(classes, classes, size, 0, 0, cv::INTER_NEAREST);
	return classes;
}

TEST_F(OpencvTest, SegmentsColouredRegions)
{
	const std::string model = fixture("segment.onnx");
	add_resource({model, fixture("segment_labels.txt")});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	std::mt19937 rng(14);
	cv::Mat img = noise_image(97, 61, 60, rng);
	const cv::Rect rects[] = {
	    {5, 5, 30, 20}, {50, 10, 40, 30}, {20, 35, 30, 22}};
	fill(img, rects[0], kRed);
	fill(img, rects[1], kGreen);
	fill(img, rects[2], kBlue);
	const OpResult r = image_op(VACCEL_OP_IMAGE_SEGMENT, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();

	const cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	const cv::Mat out = read_tensor(stem_of(r.imgname) + ".output.bin");
	ASSERT_EQ(shape(out), (std::vector<int>{1, 4, 48, 48}));
	EXPECT_EQ(max_abs_diff(out, direct_forward(model, in)), 0.0);
	// The model: class 0 is 0.5, class k the input's channel k - 1.
	for (int i = 0; i < 48 * 48; i++) {
		ASSERT_FLOAT_EQ(out.ptr<float>(0, 0)[i], 0.5F);
		for (int k = 1; k < 4; k++)
			ASSERT_FLOAT_EQ(out.ptr<float>(0, k)[i],
					in.ptr<float>(0, k - 1)[i]);
	}

	const cv::Mat classes = expected_mask(out, img.size());
	for (int k = 0; k < 3; k++) {
		const cv::Point mid = (rects[k].tl() + rects[k].br()) / 2;
		EXPECT_EQ(classes.at<uint16_t>(mid), k + 1);
	}
	EXPECT_EQ(classes.at<uint16_t>(60, 96), 0);
	const cv::Mat res = cv::imread(r.imgname);
	ASSERT_EQ(res.size(), img.size());
	std::map<int, int> counts;
	for (int y = 0; y < img.rows; y++)
		for (int x = 0; x < img.cols; x++) {
			const int k = classes.at<uint16_t>(y, x);
			counts[k]++;
			const cv::Vec3b want =
			    k == 0 ? cv::Vec3b(0, 0, 0) : palette(k - 1);
			ASSERT_EQ(res.at<cv::Vec3b>(y, x), want)
			    << x << "," << y;
		}
	const char *names[] = {"background", "red", "green", "blue"};
	const auto lines = summary(r);
	ASSERT_EQ(lines.size(), 4U);
	for (const auto &f : lines) {
		ASSERT_EQ(f.size(), 3U);
		const int k = std::stoi(f[0]);
		EXPECT_EQ(std::stoi(f[1]), counts[k]);
		EXPECT_EQ(f[2], names[k]);
	}
}

TEST_F(OpencvTest, SegmentationOverlay)
{
	add_resource({fixture("segment.onnx")});
	setenv("VACCEL_OPENCV_SEGMENT_ALPHA", "0.5", 1);
	std::mt19937 rng(15);
	cv::Mat img = noise_image(64, 40, 60, rng);
	fill(img, cv::Rect(10, 10, 30, 20), kGreen);
	const OpResult r = image_op(VACCEL_OP_IMAGE_SEGMENT, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	const cv::Mat res = cv::imread(r.imgname);
	// Inside the green region: half class 2's colour, half the image.
	const cv::Vec3b got = res.at<cv::Vec3b>(20, 25);
	for (int ch = 0; ch < 3; ch++)
		EXPECT_NEAR(got[ch], (palette(1)[ch] + kGreen[ch]) / 2.0, 1.0);
	const cv::Vec3b bg = res.at<cv::Vec3b>(35, 60);
	const cv::Vec3b src = img.at<cv::Vec3b>(35, 60);
	for (int ch = 0; ch < 3; ch++)
		EXPECT_NEAR(bg[ch], src[ch] / 2.0, 1.0);
}

// ----------------------------------------------------------------------------
// Pose

TEST_F(OpencvTest, PoseKeypointsAtTheDots)
{
	const std::string model = fixture("pose.onnx");
	add_resource({model});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	setenv("VACCEL_OPENCV_POSE_THRESHOLD", "0.5", 1);
	std::mt19937 rng(16);
	cv::Mat img = noise_image(128, 96, 40, rng);
	const cv::Point dots[] = {{32, 22}, {95, 70}};
	fill(img, cv::Rect(dots[0] - cv::Point(3, 3), cv::Size(7, 7)), kRed);
	fill(img, cv::Rect(dots[1] - cv::Point(3, 3), cv::Size(7, 7)), kGreen);
	const OpResult r = image_op(VACCEL_OP_IMAGE_POSE, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();

	const cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	const cv::Mat out = read_tensor(stem_of(r.imgname) + ".output.bin");
	ASSERT_EQ(shape(out), (std::vector<int>{1, 3, 31, 31}));
	EXPECT_LT(max_abs_diff(out, direct_forward(model, in)), 1e-6);

	const auto lines = summary(r);
	ASSERT_EQ(lines.size(), 2U); // the blue heatmap stays below 0.5
	const cv::Mat res = cv::imread(r.imgname);
	for (const auto &f : lines) {
		ASSERT_EQ(f.size(), 5U);
		const int k = std::stoi(f[0]);
		ASSERT_TRUE(k == 0 || k == 1);
		EXPECT_EQ(f[4], "kp" + std::to_string(k));
		// The peak of heatmap k, first in row-major order.
		int best = 0;
		const float *hm = out.ptr<float>(0, k);
		for (int i = 1; i < 31 * 31; i++)
			if (hm[i] > hm[best])
				best = i;
		const double x = (best % 31 + 0.5) * 128 / 31;
		const double y = (best / 31 + 0.5) * 96 / 31;
		EXPECT_NEAR(std::stod(f[1]), hm[best], 1e-4);
		EXPECT_NEAR(std::stod(f[2]), x, 0.01);
		EXPECT_NEAR(std::stod(f[3]), y, 0.01);
		EXPECT_NEAR(x, dots[k].x, 2.5 * 128 / 31.0);
		EXPECT_NEAR(y, dots[k].y, 2.5 * 96 / 31.0);
		EXPECT_EQ(
		    res.at<cv::Vec3b>(static_cast<int>(y), static_cast<int>(x)),
		    palette(k));
	}
}

// ----------------------------------------------------------------------------
// Depth

TEST_F(OpencvTest, DepthMapNormalisedToImage)
{
	const std::string model = fixture("depth.onnx");
	add_resource({model});
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	std::mt19937 rng(17);
	cv::Mat img = noise_image(83, 57, 50, rng);
	for (int y = 0; y < img.rows; y++)
		for (int x = 0; x < img.cols; x++)
			img.at<cv::Vec3b>(y, x)[1] =
			    static_cast<uchar>(x * 255 / 82);
	const OpResult r = image_op(VACCEL_OP_IMAGE_DEPTH, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();

	const cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	const cv::Mat out = read_tensor(stem_of(r.imgname) + ".output.bin");
	ASSERT_EQ(shape(in), (std::vector<int>{1, 3, 40, 40}));
	ASSERT_EQ(shape(out), (std::vector<int>{1, 1, 20, 20}));
	EXPECT_LT(max_abs_diff(out, direct_forward(model, in)), 1e-6);
	// The model: 2x2 average of the luminance (RGB input order).
	cv::Mat lum(20, 20, CV_32F);
	for (int y = 0; y < 20; y++)
		for (int x = 0; x < 20; x++) {
			double s = 0;
			for (int dy = 0; dy < 2; dy++)
				for (int dx = 0; dx < 2; dx++) {
					const int at =
					    (2 * y + dy) * 40 + 2 * x + dx;
					s += 0.299 * in.ptr<float>(0, 0)[at] +
					     0.587 * in.ptr<float>(0, 1)[at] +
					     0.114 * in.ptr<float>(0, 2)[at];
				}
			lum.at<float>(y, x) = static_cast<float>(s / 4);
			ASSERT_NEAR(out.ptr<float>()[y * 20 + x], s / 4, 1e-5);
		}

	double lo = 0;
	double hi = 0;
	cv::minMaxLoc(lum, &lo, &hi);
	const auto lines = summary(r);
	ASSERT_EQ(lines.size(), 2U);
	EXPECT_EQ(lines[0][0], "min");
	EXPECT_NEAR(std::stod(lines[0][1]), lo, 1e-4);
	EXPECT_NEAR(std::stod(lines[1][1]), hi, 1e-4);
	// The image: bilinear resize, then min -> 0 and max -> 255.
	cv::Mat big;
	cv::resize(lum, big, img.size(), 0, 0, cv::INTER_LINEAR);
	const cv::Mat res = cv::imread(r.imgname, cv::IMREAD_UNCHANGED);
	ASSERT_EQ(res.type(), CV_8UC1);
	ASSERT_EQ(res.size(), img.size());
	for (int y = 0; y < img.rows; y++)
		for (int x = 0; x < img.cols; x++)
			ASSERT_NEAR(
			    res.at<uchar>(y, x),
			    (big.at<float>(y, x) - lo) * 255 / (hi - lo), 1.0)
			    << x << "," << y;
	// Left (dark green) is darker than right.
	EXPECT_LT(res.at<uchar>(28, 2), res.at<uchar>(28, 80));
}

TEST_F(OpencvTest, DepthColormap)
{
	add_resource({fixture("depth.onnx")});
	std::mt19937 rng(18);
	const cv::Mat img = noise_image(50, 30, 255, rng);
	OpResult gray = image_op(VACCEL_OP_IMAGE_DEPTH, png(img));
	ASSERT_EQ(gray.rc, VACCEL_OK) << log();
	setenv("VACCEL_OPENCV_DEPTH_COLORMAP", "jet", 1);
	OpResult jet = image_op(VACCEL_OP_IMAGE_DEPTH, png(img));
	ASSERT_EQ(jet.rc, VACCEL_OK) << log();
	const cv::Mat g = cv::imread(gray.imgname, cv::IMREAD_UNCHANGED);
	const cv::Mat j = cv::imread(jet.imgname, cv::IMREAD_UNCHANGED);
	ASSERT_EQ(j.type(), CV_8UC3);
	cv::Mat want;
	cv::applyColorMap(g, want, cv::COLORMAP_JET);
	EXPECT_EQ(cv::norm(j, want, cv::NORM_INF), 0.0);
	setenv("VACCEL_OPENCV_DEPTH_COLORMAP", "sepia", 1);
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_DEPTH, png(img)).rc, VACCEL_EINVAL);
	EXPECT_NE(log().find("VACCEL_OPENCV_DEPTH_COLORMAP"),
		  std::string::npos);
}

// ----------------------------------------------------------------------------
// Errors

TEST_F(OpencvTest, NoModel)
{
	std::mt19937 rng(19);
	const auto img = png(noise_image(10, 10, 255, rng));
	EXPECT_EQ(classify(img).rc, VACCEL_ENOENT);
	EXPECT_NE(log().find("[opencv] classify: no model"), std::string::npos)
	    << log();
	for (auto op : {VACCEL_OP_IMAGE_DETECT, VACCEL_OP_IMAGE_SEGMENT,
			VACCEL_OP_IMAGE_POSE, VACCEL_OP_IMAGE_DEPTH})
		EXPECT_EQ(image_op(op, img).rc, VACCEL_ENOENT);
	// A MODEL resource without an ONNX file is no model either.
	add_resource({fixture("colors.txt")});
	EXPECT_EQ(classify(img).rc, VACCEL_ENOENT);
	// Nor is a missing file named by the environment.
	setenv("VACCEL_OPENCV_CLASSIFY_MODEL", tmp_file("none.onnx").c_str(),
	       1);
	EXPECT_EQ(classify(img).rc, VACCEL_ENOENT);
	EXPECT_NE(log().find("none.onnx"), std::string::npos);
}

TEST_F(OpencvTest, CorruptModels)
{
	std::mt19937 rng(20);
	const auto img = png(noise_image(10, 10, 255, rng));
	// Random bytes.
	std::vector<unsigned char> junk(3000);
	for (auto &b : junk)
		b = static_cast<unsigned char>(rng());
	write_bytes(tmp_file("junk.onnx"), junk);
	// A valid model cut in half.
	auto good = read_bytes(fixture("detect_boxes.onnx"));
	good.resize(good.size() / 2);
	write_bytes(tmp_file("cut.onnx"), good);
	// Empty.
	write_bytes(tmp_file("empty.onnx"), {});
	for (const char *name : {"junk.onnx", "cut.onnx", "empty.onnx"}) {
		vaccel_session s{};
		ASSERT_EQ(vaccel_session_init(&s, 0), VACCEL_OK);
		vaccel_resource *res =
		    add_resource({tmp_file(name)}, VACCEL_RESOURCE_MODEL, &s);
		// Twice: a model that fails to load is not cached.
		for (int i = 0; i < 2; i++) {
			EXPECT_EQ(classify(img, 256, 512, &s).rc, VACCEL_EINVAL)
			    << name;
			EXPECT_NE(log().find("is not an ONNX model OpenCV can "
					     "load"),
				  std::string::npos);
		}
		unregister(res);
		ASSERT_EQ(vaccel_session_release(&s), VACCEL_OK);
	}
	// The plugin still works.
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	cv::Mat red(12, 12, CV_8UC3, cv::Scalar(0, 0, 255));
	EXPECT_EQ(classify(png(red)).text, "red");
}

TEST_F(OpencvTest, BadModelsForEveryTask)
{
	std::mt19937 rng(22);
	const auto img = png(noise_image(16, 12, 255, rng));
	const vaccel_op_type_t ops[] = {
	    VACCEL_OP_IMAGE_DETECT, VACCEL_OP_IMAGE_SEGMENT,
	    VACCEL_OP_IMAGE_POSE, VACCEL_OP_IMAGE_DEPTH};
	const char *tasks[] = {"DETECT", "SEGMENT", "POSE", "DEPTH"};

	// A missing file named by VACCEL_OPENCV_<TASK>_MODEL: ENOENT, naming
	// the file.
	for (size_t i = 0; i < 4; i++) {
		SCOPED_TRACE(tasks[i]);
		const std::string var =
		    std::string("VACCEL_OPENCV_") + tasks[i] + "_MODEL";
		const std::string missing =
		    tmp_file(std::string("missing_") + tasks[i] + ".onnx");
		setenv(var.c_str(), missing.c_str(), 1);
		EXPECT_EQ(image_op(ops[i], img).rc, VACCEL_ENOENT);
		EXPECT_NE(log().find(missing), std::string::npos);
		unsetenv(var.c_str());
	}

	// Not an ONNX model, as a resource: EINVAL for every task, no result
	// file, and again on the next call (a failed load is not cached).
	std::vector<unsigned char> junk(2000);
	for (auto &b : junk)
		b = static_cast<unsigned char>(rng());
	write_bytes(tmp_file("junk.onnx"), junk);
	vaccel_resource *res = add_resource({tmp_file("junk.onnx")});
	const auto before = rundir_files().size();
	for (size_t i = 0; i < 4; i++)
		for (int round = 0; round < 2; round++)
			EXPECT_EQ(image_op(ops[i], img).rc, VACCEL_EINVAL)
			    << tasks[i];
	EXPECT_EQ(rundir_files().size(), before);
	EXPECT_NE(log().find("is not an ONNX model OpenCV can load"),
		  std::string::npos);
	unregister(res);

	// The plugin still works afterwards.
	add_resource({fixture("depth.onnx")});
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_DEPTH, img).rc, VACCEL_OK) << log();
}

TEST_F(OpencvTest, NotAnImage)
{
	add_resource({fixture("color_classifier.onnx")});
	const std::string text = "this is not an image";
	const std::vector<unsigned char> bytes(text.begin(), text.end());
	EXPECT_EQ(classify(bytes).rc, VACCEL_EINVAL);
	EXPECT_NE(log().find("not an image OpenCV can decode"),
		  std::string::npos);
	// A PNG cut short.
	std::mt19937 rng(21);
	auto cut = png(noise_image(40, 40, 255, rng));
	cut.resize(cut.size() / 3);
	EXPECT_EQ(classify(cut).rc, VACCEL_EINVAL);
	// No bytes at all.
	unsigned char out[64];
	unsigned char name[256];
	EXPECT_EQ(vaccel_image_classification(&sess_, nullptr, out, name, 10,
					      sizeof(out), sizeof(name)),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_image_classification(&sess_, bytes.data(), out, name,
					      0, sizeof(out), sizeof(name)),
		  VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_image_detection(&sess_, nullptr, name, 0, sizeof(name)),
	    VACCEL_EINVAL);
}

TEST_F(OpencvTest, OutputBufferSizes)
{
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	cv::Mat red(12, 12, CV_8UC3, cv::Scalar(0, 0, 255));
	const auto img = png(red);
	// "red" needs 4 bytes.
	EXPECT_EQ(classify(img, 3).rc, VACCEL_ENOSPC);
	EXPECT_NE(log().find("out_text has 3 bytes"), std::string::npos);
	OpResult r = classify(img, 4);
	EXPECT_EQ(r.rc, VACCEL_OK);
	EXPECT_EQ(r.text, "red");
	// No out_text at all.
	EXPECT_EQ(classify(img, 0).rc, VACCEL_EINVAL);
	// A result path does not fit in 8 bytes: fails before any work, and
	// leaves no file behind.
	const auto before = rundir_files().size();
	EXPECT_EQ(classify(img, 64, 8).rc, VACCEL_ENOSPC);
	EXPECT_NE(log().find("out_imgname has 8 bytes"), std::string::npos);
	EXPECT_EQ(rundir_files().size(), before);
	// Classification without out_imgname: the label, no image.
	r = classify(img, 64, 0);
	EXPECT_EQ(r.rc, VACCEL_OK);
	EXPECT_EQ(r.text, "red");
	EXPECT_EQ(rundir_files().size(), before);
	// The other ops need out_imgname.
	add_resource({fixture("depth.onnx")});
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_DEPTH, img, 0).rc, VACCEL_EINVAL);
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_DEPTH, img, 10).rc, VACCEL_ENOSPC);
	EXPECT_EQ(rundir_files().size(), before);
}

TEST_F(OpencvTest, OutputShapeDoesNotFitTheTask)
{
	add_resource({fixture("color_classifier.onnx")});
	cv::Mat red(12, 12, CV_8UC3, cv::Scalar(0, 0, 255));
	const auto img = png(red);
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_DETECT, img).rc, VACCEL_EINVAL);
	EXPECT_NE(log().find("detection output [1, 3] is not"),
		  std::string::npos)
	    << log();
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_SEGMENT, img).rc, VACCEL_EINVAL);
	EXPECT_EQ(image_op(VACCEL_OP_IMAGE_POSE, img).rc, VACCEL_EINVAL);
	const auto files = rundir_files();
	EXPECT_TRUE(
	    std::none_of(files.begin(), files.end(), [](const std::string &f) {
		    return f.find(".png") != f.npos;
	    }));
}

TEST_F(OpencvTest, BadSettings)
{
	add_resource({fixture("color_classifier.onnx")});
	cv::Mat red(12, 12, CV_8UC3, cv::Scalar(0, 0, 255));
	const auto img = png(red);
	const std::pair<const char *, const char *> bad[] = {
	    {"VACCEL_OPENCV_SCALE", "abc"},
	    {"VACCEL_OPENCV_MEAN", "1,2"},
	    {"VACCEL_OPENCV_STD", "0"},
	    {"VACCEL_OPENCV_INPUT_SIZE", "0x10"},
	    {"VACCEL_OPENCV_SWAP_RB", "maybe"},
	    {"VACCEL_OPENCV_DETECT_THRESHOLD", "1.5"},
	    {"VACCEL_OPENCV_MAX_NETS", "0"},
	};
	for (const auto &[k, v] : bad) {
		setenv(k, v, 1);
		EXPECT_EQ(classify(img).rc, VACCEL_EINVAL) << k << "=" << v;
		EXPECT_NE(log().find(k), std::string::npos) << k;
		unsetenv(k);
	}
	setenv("VACCEL_OPENCV_MEAN", "0", 1); // as SetUp() left it
	EXPECT_EQ(classify(img).rc, VACCEL_OK);
}

TEST_F(OpencvTest, BadSettingsFile)
{
	const std::string cfg = tmp_file("bad.cfg");
	{
		std::ofstream os(cfg);
		os << "scale = 0.1\ncolour = red\n";
	}
	add_resource({fixture("color_classifier.onnx"), cfg});
	cv::Mat red(12, 12, CV_8UC3, cv::Scalar(0, 0, 255));
	EXPECT_EQ(classify(png(red)).rc, VACCEL_EINVAL);
	EXPECT_NE(log().find("bad.cfg):2: unknown setting 'colour'"),
		  std::string::npos)
	    << log();
}

// ----------------------------------------------------------------------------
// Concurrency

class ConcurrencyTest : public OpencvTest,
			public ::testing::WithParamInterface<const char *>
{
};

TEST_P(ConcurrencyTest, FourThreadsClassifyAtOnce)
{
	if (*GetParam() != '\0')
		setenv("VACCEL_OPENCV_MAX_NETS", GetParam(), 1);
	add_resource({fixture("color_classifier.onnx"), fixture("colors.txt")});
	// A second session with another model, used by the odd threads.
	vaccel_session other{};
	ASSERT_EQ(vaccel_session_init(&other, 0), VACCEL_OK);
	add_resource(
	    {fixture("gray_classifier.onnx"), fixture("gray_labels.txt")},
	    VACCEL_RESOURCE_MODEL, &other);

	const char *names[] = {"red", "green", "blue"};
	const cv::Vec3b colours[] = {kRed, kGreen, kBlue};
	std::vector<std::vector<unsigned char>> images[4];
	std::vector<std::string> want[4];
	std::mt19937 rng(22);
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 12; i++) {
			const int w = 16 + static_cast<int>(rng() % 40);
			const int h = 16 + static_cast<int>(rng() % 40);
			cv::Mat img = noise_image(w, h, 50, rng);
			const int c = static_cast<int>(rng() % 3);
			const bool bright = rng() % 2 == 0;
			if (t % 2 == 0)
				fill(img, cv::Rect(0, 0, w, h), colours[c]);
			else if (bright)
				img += cv::Scalar(200, 200, 200);
			images[t].push_back(png(img));
			want[t].push_back(t % 2 == 0 ? names[c]
					  : bright   ? "bright"
						     : "dark");
		}
	std::atomic<int> go{0};
	std::atomic<int> wrong{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([&, t] {
			vaccel_session *s = t % 2 == 0 ? &sess_ : &other;
			go++;
			while (go.load() < 4) {
			}
			for (size_t i = 0; i < images[t].size(); i++) {
				unsigned char text[64] = {0};
				unsigned char name[512] = {0};
				const auto &img = images[t][i];
				const int rc = vaccel_image_classification(
				    s, img.data(), text, name, img.size(),
				    sizeof(text), sizeof(name));
				if (rc != VACCEL_OK ||
				    want[t][i] !=
					reinterpret_cast<char *>(text) ||
				    !fs::exists(reinterpret_cast<char *>(name)))
					wrong++;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(wrong.load(), 0) << log();
	for (auto &[res, sess] : resources_)
		if (sess == &other) {
			EXPECT_EQ(vaccel_resource_unregister(&res, sess),
				  VACCEL_OK);
			sess = nullptr;
		}
	EXPECT_EQ(vaccel_session_release(&other), VACCEL_OK);
}

// "": the default pool size; "1": one Net per model, calls serialised.
INSTANTIATE_TEST_SUITE_P(Pool, ConcurrencyTest, ::testing::Values("", "1"));

} // namespace
