// SPDX-License-Identifier: Apache-2.0
// Text detection with a real model: PaddleOCR's PP-OCRv4 detector as
// shipped in models/ppocr_det (its ONNX file, labels and settings), through
// the public API, on images rendered here with known lines of text.
#include "opencv_test.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace
{

using namespace ocv_test;

const std::string kModelDir =
    std::string(TEST_SOURCE_DIR) + "/models/ppocr_det";

struct Line {
	std::string text;
	cv::Rect box; // the glyphs' extent, baseline to baseline + descent
};

// Black Hershey text on white, 640x480: @p lines at the left, the bottom
// 150 rows left blank.
cv::Mat render(const std::vector<std::string> &texts, std::vector<Line> *lines)
{
	cv::Mat img(480, 640, CV_8UC3, cv::Scalar(255, 255, 255));
	const int font = cv::FONT_HERSHEY_DUPLEX;
	const double scale = 1.2;
	const int thickness = 2;
	int baseline_y = 70;
	for (const std::string &t : texts) {
		int base = 0;
		const cv::Size ts =
		    cv::getTextSize(t, font, scale, thickness, &base);
		const cv::Point org(40, baseline_y);
		cv::putText(img, t, org, font, scale, cv::Scalar(0, 0, 0),
			    thickness, cv::LINE_AA);
		lines->push_back({t, cv::Rect(org.x, org.y - ts.height,
					      ts.width, ts.height + base)});
		baseline_y += 90;
	}
	return img;
}

double iou(const cv::Rect2d &a, const cv::Rect2d &b)
{
	const double inter = (a & b).area();
	return inter / (a.area() + b.area() - inter);
}

struct Found {
	int cls;
	double score;
	cv::Rect2d box;
	std::string label;
};

// The summary lines `<class> <score> <x1> <y1> <x2> <y2> <label>`.
std::vector<Found> boxes_of(const OpResult &r)
{
	std::vector<Found> out;
	for (const auto &line :
	     lines_of(read_text(stem_of(r.imgname) + ".txt"))) {
		std::stringstream ss(line);
		Found f{};
		double x1 = 0;
		double y1 = 0;
		double x2 = 0;
		double y2 = 0;
		ss >> f.cls >> f.score >> x1 >> y1 >> x2 >> y2 >> f.label;
		EXPECT_FALSE(ss.fail()) << line;
		f.box = cv::Rect2d(x1, y1, x2 - x1, y2 - y1);
		out.push_back(f);
	}
	return out;
}

class TextDetectTest : public OpencvTest
{
protected:
	void SetUp() override
	{
		OpencvTest::SetUp();
		unsetenv("VACCEL_OPENCV_MEAN"); // the model's .cfg has its own
		add_resource({kModelDir + "/ppocr_det.onnx",
			      kModelDir + "/labels.txt",
			      kModelDir + "/model.cfg"});
	}
};

TEST_F(TextDetectTest, FindsEachRenderedLine)
{
	setenv("VACCEL_OPENCV_SAVE_TENSORS", "1", 1);
	std::vector<Line> lines;
	const cv::Mat img =
	    render({"vAccel text detection", "OpenCV DNN 4.6 on the CPU",
		    "PaddleOCR PP-OCRv4 model"},
		   &lines);
	const OpResult r = image_op(VACCEL_OP_IMAGE_DETECT, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();

	// The model.cfg preprocessing: 640x640, BGR, PaddleOCR's mean/std.
	const cv::Mat in = read_tensor(stem_of(r.imgname) + ".input.bin");
	const cv::Mat out = read_tensor(stem_of(r.imgname) + ".output.bin");
	ASSERT_EQ(shape(in), (std::vector<int>{1, 3, 640, 640}));
	ASSERT_EQ(shape(out), (std::vector<int>{1, 1, 640, 640}));
	// A white pixel (top left is blank) in each channel, in B, G, R order.
	const double mean[] = {0.485, 0.456, 0.406};
	const double stdev[] = {0.229, 0.224, 0.225};
	for (int c = 0; c < 3; c++)
		EXPECT_NEAR(in.ptr<float>(0, c)[0], (1.0 - mean[c]) / stdev[c],
			    1e-4)
		    << c;

	const std::vector<Found> found = boxes_of(r);
	ASSERT_EQ(found.size(), lines.size())
	    << read_text(stem_of(r.imgname) + ".txt");
	for (const Line &l : lines) {
		const auto best = std::max_element(
		    found.begin(), found.end(),
		    [&](const auto &a, const auto &b) {
			    return iou(a.box, l.box) < iou(b.box, l.box);
		    });
		EXPECT_GT(iou(best->box, l.box), 0.5)
		    << l.text << ": glyphs " << l.box << ", best box "
		    << best->box;
	}
	const cv::Rect2d blank(0, 330, 640, 150);
	for (const Found &f : found) {
		EXPECT_EQ(f.cls, 0);
		EXPECT_EQ(f.label, "text");
		EXPECT_GE(f.score, 0.6); // model.cfg's detect_threshold
		EXPECT_LE(f.score, 1.0);
		EXPECT_EQ((f.box & blank).area(), 0.0) << f.box;
	}

	// Each box drawn in class 0's colour: the middle of its bottom edge.
	const cv::Mat drawn = cv::imread(r.imgname);
	ASSERT_EQ(drawn.size(), img.size());
	for (const Found &f : found) {
		const int x = static_cast<int>(f.box.x + f.box.width / 2);
		const int y =
		    static_cast<int>(std::lround(f.box.y + f.box.height)) - 1;
		EXPECT_EQ(drawn.at<cv::Vec3b>(y, x), palette(0)) << f.box;
	}
	// Nothing drawn on the blank part.
	EXPECT_EQ(cv::norm(drawn(cv::Rect(0, 340, 640, 140)),
			   img(cv::Rect(0, 340, 640, 140)), cv::NORM_INF),
		  0.0);
}

TEST_F(TextDetectTest, BlankImageHasNoBoxes)
{
	const cv::Mat img(480, 640, CV_8UC3, cv::Scalar(255, 255, 255));
	const OpResult r = image_op(VACCEL_OP_IMAGE_DETECT, png(img));
	ASSERT_EQ(r.rc, VACCEL_OK) << log();
	EXPECT_TRUE(boxes_of(r).empty());
	EXPECT_EQ(cv::norm(cv::imread(r.imgname), img, cv::NORM_INF), 0.0);
}

} // namespace
