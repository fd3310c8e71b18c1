// SPDX-License-Identifier: Apache-2.0
#include "settings.h"

#include "common.h"

#include <vaccel.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace ocv
{
namespace
{

constexpr const char *kEnvPrefix = "VACCEL_OPENCV_";

// Every key the plugin reads; anything else in a .cfg file is an error, so
// that a typo does not silently leave a default in place.
const std::vector<std::string> &known_keys()
{
	static const std::vector<std::string> keys = {
	    "input_size",
	    "grayscale",
	    "scale",
	    "mean",
	    "std",
	    "swap_rb",
	    "detect_threshold",
	    "nms_threshold",
	    "text_threshold",
	    "unclip_ratio",
	    "pose_threshold",
	    "segment_alpha",
	    "depth_colormap",
	    "save_tensors",
	};
	return keys;
}

std::string trim(const std::string &s)
{
	size_t b = 0;
	size_t e = s.size();
	while (b < e && std::isspace(static_cast<unsigned char>(s[b])) != 0)
		b++;
	while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])) != 0)
		e--;
	return s.substr(b, e - b);
}

std::string lower(std::string s)
{
	for (char &c : s)
		c = static_cast<char>(
		    std::tolower(static_cast<unsigned char>(c)));
	return s;
}

std::string upper(std::string s)
{
	for (char &c : s)
		c = static_cast<char>(
		    std::toupper(static_cast<unsigned char>(c)));
	return s;
}

bool parse_double(const std::string &v, double &out)
{
	if (v.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	double d = std::strtod(v.c_str(), &end);
	if (errno != 0 || end == v.c_str() || *end != '\0' || !std::isfinite(d))
		return false;
	out = d;
	return true;
}

bool parse_int(const std::string &v, int &out)
{
	if (v.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	long n = std::strtol(v.c_str(), &end, 10);
	if (errno != 0 || end == v.c_str() || *end != '\0' || n < 1 ||
	    n > 16384)
		return false;
	out = static_cast<int>(n);
	return true;
}

bool parse_bool(const std::string &raw, bool &out)
{
	const std::string v = lower(raw);
	if (v == "1" || v == "true" || v == "yes" || v == "on") {
		out = true;
		return true;
	}
	if (v == "0" || v == "false" || v == "no" || v == "off") {
		out = false;
		return true;
	}
	return false;
}

// "a,b,c" or one value for all three channels.
bool parse_triplet(const std::string &v, std::array<double, 3> &out)
{
	std::vector<double> vals;
	std::stringstream ss(v);
	std::string item;
	while (std::getline(ss, item, ',')) {
		double d = 0;
		if (!parse_double(trim(item), d))
			return false;
		vals.push_back(d);
	}
	if (vals.size() == 1) {
		out = {vals[0], vals[0], vals[0]};
		return true;
	}
	if (vals.size() == 3) {
		out = {vals[0], vals[1], vals[2]};
		return true;
	}
	return false;
}

// "WxH" or "N" (square).
bool parse_size(const std::string &raw, int &w, int &h)
{
	const std::string v = lower(raw);
	const size_t x = v.find('x');
	if (x == std::string::npos) {
		int n = 0;
		if (!parse_int(v, n))
			return false;
		w = h = n;
		return true;
	}
	return parse_int(trim(v.substr(0, x)), w) &&
	       parse_int(trim(v.substr(x + 1)), h);
}

bool parse_colormap(const std::string &raw, int &out)
{
	static const std::map<std::string, int> maps = {
	    {"none", -1},
	    {"gray", -1},
	    {"jet", cv::COLORMAP_JET},
	    {"inferno", cv::COLORMAP_INFERNO},
	    {"magma", cv::COLORMAP_MAGMA},
	    {"plasma", cv::COLORMAP_PLASMA},
	    {"viridis", cv::COLORMAP_VIRIDIS},
	    {"turbo", cv::COLORMAP_TURBO},
	};
	auto it = maps.find(lower(raw));
	if (it == maps.end())
		return false;
	out = it->second;
	return true;
}

} // namespace

KeyValues settings_from_env()
{
	KeyValues kv;
	for (const std::string &k : known_keys()) {
		const std::string name = kEnvPrefix + upper(k);
		if (const char *v = std::getenv(name.c_str()); v != nullptr)
			kv[k] = trim(v);
	}
	return kv;
}

KeyValues parse_settings_file(const std::string &text,
			      const std::string &origin)
{
	KeyValues kv;
	std::stringstream ss(text);
	std::string line;
	int lineno = 0;
	const auto &keys = known_keys();
	while (std::getline(ss, line)) {
		lineno++;
		if (size_t hash = line.find('#'); hash != std::string::npos)
			line.resize(hash);
		line = trim(line);
		if (line.empty())
			continue;
		const size_t eq = line.find('=');
		if (eq == std::string::npos)
			OCV_FAIL(VACCEL_EINVAL,
				 "%s:%d: expected 'key = value', got '%s'",
				 origin.c_str(), lineno, line.c_str());
		std::string key = lower(trim(line.substr(0, eq)));
		if (std::find(keys.begin(), keys.end(), key) == keys.end())
			OCV_FAIL(VACCEL_EINVAL, "%s:%d: unknown setting '%s'",
				 origin.c_str(), lineno, key.c_str());
		kv[key] = trim(line.substr(eq + 1));
	}
	return kv;
}

void apply_settings(Settings &s, const KeyValues &kv, const std::string &origin,
		    bool from_env)
{
	for (const auto &[key, value] : kv) {
		const std::string shown =
		    from_env ? std::string(kEnvPrefix) + upper(key) : key;
		auto bad = [&](const char *what) {
			OCV_FAIL(VACCEL_EINVAL, "%s: %s = '%s': %s",
				 origin.c_str(), shown.c_str(), value.c_str(),
				 what);
		};
		double d = 0;
		if (key == "input_size") {
			if (!parse_size(value, s.width, s.height))
				bad("expected WxH or N (1 to 16384)");
		} else if (key == "grayscale") {
			bool g = false;
			if (!parse_bool(value, g))
				bad("expected 0 or 1");
			s.channels = g ? 1 : 3;
		} else if (key == "scale") {
			s.normalization_set = true;
			if (!parse_double(value, s.scale))
				bad("expected a number");
		} else if (key == "mean") {
			s.normalization_set = true;
			if (!parse_triplet(value, s.mean))
				bad("expected one number or three (a,b,c)");
		} else if (key == "std") {
			s.normalization_set = true;
			if (!parse_triplet(value, s.std) ||
			    std::any_of(s.std.begin(), s.std.end(),
					[](double x) { return x == 0.0; }))
				bad("expected one non-zero number or three "
				    "(a,b,c)");
		} else if (key == "swap_rb") {
			if (!parse_bool(value, s.swap_rb))
				bad("expected 0 or 1");
		} else if (key == "save_tensors") {
			if (!parse_bool(value, s.save_tensors))
				bad("expected 0 or 1");
		} else if (key == "unclip_ratio") {
			// DB models are trained on regions shrunk by a ratio
			// under 1 and PaddleOCR grows them back by 1.5 to 2;
			// 10 is far beyond any use.
			if (!parse_double(value, s.unclip_ratio) ||
			    s.unclip_ratio < 0.0 || s.unclip_ratio > 10.0)
				bad("expected a number from 0 to 10");
		} else if (key == "depth_colormap") {
			if (!parse_colormap(value, s.depth_colormap))
				bad("expected none, jet, inferno, magma, "
				    "plasma, viridis or turbo");
		} else {
			// The thresholds and the alpha: numbers in [0, 1].
			if (!parse_double(value, d) || d < 0.0 || d > 1.0)
				bad("expected a number from 0 to 1");
			if (key == "detect_threshold")
				s.detect_threshold = d;
			else if (key == "nms_threshold")
				s.nms_threshold = d;
			else if (key == "text_threshold")
				s.text_threshold = d;
			else if (key == "pose_threshold")
				s.pose_threshold = d;
			else if (key == "segment_alpha")
				s.segment_alpha = d;
		}
	}
}

} // namespace ocv
