// SPDX-License-Identifier: Apache-2.0
// Image work of the opencv plugin, free of vAccel types: decoding the
// caller's image, building the input tensor, decoding each task's output
// tensor and drawing the result image. Every function throws PluginError
// with a vAccel code on bad input (see README.md for the accepted shapes).
#pragma once

#include "settings.h"

#include <opencv2/core.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace ocv
{

// What the network expects: an image of width x height with 1 or 3
// channels, laid out NCHW (or NHWC when nhwc).
struct InputSpec {
	int width = 224;
	int height = 224;
	int channels = 3;
	bool nhwc = false;
};

// The image as 8-bit BGR (grayscale images are expanded, alpha dropped).
// VACCEL_EINVAL for bytes that are not an image OpenCV can decode.
cv::Mat decode_image(const void *img, size_t len);

// The 4-D float32 input tensor for @p bgr.
cv::Mat make_input(const cv::Mat &bgr, const InputSpec &spec,
		   const Settings &s);

// A float32 continuous view of a network output (copied only if needed).
cv::Mat as_float(const cv::Mat &m);

// Shape of a tensor as a vector ("[1, 3, 4, 4]" through shape_str()).
std::vector<int> shape_of(const cv::Mat &m);
std::string shape_str(const cv::Mat &m);

// Classification: index and value of the largest element of @p out.
int top1(const cv::Mat &out, float *score);

struct Detection {
	int cls = 0;
	float score = 0.0F;
	cv::Rect2d box; // in image pixels
};

// Detections from a [1,1,N,7] (SSD: id, class, score, x1, y1, x2, y2,
// normalised) or [N,6] / [1,N,6] (x1, y1, x2, y2, score, class, in network
// input pixels) tensor, scaled to @p image, thresholded and with per-class
// non-maximum suppression, by decreasing score. Text probability maps
// [1,1,H,W] have their own decoder (text_map.h).
std::vector<Detection> decode_detections(const cv::Mat &out, cv::Size net,
					 cv::Size image, const Settings &s);

// Class map (CV_16U) of @p image's size from a [1,C,H,W] or [C,H,W]
// tensor: the argmax over C, or value > 0.5 when C is 1.
cv::Mat decode_segmentation(const cv::Mat &out, cv::Size image);

struct Keypoint {
	int id = 0;
	float score = 0.0F;
	cv::Point2d pt; // in image pixels
};

// One keypoint per heatmap of a [1,K,H,W] or [K,H,W] tensor: the peak,
// mapped from cell centres to @p image. All K are returned; the caller
// keeps those with score >= the pose threshold.
std::vector<Keypoint> decode_pose(const cv::Mat &out, cv::Size image);

// Depth map of @p image's size from a [1,1,H,W], [1,H,W] or [H,W]
// tensor, resized bilinearly and scaled so that the raw minimum is 0 and
// the maximum 255 (CV_8U). The raw range goes to @p lo and @p hi.
cv::Mat decode_depth(const cv::Mat &out, cv::Size image, double *lo,
		     double *hi);

// The colour (BGR) of class / keypoint @p id in every result image.
cv::Scalar palette_color(int id);

cv::Mat draw_label(const cv::Mat &bgr, const std::string &text);
cv::Mat draw_detections(const cv::Mat &bgr, const std::vector<Detection> &d,
			const std::vector<std::string> &labels);
// Class 0 is black; class c > 0 has palette_color(c - 1). With alpha > 0
// the mask is blended over the image.
cv::Mat colorize_mask(const cv::Mat &classes, const cv::Mat &bgr, double alpha);
cv::Mat draw_keypoints(const cv::Mat &bgr, const std::vector<Keypoint> &k,
		       const std::vector<std::string> &labels);

// Name of class / keypoint @p id: its line in the labels, else @p prefix
// followed by the number ("class7", "kp3").
std::string label_of(const std::vector<std::string> &labels, int id,
		     const char *prefix = "class");

// Writes @p m (float32) as uint32 rank, uint32 dims, float32 values.
void write_tensor(const std::string &path, const cv::Mat &m);

} // namespace ocv
