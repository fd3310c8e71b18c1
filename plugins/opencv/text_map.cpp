// SPDX-License-Identifier: Apache-2.0
#include "text_map.h"

#include "common.h"

#include <vaccel.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <climits>

namespace ocv
{
namespace
{

// PaddleOCR's max_candidates and min_size: a bound on the work for a noisy
// map, and regions too thin to be a line of text.
constexpr size_t kMaxRegions = 1000;
constexpr float kMinSide = 3.0F;

// Mean of @p prob over the pixels inside @p contour.
double region_score(const cv::Mat &prob, const std::vector<cv::Point> &contour)
{
	const cv::Rect roi =
	    cv::boundingRect(contour) & cv::Rect(0, 0, prob.cols, prob.rows);
	cv::Mat mask = cv::Mat::zeros(roi.size(), CV_8U);
	const std::vector<std::vector<cv::Point>> one{contour};
	cv::drawContours(mask, one, 0, cv::Scalar(255), cv::FILLED, cv::LINE_8,
			 cv::noArray(), INT_MAX, -roi.tl());
	return cv::mean(prob(roi), mask)[0];
}

// DB's unclip for a rectangle: offsetting its outline by
// d = area * ratio / perimeter grows each side by d (PaddleOCR offsets the
// polygon with pyclipper; for a rectangle the result's minimum-area
// rectangle is this one).
cv::RotatedRect unclip(const cv::RotatedRect &r, double ratio)
{
	const double w = r.size.width;
	const double h = r.size.height;
	const double d = w * h * ratio / (2.0 * (w + h));
	return {r.center,
		cv::Size2f(static_cast<float>(w + 2 * d),
			   static_cast<float>(h + 2 * d)),
		r.angle};
}

} // namespace

bool is_text_map(const cv::Mat &out)
{
	const std::vector<int> sh = shape_of(out);
	return sh.size() == 4 && sh[0] == 1 && sh[1] == 1 && sh[2] > 0 &&
	       sh[3] > 0 && sh[3] != 7;
}

std::vector<Detection> decode_text_map(const cv::Mat &out, cv::Size image,
				       const Settings &s)
{
	if (!is_text_map(out))
		OCV_FAIL(VACCEL_EINVAL,
			 "text probability map %s is not [1, 1, H, W]",
			 shape_str(out).c_str());
	const std::vector<int> sh = shape_of(out);
	const cv::Mat f = as_float(out);
	const cv::Mat prob(sh[2], sh[3], CV_32F,
			   const_cast<float *>(f.ptr<float>()));
	// A NaN would compare false everywhere and pass unnoticed.
	if (!cv::checkRange(prob))
		OCV_FAIL(VACCEL_EINVAL,
			 "text probability map has non-finite values");

	const cv::Mat text = prob > s.text_threshold;
	std::vector<std::vector<cv::Point>> contours;
	cv::findContours(text, contours, cv::RETR_EXTERNAL,
			 cv::CHAIN_APPROX_SIMPLE);
	if (contours.size() > kMaxRegions)
		contours.resize(kMaxRegions);

	const double sx = double(image.width) / prob.cols;
	const double sy = double(image.height) / prob.rows;
	const cv::Rect2d bounds(0, 0, image.width, image.height);
	std::vector<Detection> found;
	for (const auto &c : contours) {
		const cv::RotatedRect r = cv::minAreaRect(c);
		if (std::min(r.size.width, r.size.height) < kMinSide)
			continue;
		const double score = region_score(prob, c);
		if (score < s.detect_threshold)
			continue;
		const cv::Rect2f b = unclip(r, s.unclip_ratio).boundingRect2f();
		const cv::Rect2d box = cv::Rect2d(b.x * sx, b.y * sy,
						  b.width * sx, b.height * sy) &
				       bounds;
		if (box.width <= 0 || box.height <= 0)
			continue;
		Detection d;
		d.score = static_cast<float>(score);
		d.box = box;
		found.push_back(d);
	}
	std::stable_sort(found.begin(), found.end(),
			 [](const Detection &a, const Detection &b) {
				 return a.score > b.score;
			 });
	return found;
}

} // namespace ocv
