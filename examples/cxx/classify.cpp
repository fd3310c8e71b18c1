// SPDX-License-Identifier: Apache-2.0
// classify with the C++ API: read an image, classify it, print the tags.
// With a model path, the model is registered with the session as a
// resource; the Session unregisters it when it goes away.
//
//   classify_cxx <image_file> [model_path]
#include <vaccel.hpp>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace
{

std::optional<std::vector<std::byte>> read_file(const char *path)
{
	std::ifstream f(path, std::ios::binary);
	if (!f)
		return std::nullopt;
	std::vector<char> chars((std::istreambuf_iterator<char>(f)),
				std::istreambuf_iterator<char>());
	std::vector<std::byte> bytes(chars.size());
	std::memcpy(bytes.data(), chars.data(), chars.size());
	return bytes;
}

} // namespace

int main(int argc, char *argv[])
{
	if (argc < 2 || argc > 3) {
		std::fprintf(stderr, "Usage: %s <image_file> [model_path]\n",
			     argv[0]);
		return VACCEL_EINVAL;
	}
	auto image = read_file(argv[1]);
	if (!image) {
		std::fprintf(stderr, "Could not read %s\n", argv[1]);
		return VACCEL_ENOENT;
	}

	try {
		// Declared before the session: a resource must outlive the
		// sessions it is registered with.
		std::optional<vaccel::Resource> model;
		if (argc == 3)
			model.emplace(argv[2], vaccel::ResourceType::Model);

		vaccel::Session sess;
		std::printf("Initialized session with id: %lld\n",
			    static_cast<long long>(sess.id()));
		if (model)
			sess.register_resource(*model);

		std::string tags = sess.classify(std::span(*image));
		std::printf("classification tags: %s\n", tags.c_str());
	} catch (const vaccel::Error &e) {
		std::fprintf(stderr, "%s\n", e.what());
		return e.code();
	}
	return 0;
}
