// SPDX-License-Identifier: Apache-2.0
// Loading and caching of TorchScript models (see models.h).
#include "models.h"

#include "memory_cap.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <chrono>
#include <cinttypes>
#include <cstdlib>
#include <new>
#include <sstream>
#include <string_view>

#define torch_info(...) vaccel_info("[torch] " __VA_ARGS__)

namespace vtorch
{

namespace
{

bool ends_with(std::string_view s, std::string_view suffix)
{
	return s.size() >= suffix.size() &&
	       s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string blob_name(const vaccel_blob *b)
{
	if (b->name != nullptr)
		return b->name;
	return b->path != nullptr ? b->path : "";
}

// The blob's bytes as text.
bool blob_text(vaccel_blob *b, std::string &out)
{
	size_t size = 0;
	const uint8_t *data = vaccel_blob_data(b, &size);
	if (data == nullptr && size != 0)
		return false;
	out.assign(reinterpret_cast<const char *>(data), size);
	return true;
}

// c10::Error's message without libtorch's C++ backtrace, first line only.
std::string torch_message(const c10::Error &e)
{
	std::string msg = e.what_without_backtrace();
	if (const size_t nl = msg.find('\n'); nl != std::string::npos)
		msg.resize(nl);
	return msg;
}

// Splits the resource's files into the model, an optional *.txt of labels
// and an optional *.cfg of settings.
int load_sidecars(vaccel_resource *res, Model &m, vaccel_blob *&model_blob,
		  std::string &error)
{
	model_blob = nullptr;
	for (size_t i = 0; i < res->nr_blobs; i++) {
		vaccel_blob *b =
		    res->blobs != nullptr ? res->blobs[i] : nullptr;
		if (b == nullptr)
			continue;
		const std::string name = blob_name(b);
		if (ends_with(name, ".txt") || ends_with(name, ".cfg")) {
			std::string text;
			if (!blob_text(b, text)) {
				error = "cannot read " + name;
				return VACCEL_EIO;
			}
			if (ends_with(name, ".txt")) {
				m.labels = split_labels(text);
				m.has_labels = true;
			} else if (!parse_config(text, m.config, error)) {
				error = name + ": " + error;
				return VACCEL_EINVAL;
			}
		} else if (model_blob == nullptr) {
			model_blob = b;
		}
	}
	if (model_blob == nullptr) {
		error = "has no model file (only labels *.txt or settings "
			"*.cfg)";
		return VACCEL_EINVAL;
	}
	return VACCEL_OK;
}

int load_model(vaccel_resource *res, Model &m, std::string &error)
{
	vaccel_blob *blob = nullptr;
	if (int rc = load_sidecars(res, m, blob, error); rc != VACCEL_OK)
		return rc;
	if (int rc = resolve_device(m.device, error); rc != VACCEL_OK)
		return rc;
	m.resource = res;
	m.source = blob->path != nullptr ? blob->path : blob_name(blob);

	const auto start = std::chrono::steady_clock::now();
	try {
		if (blob->path != nullptr) {
			m.module = torch::jit::load(blob->path, m.device);
		} else {
			// An in-memory resource: libtorch reads from a stream.
			std::string bytes;
			if (!blob_text(blob, bytes)) {
				error = "cannot read " + m.source;
				return VACCEL_EIO;
			}
			std::istringstream stream(bytes);
			m.module = torch::jit::load(stream, m.device);
		}
		m.module.eval();
	} catch (const c10::Error &e) {
		error = m.source + " is not a TorchScript model libtorch " +
			TORCH_VERSION + " can load: " + torch_message(e);
		return VACCEL_EINVAL;
	}
	const auto ms = std::chrono::duration<double, std::milli>(
			    std::chrono::steady_clock::now() - start)
			    .count();
	torch_info("loaded model %s (resource %" PRId64 ") on %s in %.1f ms",
		   m.source.c_str(), res->id, m.device.str().c_str(), ms);
	return VACCEL_OK;
}

} // namespace

int resolve_device(c10::Device &out, std::string &error)
{
	DeviceSpec spec;
	if (!parse_device(std::getenv("VACCEL_TORCH_DEVICE"), spec, error)) {
		error = "VACCEL_TORCH_DEVICE: " + error;
		return VACCEL_EINVAL;
	}
	switch (spec.kind) {
	case DeviceSpec::Kind::Cpu:
		out = c10::Device(c10::kCPU);
		return VACCEL_OK;
	case DeviceSpec::Kind::Auto:
		if (!torch::cuda::is_available()) {
			out = c10::Device(c10::kCPU);
			return VACCEL_OK;
		}
		out = c10::Device(c10::kCUDA, 0);
		return apply_memory_cap(error);
	case DeviceSpec::Kind::Cuda:
		break;
	}
	if (!torch::cuda::is_available()) {
		error = "VACCEL_TORCH_DEVICE asks for CUDA, but this libtorch "
			"(" TORCH_VERSION
			") sees no CUDA device (CPU-only build, no GPU or no "
			"driver)";
		return VACCEL_ENODEV;
	}
	const int index = spec.index < 0 ? 0 : spec.index;
	// size_t in libtorch 1.x, c10::DeviceIndex (int8_t) in 2.x.
	const auto count = static_cast<long>(torch::cuda::device_count());
	if (index >= count) {
		error = "VACCEL_TORCH_DEVICE asks for CUDA device " +
			std::to_string(index) + " but there are " +
			std::to_string(count);
		return VACCEL_ENODEV;
	}
	out = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
	return apply_memory_cap(error);
}

int ModelCache::get(vaccel_resource *res, ModelPtr &out, bool &loaded_now,
		    std::string &error)
{
	loaded_now = false;
	std::shared_ptr<std::mutex> loading;
	{
		std::lock_guard lock(mu_);
		if (auto it = models_.find(res->id);
		    it != models_.end() && it->second->resource == res) {
			out = it->second;
			return VACCEL_OK;
		}
		auto &slot = loading_[res->id];
		if (!slot)
			slot = std::make_shared<std::mutex>();
		loading = slot;
	}

	std::lock_guard load_lock(*loading);
	{
		// Another thread may have loaded it while this one waited.
		std::lock_guard lock(mu_);
		if (auto it = models_.find(res->id);
		    it != models_.end() && it->second->resource == res) {
			out = it->second;
			return VACCEL_OK;
		}
	}

	auto model = std::make_shared<Model>();
	int rc = load_model(res, *model, error);
	std::lock_guard lock(mu_);
	if (auto it = loading_.find(res->id);
	    it != loading_.end() && it->second == loading)
		loading_.erase(it);
	if (rc != VACCEL_OK)
		return rc;
	models_[res->id] = model;
	out = std::move(model);
	loaded_now = true;
	return VACCEL_OK;
}

bool ModelCache::drop(vaccel_id_t id)
{
	ModelPtr victim;
	{
		std::lock_guard lock(mu_);
		auto it = models_.find(id);
		if (it == models_.end())
			return false;
		victim = std::move(it->second);
		models_.erase(it);
	}
	// The module is freed here, outside the lock, unless a run still
	// holds it.
	torch_info("freed the model of resource %" PRId64, id);
	return true;
}

void ModelCache::clear()
{
	std::unordered_map<vaccel_id_t, ModelPtr> victims;
	{
		std::lock_guard lock(mu_);
		victims.swap(models_);
		loading_.clear();
	}
}

size_t ModelCache::size()
{
	std::lock_guard lock(mu_);
	return models_.size();
}

} // namespace vtorch
