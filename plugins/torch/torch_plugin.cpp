// SPDX-License-Identifier: Apache-2.0
// The torch plugin: vAccel ops on libtorch (PyTorch's C++ library).
//
//  - VACCEL_OP_TORCH_MODEL_LOAD / _RUN: TorchScript models from MODEL
//    resources, run on any number of input tensors; tuple and list results
//    become several output tensors. Models are cached per resource
//    (models.h), so a model is read once however many runs use it.
//  - VACCEL_OP_IMAGE_CLASSIFY: decodes the image (OpenCV, optional), turns
//    it into the input the classifier expects (settings.h), runs the
//    session's MODEL resource and writes the top label, as upstream's torch
//    plugin does: the label text in out_text, "PLACEHOLDER" in
//    out_imgname. Labels come from a *.txt file of the model resource, or
//    the file VACCEL_TORCH_LABELS names.
//  - VACCEL_OP_TORCH_SGEMM: out = A (MxK) x B (KxN) [+ C (MxN)], float32.
//
// VACCEL_TORCH_DEVICE picks the device (auto, cpu, cuda, cuda:N) when a
// model is loaded; VACCEL_TORCH_THREADS sets libtorch's intra-op threads at
// plugin init. plugins/torch/README.md documents every variable.
//
// Inputs are never trusted: every pointer, size, type and shape is checked,
// and libtorch's exceptions become VACCEL_E* codes with a message logged.
#include "image.h"
#include "memory_cap.h"
#include "models.h"
#include "settings.h"
#include "tensors.h"

#include <vaccel.h>
#include <vaccel/plugin_ops.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/version.h>

#include <sys/stat.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#define torch_debug(...) vaccel_debug("[torch] " __VA_ARGS__)
#define torch_info(...) vaccel_info("[torch] " __VA_ARGS__)
#define torch_warn(...) vaccel_warn("[torch] " __VA_ARGS__)
#define torch_error(...) vaccel_error("[torch] " __VA_ARGS__)

// share/vaccel relative to the directory this plugin is installed in.
#ifndef VACCEL_TORCH_DATA_REL
#define VACCEL_TORCH_DATA_REL "../share/vaccel"
#endif

namespace
{

// The ImageNet labels shipped in share/vaccel/labels, found relative to
// this plugin's own file: where it is installed (any prefix, the .debs
// included) and in a build tree (build/lib -> build/share/vaccel).
std::string default_labels()
{
	constexpr const char *kFile = "/labels/imagenet.txt";
	Dl_info info{};
	if (dladdr(reinterpret_cast<void *>(&default_labels), &info) == 0 ||
	    info.dli_fname == nullptr)
		return std::string("/usr/share/vaccel") + kFile;
	const std::string self(info.dli_fname);
	const std::string dir = self.substr(0, self.find_last_of('/') + 1);
	for (const char *rel : {VACCEL_TORCH_DATA_REL, "../share/vaccel"}) {
		const std::string path = dir + rel + kFile;
		if (char *real = ::realpath(path.c_str(), nullptr)) {
			std::string found(real); // for messages: no ../..
			std::free(real);
			return found;
		}
	}
	return dir + VACCEL_TORCH_DATA_REL + kFile; // reported as missing
}

using vtorch::ModelPtr;

// Written into out_imgname by classification, as upstream's torch plugin.
constexpr const char *kImageName = "PLACEHOLDER";

// Labels files read by classification, re-read when they change on disk.
class LabelFiles
{
public:
	// The lines of @p path. Returns VACCEL_OK or VACCEL_ENOENT.
	int get(const std::string &path,
		std::shared_ptr<const std::vector<std::string>> &out,
		std::string &error)
	{
		struct stat st {
		};
		if (path.empty() || stat(path.c_str(), &st) != 0 ||
		    !S_ISREG(st.st_mode)) {
			error = "labels file '" + path +
				"' does not exist; set VACCEL_TORCH_LABELS "
				"or add a .txt file to the model resource";
			return VACCEL_ENOENT;
		}
		std::lock_guard lock(mu_);
		if (auto it = files_.find(path);
		    it != files_.end() && it->second.mtime == st.st_mtime &&
		    it->second.size == st.st_size) {
			out = it->second.labels;
			return VACCEL_OK;
		}
		std::ifstream in(path, std::ios::binary);
		std::stringstream text;
		text << in.rdbuf();
		if (!in) {
			error = "cannot read labels file '" + path + "'";
			return VACCEL_ENOENT;
		}
		auto labels = std::make_shared<const std::vector<std::string>>(
		    vtorch::split_labels(text.str()));
		files_[path] = Entry{st.st_mtime, st.st_size, labels};
		out = std::move(labels);
		return VACCEL_OK;
	}

	void clear()
	{
		std::lock_guard lock(mu_);
		files_.clear();
	}

private:
	struct Entry {
		time_t mtime;
		off_t size;
		std::shared_ptr<const std::vector<std::string>> labels;
	};
	std::mutex mu_;
	std::unordered_map<std::string, Entry> files_;
};

// Plugin-wide state. The plugin is linked with -z nodelete (libtorch cannot
// be unloaded), so fini empties the state and a later init starts clean.
// The state itself is never destroyed: at exit, the runtime calls fini and
// the resource hooks from libvaccel's own destructor, which runs after this
// library's static objects are gone.
struct State {
	vtorch::ModelCache models;
	LabelFiles labels;
};
State &state()
{
	static State *s = new State;
	return *s;
}

// At exit, frees the models while libtorch is still alive: this library's
// destructors run before those of libtorch, which it depends on, and both
// before libvaccel's exit-time cleanup.
struct ExitRelease {
	ExitRelease() = default;
	ExitRelease(const ExitRelease &) = delete;
	ExitRelease &operator=(const ExitRelease &) = delete;
	~ExitRelease()
	{
		try {
			state().models.clear();
		} catch (...) {
			// Nothing can be reported this late.
		}
	}
} g_exit_release;

void write_text(unsigned char *out, size_t len, const std::string &text)
{
	if (out == nullptr || len == 0)
		return;
	std::snprintf(reinterpret_cast<char *>(out), len, "%s", text.c_str());
}

// The useful part of a libtorch error message. Errors raised inside the
// TorchScript interpreter carry a long traceback and end with the original
// error ("RuntimeError: ..."): keep that; otherwise the first line.
std::string first_line(const char *what)
{
	const std::string msg = what != nullptr ? what : "";
	size_t start = std::string::npos;
	for (size_t pos = 0; pos < msg.size();) {
		const size_t nl = msg.find('\n', pos);
		const size_t end = nl == std::string::npos ? msg.size() : nl;
		const size_t colon = msg.find("Error: ", pos);
		if (colon != std::string::npos && colon < end &&
		    msg.find(' ', pos) > colon)
			start = pos;
		pos = end + 1;
	}
	if (start == std::string::npos)
		return msg.substr(0, msg.find('\n'));
	std::string tail = msg.substr(start);
	while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' '))
		tail.pop_back();
	for (char &c : tail)
		if (c == '\n')
			c = ' ';
	return tail;
}

// libtorch reports exhausted host or device memory with this phrase
// (c10::OutOfMemoryError, or the interpreter's rethrown copy of it).
bool is_oom(const std::string &msg)
{
	return msg.find("out of memory") != std::string::npos;
}

// Runs @p body, turning exceptions into error codes: no exception may
// leave the plugin.
template <class Body> int guarded(const char *op, Body &&body)
{
	try {
		return body();
	} catch (const std::bad_alloc &) {
		torch_error("%s: out of memory", op);
		return VACCEL_ENOMEM;
	} catch (const c10::Error &e) {
		const std::string msg = first_line(e.what_without_backtrace());
		torch_error("%s: libtorch: %s", op, msg.c_str());
		return is_oom(msg) ? VACCEL_ENOMEM : VACCEL_EBACKEND;
	} catch (const std::exception &e) {
		torch_error("%s: %s", op, first_line(e.what()).c_str());
		return VACCEL_EBACKEND;
	} catch (...) {
		torch_error("%s: unknown exception", op);
		return VACCEL_EBACKEND;
	}
}

int get_model(const char *op, vaccel_resource *res, ModelPtr &model)
{
	bool loaded_now = false;
	std::string error;
	int rc = state().models.get(res, model, loaded_now, error);
	if (rc != VACCEL_OK) {
		torch_error("resource %" PRId64 ": %s", res->id, error.c_str());
		return rc;
	}
	if (!loaded_now)
		torch_debug("%s: using the loaded model of resource %" PRId64,
			    op, res->id);
	return VACCEL_OK;
}

// Runs the model on @p inputs (moved to the model's device). Errors of the
// model on its inputs (wrong shape, type or count) are the caller's:
// VACCEL_EINVAL. Messages name the model's file: the op's failure message
// (vaccel_last_error()) names the op and the plugin.
int forward(const vtorch::Model &model, std::vector<at::Tensor> &inputs,
	    c10::IValue &result)
{
	std::vector<c10::IValue> args;
	args.reserve(inputs.size());
	for (auto &t : inputs)
		args.emplace_back(model.device.is_cpu() ? t
							: t.to(model.device));
	try {
		// Upstream's plugin runs without the JIT's graph optimizations
		// (profiling and fusion); VACCEL_TORCH_JIT_OPTIMIZE=1 enables
		// them. The guard restores the thread's previous setting.
		torch::jit::GraphOptimizerEnabledGuard opt(
		    vtorch::env_flag("VACCEL_TORCH_JIT_OPTIMIZE", false));
		c10::InferenceMode inference;
		// Which thread ran it, and its how-many'th: a thread's first
		// run on a GPU pays for that thread's library handles
		// (debug level; cold-start traces read it).
		thread_local uint64_t runs = 0;
		const auto t0 = std::chrono::steady_clock::now();
		result = model.module.get_method("forward")(std::move(args));
		torch_debug("forward on thread %ld (its run %" PRIu64
			    "): %.3f ms to return",
			    static_cast<long>(::gettid()), ++runs,
			    std::chrono::duration<double, std::milli>(
				std::chrono::steady_clock::now() - t0)
				.count());
	} catch (const std::bad_alloc &) {
		throw; // guarded() reports it
	} catch (const std::exception &e) {
		// c10::Error, or std::runtime_error: the interpreter rethrows
		// the errors of the ops it runs as that. Running out of
		// (device) memory is not the caller's fault.
		const auto *c10e = dynamic_cast<const c10::Error *>(&e);
		const std::string msg =
		    first_line(c10e != nullptr ? c10e->what_without_backtrace()
					       : e.what());
		if (is_oom(msg)) {
			torch_error("model %s: %s", model.source.c_str(),
				    msg.c_str());
			return VACCEL_ENOMEM;
		}
		torch_error("model %s: rejected its inputs: %s",
			    model.source.c_str(), msg.c_str());
		return VACCEL_EINVAL;
	}
	return VACCEL_OK;
}

/* ---- torch model load / run --------------------------------------------- */

int torch_model_load(vaccel_session *sess, vaccel_resource *model)
{
	if (sess == nullptr || model == nullptr) {
		torch_error("model_load: session and model must not be NULL");
		return VACCEL_EINVAL;
	}
	return guarded("model_load", [&]() -> int {
		ModelPtr m;
		return get_model("model_load", model, m);
	});
}

void delete_outputs(vaccel_torch_tensor **outputs, int n)
{
	for (int i = 0; i < n; i++) {
		if (outputs[i] != nullptr)
			vaccel_torch_tensor_delete(outputs[i]);
		outputs[i] = nullptr;
	}
}

int model_run(vaccel_resource *model, vaccel_torch_tensor *const *inputs,
	      int nr_inputs, vaccel_torch_tensor **outputs, int nr_outputs)
{
	ModelPtr m;
	if (int rc = get_model("model_run", model, m); rc != VACCEL_OK)
		return rc;

	std::vector<at::Tensor> in(static_cast<size_t>(nr_inputs));
	for (int i = 0; i < nr_inputs; i++) {
		std::string error;
		if (int rc = vtorch::to_torch(
			inputs[i], in[static_cast<size_t>(i)], error);
		    rc != VACCEL_OK) {
			torch_error("model %s: input %d %s", m->source.c_str(),
				    i, error.c_str());
			return rc;
		}
	}

	c10::IValue result;
	if (int rc = forward(*m, in, result); rc != VACCEL_OK)
		return rc;

	std::vector<at::Tensor> out;
	std::string error;
	if (int rc = vtorch::flatten_outputs(result, out, error);
	    rc != VACCEL_OK) {
		torch_error("model %s: %s", m->source.c_str(), error.c_str());
		return rc;
	}
	if (static_cast<size_t>(nr_outputs) > out.size()) {
		torch_error("model %s: %d outputs requested but the model "
			    "returned %zu tensors",
			    m->source.c_str(), nr_outputs, out.size());
		return VACCEL_EINVAL;
	}
	if (static_cast<size_t>(nr_outputs) < out.size())
		torch_debug("model_run: returning %d of the model's %zu "
			    "outputs",
			    nr_outputs, out.size());

	for (int i = 0; i < nr_outputs; i++) {
		if (int rc = vtorch::from_torch(out[static_cast<size_t>(i)],
						&outputs[i], error);
		    rc != VACCEL_OK) {
			torch_error("model %s: output %d %s", m->source.c_str(),
				    i, error.c_str());
			delete_outputs(outputs, nr_outputs);
			return rc;
		}
	}
	return VACCEL_OK;
}

int torch_model_run(vaccel_session *sess, vaccel_resource *model,
		    const vaccel_torch_buffer *run_options,
		    vaccel_torch_tensor *const *inputs, int nr_inputs,
		    vaccel_torch_tensor **outputs, int nr_outputs)
{
	if (sess == nullptr || model == nullptr) {
		torch_error("model_run: session and model must not be NULL");
		return VACCEL_EINVAL;
	}
	if (nr_inputs < 0 || nr_outputs < 0 ||
	    (nr_inputs > 0 && inputs == nullptr) ||
	    (nr_outputs > 0 && outputs == nullptr)) {
		torch_error("model_run: bad tensor arrays (nr_inputs %d, "
			    "nr_outputs %d)",
			    nr_inputs, nr_outputs);
		return VACCEL_EINVAL;
	}
	if (run_options != nullptr && run_options->size > 0)
		torch_debug("model_run: ignoring %zu bytes of run options",
			    run_options->size);
	for (int i = 0; i < nr_outputs; i++)
		outputs[i] = nullptr;

	int rc = guarded("model_run", [&]() -> int {
		return model_run(model, inputs, nr_inputs, outputs, nr_outputs);
	});
	if (rc != VACCEL_OK)
		delete_outputs(outputs, nr_outputs);
	return rc;
}

/* ---- image classification ------------------------------------------------ */

int classify(vaccel_session *sess, const void *img, size_t len_img,
	     std::string &label)
{
	vaccel_resource *res = nullptr;
	int rc =
	    vaccel_session_resource_by_type(sess, &res, VACCEL_RESOURCE_MODEL);
	if (rc != VACCEL_OK || res == nullptr) {
		torch_error("image_classify: session %" PRId64
			    " has no MODEL resource: register a TorchScript "
			    "classifier with it",
			    sess->id);
		return rc == VACCEL_OK || rc == VACCEL_ENOENT ? VACCEL_ENOENT
							      : rc;
	}
	ModelPtr m;
	if (rc = get_model("image_classify", res, m); rc != VACCEL_OK)
		return rc;

	// Labels first: a missing file is reported before any work.
	std::shared_ptr<const std::vector<std::string>> labels;
	std::string error;
	if (m->has_labels) {
		labels = std::shared_ptr<const std::vector<std::string>>(
		    m, &m->labels);
	} else if (rc = state().labels.get(
		       vtorch::labels_path(default_labels().c_str()), labels,
		       error);
		   rc != VACCEL_OK) {
		torch_error("image_classify: %s", error.c_str());
		return rc;
	}

	vtorch::ImageSettings settings;
	if (!vtorch::image_settings(m->config, settings, error)) {
		torch_error("image_classify: %s", error.c_str());
		return VACCEL_EINVAL;
	}
	std::vector<float> chw;
	rc = vtorch::image_to_chw(img, len_img, settings, chw, error);
	if (rc != VACCEL_OK) {
		torch_error("image_classify: %s", error.c_str());
		return rc;
	}

	std::vector<at::Tensor> in{at::from_blob(
	    chw.data(), {1, settings.channels, settings.height, settings.width},
	    at::TensorOptions().dtype(at::kFloat))};
	c10::IValue result;
	if (rc = forward(*m, in, result); rc != VACCEL_OK)
		return rc;
	std::vector<at::Tensor> out;
	if (rc = vtorch::flatten_outputs(result, out, error); rc != VACCEL_OK) {
		torch_error("model %s: %s", m->source.c_str(), error.c_str());
		return rc;
	}
	if (out.empty() || !out[0].defined() || out[0].numel() == 0 ||
	    !at::isFloatingType(out[0].scalar_type()) ||
	    (out[0].dim() > 1 && out[0].numel() != out[0].size(-1))) {
		torch_error("model %s: its first output is not one row of "
			    "class scores",
			    m->source.c_str());
		return VACCEL_EINVAL;
	}
	const at::Tensor scores = out[0].to(at::kCPU, at::kFloat).reshape(-1);
	// A 10-class model read against 1000 ImageNet labels gives a wrong
	// label that looks right: refuse the mismatch whatever the class.
	if (scores.numel() != static_cast<int64_t>(labels->size())) {
		torch_error(
		    "model %s: has %" PRId64
		    " outputs but its labels (%s) have %zu lines: give "
		    "the model its own labels file (a *.txt in its "
		    "resource) with one line per output",
		    m->source.c_str(), scores.numel(),
		    m->has_labels
			? "the resource's *.txt"
			: vtorch::labels_path(default_labels().c_str()).c_str(),
		    labels->size());
		return VACCEL_EINVAL;
	}
	const int64_t best = scores.argmax().item<int64_t>();
	const float prob = at::softmax(scores, 0)[best].item<float>();
	label = (*labels)[static_cast<size_t>(best)];
	torch_debug("image_classify: prediction: %s %.2f%%", label.c_str(),
		    100.0 * static_cast<double>(prob));
	return VACCEL_OK;
}

int torch_image_classify(vaccel_session *sess, const void *img,
			 unsigned char *out_text, unsigned char *out_imgname,
			 size_t len_img, size_t len_out_text,
			 size_t len_out_imgname)
{
	if (sess == nullptr || img == nullptr || len_img == 0) {
		torch_error("image_classify: session and image must not be "
			    "NULL or empty");
		return VACCEL_EINVAL;
	}
	if (!vtorch::image_decoding_available()) {
		torch_error("image_classify: this build of the torch plugin "
			    "has no image decoder (built without OpenCV)");
		return VACCEL_ENOTSUP;
	}
	std::string label;
	int rc = guarded("image_classify", [&]() -> int {
		return classify(sess, img, len_img, label);
	});
	if (rc != VACCEL_OK)
		return rc;
	if (out_text != nullptr && len_out_text > 0 &&
	    label.size() >= len_out_text)
		torch_warn("image_classify: label '%s' truncated to %zu bytes",
			   label.c_str(), len_out_text - 1);
	write_text(out_text, len_out_text, label);
	write_text(out_imgname, len_out_imgname, kImageName);
	return VACCEL_OK;
}

/* ---- sgemm --------------------------------------------------------------- */

// @p t as a rows x cols float matrix, or an error.
int matrix(const char *name, vaccel_torch_tensor **t, int64_t rows,
	   int64_t cols, at::Tensor &out)
{
	std::string error;
	if (t == nullptr || *t == nullptr) {
		torch_error("sgemm: %s is NULL", name);
		return VACCEL_EINVAL;
	}
	if ((*t)->data_type != VACCEL_TORCH_FLOAT) {
		torch_error("sgemm: %s must be VACCEL_TORCH_FLOAT, not %d",
			    name, static_cast<int>((*t)->data_type));
		return VACCEL_EINVAL;
	}
	if (int rc = vtorch::to_torch(*t, out, error); rc != VACCEL_OK) {
		torch_error("sgemm: %s %s", name, error.c_str());
		return rc;
	}
	if (out.numel() != rows * cols) {
		torch_error("sgemm: %s has %" PRId64
			    " elements, expected %" PRId64 "x%" PRId64,
			    name, static_cast<int64_t>(out.numel()), rows,
			    cols);
		return VACCEL_EINVAL;
	}
	out = out.reshape({rows, cols});
	return VACCEL_OK;
}

int torch_sgemm(vaccel_session *sess, vaccel_torch_tensor **in_A,
		vaccel_torch_tensor **in_B, vaccel_torch_tensor **in_C, int M,
		int N, int K, vaccel_torch_tensor **out)
{
	if (sess == nullptr || out == nullptr) {
		torch_error("sgemm: session and out must not be NULL");
		return VACCEL_EINVAL;
	}
	*out = nullptr;
	if (M <= 0 || N <= 0 || K <= 0) {
		torch_error("sgemm: M, N and K must be positive (%d, %d, %d)",
			    M, N, K);
		return VACCEL_EINVAL;
	}
	return guarded("sgemm", [&]() -> int {
		at::Tensor a;
		at::Tensor b;
		at::Tensor c;
		int rc = matrix("A", in_A, M, K, a);
		if (rc == VACCEL_OK)
			rc = matrix("B", in_B, K, N, b);
		const bool has_c = in_C != nullptr && *in_C != nullptr;
		if (rc == VACCEL_OK && has_c)
			rc = matrix("C", in_C, M, N, c);
		if (rc != VACCEL_OK)
			return rc;

		c10::Device device(c10::kCPU);
		std::string error;
		if (rc = vtorch::resolve_device(device, error);
		    rc != VACCEL_OK) {
			torch_error("sgemm: %s", error.c_str());
			return rc;
		}
		c10::InferenceMode inference;
		at::Tensor r =
		    has_c ? at::addmm(c.to(device), a.to(device), b.to(device))
			  : at::mm(a.to(device), b.to(device));
		if (rc = vtorch::from_torch(r, out, error); rc != VACCEL_OK) {
			torch_error("sgemm: result %s", error.c_str());
			return rc;
		}
		return VACCEL_OK;
	});
}

/* ---- plugin -------------------------------------------------------------- */

int torch_resource_unregister(vaccel_resource *res, vaccel_session *sess)
{
	(void)sess;
	// A model stays loaded while any session still has the resource.
	if (res == nullptr || res->type != VACCEL_RESOURCE_MODEL ||
	    vaccel_resource_refcount(res) > 0)
		return VACCEL_OK;
	try {
		state().models.drop(res->id);
	} catch (...) {
		torch_error("could not free the model of resource %" PRId64,
			    res->id);
	}
	return VACCEL_OK;
}

int torch_init()
{
	try {
		int threads = 0;
		std::string error;
		if (!vtorch::env_positive_int("VACCEL_TORCH_THREADS", 0,
					      threads, error))
			torch_warn("%s; keeping libtorch's default",
				   error.c_str());
		else if (threads > 0)
			at::set_num_threads(threads);
		torch_info("libtorch %s, %d intra-op threads%s", TORCH_VERSION,
			   at::get_num_threads(),
			   vtorch::image_decoding_available()
			       ? ""
			       : ", no image decoder");
		// Now, not at the first model: a model's own code can make
		// CUDA tensors whatever device the plugin picks.
		if (vtorch::apply_memory_cap(error) != VACCEL_OK)
			torch_error("%s", error.c_str());
	} catch (const std::exception &e) {
		torch_error("init: %s", first_line(e.what()).c_str());
		return VACCEL_EBACKEND;
	}

	vaccel_op ops[] = {
	    vaccel::plugin::op<VACCEL_OP_TORCH_MODEL_LOAD>(torch_model_load),
	    vaccel::plugin::op<VACCEL_OP_TORCH_MODEL_RUN>(torch_model_run),
	    vaccel::plugin::op<VACCEL_OP_TORCH_SGEMM>(torch_sgemm),
	    vaccel::plugin::op<VACCEL_OP_IMAGE_CLASSIFY>(torch_image_classify),
	};
	return vaccel_plugin_register_ops(ops, sizeof(ops) / sizeof(ops[0]));
}

int torch_fini()
{
	try {
		state().models.clear();
		state().labels.clear();
	} catch (...) {
		torch_error("fini: could not free the loaded models");
	}
	return VACCEL_OK;
}

} // namespace

VACCEL_PLUGIN(.name = "torch", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = torch_init,
	      .fini = torch_fini,
	      .type = static_cast<vaccel_plugin_type_t>(VACCEL_PLUGIN_TORCH |
							VACCEL_PLUGIN_CPU |
							VACCEL_PLUGIN_GPU),
	      .resource_unregister = torch_resource_unregister)
