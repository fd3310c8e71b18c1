// SPDX-License-Identifier: Apache-2.0
#include "torch_input.h"

#include "image.h"
#include "settings.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace vaccel_cli
{

namespace
{

namespace fs = std::filesystem;

std::string read_file(const std::string &path, const char *what)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		die(kExitSetup,
		    std::string("cannot read ") + what + " " + path);
	return {std::istreambuf_iterator<char>(in), {}};
}

// The files of @p dir ending in @p ext, by name; none when @p dir is a
// file.
std::vector<std::string> files_with(const std::string &dir,
				    std::string_view ext)
{
	std::vector<std::string> out;
	std::error_code ec;
	if (!fs::is_directory(dir, ec))
		return out;
	for (const auto &e : fs::directory_iterator(dir, ec))
		if (e.is_regular_file(ec) &&
		    e.path().extension().string() == ext)
			out.push_back(e.path().string());
	std::sort(out.begin(), out.end());
	return out;
}

TorchInput raw_input(const OpOptions &o)
{
	size_t count = 1;
	for (int64_t d : o.shape) {
		if (d <= 0 || d > (int64_t{1} << 32))
			die(kExitUsage, "--shape: dimension " +
					    std::to_string(d) +
					    " must be 1..2^32");
		count *= static_cast<size_t>(d);
		if (count > (size_t{1} << 32))
			die(kExitUsage, "--shape: more than 2^32 elements");
	}
	const std::string bytes = read_file(o.input, "input");
	if (bytes.size() != count * sizeof(float))
		die(kExitUsage,
		    o.input + " has " + std::to_string(bytes.size()) +
			" bytes; --shape needs " +
			std::to_string(count * sizeof(float)) + " (float32)");
	TorchInput in{o.shape, std::vector<float>(count)};
	std::memcpy(in.data.data(), bytes.data(), bytes.size());
	return in;
}

vtorch::ImageSettings image_settings(const std::string &model)
{
	vtorch::KeyValues values;
	std::string err;
	for (const auto &cfg : files_with(model, ".cfg"))
		if (!vtorch::parse_config(read_file(cfg, "model settings"),
					  values, err))
			die(kExitSetup, cfg + ": " + err);
	vtorch::ImageSettings s;
	if (!vtorch::image_settings(values, s, err))
		die(kExitSetup, "image settings: " + err);
	return s;
}

TorchInput image_input(const OpOptions &o)
{
	if (!vtorch::image_decoding_available())
		die(kExitSetup, "this vaccel was built without an image "
				"decoder (OpenCV): give the input as raw "
				"float32 with --shape");
	const vtorch::ImageSettings s = image_settings(o.torch_model);
	const std::string bytes = read_file(o.input, "image");
	TorchInput in;
	std::string err;
	if (vtorch::image_to_chw(bytes.data(), bytes.size(), s, in.data, err) !=
	    VACCEL_OK)
		die(kExitSetup, o.input + ": " + err +
				    " (raw float32 input needs --shape)");
	in.dims = {1, s.channels, s.height, s.width};
	return in;
}

} // namespace

TorchInput torch_input(const OpOptions &o)
{
	return o.shape.empty() ? image_input(o) : raw_input(o);
}

std::vector<std::string> torch_labels(const OpOptions &o)
{
	if (o.labels)
		return vtorch::split_labels(read_file(*o.labels, "labels"));
	const auto txt = files_with(o.torch_model, ".txt");
	if (txt.empty())
		return {};
	return vtorch::split_labels(read_file(txt.front(), "labels"));
}

} // namespace vaccel_cli
