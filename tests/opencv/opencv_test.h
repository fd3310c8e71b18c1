// SPDX-License-Identifier: Apache-2.0
// Shared by the opencv plugin tests: the runtime bootstrapped with only the
// opencv plugin (its log going to a file the tests read), one session,
// resources released at the end, and image / tensor helpers.
#pragma once

#include <gtest/gtest.h>
#include <vaccel.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <list>
#include <sstream>
#include <string>
#include <vector>

namespace ocv_test
{

namespace fs = std::filesystem;

inline std::string fixture(const std::string &name)
{
	return std::string(TEST_FIXTURES) + "/" + name;
}

inline std::vector<unsigned char> read_bytes(const std::string &path)
{
	std::ifstream is(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(is),
		std::istreambuf_iterator<char>()};
}

inline std::string read_text(const std::string &path)
{
	std::ifstream is(path);
	std::stringstream ss;
	ss << is.rdbuf();
	return ss.str();
}

inline void write_bytes(const std::string &path,
			const std::vector<unsigned char> &bytes)
{
	std::ofstream os(path, std::ios::binary);
	os.write(reinterpret_cast<const char *>(bytes.data()),
		 static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<unsigned char> png(const cv::Mat &img)
{
	std::vector<unsigned char> buf;
	EXPECT_TRUE(cv::imencode(".png", img, buf));
	return buf;
}

// A tensor file (uint32 rank, uint32 dims, float32 values), as written by
// scripts/make_test_onnx_models.py and the plugin's save_tensors setting.
inline cv::Mat read_tensor(std::istream &is)
{
	uint32_t rank = 0;
	is.read(reinterpret_cast<char *>(&rank), sizeof(rank));
	if (!is || rank == 0 || rank > 8)
		return {};
	std::vector<int> dims(rank);
	for (auto &d : dims) {
		uint32_t v = 0;
		is.read(reinterpret_cast<char *>(&v), sizeof(v));
		d = static_cast<int>(v);
	}
	cv::Mat m(static_cast<int>(rank), dims.data(), CV_32F);
	is.read(reinterpret_cast<char *>(m.data),
		static_cast<std::streamsize>(m.total() * sizeof(float)));
	return is ? m : cv::Mat();
}

inline cv::Mat read_tensor(const std::string &path)
{
	std::ifstream is(path, std::ios::binary);
	return read_tensor(is);
}

inline std::vector<int> shape(const cv::Mat &m)
{
	return {m.size.p, m.size.p + m.dims};
}

inline double max_abs_diff(const cv::Mat &a, const cv::Mat &b)
{
	if (a.total() != b.total())
		return 1e30;
	double d = 0;
	const auto *pa = a.ptr<float>();
	const auto *pb = b.ptr<float>();
	for (size_t i = 0; i < a.total(); i++)
		d = std::max(d, static_cast<double>(std::abs(pa[i] - pb[i])));
	return d;
}

// The documented palette (BGR) of the result images.
inline cv::Vec3b palette(int id)
{
	static const cv::Vec3b colors[] = {
	    {0, 255, 255}, {255, 0, 255}, {255, 255, 0}, {0, 128, 255},
	    {255, 0, 128}, {128, 255, 0}, {0, 0, 128},   {128, 0, 255},
	};
	return colors[id % 8];
}

// Every VACCEL_OPENCV_* variable the tests set.
inline void clear_opencv_env()
{
	for (const char *k :
	     {"VACCEL_OPENCV_INPUT_SIZE", "VACCEL_OPENCV_GRAYSCALE",
	      "VACCEL_OPENCV_SCALE", "VACCEL_OPENCV_MEAN", "VACCEL_OPENCV_STD",
	      "VACCEL_OPENCV_SWAP_RB", "VACCEL_OPENCV_DETECT_THRESHOLD",
	      "VACCEL_OPENCV_NMS_THRESHOLD", "VACCEL_OPENCV_POSE_THRESHOLD",
	      "VACCEL_OPENCV_SEGMENT_ALPHA", "VACCEL_OPENCV_DEPTH_COLORMAP",
	      "VACCEL_OPENCV_SAVE_TENSORS", "VACCEL_OPENCV_CLASSIFY_MODEL",
	      "VACCEL_OPENCV_DETECT_MODEL", "VACCEL_OPENCV_SEGMENT_MODEL",
	      "VACCEL_OPENCV_POSE_MODEL", "VACCEL_OPENCV_DEPTH_MODEL",
	      "VACCEL_OPENCV_LABELS", "VACCEL_OPENCV_MAX_NETS"})
		unsetenv(k);
}

struct OpResult {
	int rc = -1;
	std::string text;    // classification only
	std::string imgname; // result image path
};

class OpencvTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		clear_opencv_env();
		// The fixtures' models take pixel/255 as it is; classification
		// refuses to guess a model's scaling, so say so.
		setenv("VACCEL_OPENCV_MEAN", "0", 1);
		char tmpl[] = "/tmp/vaccel-opencv-test-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		tmp_ = tmpl;
		log_ = tmp_ + "/vaccel.log";
		ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
		struct vaccel_config cfg {
		};
		ASSERT_EQ(vaccel_config_init(&cfg, TEST_OPENCV_PLUGIN,
					     VACCEL_LOG_ERROR, log_.c_str(),
					     false, false),
			  VACCEL_OK);
		const int rc = vaccel_bootstrap_with_config(&cfg);
		vaccel_config_release(&cfg);
		ASSERT_EQ(rc, VACCEL_OK);
		ASSERT_EQ(vaccel_plugin_count(), 1U);
		ASSERT_EQ(vaccel_session_init(&sess_, 0), VACCEL_OK);
	}

	void TearDown() override
	{
		for (auto &[res, sess] : resources_) {
			if (sess != nullptr) {
				EXPECT_EQ(
				    vaccel_resource_unregister(&res, sess),
				    VACCEL_OK);
			}
			EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
		}
		resources_.clear();
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
		clear_opencv_env();
		std::error_code ec;
		fs::remove_all(tmp_, ec);
	}

	// A resource of @p paths, registered with @p sess (default: ours).
	vaccel_resource *
	add_resource(const std::vector<std::string> &paths,
		     vaccel_resource_type_t type = VACCEL_RESOURCE_MODEL,
		     vaccel_session *sess = nullptr)
	{
		if (sess == nullptr)
			sess = &sess_;
		std::vector<const char *> ps;
		for (const auto &p : paths)
			ps.push_back(p.c_str());
		resources_.emplace_back();
		vaccel_resource *res = &resources_.back().first;
		EXPECT_EQ(
		    vaccel_resource_init_multi(res, ps.data(), ps.size(), type),
		    VACCEL_OK);
		EXPECT_EQ(vaccel_resource_register(res, sess), VACCEL_OK);
		resources_.back().second = sess;
		return res;
	}

	// Unregisters @p res (released at the end).
	void unregister(vaccel_resource *res)
	{
		for (auto &[r, s] : resources_)
			if (&r == res && s != nullptr) {
				EXPECT_EQ(vaccel_resource_unregister(&r, s),
					  VACCEL_OK);
				s = nullptr;
			}
	}

	std::string tmp_file(const std::string &name) const
	{
		return tmp_ + "/" + name;
	}

	std::string log() const { return read_text(log_); }

	OpResult classify(const std::vector<unsigned char> &img,
			  size_t len_text = 256, size_t len_name = 512,
			  vaccel_session *sess = nullptr)
	{
		OpResult r;
		std::vector<unsigned char> text(len_text + 1, 0);
		std::vector<unsigned char> name(len_name + 1, 0);
		r.rc = vaccel_image_classification(
		    sess != nullptr ? sess : &sess_, img.data(),
		    len_text ? text.data() : nullptr,
		    len_name ? name.data() : nullptr, img.size(), len_text,
		    len_name);
		r.text = reinterpret_cast<const char *>(text.data());
		r.imgname = reinterpret_cast<const char *>(name.data());
		return r;
	}

	OpResult image_op(vaccel_op_type_t op,
			  const std::vector<unsigned char> &img,
			  size_t len_name = 512)
	{
		OpResult r;
		std::vector<unsigned char> name(len_name + 1, 0);
		unsigned char *out = len_name ? name.data() : nullptr;
		switch (op) {
		case VACCEL_OP_IMAGE_DETECT:
			r.rc = vaccel_image_detection(&sess_, img.data(), out,
						      img.size(), len_name);
			break;
		case VACCEL_OP_IMAGE_SEGMENT:
			r.rc = vaccel_image_segmentation(
			    &sess_, img.data(), out, img.size(), len_name);
			break;
		case VACCEL_OP_IMAGE_POSE:
			r.rc = vaccel_image_pose(&sess_, img.data(), out,
						 img.size(), len_name);
			break;
		default:
			r.rc = vaccel_image_depth(&sess_, img.data(), out,
						  img.size(), len_name);
			break;
		}
		r.imgname = reinterpret_cast<const char *>(name.data());
		// Upstream's convention: the result image is written to the
		// session's run directory and its path returned.
		if (r.rc == VACCEL_OK) {
			EXPECT_EQ(fs::path(r.imgname).parent_path(),
				  fs::path(sess_.rundir));
			EXPECT_TRUE(fs::is_regular_file(r.imgname))
			    << r.imgname;
		}
		return r;
	}

	// The result files of the session (any extension).
	std::vector<std::string> rundir_files() const
	{
		std::vector<std::string> out;
		for (const auto &e : fs::directory_iterator(sess_.rundir))
			out.push_back(e.path().filename().string());
		return out;
	}

	vaccel_session sess_{};
	std::string tmp_;
	std::string log_;
	std::list<std::pair<vaccel_resource, vaccel_session *>> resources_;
};

// The path without its ".png" ending.
inline std::string stem_of(const std::string &imgname)
{
	const std::string ext = ".png";
	if (imgname.size() > ext.size() &&
	    imgname.compare(imgname.size() - ext.size(), ext.size(), ext) == 0)
		return imgname.substr(0, imgname.size() - ext.size());
	return imgname;
}

inline std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> out;
	std::stringstream ss(text);
	std::string line;
	while (std::getline(ss, line))
		if (!line.empty())
			out.push_back(line);
	return out;
}

} // namespace ocv_test
