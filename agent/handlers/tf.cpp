// SPDX-License-Identifier: Apache-2.0
// TensorflowModelLoad, TensorflowModelUnload, TensorflowModelRun.
#include "tensors.h"

#include <cstdlib>
#include <cstring>
#include <shared_mutex>

namespace vaccel::agent::handlers
{

namespace
{

// Moves a backend's status into the reply and frees it.
void take_status(vaccel_tf_status &st, rpc::Status *out)
{
	out->set_code(st.code);
	if (st.message != nullptr)
		out->set_message(st.message);
	vaccel_tf_status_release(&st);
}

// Nodes whose names are copies the C API owns; released together.
class Nodes
{
public:
	Nodes() = default;
	Nodes(const Nodes &) = delete;
	Nodes &operator=(const Nodes &) = delete;
	~Nodes()
	{
		for (auto &n : nodes_)
			vaccel_tf_node_release(&n);
	}
	RpcStatus add(const rpc::tf::Node &n)
	{
		if (n.name().find('\0') != std::string::npos)
			return RpcStatus::invalid("tf: node name has a NUL");
		vaccel_tf_node node{};
		if (int rc =
			vaccel_tf_node_init(&node, n.name().c_str(), n.id());
		    rc != VACCEL_OK)
			return RpcStatus::vaccel(rc, "tf: node %s",
						 n.name().c_str());
		nodes_.push_back(node);
		return RpcStatus::ok();
	}
	const vaccel_tf_node *data() const noexcept
	{
		return nodes_.empty() ? nullptr : nodes_.data();
	}

private:
	std::vector<vaccel_tf_node> nodes_;
};

} // namespace

RpcStatus tf_model_load(Context &ctx, rpc::tf::ModelLoadRequest &req,
			rpc::tf::ModelLoadResponse &resp)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	vaccel_tf_status st{};
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sm.sess->op_lock());
		const OpTimer timed(ctx, *sm.sess, "tf_model_load");
		rc = vaccel_tf_model_load(sm.sess->get(), sm.model->get(), &st);
	}
	take_status(st, resp.mutable_status());
	return vaccel_call(rc, "tf model load", req.session_id());
}

RpcStatus tf_model_unload(Context &ctx, rpc::tf::ModelUnloadRequest &req,
			  rpc::tf::ModelUnloadResponse &resp)
{
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));
	vaccel_tf_status st{};
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sm.sess->op_lock());
		const OpTimer timed(ctx, *sm.sess, "tf_model_unload");
		rc = vaccel_tf_model_unload(sm.sess->get(), sm.model->get(),
					    &st);
	}
	take_status(st, resp.mutable_status());
	return vaccel_call(rc, "tf model unload", req.session_id());
}

RpcStatus tf_model_run(Context &ctx, rpc::tf::ModelRunRequest &req,
		       rpc::tf::ModelRunResponse &resp)
{
	const auto nr_in = static_cast<size_t>(req.in_tensors_size());
	const auto nr_out = static_cast<size_t>(req.out_nodes_size());
	if (static_cast<size_t>(req.in_nodes_size()) != nr_in)
		return RpcStatus::invalid("tf: %d input nodes for %zu input "
					  "tensors",
					  req.in_nodes_size(), nr_in);
	if (nr_in > ctx.limits.max_tensors || nr_out > ctx.limits.max_tensors)
		return RpcStatus::invalid("tf: %zu inputs / %zu outputs exceed "
					  "the limit of %zu",
					  nr_in, nr_out,
					  ctx.limits.max_tensors);
	SessionAndModel sm;
	AGENT_RETURN_IF_ERROR(
	    session_and_model(ctx, req.session_id(), req.model_id(), &sm));

	Nodes in_nodes;
	Nodes out_nodes;
	for (const auto &n : req.in_nodes())
		AGENT_RETURN_IF_ERROR(in_nodes.add(n));
	for (const auto &n : req.out_nodes())
		AGENT_RETURN_IF_ERROR(out_nodes.add(n));

	TensorList<vaccel_tf_tensor, vaccel_tf_tensor_delete> in(nr_in);
	AGENT_RETURN_IF_ERROR(build_inputs(
	    ctx, "tf", *req.mutable_in_tensors(), tf_elem_size,
	    [](vaccel_tf_tensor **out, const auto &t, int type) {
		    return vaccel_tf_tensor_new(
			out, t.dims_size(), t.dims().data(),
			static_cast<vaccel_tf_data_type>(type));
	    },
	    vaccel_tf_tensor_set_data, in));

	vaccel_tf_buffer run_options{};
	vaccel_tf_buffer *opts = nullptr;
	if (req.has_run_options()) {
		const std::string &o = req.run_options();
		void *copy = std::malloc(o.size() > 0 ? o.size() : 1);
		if (copy == nullptr)
			return RpcStatus::exhausted("tf: out of memory");
		std::memcpy(copy, o.data(), o.size());
		vaccel_tf_buffer_init(&run_options, copy, o.size());
		opts = &run_options;
	}

	TensorList<vaccel_tf_tensor, vaccel_tf_tensor_delete> out(nr_out);
	vaccel_tf_status st{};
	int rc = VACCEL_OK;
	{
		std::shared_lock lock(sm.sess->op_lock());
		const OpTimer timed(ctx, *sm.sess, "tf_model_run");
		rc = vaccel_tf_model_run(
		    sm.sess->get(), sm.model->get(), opts, in_nodes.data(),
		    in.data(), static_cast<int>(nr_in), out_nodes.data(),
		    out.data(), static_cast<int>(nr_out), &st);
	}
	if (opts != nullptr)
		vaccel_tf_buffer_release(&run_options);
	take_status(st, resp.mutable_status());
	AGENT_RETURN_IF_ERROR(
	    vaccel_call(rc, "tf model run", req.session_id()));
	return copy_outputs<vaccel_tf_tensor, rpc::tf::Tensor,
			    rpc::tf::DataType>(
	    ctx, "tf", out.data(), nr_out,
	    [&resp] { return resp.add_out_tensors(); });
}

} // namespace vaccel::agent::handlers
