// SPDX-License-Identifier: Apache-2.0
// TorchModelLoad, TorchModelRun.
#include "tensors.h"

#include "../shm.h"
#include "../wire_bounds.h"

#include "transport/codec.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <shared_mutex>
#include <span>
#include <vector>

namespace vaccel::agent::handlers
{

RpcStatus torch_model_load(Context &ctx, rpc::torch::ModelLoadRequest &req,
			   Empty &)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	std::shared_lock lock(sm.sess->op_lock());
	const OpTimer timed(ctx, *sm.sess, "torch_model_load");
	return vaccel_call(
	    vaccel_torch_model_load(sm.sess->get(), sm.model->get()),
	    "torch model load", req.session_id());
}

namespace
{

using transport::codec::ShmPlace;
using transport::codec::TorchRunView;

// Input tensors built on the stack's vector, released together.
class Inputs
{
public:
	explicit Inputs(size_t n) : tensors_(n), ptrs_(n, nullptr) {}
	Inputs(const Inputs &) = delete;
	Inputs &operator=(const Inputs &) = delete;
	~Inputs()
	{
		for (size_t i = 0; i < ptrs_.size(); ++i)
			if (ptrs_[i] != nullptr)
				vaccel_torch_tensor_release(&tensors_[i]);
	}
	int init(size_t i, std::span<const int64_t> dims, int type)
	{
		const int rc = vaccel_torch_tensor_init(
		    &tensors_[i], static_cast<int64_t>(dims.size()),
		    dims.data(), static_cast<vaccel_torch_data_type>(type));
		if (rc == VACCEL_OK)
			ptrs_[i] = &tensors_[i];
		return rc;
	}
	vaccel_torch_tensor *operator[](size_t i) noexcept { return ptrs_[i]; }
	vaccel_torch_tensor **data() noexcept
	{
		return ptrs_.empty() ? nullptr : ptrs_.data();
	}

private:
	std::vector<vaccel_torch_tensor> tensors_;
	std::vector<vaccel_torch_tensor *> ptrs_;
};

// A backend's output dims; none when it gave a count below one or no array.
std::span<const int64_t> dims_of(const vaccel_torch_tensor *t)
{
	if (t->nr_dims <= 0 || t->dims == nullptr)
		return {};
	return {t->dims, static_cast<size_t>(t->nr_dims)};
}

// Writes the output tensors as a ModelRunResponse, refusing what would not
// fit in one frame (as copy_outputs() does for the other frameworks).
RpcStatus encode_outputs(const Context &ctx, vaccel_torch_tensor *const *outs,
			 size_t n, std::string *resp)
{
	namespace codec = transport::codec;
	size_t data = 0, total = 0;
	for (size_t i = 0; i < n; ++i) {
		const vaccel_torch_tensor *t = outs[i];
		size_t len = 0;
		if (t != nullptr) {
			if (t->size > ctx.limits.max_frame - data)
				return RpcStatus::exhausted(
				    "torch: output tensors exceed the %u-byte "
				    "frame limit",
				    ctx.limits.max_frame);
			data += t->size;
			len = codec::torch_tensor_size(
			    t->data != nullptr ? t->size : 0, dims_of(t),
			    t->data_type);
		}
		total += transport::wire::len_field_size(
		    codec::kTorchResponseOutputs, len);
	}
	resp->reserve(total);
	transport::wire::Writer w(resp);
	for (size_t i = 0; i < n; ++i) {
		const vaccel_torch_tensor *t = outs[i];
		if (t == nullptr) { // the backend produced nothing here
			w.len_header(codec::kTorchResponseOutputs, 0);
			continue;
		}
		std::span<const uint8_t> bytes;
		if (t->data != nullptr)
			bytes = {static_cast<const uint8_t *>(t->data),
				 t->size};
		codec::put_torch_tensor(w, codec::kTorchResponseOutputs, bytes,
					dims_of(t), t->data_type);
	}
	return RpcStatus::ok();
}

// TorchModelRun and TorchModelRunShm: @p external, when given, holds the
// bytes of the input tensors that lie in shared memory.
RpcStatus run_model(Context &ctx, const TorchRunView &req, std::string *resp,
		    const std::vector<std::span<uint8_t>> *external)
{
	const size_t nr_in = req.in.tensors.size();
	if (nr_in > ctx.limits.max_tensors ||
	    req.nr_out > ctx.limits.max_tensors)
		return RpcStatus::invalid(
		    "torch: %zu inputs / %llu outputs exceed the limit of %zu",
		    nr_in, static_cast<unsigned long long>(req.nr_out),
		    ctx.limits.max_tensors);
	const auto nr_out = static_cast<size_t>(req.nr_out);
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id, req.model_id, &sm));

	Inputs in(nr_in);
	for (size_t i = 0; i < nr_in; ++i) {
		const auto &t = req.in.tensors[i];
		const auto dims = req.in.dims_of(t);
		// The request's bytes belong to this call's buffer, which the
		// agent owns; the tensor only borrows them.
		auto *data = const_cast<uint8_t *>(t.data.data());
		size_t size = t.data.size();
		if (external != nullptr && i < external->size() &&
		    !(*external)[i].empty()) {
			data = (*external)[i].data();
			size = (*external)[i].size();
		}
		AGENT_RETURN_IF_ERROR(
		    check_tensor(ctx, "torch", static_cast<int>(i), dims,
				 t.type, torch_elem_size(t.type), size));
		int rc = in.init(i, dims, t.type);
		if (rc == VACCEL_OK && size > 0)
			rc = vaccel_torch_tensor_set_data(in[i], data, size);
		if (rc != VACCEL_OK)
			return RpcStatus::vaccel(rc, "torch: input tensor %zu",
						 i);
	}

	vaccel_torch_buffer run_options{};
	vaccel_torch_buffer *opts = nullptr;
	if (req.has_run_options) {
		const auto &o = req.run_options;
		auto *copy = static_cast<char *>(
		    std::malloc(o.size() > 0 ? o.size() : 1));
		if (copy == nullptr)
			return RpcStatus::exhausted("torch: out of memory");
		if (!o.empty())
			std::memcpy(copy, o.data(), o.size());
		vaccel_torch_buffer_init(&run_options, copy, o.size());
		opts = &run_options;
	}

	TensorList<vaccel_torch_tensor, vaccel_torch_tensor_delete> out(nr_out);
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sm.sess->op_lock());
		const OpTimer timed(ctx, *sm.sess, "torch_model_run");
		rc = vaccel_torch_model_run(sm.sess->get(), sm.model->get(),
					    opts, in.data(),
					    static_cast<int>(nr_in), out.data(),
					    static_cast<int>(nr_out));
	}
	if (opts != nullptr)
		vaccel_torch_buffer_release(&run_options);
	AGENT_RETURN_IF_ERROR(
	    vaccel_call(rc, "torch model run", req.session_id));
	return encode_outputs(ctx, out.data(), nr_out, resp);
}

} // namespace

RpcStatus torch_model_run(Context &ctx, std::span<const uint8_t> request,
			  std::string *response)
{
	AGENT_RETURN_IF_ERROR(
	    check_repeated(request, bounds::torch_run, ctx.limits,
			   "vaccel.rpc.torch.ModelRunRequest"));
	TorchRunView run;
	if (!transport::codec::parse_torch_run(request, &run))
		return RpcStatus::malformed(
		    "malformed vaccel.rpc.torch.ModelRunRequest payload (%zu "
		    "bytes)",
		    request.size());
	return run_model(ctx, run, response, nullptr);
}

RpcStatus torch_model_run_shm(Context &ctx, std::span<const uint8_t> request,
			      std::string *response)
{
	if (ctx.call.regions == nullptr)
		return RpcStatus::unimplemented(
		    "shared memory is offered on unix sockets and to "
		    "sandboxes with memory of their own only");
	AGENT_RETURN_IF_ERROR(
	    check_repeated(request, bounds::shm_torch_run, ctx.limits,
			   "vaccel.rpc.ext.ShmTorchRunRequest"));
	std::span<const uint8_t> inner;
	std::vector<ShmPlace> places;
	if (!transport::codec::parse_shm_torch_run(request, &inner, &places))
		return RpcStatus::malformed(
		    "malformed vaccel.rpc.ext.ShmTorchRunRequest payload (%zu "
		    "bytes)",
		    request.size());
	TorchRunView run;
	if (!transport::codec::parse_torch_run(inner, &run))
		return RpcStatus::malformed(
		    "torch: the shared-memory run's request does not parse");
	if (places.size() != run.in.tensors.size())
		return RpcStatus::invalid(
		    "torch: %zu shared-memory entries for %zu input tensors",
		    places.size(), run.in.tensors.size());
	// The regions stay mapped until the run is over, whatever the client
	// unmaps meanwhile.
	std::vector<std::shared_ptr<ShmRegion>> held;
	std::vector<std::span<uint8_t>> external(places.size());
	for (size_t i = 0; i < places.size(); ++i) {
		const ShmPlace &d = places[i];
		if (d.region == 0)
			continue;
		if (!run.in.tensors[i].data.empty())
			return RpcStatus::invalid(
			    "torch: input tensor %zu has bytes both inline and "
			    "in region %u",
			    i, d.region);
		std::shared_ptr<ShmRegion> region;
		AGENT_RETURN_IF_ERROR(
		    ctx.call.regions->find(d.region, &region));
		if (d.size == 0 || !region->contains(d.offset, d.size))
			return RpcStatus::invalid(
			    "torch: input tensor %zu: [%llu, +%llu) is empty "
			    "or "
			    "lies outside region %u (%zu bytes)",
			    i, static_cast<unsigned long long>(d.offset),
			    static_cast<unsigned long long>(d.size), d.region,
			    region->size());
		external[i] = std::span<uint8_t>(region->data() + d.offset,
						 static_cast<size_t>(d.size));
		// A model on a GPU copies its inputs there from the region:
		// page-locked (for large inputs), without the driver's
		// staging copy.
		region->prepare_for_devices(d.size);
		held.push_back(std::move(region));
		count_shm(ctx, *held.back(), metrics::Direction::In, d.size);
	}
	RpcStatus st = run_model(ctx, run, response, &external);
	for (const auto &region : held)
		region->pin_after_op();
	return st;
}

} // namespace vaccel::agent::handlers
