// SPDX-License-Identifier: Apache-2.0
// Image decoding and preprocessing for image classification (see image.h).
#include "image.h"

#include <vaccel.h>

#include <limits>

#ifdef VACCEL_TORCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace vtorch
{

bool image_decoding_available()
{
#ifdef VACCEL_TORCH_HAVE_OPENCV
	return true;
#else
	return false;
#endif
}

#ifdef VACCEL_TORCH_HAVE_OPENCV

int image_to_chw(const void *data, size_t len, const ImageSettings &settings,
		 std::vector<float> &chw, std::string &error)
{
	if (data == nullptr || len == 0) {
		error = "the image is empty";
		return VACCEL_EINVAL;
	}
	if (len > static_cast<size_t>(std::numeric_limits<int>::max())) {
		error = "the image is larger than 2 GiB";
		return VACCEL_EINVAL;
	}
	if (settings.channels != 1 && settings.channels != 3) {
		error = "only 1 or 3 channels are supported";
		return VACCEL_EINVAL;
	}
	const size_t nch = static_cast<size_t>(settings.channels);
	if (settings.width <= 0 || settings.height <= 0 ||
	    settings.mean.size() != nch || settings.std.size() != nch) {
		error = "inconsistent image settings";
		return VACCEL_EINVAL;
	}

	try {
		// imdecode only reads the buffer; the Mat header does not own
		// it.
		const cv::Mat encoded(1, static_cast<int>(len), CV_8UC1,
				      const_cast<void *>(data));
		cv::Mat img = cv::imdecode(encoded, settings.channels == 1
							? cv::IMREAD_GRAYSCALE
							: cv::IMREAD_COLOR);
		if (img.empty()) {
			error = "the image cannot be decoded (not a JPEG, PNG "
				"or other format OpenCV reads)";
			return VACCEL_EINVAL;
		}
		if (settings.channels == 3)
			cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
		if (img.cols != settings.width || img.rows != settings.height)
			cv::resize(img, img,
				   cv::Size(settings.width, settings.height), 0,
				   0, cv::INTER_LINEAR);

		const size_t w = static_cast<size_t>(settings.width);
		const size_t h = static_cast<size_t>(settings.height);
		chw.assign(nch * h * w, 0.0F);
		for (size_t y = 0; y < h; y++) {
			const auto *row =
			    img.ptr<unsigned char>(static_cast<int>(y));
			for (size_t x = 0; x < w; x++)
				for (size_t c = 0; c < nch; c++) {
					const float v = static_cast<float>(
							    row[x * nch + c]) /
							255.0F;
					chw[(c * h + y) * w + x] =
					    (v - settings.mean[c]) /
					    settings.std[c];
				}
		}
	} catch (const cv::Exception &e) {
		error = std::string("OpenCV: ") + e.what();
		return VACCEL_EINVAL;
	}
	return VACCEL_OK;
}

#else

int image_to_chw(const void * /*data*/, size_t /*len*/,
		 const ImageSettings & /*settings*/, std::vector<float> &chw,
		 std::string &error)
{
	chw.clear();
	error = "this build of the torch plugin has no image decoder (it was "
		"built without OpenCV's imgcodecs)";
	return VACCEL_ENOTSUP;
}

#endif

} // namespace vtorch
