// SPDX-License-Identifier: Apache-2.0
// The opencv plugin: the image ops (classify, detect, segment, pose, depth)
// on ONNX models run with OpenCV's DNN module on the CPU.
//
// Each op decodes the caller's image, turns it into the model's input
// tensor (size and colour mode from the model's declared input shape or
// the settings), runs the network and decodes the output tensor by task.
// The result image goes to the session's run directory as
// <task>-<n>.png, and its path to out_imgname; classification also writes
// the top-1 label to out_text, the other ops a <task>-<n>.txt summary next
// to the image. README.md lists the accepted tensor layouts and settings.
//
// The model: the first MODEL resource registered with the session that has
// a *.onnx file; without one, the file named by VACCEL_OPENCV_<TASK>_MODEL.
// Labels: a *.txt file of the model's resource, else of another resource of
// the session, else the file named by VACCEL_OPENCV_LABELS. Loaded models
// are cached per (session, resource) and dropped when a resource is
// unregistered from that session; see model.h for how concurrent calls
// share them.
#include "common.h"
#include "model.h"
#include "settings.h"
#include "text_map.h"
#include "vision.h"

#include <vaccel.h>
#include <vaccel/plugin_ops.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <thread>
#include <utility>

#define ocv_debug(...) vaccel_debug("[opencv] " __VA_ARGS__)
#define ocv_error(...) vaccel_error("[opencv] " __VA_ARGS__)

namespace
{

using ocv::InputSpec;
using ocv::Model;
using ocv::ModelCache;
using ocv::ModelSource;
using ocv::PluginError;
using ocv::Settings;
using ocv::strformat;

enum class Task { Classify, Detect, Segment, Pose, Depth };

const char *task_name(Task t)
{
	switch (t) {
	case Task::Classify:
		return "classify";
	case Task::Detect:
		return "detect";
	case Task::Segment:
		return "segment";
	case Task::Pose:
		return "pose";
	case Task::Depth:
		return "depth";
	}
	return "?";
}

const char *model_env(Task t)
{
	switch (t) {
	case Task::Classify:
		return "VACCEL_OPENCV_CLASSIFY_MODEL";
	case Task::Detect:
		return "VACCEL_OPENCV_DETECT_MODEL";
	case Task::Segment:
		return "VACCEL_OPENCV_SEGMENT_MODEL";
	case Task::Pose:
		return "VACCEL_OPENCV_POSE_MODEL";
	case Task::Depth:
		return "VACCEL_OPENCV_DEPTH_MODEL";
	}
	return "";
}

constexpr const char *kLabelsEnv = "VACCEL_OPENCV_LABELS";
constexpr const char *kMaxNetsEnv = "VACCEL_OPENCV_MAX_NETS";

// What the plugin keeps between calls; made by init, destroyed by fini.
struct PluginState {
	ModelCache cache;
	std::atomic<uint64_t> seq{0}; // numbers the result files
};
PluginState *g_state = nullptr;

bool has_ext(const char *name, const char *ext)
{
	if (name == nullptr)
		return false;
	const size_t n = std::strlen(name);
	const size_t e = std::strlen(ext);
	return n > e && strcasecmp(name + n - e, ext) == 0;
}

// The session's resources of @p type, in registration order.
std::vector<vaccel_resource *> session_resources(vaccel_session *sess,
						 vaccel_resource_type_t type)
{
	vaccel_resource **arr = nullptr;
	size_t n = 0;
	if (vaccel_session_resources_by_type(sess, &arr, &n, type) !=
		VACCEL_OK ||
	    arr == nullptr)
		return {};
	std::vector<vaccel_resource *> out(arr, arr + n);
	free(arr); // NOLINT: allocated by the runtime with malloc
	return out;
}

// The first blob of @p res whose name ends with @p ext.
vaccel_blob *find_blob(const vaccel_resource *res, const char *ext)
{
	if (res->blobs == nullptr)
		return nullptr;
	for (size_t i = 0; i < res->nr_blobs; i++)
		if (res->blobs[i] != nullptr &&
		    has_ext(res->blobs[i]->name, ext))
			return res->blobs[i];
	return nullptr;
}

std::vector<unsigned char> read_file(const std::string &path,
				     const std::string &what)
{
	std::error_code ec;
	if (!std::filesystem::is_regular_file(path, ec))
		OCV_FAIL(VACCEL_ENOENT, "%s: %s is not a readable file",
			 what.c_str(), path.c_str());
	std::ifstream is(path, std::ios::binary | std::ios::ate);
	if (!is)
		OCV_FAIL(VACCEL_ENOENT, "%s: cannot open %s", what.c_str(),
			 path.c_str());
	const std::streamoff size = is.tellg();
	std::vector<unsigned char> bytes(size > 0 ? static_cast<size_t>(size)
						  : 0);
	is.seekg(0);
	if (size < 0 || !is.read(reinterpret_cast<char *>(bytes.data()), size))
		OCV_FAIL(VACCEL_EIO, "%s: cannot read %s", what.c_str(),
			 path.c_str());
	return bytes;
}

// A blob's bytes: read from its file when it has one (reading our own copy
// leaves the runtime's lazily mapped data alone), else its memory.
std::vector<unsigned char> blob_bytes(const vaccel_blob *b,
				      const std::string &what)
{
	if (b->path != nullptr)
		return read_file(b->path, what);
	if (b->data == nullptr)
		OCV_FAIL(VACCEL_EINVAL, "%s: file %s has no data", what.c_str(),
			 b->name != nullptr ? b->name : "?");
	return {b->data, b->data + b->size};
}

std::string as_text(const std::vector<unsigned char> &bytes)
{
	return {bytes.begin(), bytes.end()};
}

// One label a line; trailing spaces and '\r' dropped, empty lines kept so
// that line n stays class n.
std::vector<std::string> parse_labels(const std::string &text)
{
	std::vector<std::string> labels;
	std::stringstream ss(text);
	std::string line;
	while (std::getline(ss, line)) {
		while (!line.empty() &&
		       (line.back() == '\r' || line.back() == ' ' ||
			line.back() == '\t'))
			line.pop_back();
		labels.push_back(line);
	}
	return labels;
}

std::vector<std::string> labels_from_env()
{
	const char *path = std::getenv(kLabelsEnv);
	if (path == nullptr || *path == '\0')
		return {};
	return parse_labels(as_text(read_file(path, kLabelsEnv)));
}

std::string resource_origin(const vaccel_resource *res, const vaccel_blob *b)
{
	return strformat("resource %" PRId64 " (%s)", res->id,
			 b->name != nullptr ? b->name : "?");
}

ModelSource source_from_resource(vaccel_session *sess, vaccel_resource *res,
				 const vaccel_blob *onnx)
{
	ModelSource src;
	src.origin = resource_origin(res, onnx);
	src.onnx = blob_bytes(onnx, src.origin);

	// Labels: the model's own resource first, then any other resource
	// of the session, then the environment.
	const vaccel_blob *txt = find_blob(res, ".txt");
	const vaccel_resource *txt_res = res;
	for (auto type : {VACCEL_RESOURCE_MODEL, VACCEL_RESOURCE_DATA}) {
		for (vaccel_resource *r : session_resources(sess, type)) {
			if (txt != nullptr)
				break;
			txt = find_blob(r, ".txt");
			txt_res = r;
		}
	}
	if (txt != nullptr) {
		const std::string o = resource_origin(txt_res, txt);
		src.labels = parse_labels(as_text(blob_bytes(txt, o)));
	} else {
		src.labels = labels_from_env();
	}

	if (const vaccel_blob *cfg = find_blob(res, ".cfg"); cfg != nullptr) {
		src.settings_origin = resource_origin(res, cfg);
		src.settings = ocv::parse_settings_file(
		    as_text(blob_bytes(cfg, src.settings_origin)),
		    src.settings_origin);
	}
	return src;
}

ModelSource source_from_path(const char *env, const std::string &path)
{
	ModelSource src;
	src.origin = strformat("%s=%s", env, path.c_str());
	src.onnx = read_file(path, env);
	src.labels = labels_from_env();
	return src;
}

size_t max_nets()
{
	if (const char *v = std::getenv(kMaxNetsEnv); v != nullptr) {
		char *end = nullptr;
		const long n = std::strtol(v, &end, 10);
		if (end == v || *end != '\0' || n < 1 || n > 64)
			OCV_FAIL(VACCEL_EINVAL, "%s = '%s': expected 1 to 64",
				 kMaxNetsEnv, v);
		return static_cast<size_t>(n);
	}
	const unsigned hw = std::thread::hardware_concurrency();
	return std::clamp<size_t>(hw, 1, 4);
}

// The session's model for @p task (see the header comment for the rule).
std::shared_ptr<Model> find_model(Task task, vaccel_session *sess)
{
	const size_t nets = max_nets();
	for (vaccel_resource *res :
	     session_resources(sess, VACCEL_RESOURCE_MODEL)) {
		const vaccel_blob *onnx = find_blob(res, ".onnx");
		if (onnx == nullptr)
			continue;
		return g_state->cache.get(
		    {sess->id, res->id, {}},
		    [&] { return source_from_resource(sess, res, onnx); },
		    nets);
	}
	const char *env = model_env(task);
	const char *path = std::getenv(env);
	if (path != nullptr && *path != '\0')
		return g_state->cache.get(
		    {0, 0, path}, [&] { return source_from_path(env, path); },
		    nets);
	OCV_FAIL(VACCEL_ENOENT,
		 "no model: register a MODEL resource with a .onnx file with "
		 "session %" PRId64 ", or set %s",
		 sess->id, env);
}

Settings settings_for(const Model &m)
{
	Settings s;
	ocv::apply_settings(s, ocv::settings_from_env(), "environment", true);
	ocv::apply_settings(s, m.source().settings, m.source().settings_origin,
			    false);
	return s;
}

// The input the network expects: its declared shape first, then the
// settings, then 224x224 colour.
InputSpec input_spec(const Model &m, const Settings &s)
{
	InputSpec spec;
	if (s.width > 0) {
		spec.width = s.width;
		spec.height = s.height;
	}
	if (s.channels > 0)
		spec.channels = s.channels;
	const auto &in = m.input();
	if (!in)
		return spec;
	if (in->elem_type != 0 && in->elem_type != in->kFloat)
		OCV_FAIL(VACCEL_EINVAL,
			 "%s: input '%s' has ONNX element type %d; only "
			 "float32 (1) images are supported",
			 m.source().origin.c_str(), in->name.c_str(),
			 in->elem_type);
	if (in->dims.size() != 4)
		return spec;
	const auto &d = in->dims;
	auto is_ch = [](int64_t v) { return v == 1 || v == 3; };
	// NCHW unless only the last dimension looks like channels.
	spec.nhwc = !is_ch(d[1]) && is_ch(d[3]);
	const int64_t c = spec.nhwc ? d[3] : d[1];
	const int64_t h = spec.nhwc ? d[1] : d[2];
	const int64_t w = spec.nhwc ? d[2] : d[3];
	if (c > 0) {
		if (!is_ch(c))
			OCV_FAIL(VACCEL_EINVAL,
				 "%s: input '%s' has %" PRId64
				 " channels; only 1 (grayscale) or 3 "
				 "(colour) images are supported",
				 m.source().origin.c_str(), in->name.c_str(),
				 c);
		spec.channels = static_cast<int>(c);
	}
	if (h > 0 && w > 0 && h <= 16384 && w <= 16384) {
		spec.height = static_cast<int>(h);
		spec.width = static_cast<int>(w);
	}
	return spec;
}

// Copies @p s with its NUL into @p out, or fails with VACCEL_ENOSPC.
void copy_out(const std::string &s, unsigned char *out, size_t len,
	      const char *what)
{
	if (s.size() + 1 > len)
		OCV_FAIL(VACCEL_ENOSPC, "%s has %zu bytes; '%s' needs %zu",
			 what, len, s.c_str(), s.size() + 1);
	std::memcpy(out, s.c_str(), s.size() + 1);
}

void save_image(const std::string &path, const cv::Mat &img)
{
	if (!cv::imwrite(path, img))
		OCV_FAIL(VACCEL_EIO, "cannot write %s", path.c_str());
}

void save_text(const std::string &path, const std::string &text)
{
	std::ofstream os(path);
	os << text;
	if (!os)
		OCV_FAIL(VACCEL_EIO, "cannot write %s", path.c_str());
}

// Runs the network on @p input with a Net borrowed from @p m and returns
// a copy of the first output (the Net's buffers go back to the pool).
cv::Mat infer(Model &m, const cv::Mat &input)
{
	auto lease = m.acquire();
	cv::dnn::Net &net = lease->net();
	try {
		net.setInput(input);
		std::vector<cv::Mat> outs;
		net.forward(outs, net.getUnconnectedOutLayersNames());
		if (outs.empty() || outs[0].empty())
			OCV_FAIL(VACCEL_EBACKEND, "%s produced no output",
				 m.source().origin.c_str());
		return outs[0].clone();
	} catch (const cv::Exception &e) {
		std::string why = e.err.empty() ? e.what() : e.err;
		if (size_t nl = why.find('\n'); nl != std::string::npos)
			why.resize(nl);
		OCV_FAIL(VACCEL_EBACKEND, "%s: inference failed: %s",
			 m.source().origin.c_str(), why.c_str());
	}
}

struct Request {
	Task task;
	vaccel_session *sess;
	const void *img;
	size_t len_img;
	unsigned char *out_text; // classification only
	size_t len_out_text;
	unsigned char *out_imgname;
	size_t len_out_imgname;
};

void run(const Request &r)
{
	if (g_state == nullptr)
		OCV_FAIL(VACCEL_EINVAL, "the plugin is not initialized");
	if (r.sess == nullptr)
		OCV_FAIL(VACCEL_EINVAL, "session is NULL");
	if (r.img == nullptr || r.len_img == 0)
		OCV_FAIL(VACCEL_EINVAL, "no image (img %s, %zu bytes)",
			 r.img == nullptr ? "NULL" : "set", r.len_img);
	const bool classify = r.task == Task::Classify;
	if (classify && (r.out_text == nullptr || r.len_out_text == 0))
		OCV_FAIL(VACCEL_EINVAL, "out_text is %s",
			 r.out_text == nullptr ? "NULL" : "0 bytes long");
	// Classification may skip the result image; the others have no
	// other output.
	const bool want_image = r.out_imgname != nullptr && r.len_out_imgname;
	if (!classify && !want_image)
		OCV_FAIL(VACCEL_EINVAL, "out_imgname is %s",
			 r.out_imgname == nullptr ? "NULL" : "0 bytes long");

	// Name the results first, so that a too-small out_imgname fails
	// before any work.
	const char *dir =
	    r.sess->rundir[0] != '\0' ? r.sess->rundir : vaccel_rundir();
	if (dir == nullptr)
		OCV_FAIL(VACCEL_EINVAL,
			 "session %" PRId64 " has no run directory",
			 r.sess->id);
	const uint64_t n = ++g_state->seq;
	const std::string base =
	    strformat("%s/%s-%" PRIu64, dir, task_name(r.task), n);
	const std::string img_path = base + ".png";
	if (want_image && img_path.size() + 1 > r.len_out_imgname)
		OCV_FAIL(VACCEL_ENOSPC,
			 "out_imgname has %zu bytes; the result path %s "
			 "needs %zu",
			 r.len_out_imgname, img_path.c_str(),
			 img_path.size() + 1);

	std::shared_ptr<Model> model = find_model(r.task, r.sess);
	const Settings st = settings_for(*model);
	if (classify && !st.normalization_set)
		OCV_FAIL(VACCEL_EINVAL,
			 "classify: %s: no preprocessing configured; set the "
			 "scaling the model was trained with: `mean` and `std` "
			 "(and `scale`, default 1/255) in a *.cfg file of the "
			 "model's resource, or VACCEL_OPENCV_MEAN and "
			 "VACCEL_OPENCV_STD (plugins/opencv/README.md)",
			 model->source().origin.c_str());
	const InputSpec spec = input_spec(*model, st);
	const cv::Mat image = ocv::decode_image(r.img, r.len_img);
	const cv::Mat input = ocv::make_input(image, spec, st);
	const cv::Mat out = infer(*model, input);
	if (st.save_tensors) {
		ocv::write_tensor(base + ".input.bin", input);
		ocv::write_tensor(base + ".output.bin", out);
	}
	ocv_debug("%s: %s, image %dx%d, input %s, output %s", task_name(r.task),
		  model->source().origin.c_str(), image.cols, image.rows,
		  ocv::shape_str(input).c_str(), ocv::shape_str(out).c_str());

	const auto &labels = model->source().labels;
	std::ostringstream summary;
	cv::Mat result;
	switch (r.task) {
	case Task::Classify: {
		float score = 0;
		const int best = ocv::top1(out, &score);
		if (!labels.empty() && labels.size() != out.total())
			OCV_FAIL(VACCEL_EINVAL,
				 "classify: %s has %zu outputs but its labels "
				 "have %zu lines: give the model a labels file "
				 "(*.txt in its resource) with one line per "
				 "output",
				 model->source().origin.c_str(), out.total(),
				 labels.size());
		const std::string label = ocv::label_of(labels, best);
		copy_out(label, r.out_text, r.len_out_text, "out_text");
		ocv_debug("classify: class %d (%s), score %g", best,
			  label.c_str(), static_cast<double>(score));
		if (want_image)
			result = ocv::draw_label(image, label);
		break;
	}
	case Task::Detect: {
		// The output's shape says what kind of detector it is.
		const auto ds =
		    ocv::is_text_map(out)
			? ocv::decode_text_map(out, image.size(), st)
			: ocv::decode_detections(
			      out, cv::Size(spec.width, spec.height),
			      image.size(), st);
		for (const auto &d : ds)
			summary << strformat(
			    "%d %.4f %.2f %.2f %.2f %.2f %s\n", d.cls,
			    static_cast<double>(d.score), d.box.x, d.box.y,
			    d.box.x + d.box.width, d.box.y + d.box.height,
			    ocv::label_of(labels, d.cls).c_str());
		result = ocv::draw_detections(image, ds, labels);
		break;
	}
	case Task::Segment: {
		const cv::Mat classes =
		    ocv::decode_segmentation(out, image.size());
		std::map<int, size_t> counts;
		for (int y = 0; y < classes.rows; y++) {
			const auto *row = classes.ptr<uint16_t>(y);
			for (int x = 0; x < classes.cols; x++)
				counts[row[x]]++;
		}
		for (const auto &[cls, count] : counts)
			summary << cls << ' ' << count << ' '
				<< ocv::label_of(labels, cls) << '\n';
		result = ocv::colorize_mask(classes, image, st.segment_alpha);
		break;
	}
	case Task::Pose: {
		auto kps = ocv::decode_pose(out, image.size());
		std::erase_if(kps, [&](const ocv::Keypoint &k) {
			return !(k.score >= st.pose_threshold);
		});
		for (const auto &k : kps)
			summary << strformat(
			    "%d %.4f %.2f %.2f %s\n", k.id,
			    static_cast<double>(k.score), k.pt.x, k.pt.y,
			    ocv::label_of(labels, k.id, "kp").c_str());
		result = ocv::draw_keypoints(image, kps, labels);
		break;
	}
	case Task::Depth: {
		double lo = 0;
		double hi = 0;
		result = ocv::decode_depth(out, image.size(), &lo, &hi);
		if (st.depth_colormap >= 0)
			cv::applyColorMap(result, result, st.depth_colormap);
		summary << strformat("min %g\nmax %g\n", lo, hi);
		break;
	}
	}

	if (!want_image)
		return;
	if (!classify)
		save_text(base + ".txt", summary.str());
	save_image(img_path, result);
	copy_out(img_path, r.out_imgname, r.len_out_imgname, "out_imgname");
	ocv_debug("%s: wrote %s", task_name(r.task), img_path.c_str());
}

// Runs @p r and maps every failure to a vAccel code and one logged line.
int guarded(const Request &r) noexcept
{
	const char *op = task_name(r.task);
	try {
		run(r);
		return VACCEL_OK;
	} catch (const PluginError &e) {
		ocv_error("%s: %s", op, e.what());
		return e.code();
	} catch (const cv::Exception &e) {
		ocv_error("%s: OpenCV: %s", op, e.what());
		return VACCEL_EBACKEND;
	} catch (const std::bad_alloc &) {
		ocv_error("%s: out of memory", op);
		return VACCEL_ENOMEM;
	} catch (const std::exception &e) {
		ocv_error("%s: %s", op, e.what());
		return VACCEL_EBACKEND;
	} catch (...) {
		ocv_error("%s: unknown exception", op);
		return VACCEL_EBACKEND;
	}
}

int ocv_classify(vaccel_session *sess, const void *img, unsigned char *out_text,
		 unsigned char *out_imgname, size_t len_img,
		 size_t len_out_text, size_t len_out_imgname)
{
	return guarded({Task::Classify, sess, img, len_img, out_text,
			len_out_text, out_imgname, len_out_imgname});
}

template <Task T>
int ocv_image_op(vaccel_session *sess, const void *img,
		 unsigned char *out_imgname, size_t len_img,
		 size_t len_out_imgname)
{
	return guarded(
	    {T, sess, img, len_img, nullptr, 0, out_imgname, len_out_imgname});
}

int ocv_resource_unregister(vaccel_resource * /*res*/, vaccel_session *sess)
{
	// The session's models may have taken labels from this resource too:
	// drop them all; the next call reloads.
	if (g_state != nullptr && sess != nullptr)
		g_state->cache.drop_session(sess->id);
	return VACCEL_OK;
}

int ocv_init()
{
	struct vaccel_op ops[] = {
	    vaccel::plugin::op<VACCEL_OP_IMAGE_CLASSIFY>(ocv_classify),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_DETECT>(
		ocv_image_op<Task::Detect>),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_SEGMENT>(
		ocv_image_op<Task::Segment>),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_POSE>(ocv_image_op<Task::Pose>),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_DEPTH>(
		ocv_image_op<Task::Depth>),
	};
	try {
		g_state = new PluginState();
	} catch (const std::bad_alloc &) {
		return VACCEL_ENOMEM;
	}
	int rc = vaccel_plugin_register_ops(ops, std::size(ops));
	if (rc != VACCEL_OK)
		delete std::exchange(g_state, nullptr);
	return rc;
}

int ocv_fini()
{
	delete std::exchange(g_state, nullptr);
	return VACCEL_OK;
}

} // namespace

VACCEL_PLUGIN(.name = "opencv", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = ocv_init,
	      .fini = ocv_fini,
	      .type = static_cast<vaccel_plugin_type_t>(VACCEL_PLUGIN_CPU |
							VACCEL_PLUGIN_SOFTWARE),
	      .resource_unregister = ocv_resource_unregister)
