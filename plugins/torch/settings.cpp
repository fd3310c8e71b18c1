// SPDX-License-Identifier: Apache-2.0
// Parsing of the torch plugin's configuration (see settings.h).
#include "settings.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace vtorch
{

namespace
{

std::string_view trim(std::string_view s)
{
	while (!s.empty() &&
	       std::isspace(static_cast<unsigned char>(s.front())))
		s.remove_prefix(1);
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.remove_suffix(1);
	return s;
}

std::string lower(std::string_view s)
{
	std::string out(s);
	std::transform(out.begin(), out.end(), out.begin(), [](char c) {
		return static_cast<char>(
		    std::tolower(static_cast<unsigned char>(c)));
	});
	return out;
}

// A whole-string integer in [lo, hi].
bool parse_int(std::string_view text, long lo, long hi, long &out)
{
	const std::string s(trim(text));
	if (s.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	const long v = std::strtol(s.c_str(), &end, 10);
	if (errno != 0 || end == s.c_str() || *end != '\0' || v < lo || v > hi)
		return false;
	out = v;
	return true;
}

// A whole-string finite float.
bool parse_float(std::string_view text, float &out)
{
	const std::string s(trim(text));
	if (s.empty())
		return false;
	char *end = nullptr;
	errno = 0;
	const double v = std::strtod(s.c_str(), &end);
	if (errno != 0 || end == s.c_str() || *end != '\0' || !std::isfinite(v))
		return false;
	if (std::fabs(v) > std::numeric_limits<float>::max())
		return false;
	out = static_cast<float>(v);
	return true;
}

// "v" or "v1,v2,...".
bool parse_float_list(std::string_view text, std::vector<float> &out)
{
	out.clear();
	while (true) {
		const size_t comma = text.find(',');
		float v = 0.0F;
		if (!parse_float(text.substr(0, comma), v))
			return false;
		out.push_back(v);
		if (comma == std::string_view::npos)
			return true;
		text.remove_prefix(comma + 1);
	}
}

// The raw value of @p key: the resource's *.cfg first, then
// VACCEL_TORCH_<KEY>. Returns false when neither sets it; @p source names
// where it came from, for error messages.
bool lookup(const KeyValues &file_values, const std::string &key,
	    std::string &value, std::string &source)
{
	if (auto it = file_values.find(key); it != file_values.end()) {
		value = it->second;
		source = "'" + key + "' of the model's .cfg file";
		return true;
	}
	std::string env = "VACCEL_TORCH_" + key;
	std::transform(env.begin(), env.end(), env.begin(), [](char c) {
		return static_cast<char>(
		    std::toupper(static_cast<unsigned char>(c)));
	});
	const char *v = std::getenv(env.c_str());
	if (v == nullptr || *v == '\0')
		return false;
	value = v;
	source = env;
	return true;
}

constexpr long kMaxImageSide = 16384;

} // namespace

bool parse_device(const char *text, DeviceSpec &out, std::string &error)
{
	out = DeviceSpec{};
	if (text == nullptr)
		return true;
	const std::string s = lower(trim(text));
	if (s.empty() || s == "auto")
		return true;
	if (s == "cpu") {
		out.kind = DeviceSpec::Kind::Cpu;
		return true;
	}
	if (s == "cuda" || s == "gpu") {
		out.kind = DeviceSpec::Kind::Cuda;
		return true;
	}
	long index = 0;
	if (s.rfind("cuda:", 0) == 0 &&
	    parse_int(std::string_view(s).substr(5), 0, 1023, index)) {
		out.kind = DeviceSpec::Kind::Cuda;
		out.index = static_cast<int>(index);
		return true;
	}
	error = "'" + std::string(text) +
		"' is not a device: use auto, cpu, cuda or cuda:N";
	return false;
}

bool parse_config(std::string_view text, KeyValues &out, std::string &error)
{
	size_t line_no = 0;
	while (!text.empty()) {
		line_no++;
		const size_t nl = text.find('\n');
		std::string_view line = trim(text.substr(0, nl));
		text.remove_prefix(nl == std::string_view::npos ? text.size()
								: nl + 1);
		if (line.empty() || line.front() == '#')
			continue;
		const size_t eq = line.find('=');
		if (eq == std::string_view::npos) {
			error = "line " + std::to_string(line_no) +
				" is not 'key = value'";
			return false;
		}
		const std::string key = lower(trim(line.substr(0, eq)));
		if (key.empty()) {
			error = "line " + std::to_string(line_no) +
				" has an empty key";
			return false;
		}
		out[key] = std::string(trim(line.substr(eq + 1)));
	}
	return true;
}

bool image_settings(const KeyValues &file_values, ImageSettings &out,
		    std::string &error)
{
	out = ImageSettings{};
	std::string value;
	std::string source;

	if (lookup(file_values, "image_size", value, source)) {
		const std::string v = lower(trim(value));
		const size_t x = v.find('x');
		long w = 0;
		long h = 0;
		const bool ok =
		    x == std::string::npos
			? parse_int(v, 1, kMaxImageSide, w)
			: parse_int(std::string_view(v).substr(0, x), 1,
				    kMaxImageSide, w) &&
			      parse_int(std::string_view(v).substr(x + 1), 1,
					kMaxImageSide, h);
		if (!ok) {
			error = source + "='" + value +
				"': expected N or WxH (1 to " +
				std::to_string(kMaxImageSide) + ")";
			return false;
		}
		out.width = static_cast<int>(w);
		out.height = static_cast<int>(x == std::string::npos ? w : h);
	}

	if (lookup(file_values, "image_channels", value, source)) {
		long c = 0;
		if (!parse_int(value, 1, 3, c) || c == 2) {
			error = source + "='" + value + "': expected 1 or 3";
			return false;
		}
		out.channels = static_cast<int>(c);
	}

	// One value per channel; a single value applies to every channel.
	// Without an explicit mean/std, grayscale uses the average of the
	// RGB defaults.
	const auto channel_values = [&](const char *key,
					std::vector<float> &values,
					bool positive) {
		if (!lookup(file_values, key, value, source)) {
			if (out.channels == 1) {
				float sum = 0.0F;
				for (float v : values)
					sum += v;
				values.assign(
				    1, sum / static_cast<float>(values.size()));
			}
			return true;
		}
		std::vector<float> parsed;
		const bool ok =
		    parse_float_list(value, parsed) &&
		    (parsed.size() == 1 ||
		     parsed.size() == static_cast<size_t>(out.channels)) &&
		    std::all_of(parsed.begin(), parsed.end(),
				[&](float v) { return !positive || v > 0.0F; });
		if (!ok) {
			error = source + "='" + value + "': expected 1 or " +
				std::to_string(out.channels) +
				(positive ? " positive" : "") +
				" numbers separated by commas";
			return false;
		}
		values.assign(static_cast<size_t>(out.channels), parsed[0]);
		if (parsed.size() > 1)
			values = parsed;
		return true;
	};
	if (!channel_values("image_mean", out.mean, false))
		return false;
	if (!channel_values("image_std", out.std, true))
		return false;
	return true;
}

std::string labels_path(const char *fallback)
{
	const char *v = std::getenv("VACCEL_TORCH_LABELS");
	if (v != nullptr && *v != '\0')
		return v;
	return fallback != nullptr ? fallback : "";
}

std::vector<std::string> split_labels(std::string_view text)
{
	std::vector<std::string> labels;
	while (!text.empty()) {
		const size_t nl = text.find('\n');
		std::string_view line = text.substr(0, nl);
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		labels.emplace_back(line);
		if (nl == std::string_view::npos)
			break;
		text.remove_prefix(nl + 1);
	}
	return labels;
}

bool env_positive_int(const char *name, int fallback, int &out,
		      std::string &error)
{
	out = fallback;
	const char *v = std::getenv(name);
	if (v == nullptr || *v == '\0')
		return true;
	long n = 0;
	if (!parse_int(v, 1, 4096, n)) {
		error = std::string(name) + "='" + v +
			"': expected a positive integer";
		return false;
	}
	out = static_cast<int>(n);
	return true;
}

bool env_flag(const char *name, bool fallback)
{
	const char *v = std::getenv(name);
	if (v == nullptr)
		return fallback;
	const std::string s = lower(trim(v));
	if (s == "1" || s == "true" || s == "yes" || s == "on")
		return true;
	if (s == "0" || s == "false" || s == "no" || s == "off")
		return false;
	return fallback;
}

} // namespace vtorch
