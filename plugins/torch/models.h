// SPDX-License-Identifier: Apache-2.0
// The torch plugin's loaded models, one per MODEL resource, keyed by the
// resource's id. A model is loaded on the first op that needs it (or by
// vaccel_torch_model_load()) and kept until the resource is unregistered
// from its last session or the plugin is unloaded. Lookups and loads are
// thread-safe; a resource is loaded once even when many threads ask for it
// at the same time.
#pragma once

#include "settings.h"

#include <vaccel.h>

#include <torch/script.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace vtorch
{

struct Model {
	torch::jit::Module module;
	c10::Device device{c10::kCPU};
	std::string source; // path or blob name, for messages
	KeyValues config;   // the resource's *.cfg, if any
	bool has_labels = false;
	std::vector<std::string> labels; // the resource's *.txt, if any
	const vaccel_resource *resource = nullptr;
};

using ModelPtr = std::shared_ptr<const Model>;

// The device VACCEL_TORCH_DEVICE asks for, checked against what libtorch
// offers. Returns VACCEL_OK, VACCEL_EINVAL (malformed value) or
// VACCEL_ENODEV (CUDA asked for but not available).
int resolve_device(c10::Device &out, std::string &error);

class ModelCache
{
public:
	// The model of @p res, loading it first if needed (@p loaded_now
	// tells). Returns VACCEL_OK, VACCEL_EINVAL (no model file, not a
	// TorchScript model, bad configuration), VACCEL_ENODEV (device not
	// available), VACCEL_ENOMEM or VACCEL_EBACKEND.
	int get(vaccel_resource *res, ModelPtr &out, bool &loaded_now,
		std::string &error);

	// Forgets the model of resource @p id (in-flight runs keep their
	// reference). Returns true if there was one.
	bool drop(vaccel_id_t id);
	void clear();
	size_t size();

private:
	std::mutex mu_; // guards both maps
	std::unordered_map<vaccel_id_t, ModelPtr> models_;
	// One lock per resource being loaded, so that concurrent first uses
	// of a resource load it once while other resources load in parallel.
	std::unordered_map<vaccel_id_t, std::shared_ptr<std::mutex>> loading_;
};

} // namespace vtorch
