// SPDX-License-Identifier: Apache-2.0
#include "resource_type.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <string_view>

namespace vaccel_py
{

namespace
{

namespace fs = std::filesystem;

bool is_url(std::string_view p)
{
	return p.starts_with("http://") || p.starts_with("https://");
}

// "https://h/a/model.onnx?x=1#y" -> "model.onnx".
std::string url_file_name(std::string_view url)
{
	url = url.substr(0, url.find_first_of("?#"));
	const size_t scheme = url.find("://");
	const size_t path = url.find('/', scheme + 3);
	if (path == std::string_view::npos)
		return "";
	return std::string(url.substr(url.rfind('/') + 1));
}

// The file names a path stands for.
std::vector<std::string> names_of(const std::string &p)
{
	if (is_url(p))
		return {url_file_name(p)};
	std::error_code ec;
	if (!fs::is_directory(p, ec))
		return {fs::path(p).filename().string()};
	std::vector<std::string> out;
	for (const auto &e : fs::directory_iterator(p, ec))
		if (e.is_regular_file(ec))
			out.push_back(e.path().filename().string());
	return out;
}

bool is_model_file(const std::string &name)
{
	static constexpr std::array<std::string_view, 11> kModel = {
	    ".pt", ".pth", ".ptl",   ".torchscript", ".onnx", ".tflite",
	    ".pb", ".h5",  ".keras", ".engine",      ".plan"};
	const std::string ext = fs::path(name).extension().string();
	return std::find(kModel.begin(), kModel.end(), ext) != kModel.end();
}

// libfoo.so, libfoo.so.1, libfoo.so.1.2
bool is_shared_library(const std::string &name)
{
	const size_t at = name.rfind(".so");
	if (at == std::string::npos || at == 0)
		return false;
	const std::string_view rest = std::string_view(name).substr(at + 3);
	return rest.empty() ||
	       (rest[0] == '.' &&
		rest.find_first_not_of(".0123456789") == std::string::npos);
}

} // namespace

vaccel_resource_type_t
infer_resource_type(const std::vector<std::string> &paths)
{
	size_t files = 0;
	size_t libs = 0;
	for (const auto &p : paths)
		for (const auto &name : names_of(p)) {
			if (is_model_file(name))
				return VACCEL_RESOURCE_MODEL;
			files++;
			libs += is_shared_library(name) ? 1 : 0;
		}
	if (libs == 0)
		return VACCEL_RESOURCE_DATA;
	return libs == files ? VACCEL_RESOURCE_LIB : VACCEL_RESOURCE_MODEL;
}

} // namespace vaccel_py
