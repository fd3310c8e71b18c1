// SPDX-License-Identifier: Apache-2.0
// Loaded models and their cache.
//
// cv::dnn::Net::forward() must not run on one Net from two threads at
// once, so a Model keeps a small pool of Nets read from the same bytes: a
// call borrows an idle Net, or loads another while fewer than max_nets
// exist, or waits for one to come back. Concurrent calls on one model thus
// run in parallel up to max_nets and queue after that.
//
// The cache maps (session id, resource id) to the Model, and, for models
// named by environment variables, the file path. A Model is held by
// shared_ptr, so that dropping an entry (the resource was unregistered)
// never frees a Net a running call still uses.
#pragma once

#include "onnx_input.h"
#include "settings.h"

#include <vaccel.h>

#include <opencv2/dnn.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace ocv
{

// Everything a Model is built from.
struct ModelSource {
	std::string origin; // for messages, e.g. "resource 3 (net.onnx)"
	std::vector<unsigned char> onnx;
	std::vector<std::string> labels;
	KeyValues settings; // from the resource's .cfg file, if any
	std::string settings_origin;
};

class Model
{
public:
	// Loads the first Net; throws PluginError (VACCEL_EINVAL) if OpenCV
	// cannot read the bytes as an ONNX model.
	Model(ModelSource src, size_t max_nets);

	// A borrowed Net, returned to the pool when destroyed.
	class Lease
	{
	public:
		Lease(Model &m, cv::dnn::Net net) : m_(&m), net_(std::move(net))
		{
		}
		Lease(const Lease &) = delete;
		Lease &operator=(const Lease &) = delete;
		~Lease() { m_->give_back(std::move(net_)); }
		cv::dnn::Net &net() { return net_; }

	private:
		Model *m_;
		cv::dnn::Net net_;
	};

	// Blocks while max_nets Nets are all in use.
	std::unique_ptr<Lease> acquire();

	[[nodiscard]] const ModelSource &source() const { return src_; }
	[[nodiscard]] const std::optional<OnnxInput> &input() const
	{
		return input_;
	}
	[[nodiscard]] size_t nets_created() const;

private:
	cv::dnn::Net load() const;
	void give_back(cv::dnn::Net net);

	const ModelSource src_;
	const std::optional<OnnxInput> input_;
	const size_t max_nets_;
	mutable std::mutex mu_;
	std::condition_variable cv_;
	std::vector<cv::dnn::Net> idle_;
	size_t created_ = 0;
};

class ModelCache
{
public:
	struct Key {
		vaccel_id_t session = 0; // 0 for models named by path
		vaccel_id_t resource = 0;
		std::string path;
		bool operator<(const Key &o) const
		{
			return std::tie(session, resource, path) <
			       std::tie(o.session, o.resource, o.path);
		}
	};

	// The cached Model for @p key, built with @p make on first use. Two
	// calls for a missing key build it once: the second waits. A failed
	// build is not cached; its exception propagates.
	std::shared_ptr<Model> get(const Key &key,
				   const std::function<ModelSource()> &make,
				   size_t max_nets);

	// Forgets every model of @p session.
	void drop_session(vaccel_id_t session);
	void clear();
	size_t size() const;

private:
	struct Slot {
		std::mutex load_mu;
		std::shared_ptr<Model> model;
	};
	mutable std::mutex mu_;
	std::map<Key, std::shared_ptr<Slot>> slots_;
};

} // namespace ocv
