// SPDX-License-Identifier: Apache-2.0
// Text detection from a probability map, the output of DB-style detectors
// (DBNet; PaddleOCR's PP-OCR detectors): one value per pixel of the network
// input, the probability that it belongs to a line of text. Post-processing
// follows PaddleOCR's DBPostProcess, so that its models give the boxes they
// give there.
#pragma once

#include "settings.h"
#include "vision.h"

#include <opencv2/core.hpp>

#include <vector>

namespace ocv
{

// Whether @p out is a probability map [1, 1, H, W]. W = 7 is left to SSD's
// [1, 1, N, 7]: a text detector's maps are multiples of 32 wide.
bool is_text_map(const cv::Mat &out);

// One box per connected region of pixels above s.text_threshold (at most
// 1000 regions, as PaddleOCR): the region's minimum-area rectangle, whose
// shorter side must be at least 3 map pixels, grown on every side by
// area * s.unclip_ratio / perimeter (DB's "unclip": the models learn
// regions shrunk from the text's outline), then its bounding box scaled
// from the map to @p image and clipped to it. The score is the mean
// probability inside the region; boxes under s.detect_threshold are
// dropped. All of class 0, by decreasing score; no non-maximum
// suppression (the regions do not overlap). VACCEL_EINVAL for a map that
// is not [1, 1, H, W] or has values that are not finite.
std::vector<Detection> decode_text_map(const cv::Mat &out, cv::Size image,
				       const Settings &s);

} // namespace ocv
