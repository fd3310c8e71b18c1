// SPDX-License-Identifier: Apache-2.0
// Configuration of the torch plugin that does not depend on libtorch: the
// device a model runs on, how image classification turns an image into the
// model's input, and the class labels. Kept apart from the libtorch code so
// that it is cheap to compile and to unit-test.
//
// Every image setting `key` comes from, in order of precedence:
//   1. a `key = value` line of a *.cfg file of the model resource,
//   2. the environment variable VACCEL_TORCH_<KEY> (upper case),
//   3. the default, which matches upstream's ImageNet classifiers
//      (224x224 RGB, ImageNet mean and standard deviation).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vtorch
{

// Where a model runs. Auto is CUDA device 0 when libtorch sees one, else
// the CPU.
struct DeviceSpec {
	enum class Kind { Auto, Cpu, Cuda };
	Kind kind = Kind::Auto;
	int index = -1; // CUDA device; -1: the current one (0)
};

// Parses "auto", "cpu", "cuda" or "cuda:N" (case-insensitive, surrounding
// blanks ignored). NULL or empty is Auto. On failure returns false and
// sets @p error.
bool parse_device(const char *text, DeviceSpec &out, std::string &error);

// Preprocessing of image classification:
//   input[0][c][y][x] = (pixel(x, y, c) / 255 - mean[c]) / std[c]
// with the image decoded as RGB (channels 3) or grayscale (channels 1) and
// resized to width x height.
struct ImageSettings {
	int width = 224;
	int height = 224;
	int channels = 3;
	std::vector<float> mean{0.485F, 0.456F, 0.406F};
	std::vector<float> std{0.229F, 0.224F, 0.225F};
};

// Keys (lower case, e.g. "image_size") to raw values.
using KeyValues = std::map<std::string, std::string>;

// Parses a *.cfg text: `key = value` lines; blank lines and lines starting
// with '#' are skipped. Keys are lower-cased. A line without '=' is an
// error (returns false, sets @p error with its line number).
bool parse_config(std::string_view text, KeyValues &out, std::string &error);

// The image settings from @p file_values (a resource's *.cfg), the
// environment, and the defaults (see the top of this file). Recognised
// keys: image_size ("N" or "WxH"), image_channels (1 or 3), image_mean and
// image_std (one value, used for every channel, or one per channel,
// separated by commas). Returns false and sets @p error (naming the
// variable) for a malformed value.
bool image_settings(const KeyValues &file_values, ImageSettings &out,
		    std::string &error);

// The labels file to use when the model resource has none:
// VACCEL_TORCH_LABELS, else @p fallback.
std::string labels_path(const char *fallback);

// Splits a labels text into its lines ('\n' or "\r\n"; a final newline
// does not add an empty label).
std::vector<std::string> split_labels(std::string_view text);

// Parses a positive integer environment variable; @p fallback when unset.
// Returns false and sets @p error for a malformed value.
bool env_positive_int(const char *name, int fallback, int &out,
		      std::string &error);

// True for "1", "true", "yes", "on" (case-insensitive); @p fallback when
// unset or empty.
bool env_flag(const char *name, bool fallback);

} // namespace vtorch
