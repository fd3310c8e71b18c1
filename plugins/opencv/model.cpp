// SPDX-License-Identifier: Apache-2.0
#include "model.h"

#include "common.h"

namespace ocv
{

Model::Model(ModelSource src, size_t max_nets)
    : src_(std::move(src)),
      input_(read_onnx_input(src_.onnx.data(), src_.onnx.size())),
      max_nets_(max_nets == 0 ? 1 : max_nets)
{
	// Load one Net now so that a model OpenCV cannot read fails the call
	// that first uses it, and is never cached.
	idle_.push_back(load());
	created_ = 1;
}

cv::dnn::Net Model::load() const
{
	if (src_.onnx.empty())
		OCV_FAIL(VACCEL_EINVAL,
			 "%s is not an ONNX model OpenCV can load: it is empty",
			 src_.origin.c_str());
	try {
		cv::dnn::Net net = cv::dnn::readNetFromONNX(
		    reinterpret_cast<const char *>(src_.onnx.data()),
		    src_.onnx.size());
		if (net.empty())
			OCV_FAIL(VACCEL_EINVAL,
				 "%s: OpenCV read no network from it",
				 src_.origin.c_str());
		return net;
	} catch (const cv::Exception &e) {
		// OpenCV's message spans lines; its first line has the cause.
		std::string why = e.err.empty() ? e.what() : e.err;
		if (size_t nl = why.find('\n'); nl != std::string::npos)
			why.resize(nl);
		OCV_FAIL(VACCEL_EINVAL,
			 "%s is not an ONNX model OpenCV can "
			 "load: %s",
			 src_.origin.c_str(), why.c_str());
	}
}

std::unique_ptr<Model::Lease> Model::acquire()
{
	std::unique_lock lock(mu_);
	for (;;) {
		if (!idle_.empty()) {
			cv::dnn::Net net = std::move(idle_.back());
			idle_.pop_back();
			return std::make_unique<Lease>(*this, std::move(net));
		}
		if (created_ < max_nets_)
			break;
		cv_.wait(lock);
	}
	// Load another Net outside the lock: reading a model takes a while.
	created_++;
	lock.unlock();
	try {
		return std::make_unique<Lease>(*this, load());
	} catch (...) {
		lock.lock();
		created_--;
		cv_.notify_one();
		throw;
	}
}

void Model::give_back(cv::dnn::Net net)
{
	{
		std::lock_guard lock(mu_);
		idle_.push_back(std::move(net));
	}
	cv_.notify_one();
}

size_t Model::nets_created() const
{
	std::lock_guard lock(mu_);
	return created_;
}

std::shared_ptr<Model> ModelCache::get(const Key &key,
				       const std::function<ModelSource()> &make,
				       size_t max_nets)
{
	std::shared_ptr<Slot> slot;
	{
		std::lock_guard lock(mu_);
		auto &s = slots_[key];
		if (!s)
			s = std::make_shared<Slot>();
		slot = s;
	}
	// Only callers of this key wait here while it loads.
	std::lock_guard load_lock(slot->load_mu);
	if (slot->model)
		return slot->model;
	try {
		slot->model = std::make_shared<Model>(make(), max_nets);
	} catch (...) {
		std::lock_guard lock(mu_);
		auto it = slots_.find(key);
		if (it != slots_.end() && it->second == slot)
			slots_.erase(it);
		throw;
	}
	return slot->model;
}

void ModelCache::drop_session(vaccel_id_t session)
{
	std::vector<std::shared_ptr<Slot>> victims; // freed outside the lock
	std::lock_guard lock(mu_);
	for (auto it = slots_.begin(); it != slots_.end();) {
		if (it->first.session == session) {
			victims.push_back(std::move(it->second));
			it = slots_.erase(it);
		} else {
			++it;
		}
	}
}

void ModelCache::clear()
{
	std::map<Key, std::shared_ptr<Slot>> all;
	std::lock_guard lock(mu_);
	all.swap(slots_);
}

size_t ModelCache::size() const
{
	std::lock_guard lock(mu_);
	return slots_.size();
}

} // namespace ocv
