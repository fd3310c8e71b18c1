// SPDX-License-Identifier: Apache-2.0
// The opencv plugin's internals, compiled into this test: the ONNX input
// reader, the settings parser and the tensor decoders, on hand-made inputs
// whose results are worked out here; and the fixture models themselves,
// whose outputs under cv::dnn must match the torch outputs stored by
// scripts/make_test_onnx_models.py.
#include "common.h"
#include "onnx_input.h"
#include "settings.h"
#include "text_map.h"
#include "vision.h"

#include "opencv_test.h"

#include <vaccel.h>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <random>

namespace
{

using namespace ocv_test;

// ----------------------------------------------------------------------------
// The fixture models against torch

class TorchReference : public ::testing::TestWithParam<const char *>
{
};

TEST_P(TorchReference, OpenCvMatchesTorch)
{
	const std::string name = GetParam();
	std::ifstream is(fixture(name + ".ref.bin"), std::ios::binary);
	const cv::Mat x = read_tensor(is);
	const cv::Mat y = read_tensor(is);
	ASSERT_FALSE(x.empty());
	ASSERT_FALSE(y.empty());
	cv::dnn::Net net = cv::dnn::readNetFromONNX(fixture(name + ".onnx"));
	net.setInput(x);
	const cv::Mat out = net.forward();
	EXPECT_EQ(out.total(), y.total());
	EXPECT_LT(max_abs_diff(out, y), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchReference,
			 ::testing::Values("color_classifier",
					   "color_classifier_nhwc",
					   "gray_classifier", "detect_boxes",
					   "detect_ssd", "segment", "pose",
					   "depth"));

// ----------------------------------------------------------------------------
// ONNX input reader

std::optional<ocv::OnnxInput> input_of(const std::string &file)
{
	const auto bytes = read_bytes(fixture(file));
	return ocv::read_onnx_input(bytes.data(), bytes.size());
}

TEST(OnnxInput, ReadsDeclaredShapes)
{
	auto in = input_of("gray_classifier.onnx");
	ASSERT_TRUE(in);
	EXPECT_EQ(in->name, "image");
	EXPECT_EQ(in->elem_type, ocv::OnnxInput::kFloat);
	EXPECT_EQ(in->dims, (std::vector<int64_t>{1, 1, 28, 28}));
	in = input_of("color_classifier.onnx"); // height, width symbolic
	ASSERT_TRUE(in);
	EXPECT_EQ(in->dims, (std::vector<int64_t>{1, 3, -1, -1}));
	in = input_of("color_classifier_nhwc.onnx");
	ASSERT_TRUE(in);
	EXPECT_EQ(in->dims, (std::vector<int64_t>{1, 16, 16, 3}));
	// The detector has weights (initializers) but one real input.
	in = input_of("detect_boxes.onnx");
	ASSERT_TRUE(in);
	EXPECT_EQ(in->name, "image");
	EXPECT_EQ(in->dims, (std::vector<int64_t>{1, 3, 64, 64}));
}

TEST(OnnxInput, RejectsWhatIsNotAModel)
{
	EXPECT_FALSE(ocv::read_onnx_input(nullptr, 0));
	const std::string text = "not a protobuf at all";
	EXPECT_FALSE(ocv::read_onnx_input(
	    reinterpret_cast<const unsigned char *>(text.data()), text.size()));
	// Every strict prefix of a model is cut inside some field.
	const auto bytes = read_bytes(fixture("segment.onnx"));
	for (size_t n = 1; n < bytes.size(); n += 7) {
		const auto in = ocv::read_onnx_input(bytes.data(), n);
		if (in) { // a prefix can end exactly between fields
			EXPECT_LE(in->dims.size(), 4U);
		}
	}
}

TEST(OnnxInput, SurvivesRandomCorruption)
{
	// Flipped bytes must never read out of bounds (the sanitizer build
	// checks); the result may be anything.
	const auto orig = read_bytes(fixture("detect_ssd.onnx"));
	std::mt19937 rng(1);
	for (int i = 0; i < 2000; i++) {
		auto bytes = orig;
		const int flips = 1 + static_cast<int>(rng() % 8);
		for (int f = 0; f < flips; f++)
			bytes[rng() % bytes.size()] =
			    static_cast<unsigned char>(rng());
		(void)ocv::read_onnx_input(bytes.data(), bytes.size());
	}
}

// ----------------------------------------------------------------------------
// Settings

TEST(Settings, FileAndValues)
{
	const auto kv = ocv::parse_settings_file(
	    "# comment\n\n  Input_Size = 32x24 \nmean=0.1, 0.2,0.3 # rgb\n"
	    "std = 2\nswap_rb = off\ngrayscale = yes\nscale=1\n"
	    "detect_threshold = 0.25\nnms_threshold=0\npose_threshold=1\n"
	    "segment_alpha=0.75\ndepth_colormap = Viridis\nsave_tensors=true\n"
	    "text_threshold = 0.2\nunclip_ratio = 2.5\n",
	    "x.cfg");
	ocv::Settings s;
	ocv::apply_settings(s, kv, "x.cfg", false);
	EXPECT_EQ(s.width, 32);
	EXPECT_EQ(s.height, 24);
	EXPECT_EQ(s.mean, (std::array<double, 3>{0.1, 0.2, 0.3}));
	EXPECT_EQ(s.std, (std::array<double, 3>{2, 2, 2}));
	EXPECT_FALSE(s.swap_rb);
	EXPECT_EQ(s.channels, 1);
	EXPECT_EQ(s.scale, 1.0);
	EXPECT_EQ(s.detect_threshold, 0.25);
	EXPECT_EQ(s.nms_threshold, 0.0);
	EXPECT_EQ(s.pose_threshold, 1.0);
	EXPECT_EQ(s.segment_alpha, 0.75);
	EXPECT_EQ(s.depth_colormap, cv::COLORMAP_VIRIDIS);
	EXPECT_TRUE(s.save_tensors);
	EXPECT_EQ(s.text_threshold, 0.2);
	EXPECT_EQ(s.unclip_ratio, 2.5);
	// A square size.
	ocv::apply_settings(s, {{"input_size", "7"}}, "x", false);
	EXPECT_EQ(s.width, 7);
	EXPECT_EQ(s.height, 7);
}

TEST(Settings, Errors)
{
	try {
		ocv::parse_settings_file("scale = 1\nno equals sign\n", "f");
		FAIL();
	} catch (const ocv::PluginError &e) {
		EXPECT_EQ(e.code(), VACCEL_EINVAL);
		EXPECT_STREQ(e.what(), "f:2: expected 'key = value', got "
				       "'no equals sign'");
	}
	try {
		ocv::parse_settings_file("sclae = 1\n", "f");
		FAIL();
	} catch (const ocv::PluginError &e) {
		EXPECT_STREQ(e.what(), "f:1: unknown setting 'sclae'");
	}
	const std::pair<const char *, const char *> bad[] = {
	    {"input_size", "10x"},
	    {"input_size", "-3"},
	    {"input_size", "99999"},
	    {"scale", "1e999"},
	    {"scale", ""},
	    {"mean", "1,2,3,4"},
	    {"std", "1,0,1"},
	    {"swap_rb", "2"},
	    {"nms_threshold", "-0.1"},
	    {"segment_alpha", "x"},
	    {"depth_colormap", "rainbow"},
	    {"text_threshold", "1.5"},
	    {"unclip_ratio", "-1"},
	    {"unclip_ratio", "11"},
	};
	for (const auto &[k, v] : bad) {
		ocv::Settings s;
		try {
			ocv::apply_settings(s, {{k, v}}, "environment", true);
			ADD_FAILURE() << k << "=" << v;
		} catch (const ocv::PluginError &e) {
			EXPECT_EQ(e.code(), VACCEL_EINVAL);
			EXPECT_NE(std::string(e.what()).find("VACCEL_OPENCV_"),
				  std::string::npos)
			    << e.what();
		}
	}
}

TEST(Settings, Environment)
{
	clear_opencv_env();
	setenv("VACCEL_OPENCV_SCALE", " 0.5 ", 1);
	setenv("VACCEL_OPENCV_MEAN", "1,2,3", 1);
	const auto kv = ocv::settings_from_env();
	EXPECT_EQ(kv.size(), 2U);
	EXPECT_EQ(kv.at("scale"), "0.5");
	EXPECT_EQ(kv.at("mean"), "1,2,3");
	clear_opencv_env();
}

// ----------------------------------------------------------------------------
// Input tensors

TEST(MakeInput, LayoutsAndChannels)
{
	std::mt19937 rng(2);
	cv::Mat img(9, 13, CV_8UC3);
	for (int y = 0; y < 9; y++)
		for (int x = 0; x < 13; x++)
			for (int c = 0; c < 3; c++)
				img.at<cv::Vec3b>(y, x)[c] =
				    static_cast<uchar>(rng());
	ocv::Settings s;
	s.scale = 2.0;
	s.mean = {1, 2, 3};
	s.std = {4, 5, 6};
	for (bool nhwc : {false, true})
		for (bool swap : {false, true}) {
			s.swap_rb = swap;
			ocv::InputSpec spec{13, 9, 3, nhwc};
			const cv::Mat t = ocv::make_input(img, spec, s);
			ASSERT_EQ(t.dims, 4);
			for (int c = 0; c < 3; c++)
				for (int y = 0; y < 9; y++)
					for (int x = 0; x < 13; x++) {
						const int src =
						    swap ? 2 - c : c;
						const double want =
						    (img.at<cv::Vec3b>(y,
								       x)[src] *
							 2.0 -
						     s.mean[c]) /
						    s.std[c];
						const int idx[] = {0, c, y, x};
						const int idx2[] = {0, y, x, c};
						ASSERT_NEAR(
						    t.at<float>(nhwc ? idx2
								     : idx),
						    want, 1e-4);
					}
		}
	// Grayscale, resized.
	ocv::InputSpec gray{5, 4, 1, false};
	const cv::Mat t = ocv::make_input(img, gray, ocv::Settings{});
	EXPECT_EQ(shape(t), (std::vector<int>{1, 1, 4, 5}));
	cv::Mat g;
	cv::cvtColor(img, g, cv::COLOR_BGR2GRAY);
	cv::resize(g, g, cv::Size(5, 4), 0, 0, cv::INTER_LINEAR);
	for (int i = 0; i < 20; i++)
		EXPECT_NEAR(t.ptr<float>()[i], g.data[i] / 255.0, 1e-6);
}

// ----------------------------------------------------------------------------
// Decoders

cv::Mat tensor(std::vector<int> dims, std::vector<float> values)
{
	cv::Mat m(static_cast<int>(dims.size()), dims.data(), CV_32F);
	EXPECT_EQ(m.total(), values.size());
	std::copy(values.begin(), values.end(), m.ptr<float>());
	return m;
}

TEST(Decode, Top1)
{
	float score = 0;
	EXPECT_EQ(ocv::top1(tensor({1, 4}, {0.1F, 3.0F, -2.0F, 3.0F}), &score),
		  1);
	EXPECT_EQ(score, 3.0F);
	EXPECT_EQ(ocv::top1(tensor({1, 3}, {NAN, -5.0F, -1.0F}), &score), 2);
	EXPECT_THROW(ocv::top1(cv::Mat(), nullptr), ocv::PluginError);
}

TEST(Decode, DetectionsRowsThresholdClampAndNms)
{
	ocv::Settings s; // threshold 0.5, NMS IoU 0.45
	// Network input 100x50, image 200x200: x * 2, y * 4.
	const cv::Mat out = tensor(
	    {6, 6},
	    {
		10, 10, 30,  20, 0.9F, 1, // kept
		11, 10, 31,  20, 0.8F, 1, // IoU ~0.9 with the first: dropped
		11, 10, 31,  20, 0.7F, 2, // same box, other class: kept
		50, 0,  60,  5,  0.4F, 0, // below the threshold
		90, 40, 120, 60, 0.6F, 3, // clamped to the image
		40, 40, 40,  45, 0.9F, 0, // empty box
	    });
	const auto ds = ocv::decode_detections(out, cv::Size(100, 50),
					       cv::Size(200, 200), s);
	ASSERT_EQ(ds.size(), 3U);
	EXPECT_EQ(ds[0].cls, 1);
	EXPECT_FLOAT_EQ(ds[0].score, 0.9F);
	EXPECT_EQ(ds[0].box, cv::Rect2d(20, 40, 40, 40));
	EXPECT_EQ(ds[1].cls, 2);
	EXPECT_EQ(ds[1].box, cv::Rect2d(22, 40, 40, 40));
	EXPECT_EQ(ds[2].cls, 3);
	EXPECT_EQ(ds[2].box, cv::Rect2d(180, 160, 20, 40));
	// A stricter NMS keeps both overlapping boxes of class 1 only when
	// the IoU limit is above their overlap.
	s.nms_threshold = 0.95;
	EXPECT_EQ(ocv::decode_detections(out, cv::Size(100, 50),
					 cv::Size(200, 200), s)
		      .size(),
		  4U);
	// [1, N, 6] is the same.
	const cv::Mat out3 = tensor({1, 1, 6}, {10, 10, 30, 20, 0.9F, 1});
	EXPECT_EQ(ocv::decode_detections(out3, cv::Size(100, 50),
					 cv::Size(200, 200), s)
		      .size(),
		  1U);
}

TEST(Decode, DetectionsSsd)
{
	ocv::Settings s;
	const cv::Mat out =
	    tensor({1, 1, 2, 7}, {0, 5, 0.75F, 0.1F, 0.2F, 0.5F, 0.6F, 0, 1,
				  0.2F, 0, 0, 1, 1});
	const auto ds =
	    ocv::decode_detections(out, cv::Size(1, 1), cv::Size(300, 100), s);
	ASSERT_EQ(ds.size(), 1U);
	EXPECT_EQ(ds[0].cls, 5);
	EXPECT_NEAR(ds[0].box.x, 30, 1e-4);
	EXPECT_NEAR(ds[0].box.y, 20, 1e-4);
	EXPECT_NEAR(ds[0].box.width, 120, 1e-4);
	EXPECT_NEAR(ds[0].box.height, 40, 1e-4);
}

TEST(Decode, BadShapes)
{
	ocv::Settings s;
	const cv::Size sz(10, 10);
	EXPECT_THROW(
	    ocv::decode_detections(tensor({1, 5}, {1, 2, 3, 4, 5}), sz, sz, s),
	    ocv::PluginError);
	EXPECT_THROW(
	    ocv::decode_detections(tensor({2, 1, 1, 7}, std::vector<float>(14)),
				   sz, sz, s),
	    ocv::PluginError);
	EXPECT_THROW(
	    ocv::decode_segmentation(tensor({2, 3}, {1, 2, 3, 4, 5, 6}), sz),
	    ocv::PluginError);
	EXPECT_THROW(ocv::decode_pose(tensor({1, 4}, {1, 2, 3, 4}), sz),
		     ocv::PluginError);
	EXPECT_THROW(ocv::decode_depth(tensor({1, 2, 1, 2}, {1, 2, 3, 4}), sz,
				       nullptr, nullptr),
		     ocv::PluginError);
	EXPECT_THROW(
	    ocv::decode_depth(tensor({1, 2}, {1, NAN}), sz, nullptr, nullptr),
	    ocv::PluginError);
}

TEST(Decode, Segmentation)
{
	// [C, H, W] with C = 3, 2x2, to 4x2 (nearest).
	const cv::Mat out = tensor({3, 2, 2}, {
						  1, 0, 0, 0,  // class 0
						  0, 2, 0, 0,  // class 1
						  0, 0, 3, -1, // class 2
					      });
	const cv::Mat m = ocv::decode_segmentation(out, cv::Size(4, 2));
	ASSERT_EQ(m.type(), CV_16U);
	const uint16_t want[2][4] = {{0, 0, 1, 1}, {2, 2, 0, 0}};
	for (int y = 0; y < 2; y++)
		for (int x = 0; x < 4; x++)
			EXPECT_EQ(m.at<uint16_t>(y, x), want[y][x]);
	// One channel: foreground above 0.5.
	const cv::Mat one = tensor({1, 1, 1, 3}, {0.2F, 0.5F, 0.51F});
	const cv::Mat b = ocv::decode_segmentation(one, cv::Size(3, 1));
	EXPECT_EQ(b.at<uint16_t>(0, 0), 0);
	EXPECT_EQ(b.at<uint16_t>(0, 1), 0);
	EXPECT_EQ(b.at<uint16_t>(0, 2), 1);
}

TEST(Decode, PoseAndDepth)
{
	std::vector<float> hm(2 * 4 * 5, 0.0F);
	hm[1 * 5 + 3] = 0.9F;      // keypoint 0 at cell (3, 1)
	hm[20 + 3 * 5 + 0] = 0.3F; // keypoint 1 at cell (0, 3)
	const auto kps =
	    ocv::decode_pose(tensor({1, 2, 4, 5}, hm), cv::Size(50, 80));
	ASSERT_EQ(kps.size(), 2U);
	EXPECT_FLOAT_EQ(kps[0].score, 0.9F);
	EXPECT_DOUBLE_EQ(kps[0].pt.x, 3.5 * 10);
	EXPECT_DOUBLE_EQ(kps[0].pt.y, 1.5 * 20);
	EXPECT_DOUBLE_EQ(kps[1].pt.x, 0.5 * 10);
	EXPECT_DOUBLE_EQ(kps[1].pt.y, 3.5 * 20);

	double lo = 0;
	double hi = 0;
	const cv::Mat d = ocv::decode_depth(tensor({2, 2}, {1, 3, 5, 9}),
					    cv::Size(2, 2), &lo, &hi);
	EXPECT_EQ(lo, 1);
	EXPECT_EQ(hi, 9);
	EXPECT_EQ(d.at<uchar>(0, 0), 0);
	EXPECT_EQ(d.at<uchar>(0, 1), 64); // 2 * 255 / 8 = 63.75
	EXPECT_EQ(d.at<uchar>(1, 0), 128);
	EXPECT_EQ(d.at<uchar>(1, 1), 255);
	// A flat map is all zeros.
	const cv::Mat flat = ocv::decode_depth(
	    tensor({1, 1, 1, 2}, {4, 4}), cv::Size(3, 3), nullptr, nullptr);
	EXPECT_EQ(cv::countNonZero(flat), 0);
}

// A [1, 1, 40, 80] probability map of background 0.01 with regions whose
// boxes are worked out by hand; the image is 160x120 (x * 2, y * 3).
cv::Mat text_map_fixture()
{
	const int dims[] = {1, 1, 40, 80};
	cv::Mat out(4, dims, CV_32F, cv::Scalar(0.01F));
	cv::Mat map(40, 80, CV_32F, out.ptr<float>());
	map(cv::Rect(10, 5, 20, 8)).setTo(0.9F); // A: pixels x 10..29, y 5..12
	// B: mean 0.6, half its pixels at 0.4 (above text_threshold).
	map(cv::Rect(40, 20, 15, 12)).setTo(0.4F);
	map(cv::Rect(55, 20, 15, 12)).setTo(0.8F);
	map(cv::Rect(70, 33, 10, 7)).setTo(0.95F); // C: in the corner
	map(cv::Rect(5, 25, 16, 11)).setTo(0.2F);  // under text_threshold
	map(cv::Rect(75, 2, 2, 2)).setTo(0.95F);   // sides under 3 pixels
	map(cv::Rect(10, 38, 50, 1)).setTo(0.99F); // a one-pixel line
	return out;
}

void expect_box(const ocv::Detection &d, double x1, double y1, double x2,
		double y2, float score)
{
	EXPECT_EQ(d.cls, 0);
	EXPECT_NEAR(d.score, score, 1e-5);
	EXPECT_NEAR(d.box.x, x1, 1e-3);
	EXPECT_NEAR(d.box.y, y1, 1e-3);
	EXPECT_NEAR(d.box.x + d.box.width, x2, 1e-3);
	EXPECT_NEAR(d.box.y + d.box.height, y2, 1e-3);
}

TEST(Decode, TextMapRegionsToBoxes)
{
	const cv::Mat out = text_map_fixture();
	const cv::Size image(160, 120);
	ocv::Settings s;
	EXPECT_EQ(s.text_threshold, 0.3); // PaddleOCR's defaults
	EXPECT_EQ(s.unclip_ratio, 1.5);
	s.unclip_ratio = 0;
	// Boxes through the outermost pixel centres (PaddleOCR's geometry),
	// scaled to the image; by decreasing score.
	auto ds = ocv::decode_text_map(out, image, s);
	ASSERT_EQ(ds.size(), 3U);
	expect_box(ds[0], 140, 99, 158, 117, 0.95F); // C
	expect_box(ds[1], 20, 15, 58, 36, 0.9F);     // A
	expect_box(ds[2], 80, 60, 138, 93, 0.6F);    // B

	// Grown by d = w * h * ratio / (2 (w + h)) on each side: A is 19x7
	// between pixel centres, d = 133 * 1.5 / 52; C (9x6) grows past the
	// image's corner and is clipped to it.
	s.unclip_ratio = 1.5;
	ds = ocv::decode_text_map(out, image, s);
	ASSERT_EQ(ds.size(), 3U);
	const double da = 19.0 * 7 * 1.5 / 52;
	expect_box(ds[1], (10 - da) * 2, (5 - da) * 3, (29 + da) * 2,
		   (12 + da) * 3, 0.9F);
	const double dc = 9.0 * 6 * 1.5 / 30;
	expect_box(ds[0], (70 - dc) * 2, (33 - dc) * 3, 160, 120, 0.95F);

	// The box score is the region's mean: B goes at 0.61.
	s.detect_threshold = 0.61;
	EXPECT_EQ(ocv::decode_text_map(out, image, s).size(), 2U);
	// With text_threshold under 0.2 the faint region is text too (mean
	// 0.2, so it needs a box threshold under that).
	s.text_threshold = 0.1;
	s.detect_threshold = 0.15;
	EXPECT_EQ(ocv::decode_text_map(out, image, s).size(), 4U);
	// Nothing above the threshold: no boxes.
	s.text_threshold = 0.99;
	EXPECT_TRUE(ocv::decode_text_map(out, image, s).empty());
}

TEST(Decode, TextMapShapes)
{
	EXPECT_TRUE(
	    ocv::is_text_map(tensor({1, 1, 2, 3}, std::vector<float>(6))));
	// SSD's [1, 1, N, 7] and other layouts are not text maps.
	EXPECT_FALSE(
	    ocv::is_text_map(tensor({1, 1, 2, 7}, std::vector<float>(14))));
	EXPECT_FALSE(
	    ocv::is_text_map(tensor({1, 2, 2, 3}, std::vector<float>(12))));
	EXPECT_FALSE(
	    ocv::is_text_map(tensor({1, 2, 3}, std::vector<float>(6))));
	ocv::Settings s;
	const cv::Size sz(10, 10);
	EXPECT_THROW(
	    ocv::decode_text_map(tensor({1, 6}, std::vector<float>(6)), sz, s),
	    ocv::PluginError);
	try {
		ocv::decode_text_map(tensor({1, 1, 1, 2}, {0.5F, NAN}), sz, s);
		FAIL();
	} catch (const ocv::PluginError &e) {
		EXPECT_EQ(e.code(), VACCEL_EINVAL);
		EXPECT_STREQ(e.what(),
			     "text probability map has non-finite values");
	}
}

TEST(Decode, PaletteIsDocumented)
{
	for (int i = 0; i < 8; i++) {
		const cv::Scalar c = ocv::palette_color(i);
		EXPECT_EQ(cv::Vec3b(static_cast<uchar>(c[0]),
				    static_cast<uchar>(c[1]),
				    static_cast<uchar>(c[2])),
			  palette(i));
	}
	EXPECT_EQ(ocv::label_of({"a", "b"}, 1), "b");
	EXPECT_EQ(ocv::label_of({"a", "b"}, 2), "class2");
	EXPECT_EQ(ocv::label_of({}, 3, "kp"), "kp3");
}

} // namespace
