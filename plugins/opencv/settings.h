// SPDX-License-Identifier: Apache-2.0
// The opencv plugin's configuration variables: how an image becomes the
// network's input tensor and how outputs are turned into results. Each
// variable `key` can be given as the environment variable
// VACCEL_OPENCV_<KEY> or as `key = value` in a *.cfg file of the model
// resource; the model file wins over the environment, which wins over the
// built-in defaults. The input size and the number of channels come from
// the model first when its input shape declares them.
#pragma once

#include <array>
#include <map>
#include <string>

namespace ocv
{

struct Settings {
	// Preprocessing: tensor = ((pixel * scale) - mean[c]) / std[c], with
	// the channels in the model's order (RGB when swap_rb, else BGR).
	int width = 0; // 0: not configured
	int height = 0;
	int channels = 0; // 0: not configured, 1: grayscale, 3: colour
	double scale = 1.0 / 255.0;
	std::array<double, 3> mean{0.0, 0.0, 0.0};
	std::array<double, 3> std{1.0, 1.0, 1.0};
	// Whether scale, mean or std was given anywhere: a classifier's answer
	// depends on the scaling it was trained with, and no default is right
	// for most models, so classification refuses to guess.
	bool normalization_set = false;
	bool swap_rb = true;

	// Postprocessing.
	double detect_threshold = 0.5;
	double nms_threshold = 0.45;
	// Text probability maps (DB-style detectors, see text_map.h): the
	// probability above which a pixel is text, and how far a region's box
	// grows (area * ratio / perimeter on each side; 0: not at all). The
	// defaults are PaddleOCR's.
	double text_threshold = 0.3;
	double unclip_ratio = 1.5;
	double pose_threshold = 0.1;
	double segment_alpha = 0.0; // 0: the colour mask alone
	int depth_colormap = -1;    // -1: grayscale, else cv::COLORMAP_*
	bool save_tensors = false;  // also write the raw input/output tensors
};

// Keys (lower case) to raw values.
using KeyValues = std::map<std::string, std::string>;

// Every VACCEL_OPENCV_<KEY> set in the environment, for the known keys.
KeyValues settings_from_env();

// Parses `key = value` lines ('#' starts a comment). Throws PluginError
// (VACCEL_EINVAL) naming @p origin on a malformed line or an unknown key.
KeyValues parse_settings_file(const std::string &text,
			      const std::string &origin);

// Applies @p kv over @p s. Throws PluginError (VACCEL_EINVAL) naming
// @p origin and the key (as its VACCEL_OPENCV_* name when @p from_env) on a
// value that does not parse or is out of range.
void apply_settings(Settings &s, const KeyValues &kv, const std::string &origin,
		    bool from_env);

} // namespace ocv
