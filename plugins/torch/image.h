// SPDX-License-Identifier: Apache-2.0
// Image decoding and preprocessing of the torch plugin's image
// classification: encoded bytes (JPEG, PNG, or any format OpenCV's imgcodecs
// reads) to a float CHW buffer, as settings.h describes. Without OpenCV
// (VACCEL_TORCH_HAVE_OPENCV undefined) decoding is unsupported.
#pragma once

#include "settings.h"

#include <cstddef>
#include <string>
#include <vector>

namespace vtorch
{

// True when this build can decode images.
bool image_decoding_available();

// Decodes @p len bytes at @p data and fills @p chw with
// settings.channels x settings.height x settings.width floats. Returns
// VACCEL_OK, VACCEL_EINVAL (not a decodable image; @p error says why) or
// VACCEL_ENOTSUP (built without OpenCV).
int image_to_chw(const void *data, size_t len, const ImageSettings &settings,
		 std::vector<float> &chw, std::string &error);

} // namespace vtorch
