// SPDX-License-Identifier: Apache-2.0
#include "vision.h"

#include "common.h"

#include <vaccel.h>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>

namespace ocv
{
namespace
{

bool all_finite(std::initializer_list<double> vs)
{
	return std::all_of(vs.begin(), vs.end(),
			   [](double v) { return std::isfinite(v); });
}

double font_scale(const cv::Mat &img)
{
	return std::max(0.35, std::min(img.cols, img.rows) / 800.0);
}

int line_width(const cv::Mat &img)
{
	return std::max(1, std::min(img.cols, img.rows) / 300);
}

// Text on a filled box whose top-left corner is @p org (clamped inside
// the image).
void put_tag(cv::Mat &img, const std::string &text, cv::Point org,
	     const cv::Scalar &bg)
{
	const double fs = font_scale(img);
	int base = 0;
	const cv::Size ts =
	    cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, fs, 1, &base);
	const int h = ts.height + base + 2;
	org.x = std::clamp(org.x, 0, std::max(0, img.cols - ts.width - 2));
	org.y = std::clamp(org.y, 0, std::max(0, img.rows - h));
	cv::rectangle(img, cv::Rect(org.x, org.y, ts.width + 2, h), bg,
		      cv::FILLED);
	// Black or white, whichever reads better on the box.
	const double luma = 0.114 * bg[0] + 0.587 * bg[1] + 0.299 * bg[2];
	const cv::Scalar fg =
	    luma > 128 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
	cv::putText(img, text, cv::Point(org.x + 1, org.y + ts.height + 1),
		    cv::FONT_HERSHEY_SIMPLEX, fs, fg, 1, cv::LINE_AA);
}

} // namespace

cv::Mat as_float(const cv::Mat &m)
{
	cv::Mat f = m;
	if (f.depth() != CV_32F)
		m.convertTo(f, CV_32F);
	if (!f.isContinuous())
		f = f.clone();
	return f;
}

cv::Mat decode_image(const void *img, size_t len)
{
	if (len > static_cast<size_t>(INT_MAX))
		OCV_FAIL(VACCEL_EINVAL, "image of %zu bytes is too large", len);
	// imdecode only reads the buffer; the cast is for cv::Mat's API.
	const cv::Mat buf(1, static_cast<int>(len), CV_8U,
			  const_cast<void *>(img));
	cv::Mat out;
	try {
		out = cv::imdecode(buf, cv::IMREAD_COLOR);
	} catch (const cv::Exception &e) {
		OCV_FAIL(VACCEL_EINVAL, "cannot decode the image: %s",
			 e.what());
	}
	if (out.empty())
		OCV_FAIL(VACCEL_EINVAL,
			 "the %zu input bytes are not an image OpenCV can "
			 "decode",
			 len);
	return out;
}

cv::Mat make_input(const cv::Mat &bgr, const InputSpec &spec, const Settings &s)
{
	cv::Mat img;
	if (spec.channels == 1)
		cv::cvtColor(bgr, img, cv::COLOR_BGR2GRAY);
	else if (s.swap_rb)
		cv::cvtColor(bgr, img, cv::COLOR_BGR2RGB);
	else
		img = bgr;
	const cv::Size size(spec.width, spec.height);
	if (img.size() != size)
		cv::resize(img, img, size, 0, 0, cv::INTER_LINEAR);

	std::vector<cv::Mat> planes;
	cv::split(img, planes);
	const int h = spec.height;
	const int w = spec.width;
	const int c = spec.channels;
	const int nchw[] = {1, c, h, w};
	const int nhwc[] = {1, h, w, c};
	cv::Mat blob(4, spec.nhwc ? nhwc : nchw, CV_32F);
	for (int k = 0; k < c; k++) {
		// ((pixel * scale) - mean) / std as one affine step.
		const double a = s.scale / s.std[static_cast<size_t>(k)];
		const double b = -s.mean[static_cast<size_t>(k)] /
				 s.std[static_cast<size_t>(k)];
		cv::Mat plane;
		planes[static_cast<size_t>(k)].convertTo(plane, CV_32F, a, b);
		if (!spec.nhwc) {
			cv::Mat dst(h, w, CV_32F, blob.ptr<float>(0, k));
			plane.copyTo(dst);
			continue;
		}
		auto *base = blob.ptr<float>();
		for (int y = 0; y < h; y++) {
			const auto *row = plane.ptr<float>(y);
			for (int x = 0; x < w; x++)
				base[(static_cast<size_t>(y) * w + x) * c + k] =
				    row[x];
		}
	}
	return blob;
}

std::vector<int> shape_of(const cv::Mat &m)
{
	return {m.size.p, m.size.p + m.dims};
}

std::string shape_str(const cv::Mat &m)
{
	std::string s = "[";
	for (int i = 0; i < m.dims; i++)
		s += (i != 0 ? ", " : "") + std::to_string(m.size[i]);
	return s + "]";
}

int top1(const cv::Mat &out, float *score)
{
	const cv::Mat f = as_float(out);
	if (f.total() == 0)
		OCV_FAIL(VACCEL_EINVAL, "the classifier's output is empty");
	if (f.total() > static_cast<size_t>(INT_MAX))
		OCV_FAIL(VACCEL_EINVAL, "the classifier's output is too large");
	const auto *p = f.ptr<float>();
	const size_t n = f.total();
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (p[i] > p[best] || std::isnan(p[best]))
			best = i;
	if (score != nullptr)
		*score = p[best];
	return static_cast<int>(best);
}

std::vector<Detection> decode_detections(const cv::Mat &out, cv::Size net,
					 cv::Size image, const Settings &s)
{
	const std::vector<int> sh = shape_of(out);
	const bool ssd =
	    sh.size() == 4 && sh[0] == 1 && sh[1] == 1 && sh[3] == 7;
	const bool rows6 = (sh.size() == 2 && sh[1] == 6) ||
			   (sh.size() == 3 && sh[0] == 1 && sh[2] == 6);
	if (!ssd && !rows6)
		OCV_FAIL(VACCEL_EINVAL,
			 "detection output %s is not [1, 1, N, 7] (SSD), "
			 "[N, 6] / [1, N, 6] (x1, y1, x2, y2, score, class) "
			 "or [1, 1, H, W] (a text probability map)",
			 shape_str(out).c_str());
	const cv::Mat f = as_float(out);
	const size_t width = ssd ? 7 : 6;
	const size_t n = f.total() / width;
	// SSD coordinates are fractions of the image; the others are network
	// input pixels.
	const double sx = ssd ? image.width : double(image.width) / net.width;
	const double sy =
	    ssd ? image.height : double(image.height) / net.height;

	std::map<int, std::vector<Detection>> by_class;
	const auto *p = f.ptr<float>();
	for (size_t i = 0; i < n; i++) {
		const float *r = p + i * width;
		const double cls = ssd ? r[1] : r[5];
		const double score = ssd ? r[2] : r[4];
		const float *xy = ssd ? r + 3 : r;
		if (!all_finite({cls, score, xy[0], xy[1], xy[2], xy[3]}) ||
		    score < s.detect_threshold || cls < 0 || cls > INT_MAX)
			continue;
		const double x1 =
		    std::clamp(xy[0] * sx, 0.0, 1.0 * image.width);
		const double y1 =
		    std::clamp(xy[1] * sy, 0.0, 1.0 * image.height);
		const double x2 =
		    std::clamp(xy[2] * sx, 0.0, 1.0 * image.width);
		const double y2 =
		    std::clamp(xy[3] * sy, 0.0, 1.0 * image.height);
		if (x2 <= x1 || y2 <= y1)
			continue;
		Detection d;
		d.cls = static_cast<int>(std::lround(cls));
		d.score = static_cast<float>(score);
		d.box = cv::Rect2d(x1, y1, x2 - x1, y2 - y1);
		by_class[d.cls].push_back(d);
	}

	std::vector<Detection> kept;
	for (auto &[cls, ds] : by_class) {
		std::vector<cv::Rect2d> boxes;
		std::vector<float> scores;
		for (const auto &d : ds) {
			boxes.push_back(d.box);
			scores.push_back(d.score);
		}
		std::vector<int> keep;
		cv::dnn::NMSBoxes(boxes, scores,
				  static_cast<float>(s.detect_threshold),
				  static_cast<float>(s.nms_threshold), keep);
		for (int k : keep)
			kept.push_back(ds[static_cast<size_t>(k)]);
	}
	std::stable_sort(kept.begin(), kept.end(),
			 [](const Detection &a, const Detection &b) {
				 return a.score > b.score;
			 });
	return kept;
}

cv::Mat decode_segmentation(const cv::Mat &out, cv::Size image)
{
	const std::vector<int> sh = shape_of(out);
	int c = 0;
	int h = 0;
	int w = 0;
	if (sh.size() == 4 && sh[0] == 1) {
		c = sh[1], h = sh[2], w = sh[3];
	} else if (sh.size() == 3) {
		c = sh[0], h = sh[1], w = sh[2];
	} else {
		OCV_FAIL(VACCEL_EINVAL,
			 "segmentation output %s is not [1, C, H, W] or "
			 "[C, H, W]",
			 shape_str(out).c_str());
	}
	if (c < 1 || c > 65536 || h < 1 || w < 1)
		OCV_FAIL(VACCEL_EINVAL,
			 "segmentation output %s: need 1 to 65536 classes",
			 shape_str(out).c_str());
	const cv::Mat f = as_float(out);
	const auto *p = f.ptr<float>();
	const size_t plane = static_cast<size_t>(h) * w;
	cv::Mat classes(h, w, CV_16U);
	for (int y = 0; y < h; y++) {
		auto *row = classes.ptr<uint16_t>(y);
		for (int x = 0; x < w; x++) {
			const size_t at = static_cast<size_t>(y) * w + x;
			int best = 0;
			if (c == 1) {
				best = p[at] > 0.5F ? 1 : 0;
			} else {
				float v = p[at];
				for (int k = 1; k < c; k++) {
					const float u =
					    p[static_cast<size_t>(k) * plane +
					      at];
					if (u > v) {
						v = u;
						best = k;
					}
				}
			}
			row[x] = static_cast<uint16_t>(best);
		}
	}
	cv::Mat resized;
	cv::resize(classes, resized, image, 0, 0, cv::INTER_NEAREST);
	return resized;
}

std::vector<Keypoint> decode_pose(const cv::Mat &out, cv::Size image)
{
	const std::vector<int> sh = shape_of(out);
	int k = 0;
	int h = 0;
	int w = 0;
	if (sh.size() == 4 && sh[0] == 1) {
		k = sh[1], h = sh[2], w = sh[3];
	} else if (sh.size() == 3) {
		k = sh[0], h = sh[1], w = sh[2];
	} else {
		OCV_FAIL(VACCEL_EINVAL,
			 "pose output %s is not [1, K, H, W] or [K, H, W] "
			 "heatmaps",
			 shape_str(out).c_str());
	}
	if (k < 1 || h < 1 || w < 1)
		OCV_FAIL(VACCEL_EINVAL, "pose output %s is empty",
			 shape_str(out).c_str());
	const cv::Mat f = as_float(out);
	std::vector<Keypoint> kps;
	for (int i = 0; i < k; i++) {
		const cv::Mat hm(h, w, CV_32F,
				 const_cast<float *>(f.ptr<float>()) +
				     static_cast<size_t>(i) * h * w);
		double maxv = 0;
		cv::Point at;
		cv::minMaxLoc(hm, nullptr, &maxv, nullptr, &at);
		Keypoint kp;
		kp.id = i;
		kp.score = static_cast<float>(maxv);
		// The centre of the peak cell, in image pixels.
		kp.pt = cv::Point2d((at.x + 0.5) * image.width / w,
				    (at.y + 0.5) * image.height / h);
		kps.push_back(kp);
	}
	return kps;
}

cv::Mat decode_depth(const cv::Mat &out, cv::Size image, double *lo, double *hi)
{
	const std::vector<int> sh = shape_of(out);
	int h = 0;
	int w = 0;
	if (sh.size() == 4 && sh[0] == 1 && sh[1] == 1) {
		h = sh[2], w = sh[3];
	} else if (sh.size() == 3 && sh[0] == 1) {
		h = sh[1], w = sh[2];
	} else if (sh.size() == 2) {
		h = sh[0], w = sh[1];
	} else {
		OCV_FAIL(VACCEL_EINVAL,
			 "depth output %s is not [1, 1, H, W], [1, H, W] or "
			 "[H, W]",
			 shape_str(out).c_str());
	}
	if (h < 1 || w < 1)
		OCV_FAIL(VACCEL_EINVAL, "depth output %s is empty",
			 shape_str(out).c_str());
	const cv::Mat f = as_float(out);
	const cv::Mat map(h, w, CV_32F, const_cast<float *>(f.ptr<float>()));
	// minMaxLoc skips NaNs, so check first.
	if (!cv::checkRange(map))
		OCV_FAIL(VACCEL_EINVAL, "depth output has non-finite values");
	double mn = 0;
	double mx = 0;
	cv::minMaxLoc(map, &mn, &mx);
	cv::Mat resized;
	cv::resize(map, resized, image, 0, 0, cv::INTER_LINEAR);
	const double a = mx > mn ? 255.0 / (mx - mn) : 0.0;
	cv::Mat out8;
	resized.convertTo(out8, CV_8U, a, -mn * a);
	if (lo != nullptr)
		*lo = mn;
	if (hi != nullptr)
		*hi = mx;
	return out8;
}

cv::Scalar palette_color(int id)
{
	// Distinct, saturated colours that are none of pure red, green or
	// blue (BGR order).
	static const cv::Scalar colors[] = {
	    {0, 255, 255}, {255, 0, 255},   {255, 255, 0}, {0, 128, 255},
	    {255, 0, 128}, {128, 255, 0},   {0, 0, 128},   {128, 0, 255},
	    {0, 255, 128}, {255, 128, 0},   {128, 128, 0}, {0, 128, 128},
	    {128, 0, 128}, {192, 192, 192}, {64, 64, 255}, {255, 64, 64},
	};
	const size_t n = sizeof(colors) / sizeof(colors[0]);
	return colors[static_cast<size_t>(id < 0 ? 0 : id) % n];
}

std::string label_of(const std::vector<std::string> &labels, int id,
		     const char *prefix)
{
	if (id >= 0 && static_cast<size_t>(id) < labels.size())
		return labels[static_cast<size_t>(id)];
	return prefix + std::to_string(id);
}

cv::Mat draw_label(const cv::Mat &bgr, const std::string &text)
{
	cv::Mat img = bgr.clone();
	put_tag(img, text, cv::Point(0, 0), cv::Scalar(0, 0, 0));
	return img;
}

cv::Mat draw_detections(const cv::Mat &bgr, const std::vector<Detection> &ds,
			const std::vector<std::string> &labels)
{
	cv::Mat img = bgr.clone();
	const int lw = line_width(img);
	// Boxes first, tags after, so that no box covers another's tag.
	for (const auto &d : ds) {
		// The box spans [x1, x2) x [y1, y2): its last pixels are
		// x2 - 1 and y2 - 1.
		const cv::Point a(static_cast<int>(std::lround(d.box.x)),
				  static_cast<int>(std::lround(d.box.y)));
		const cv::Point b(
		    static_cast<int>(std::lround(d.box.x + d.box.width)) - 1,
		    static_cast<int>(std::lround(d.box.y + d.box.height)) - 1);
		cv::rectangle(img, a, b, palette_color(d.cls), lw);
	}
	for (const auto &d : ds) {
		const std::string tag = strformat(
		    "%s %.2f", label_of(labels, d.cls).c_str(), d.score);
		int base = 0;
		const cv::Size ts = cv::getTextSize(
		    tag, cv::FONT_HERSHEY_SIMPLEX, font_scale(img), 1, &base);
		// Above the box when there is room, else inside its top.
		int y = static_cast<int>(d.box.y) - ts.height - base - 2 - lw;
		if (y < 0)
			y = static_cast<int>(d.box.y) + lw;
		put_tag(img, tag, cv::Point(static_cast<int>(d.box.x), y),
			palette_color(d.cls));
	}
	return img;
}

cv::Mat colorize_mask(const cv::Mat &classes, const cv::Mat &bgr, double alpha)
{
	cv::Mat color(classes.size(), CV_8UC3);
	for (int y = 0; y < classes.rows; y++) {
		const auto *src = classes.ptr<uint16_t>(y);
		auto *dst = color.ptr<cv::Vec3b>(y);
		for (int x = 0; x < classes.cols; x++) {
			if (src[x] == 0) {
				dst[x] = cv::Vec3b(0, 0, 0);
				continue;
			}
			const cv::Scalar c = palette_color(src[x] - 1);
			dst[x] = cv::Vec3b(static_cast<uchar>(c[0]),
					   static_cast<uchar>(c[1]),
					   static_cast<uchar>(c[2]));
		}
	}
	if (alpha <= 0.0)
		return color;
	cv::Mat blended;
	cv::addWeighted(color, alpha, bgr, 1.0 - alpha, 0.0, blended);
	return blended;
}

cv::Mat draw_keypoints(const cv::Mat &bgr, const std::vector<Keypoint> &ks,
		       const std::vector<std::string> &labels)
{
	cv::Mat img = bgr.clone();
	const int r = std::max(2, std::min(img.cols, img.rows) / 64);
	auto centre = [](const Keypoint &k) {
		return cv::Point(static_cast<int>(k.pt.x),
				 static_cast<int>(k.pt.y));
	};
	// Dots first, tags after, so that no dot covers a tag.
	for (const auto &k : ks)
		cv::circle(img, centre(k), r, palette_color(k.id), cv::FILLED);
	for (const auto &k : ks)
		put_tag(img, label_of(labels, k.id, "kp"),
			centre(k) + cv::Point(r + 1, r + 1),
			palette_color(k.id));
	return img;
}

void write_tensor(const std::string &path, const cv::Mat &m)
{
	const cv::Mat f = as_float(m);
	std::ofstream os(path, std::ios::binary);
	const auto rank = static_cast<uint32_t>(f.dims);
	os.write(reinterpret_cast<const char *>(&rank), sizeof(rank));
	for (int i = 0; i < f.dims; i++) {
		const auto d = static_cast<uint32_t>(f.size[i]);
		os.write(reinterpret_cast<const char *>(&d), sizeof(d));
	}
	os.write(reinterpret_cast<const char *>(f.ptr<float>()),
		 static_cast<std::streamsize>(f.total() * sizeof(float)));
	if (!os)
		OCV_FAIL(VACCEL_EIO, "cannot write %s", path.c_str());
}

} // namespace ocv
