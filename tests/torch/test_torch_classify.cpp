// SPDX-License-Identifier: Apache-2.0
// The torch plugin's image classification through the public C API: the
// Fashion-MNIST sample PNGs of examples/data/fashion, the accuracy over
// held-out test images of Debian's dataset-fashion-mnist (encoded as PNG
// here) checked against the dataset's labels and against the plugin's own
// model run on the same pixels, configuration from the model resource, the
// ImageNet defaults, and the error paths.
#include "torch_test.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <zlib.h>

#include <algorithm>

using namespace torch_test;

namespace
{

// Fashion-MNIST test images and labels, read from the dataset's idx.gz.
struct Dataset {
	std::vector<uint8_t> pixels; // n x 28 x 28
	std::vector<uint8_t> labels;
	size_t n = 0;
};

std::vector<uint8_t> gunzip(const std::string &path)
{
	std::vector<uint8_t> out;
	gzFile f = gzopen(path.c_str(), "rb");
	if (f == nullptr)
		return out;
	uint8_t buf[1 << 16];
	int got = 0;
	while ((got = gzread(f, buf, sizeof(buf))) > 0)
		out.insert(out.end(), buf, buf + got);
	gzclose(f);
	return out;
}

Dataset read_test_set()
{
	Dataset d;
	const std::string dir = TEST_FASHION_DATA;
	const auto images = gunzip(dir + "/t10k-images-idx3-ubyte.gz");
	const auto labels = gunzip(dir + "/t10k-labels-idx1-ubyte.gz");
	// idx headers: 16 bytes for images (magic, n, rows, cols), 8 for
	// labels (magic, n).
	if (images.size() < 16 || labels.size() < 8)
		return d;
	d.n = std::min((images.size() - 16) / (28 * 28), labels.size() - 8);
	d.pixels.assign(images.begin() + 16,
			images.begin() + 16 +
			    static_cast<std::ptrdiff_t>(d.n * 28 * 28));
	d.labels.assign(labels.begin() + 8,
			labels.begin() + 8 + static_cast<std::ptrdiff_t>(d.n));
	return d;
}

class TorchClassify : public TorchTest
{
protected:
	int classify(const std::vector<uint8_t> &image, std::string &label,
		     size_t len_text = 256)
	{
		std::vector<unsigned char> text(std::max<size_t>(len_text, 1),
						0);
		unsigned char name[64] = {0};
		const int rc = vaccel_image_classification(
		    &sess_, image.data(), text.data(), name, image.size(),
		    len_text, sizeof(name));
		label = reinterpret_cast<const char *>(text.data());
		if (rc == VACCEL_OK) {
			EXPECT_STREQ(reinterpret_cast<const char *>(name),
				     "PLACEHOLDER");
		}
		return rc;
	}

	static std::vector<uint8_t> png(const uint8_t *pixels)
	{
		const cv::Mat img(28, 28, CV_8UC1,
				  const_cast<uint8_t *>(pixels));
		std::vector<uint8_t> out;
		EXPECT_TRUE(cv::imencode(".png", img, out));
		return out;
	}

	static std::vector<uint8_t> jpeg(const uint8_t *pixels, int quality)
	{
		const cv::Mat img(28, 28, CV_8UC1,
				  const_cast<uint8_t *>(pixels));
		std::vector<uint8_t> out;
		EXPECT_TRUE(cv::imencode(".jpg", img, out,
					 {cv::IMWRITE_JPEG_QUALITY, quality}));
		return out;
	}

	// Index of the largest of the @p n scores at @p row.
	static size_t argmax(const float *row, size_t n)
	{
		return static_cast<size_t>(std::max_element(row, row + n) -
					   row);
	}
};

// The file names are <index>_<label>, the label lower-cased with '/' and
// ' ' as '-'.
std::string file_label(const std::string &label)
{
	std::string s = label;
	for (char &c : s) {
		c = static_cast<char>(
		    std::tolower(static_cast<unsigned char>(c)));
		if (c == '/' || c == ' ')
			c = '-';
	}
	return s;
}

TEST_F(TorchClassify, SamplePngs)
{
	set_fashion_env();
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	size_t n = 0;
	for (const auto &entry : std::filesystem::directory_iterator(
		 kSourceDir + "/examples/data/fashion")) {
		const std::string stem = entry.path().stem().string();
		const std::string want = stem.substr(stem.find('_') + 1);
		std::string label;
		ASSERT_EQ(classify(read_file(entry.path().string()), label),
			  VACCEL_OK)
		    << stem;
		EXPECT_EQ(file_label(label), want) << stem;
		n++;
	}
	EXPECT_EQ(n, 10U);
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchClassify, AccuracyOnHeldOutImages)
{
	const Dataset d = read_test_set();
	ASSERT_GE(d.n, 1300U);
	const std::vector<std::string> labels = read_lines(kFashionLabels);
	ASSERT_EQ(labels.size(), 10U);
	set_fashion_env();
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));

	// 300 test images the samples do not use (indices 1000..1299).
	constexpr size_t kFirst = 1000;
	constexpr size_t kCount = 300;
	std::vector<std::string> predicted(kCount);
	size_t correct = 0;
	for (size_t i = 0; i < kCount; i++) {
		const uint8_t *px = &d.pixels[(kFirst + i) * 28 * 28];
		ASSERT_EQ(classify(png(px), predicted[i]), VACCEL_OK) << i;
		if (predicted[i] == labels[d.labels[kFirst + i]])
			correct++;
	}
	const double accuracy =
	    static_cast<double>(correct) / static_cast<double>(kCount);
	std::printf("accuracy over %zu held-out images: %.1f%%\n", kCount,
		    100.0 * accuracy);
	EXPECT_GE(accuracy, 0.80);

	// The same images as one batch through model_run, normalised by
	// hand: classification must pick the argmax of the same logits.
	std::vector<float> x(kCount * 28 * 28);
	for (size_t i = 0; i < x.size(); i++)
		x[i] = (static_cast<float>(d.pixels[kFirst * 28 * 28 + i]) /
			    255.0F -
			0.5F) /
		       0.5F;
	std::vector<vaccel_torch_tensor *> out;
	ASSERT_EQ(
	    run(&res,
		{float_tensor({static_cast<int64_t>(kCount), 1, 28, 28}, x)},
		out, 1),
	    VACCEL_OK);
	ASSERT_EQ(out[0]->nr_dims, 2);
	ASSERT_EQ(out[0]->dims[1], 10);
	const std::vector<float> logits = floats(out[0]);
	for (size_t i = 0; i < kCount; i++) {
		const auto row =
		    logits.begin() + static_cast<std::ptrdiff_t>(i * 10);
		const auto best = std::max_element(row, row + 10) - row;
		EXPECT_EQ(predicted[i], labels[static_cast<size_t>(best)]) << i;
	}
	free_outputs(out);
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchClassify, JpegImagesAgreeWithModelRun)
{
	// Held-out images sent as JPEG bytes (lossy, so not the PNG's
	// pixels): the accuracy holds, and each label is the argmax of the
	// model run on the JPEG decoded and normalised here.
	const Dataset d = read_test_set();
	ASSERT_GE(d.n, 2200U);
	const std::vector<std::string> labels = read_lines(kFashionLabels);
	set_fashion_env();
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	constexpr size_t kFirst = 2000;
	constexpr size_t kCount = 200;
	std::vector<float> x(kCount * 28 * 28);
	std::vector<std::string> predicted(kCount);
	size_t correct = 0;
	for (size_t i = 0; i < kCount; i++) {
		const std::vector<uint8_t> bytes =
		    jpeg(&d.pixels[(kFirst + i) * 28 * 28], 90);
		ASSERT_EQ(bytes[0], 0xff); // JPEG SOI marker
		ASSERT_EQ(bytes[1], 0xd8);
		ASSERT_EQ(classify(bytes, predicted[i]), VACCEL_OK) << i;
		if (predicted[i] == labels[d.labels[kFirst + i]])
			correct++;
		const cv::Mat img = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
		ASSERT_EQ(img.rows, 28);
		ASSERT_EQ(img.cols, 28);
		for (int p = 0; p < 28 * 28; p++)
			x[i * 28 * 28 + static_cast<size_t>(p)] =
			    (static_cast<float>(img.data[p]) / 255.0F - 0.5F) /
			    0.5F;
	}
	const double accuracy =
	    static_cast<double>(correct) / static_cast<double>(kCount);
	std::printf("JPEG accuracy over %zu held-out images: %.1f%%\n", kCount,
		    100.0 * accuracy);
	EXPECT_GE(accuracy, 0.80);

	std::vector<vaccel_torch_tensor *> out;
	ASSERT_EQ(
	    run(&res,
		{float_tensor({static_cast<int64_t>(kCount), 1, 28, 28}, x)},
		out, 1),
	    VACCEL_OK);
	const std::vector<float> logits = floats(out[0]);
	ASSERT_EQ(logits.size(), kCount * 10);
	for (size_t i = 0; i < kCount; i++)
		EXPECT_EQ(predicted[i], labels[argmax(&logits[i * 10], 10)])
		    << i;
	free_outputs(out);
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchClassify, SettingsAndLabelsFromTheModelResource)
{
	// No environment: a .cfg and a .txt in the resource configure it.
	const std::string cfg = dir_ + "/fashion.cfg";
	std::ofstream(cfg) << "# Fashion-MNIST\nimage_size = 28\n"
			      "image_channels = 1\nimage_mean = 0.5\n"
			      "image_std = 0.5\n";
	const char *paths[] = {kFashionModel.c_str(), kFashionLabels.c_str(),
			       cfg.c_str()};
	vaccel_resource res{};
	ASSERT_EQ(
	    vaccel_resource_init_multi(&res, paths, 3, VACCEL_RESOURCE_MODEL),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &sess_), VACCEL_OK);
	for (const auto &entry : std::filesystem::directory_iterator(
		 kSourceDir + "/examples/data/fashion")) {
		const std::string stem = entry.path().stem().string();
		std::string label;
		ASSERT_EQ(classify(read_file(entry.path().string()), label),
			  VACCEL_OK);
		EXPECT_EQ(file_label(label), stem.substr(stem.find('_') + 1));
	}
	release(&res);
}

TEST_F(TorchClassify, ImageNetDefaults)
{
	// Upstream's example: a colour JPEG (920x920), cnn_trace.pt (10
	// classes, 3x224x224); the preprocessing defaults fit it. Ten labels
	// (one per output: the first ImageNet ones). The label must be the
	// argmax of the model run on the JPEG decoded, turned RGB, resized
	// and normalised (ImageNet mean/std) here.
	std::vector<std::string> labels =
	    read_lines(kSourceDir + "/examples/data/imagenet.txt");
	labels.resize(10);
	const std::string ten = dir_ + "/imagenet10.txt";
	{
		std::ofstream f(ten);
		for (const auto &l : labels)
			f << l << "\n";
	}
	setenv("VACCEL_TORCH_LABELS", ten.c_str(), 1);
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&res, kSourceDir + "/examples/data/cnn_trace.pt"));
	const std::vector<uint8_t> bytes =
	    read_file(kSourceDir + "/examples/data/example.jpg");
	std::string label;
	ASSERT_EQ(classify(bytes, label), VACCEL_OK);

	cv::Mat img = cv::imdecode(bytes, cv::IMREAD_COLOR);
	ASSERT_FALSE(img.empty());
	cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
	cv::resize(img, img, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
	const float mean[] = {0.485F, 0.456F, 0.406F};
	const float sd[] = {0.229F, 0.224F, 0.225F};
	std::vector<float> x(3 * 224 * 224);
	for (int y = 0; y < 224; y++)
		for (int c = 0; c < 3; c++)
			for (int col = 0; col < 224; col++)
				x[static_cast<size_t>((c * 224 + y) * 224 +
						      col)] =
				    (static_cast<float>(
					 img.at<cv::Vec3b>(y, col)[c]) /
					 255.0F -
				     mean[c]) /
				    sd[c];
	std::vector<vaccel_torch_tensor *> out;
	ASSERT_EQ(run(&res, {float_tensor({1, 3, 224, 224}, x)}, out, 1),
		  VACCEL_OK);
	const std::vector<float> scores = floats(out[0]);
	ASSERT_EQ(scores.size(), 10U);
	EXPECT_EQ(label, labels[argmax(scores.data(), scores.size())]);
	free_outputs(out);
	release(&res);
}

// A 10-class model read against 1000 labels would answer a label that
// looks right and is not: an error naming both counts.
TEST_F(TorchClassify, LabelsThatDoNotMatchTheOutputsAreAnError)
{
	setenv("VACCEL_TORCH_LABELS",
	       (kSourceDir + "/examples/data/imagenet.txt").c_str(), 1);
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&res, kSourceDir + "/examples/data/cnn_trace.pt"));
	std::string label;
	EXPECT_EQ(classify(read_file(kSourceDir + "/examples/data/example.jpg"),
			   label),
		  VACCEL_EINVAL);
	EXPECT_EQ(log_count("has 10 outputs but its labels"), 1U);
	EXPECT_EQ(log_count("have 1000 lines"), 1U);
	release(&res);
}

TEST_F(TorchClassify, TextIsTruncatedToTheBuffer)
{
	set_fashion_env();
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	const auto img = read_file(
	    kSourceDir + "/examples/data/fashion/0000_ankle-boot.png");
	std::string label;
	ASSERT_EQ(classify(img, label, 4), VACCEL_OK);
	EXPECT_EQ(label, "Ank");
	// No output buffers at all is fine too.
	EXPECT_EQ(vaccel_image_classification(&sess_, img.data(), nullptr,
					      nullptr, img.size(), 0, 0),
		  VACCEL_OK);
	release(&res);
}

TEST_F(TorchClassify, Errors)
{
	const auto img = read_file(
	    kSourceDir + "/examples/data/fashion/0000_ankle-boot.png");
	std::string label;

	// No model registered.
	set_fashion_env();
	EXPECT_EQ(classify(img, label), VACCEL_ENOENT);

	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	ASSERT_EQ(classify(img, label), VACCEL_OK);

	// Missing labels file.
	setenv("VACCEL_TORCH_LABELS", (dir_ + "/missing.txt").c_str(), 1);
	EXPECT_EQ(classify(img, label), VACCEL_ENOENT);
	EXPECT_EQ(log_count("missing.txt' does not exist"), 1U);

	// Fewer labels than the model's classes.
	const std::string short_labels = dir_ + "/three.txt";
	std::ofstream(short_labels) << "a\nb\nc\n";
	setenv("VACCEL_TORCH_LABELS", short_labels.c_str(), 1);
	EXPECT_EQ(classify(img, label), VACCEL_EINVAL); // class 9
	set_fashion_env();

	// Not an image.
	const std::vector<uint8_t> junk(500, 0x42);
	EXPECT_EQ(classify(junk, label), VACCEL_EINVAL);
	EXPECT_EQ(log_count("cannot be decoded"), 1U);
	const std::vector<uint8_t> truncated(img.begin(), img.begin() + 40);
	EXPECT_EQ(classify(truncated, label), VACCEL_EINVAL);
	unsigned char text[16];
	EXPECT_EQ(vaccel_image_classification(&sess_, nullptr, text, nullptr,
					      10, sizeof(text), 0),
		  VACCEL_EINVAL);
	EXPECT_EQ(vaccel_image_classification(&sess_, img.data(), text, nullptr,
					      0, sizeof(text), 0),
		  VACCEL_EINVAL);

	// Malformed settings.
	setenv("VACCEL_TORCH_IMAGE_SIZE", "abc", 1);
	EXPECT_EQ(classify(img, label), VACCEL_EINVAL);
	set_fashion_env();
	setenv("VACCEL_TORCH_IMAGE_CHANNELS", "2", 1);
	EXPECT_EQ(classify(img, label), VACCEL_EINVAL);
	set_fashion_env();
	setenv("VACCEL_TORCH_IMAGE_STD", "0", 1);
	EXPECT_EQ(classify(img, label), VACCEL_EINVAL);
	set_fashion_env();

	// Settings that do not fit the model: 3 channels, or 32x32 (the
	// linear layer expects 16x7x7 features).
	setenv("VACCEL_TORCH_IMAGE_CHANNELS", "3", 1);
	setenv("VACCEL_TORCH_IMAGE_MEAN", "0.5", 1);
	EXPECT_EQ(classify(img, label), VACCEL_EINVAL);
	set_fashion_env();
	setenv("VACCEL_TORCH_IMAGE_SIZE", "32", 1);
	EXPECT_EQ(classify(img, label), VACCEL_EINVAL);
	set_fashion_env();

	// Still fine afterwards, and loaded once.
	ASSERT_EQ(classify(img, label), VACCEL_OK);
	EXPECT_EQ(label, "Ankle boot");
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

} // namespace
