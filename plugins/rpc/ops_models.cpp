// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's tf, tflite and torch model ops. They use messages of
// their own because their tensors and statuses do not fit the arg model.
#include "ops.h"
#include "plugin.h"

#include "transport/codec.h"

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/tf.pb.h"
#include "rpc/tflite.pb.h"
#include "rpc/torch.pb.h"

#include <vaccel/ext.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace vaccel::rpc_plugin
{

namespace
{

// ---- model ops ------------------------------------------------------

// The session and model of a model op, both on one agent connection.
struct Target {
	Remote sess;
	Remote model;
};

Result<Target> model_target(const vaccel_session *sess,
			    const vaccel_resource *model)
{
	auto s = remote_session(sess);
	if (!s)
		return s.status();
	auto m = remote_resource(model, s->generation);
	if (!m)
		return m.status();
	return Target{*s, *m};
}

template <class Req> void address(Req &req, const Target &t)
{
	req.set_session_id(t.sess.id);
	req.set_model_id(t.model.id);
}

void set_tf_status(vaccel_tf_status *out, const rpc::Status &st)
{
	if (out == nullptr)
		return;
	vaccel_tf_status_init(out, static_cast<uint8_t>(st.code()),
			      st.message().c_str());
}

// The load op a load or unload op of a framework stands for.
vaccel_op_type_t load_op_of(vaccel_op_type_t op)
{
	switch (op) {
	case VACCEL_OP_TF_MODEL_UNLOAD:
		return VACCEL_OP_TF_MODEL_LOAD;
	case VACCEL_OP_TFLITE_MODEL_UNLOAD:
		return VACCEL_OP_TFLITE_MODEL_LOAD;
	default:
		return op;
	}
}

// After a load or unload op @p op of @p model succeeded: whether a move of
// the session loads the model again (sessions.h).
void remember(const vaccel_session *sess, vaccel_op_type_t op,
	      vaccel_resource *model)
{
	auto rec = Sessions::record(sess);
	if (!rec)
		return;
	const ModelLoad load{load_op_of(op), model};
	std::lock_guard lock(rec.value()->mu);
	if (load.op == op)
		Sessions::note_load(*rec.value(), load);
	else
		Sessions::note_unload(*rec.value(), load);
}

// Load and unload share everything but the message names.
template <class Req, class Resp>
int tf_load_unload(const char *name, const char *method, vaccel_op_type_t op,
		   vaccel_session *sess, vaccel_resource *model,
		   vaccel_tf_status *status)
{
	return session_op(name, sess, replay_of(op), [&]() -> int {
		auto t = model_target(sess, model);
		if (!t)
			return fail(name, t.status());
		Req req;
		address(req, *t);
		Resp resp;
		std::optional<rpc::Status> detail;
		Status st = plugin().client.call(
		    {.method = method, .generation = t->sess.generation}, req,
		    &resp, nullptr, &detail);
		if (!st) {
			if (detail)
				set_tf_status(status, *detail);
			return st.code();
		}
		if (resp.has_status())
			set_tf_status(status, resp.status());
		remember(sess, op, model);
		return VACCEL_OK;
	});
}

} // namespace

int rpc_tf_model_load(vaccel_session *sess, vaccel_resource *model,
		      vaccel_tf_status *status)
{
	return tf_load_unload<rpc::tf::ModelLoadRequest,
			      rpc::tf::ModelLoadResponse>(
	    "tf_model_load", "TensorflowModelLoad", VACCEL_OP_TF_MODEL_LOAD,
	    sess, model, status);
}

int rpc_tf_model_unload(vaccel_session *sess, vaccel_resource *model,
			vaccel_tf_status *status)
{
	return tf_load_unload<rpc::tf::ModelUnloadRequest,
			      rpc::tf::ModelUnloadResponse>(
	    "tf_model_unload", "TensorflowModelUnload",
	    VACCEL_OP_TF_MODEL_UNLOAD, sess, model, status);
}

namespace
{

// Fills a proto tensor from a vAccel tensor of any framework.
// @p with_data false: everything but the bytes (they travel elsewhere).
template <class Proto, class Tensor, class TypeEnum>
Status to_proto(const char *name, int i, const Tensor *t, Proto *out,
		bool with_data = true)
{
	if (t == nullptr)
		return Status::error(VACCEL_EINVAL, "input tensor %d is NULL",
				     i);
	if (t->size > 0 && t->data == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "input tensor %d has no data", i);
	if (t->nr_dims > 0 && t->dims == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "input tensor %d has no dims", i);
	if (t->size > 0 && with_data)
		out->set_data(t->data, t->size);
	for (decltype(t->nr_dims) d = 0; d < t->nr_dims; ++d)
		out->add_dims(t->dims[d]);
	out->set_type(static_cast<TypeEnum>(core::enum_value(t->data_type)));
	return Status::ok();
}

// Makes the caller's @p nr_out output tensors from the @p available ones of
// the reply: @p get(i, &dims, &type, &data) reads reply tensor i. @p Alloc
// is the framework's vaccel_*_tensor_allocate, @p Delete its delete.
template <class Tensor, class Dim, class Get, class Alloc, class Delete>
Status make_outputs(size_t available, Get get, Tensor **out, int nr_out,
		    Alloc alloc, Delete del)
{
	for (int i = 0; i < nr_out; ++i)
		out[i] = nullptr;
	if (available < static_cast<size_t>(nr_out))
		return Status::error(VACCEL_EREMOTEIO,
				     "the agent returned %zu output tensors, "
				     "expected %d",
				     available, nr_out);
	std::vector<Dim> dims;
	for (int i = 0; i < nr_out; ++i) {
		int type = 0;
		std::span<const uint8_t> data;
		get(i, &dims, &type, &data);
		if (dims.empty())
			continue; // the backend produced nothing here
		int rc = alloc(&out[i], static_cast<int>(dims.size()),
			       dims.data(), type, data.size());
		if (rc == VACCEL_OK && !data.empty())
			plugin().copies.copy(out[i]->data, data.data(),
					     data.size());
		if (rc != VACCEL_OK) {
			for (int j = 0; j < i; ++j) {
				if (out[j] != nullptr)
					del(out[j]);
				out[j] = nullptr;
			}
			return Status::error(rc,
					     "cannot allocate output tensor "
					     "%d",
					     i);
		}
	}
	return Status::ok();
}

// make_outputs() from the reply's proto tensors.
template <class Tensor, class Dim, class Proto, class Alloc, class Delete>
Status from_proto(const google::protobuf::RepeatedPtrField<Proto> &in,
		  Tensor **out, int nr_out, Alloc alloc, Delete del)
{
	auto get = [&in](int i, std::vector<Dim> *dims, int *type,
			 std::span<const uint8_t> *data) {
		const Proto &p = in.Get(i);
		dims->assign(p.dims().begin(), p.dims().end());
		*type = p.type();
		*data = {reinterpret_cast<const uint8_t *>(p.data().data()),
			 p.data().size()};
	};
	return make_outputs<Tensor, Dim>(static_cast<size_t>(in.size()), get,
					 out, nr_out, alloc, del);
}

} // namespace

int rpc_tf_model_run(vaccel_session *sess, vaccel_resource *model,
		     const vaccel_tf_buffer *run_options,
		     const vaccel_tf_node *in_nodes,
		     vaccel_tf_tensor *const *in_tensors, int nr_inputs,
		     const vaccel_tf_node *out_nodes,
		     vaccel_tf_tensor **out_tensors, int nr_outputs,
		     vaccel_tf_status *status)
{
	const char *name = "tf_model_run";
	return session_op(
	    name, sess, replay_of(VACCEL_OP_TF_MODEL_RUN), [&]() -> int {
		    if (nr_inputs < 0 || nr_outputs < 0 ||
			(nr_inputs > 0 &&
			 (in_nodes == nullptr || in_tensors == nullptr)) ||
			(nr_outputs > 0 &&
			 (out_nodes == nullptr || out_tensors == nullptr)))
			    return fail(name,
					Status(VACCEL_EINVAL,
					       "bad node or tensor arrays"));
		    auto t = model_target(sess, model);
		    if (!t)
			    return fail(name, t.status());
		    rpc::tf::ModelRunRequest req;
		    address(req, *t);
		    if (run_options != nullptr)
			    req.set_run_options(run_options->data,
						run_options->size);
		    for (int i = 0; i < nr_inputs; ++i) {
			    auto *n = req.add_in_nodes();
			    n->set_name(in_nodes[i].name != nullptr
					    ? in_nodes[i].name
					    : "");
			    n->set_id(in_nodes[i].id);
			    Status st =
				to_proto<rpc::tf::Tensor, vaccel_tf_tensor,
					 rpc::tf::DataType>(
				    name, i, in_tensors[i],
				    req.add_in_tensors());
			    if (!st)
				    return fail(name, st);
		    }
		    for (int i = 0; i < nr_outputs; ++i) {
			    auto *n = req.add_out_nodes();
			    n->set_name(out_nodes[i].name != nullptr
					    ? out_nodes[i].name
					    : "");
			    n->set_id(out_nodes[i].id);
		    }
		    rpc::tf::ModelRunResponse resp;
		    std::optional<rpc::Status> detail;
		    Status st =
			plugin().client.call({.method = "TensorflowModelRun",
					      .generation = t->sess.generation},
					     req, &resp, nullptr, &detail);
		    if (!st) {
			    if (detail)
				    set_tf_status(status, *detail);
			    return st.code();
		    }
		    auto alloc = [](vaccel_tf_tensor **o, int nd,
				    const int64_t *dims, int type,
				    size_t size) {
			    return vaccel_tf_tensor_allocate(
				o, nd, dims,
				static_cast<vaccel_tf_data_type>(type), size);
		    };
		    st = from_proto<vaccel_tf_tensor, int64_t>(
			resp.out_tensors(), out_tensors, nr_outputs, alloc,
			vaccel_tf_tensor_delete);
		    if (!st)
			    return fail(name, st);
		    if (resp.has_status())
			    set_tf_status(status, resp.status());
		    return VACCEL_OK;
	    });
}

namespace
{

template <class Req>
int model_call(const char *name, const char *method, vaccel_op_type_t op,
	       vaccel_session *sess, vaccel_resource *model)
{
	return session_op(name, sess, replay_of(op), [&]() -> int {
		auto t = model_target(sess, model);
		if (!t)
			return fail(name, t.status());
		Req req;
		address(req, *t);
		Status st = plugin().client.call(
		    {.method = method, .generation = t->sess.generation}, req,
		    nullptr);
		if (st)
			remember(sess, op, model);
		return st.code();
	});
}

} // namespace

int rpc_tflite_model_load(vaccel_session *sess, vaccel_resource *model)
{
	return model_call<rpc::tflite::ModelLoadRequest>(
	    "tflite_model_load", "TensorflowLiteModelLoad",
	    VACCEL_OP_TFLITE_MODEL_LOAD, sess, model);
}

int rpc_tflite_model_unload(vaccel_session *sess, vaccel_resource *model)
{
	return model_call<rpc::tflite::ModelUnloadRequest>(
	    "tflite_model_unload", "TensorflowLiteModelUnload",
	    VACCEL_OP_TFLITE_MODEL_UNLOAD, sess, model);
}

int rpc_torch_model_load(vaccel_session *sess, vaccel_resource *model)
{
	return model_call<rpc::torch::ModelLoadRequest>(
	    "torch_model_load", "TorchModelLoad", VACCEL_OP_TORCH_MODEL_LOAD,
	    sess, model);
}

Status load_model_again(vaccel_op_type_t op, const Remote &sess,
			const Remote &model)
{
	const Target t{sess, model};
	auto send = [&](const char *method, auto req) {
		address(req, t);
		return plugin().client.call(
		    {.method = method, .generation = sess.generation}, req,
		    nullptr);
	};
	switch (op) {
	case VACCEL_OP_TF_MODEL_LOAD:
		return send("TensorflowModelLoad", rpc::tf::ModelLoadRequest{});
	case VACCEL_OP_TFLITE_MODEL_LOAD:
		return send("TensorflowLiteModelLoad",
			    rpc::tflite::ModelLoadRequest{});
	case VACCEL_OP_TORCH_MODEL_LOAD:
		return send("TorchModelLoad", rpc::torch::ModelLoadRequest{});
	default:
		return Status::error(VACCEL_EINVAL, "op %d loads no model",
				     static_cast<int>(op));
	}
}

namespace
{

// The tensors of tflite and torch runs travel alike. Data types go as
// vAccel's numbers, as the agent reads them.
template <class Req, class Resp, class ProtoTensor, class ProtoType,
	  class Tensor, class Dim, class Alloc, class Delete>
int tensor_run(const char *name, const char *method, vaccel_session *sess,
	       vaccel_resource *model, Tensor *const *in, int nr_in,
	       Tensor **out, int nr_out, Alloc alloc, Delete del, Req &req,
	       Resp &resp)
{
	if (nr_in < 0 || nr_out < 0 || (nr_in > 0 && in == nullptr) ||
	    (nr_out > 0 && out == nullptr))
		return fail(name, Status(VACCEL_EINVAL, "bad tensor arrays"));
	auto t = model_target(sess, model);
	if (!t)
		return fail(name, t.status());
	address(req, *t);
	for (int i = 0; i < nr_in; ++i) {
		Status st = to_proto<ProtoTensor, Tensor, ProtoType>(
		    name, i, in[i], req.add_in_tensors());
		if (!st)
			return fail(name, st);
	}
	req.set_nr_out_tensors(static_cast<uint64_t>(nr_out));
	Status st = plugin().client.call(
	    {.method = method, .generation = t->sess.generation}, req, &resp);
	if (!st)
		return st.code();
	st = from_proto<Tensor, Dim>(resp.out_tensors(), out, nr_out, alloc,
				     del);
	if (!st)
		return fail(name, st);
	return VACCEL_OK;
}

} // namespace

int rpc_tflite_model_run(vaccel_session *sess, vaccel_resource *model,
			 vaccel_tflite_tensor *const *inputs, int nr_inputs,
			 vaccel_tflite_tensor **outputs, int nr_outputs,
			 uint8_t *status)
{
	const char *name = "tflite_model_run";
	return session_op(
	    name, sess, replay_of(VACCEL_OP_TFLITE_MODEL_RUN), [&]() -> int {
		    auto alloc = [](vaccel_tflite_tensor **o, int nd,
				    const int32_t *dims, int type,
				    size_t size) {
			    return vaccel_tflite_tensor_allocate(
				o, nd, dims,
				static_cast<vaccel_tflite_data_type>(type),
				size);
		    };
		    rpc::tflite::ModelRunRequest req;
		    rpc::tflite::ModelRunResponse resp;
		    int rc =
			tensor_run<rpc::tflite::ModelRunRequest,
				   rpc::tflite::ModelRunResponse,
				   rpc::tflite::Tensor, rpc::tflite::DataType,
				   vaccel_tflite_tensor, int32_t>(
			    name, "TensorflowLiteModelRun", sess, model, inputs,
			    nr_inputs, outputs, nr_outputs, alloc,
			    vaccel_tflite_tensor_delete, req, resp);
		    if (rc == VACCEL_OK && status != nullptr)
			    *status =
				static_cast<uint8_t>(resp.status().code());
		    return rc;
	    });
}

namespace
{

int torch_alloc(vaccel_torch_tensor **o, int nd, const int64_t *dims, int type,
		size_t size)
{
	return vaccel_torch_tensor_allocate(
	    o, nd, dims, static_cast<vaccel_torch_data_type>(type), size);
}

// ---- torch runs: the hot path of model serving, so their messages are
// written and read by hand (transport/codec.h), byte for byte as the
// generated classes would.

namespace codec = transport::codec;

// Appends the ModelRunRequest of a run to @p out. @p shm_inputs, when given,
// marks the inputs whose bytes travel in shared memory (left out here).
Status encode_torch_run(const Target &t, const vaccel_torch_buffer *opts,
			vaccel_torch_tensor *const *in, int nr_in, int nr_out,
			const std::vector<char> *shm_inputs, std::string *out)
{
	for (int i = 0; i < nr_in; ++i) {
		const vaccel_torch_tensor *x = in[i];
		if (x == nullptr)
			return Status::error(VACCEL_EINVAL,
					     "input tensor %d is NULL", i);
		if (x->size > 0 && x->data == nullptr)
			return Status::error(VACCEL_EINVAL,
					     "input tensor %d has no data", i);
		if (x->nr_dims < 0 || (x->nr_dims > 0 && x->dims == nullptr))
			return Status::error(VACCEL_EINVAL,
					     "input tensor %d has no dims", i);
	}
	transport::wire::Writer w(out);
	w.varint_nonzero(codec::kTorchRunSession,
			 static_cast<uint64_t>(t.sess.id));
	w.varint_nonzero(codec::kTorchRunModel,
			 static_cast<uint64_t>(t.model.id));
	if (opts != nullptr)
		w.bytes(
		    codec::kTorchRunOptions,
		    std::string_view(opts->data != nullptr ? opts->data : "",
				     opts->data != nullptr ? opts->size : 0));
	for (int i = 0; i < nr_in; ++i) {
		const vaccel_torch_tensor *x = in[i];
		const bool elsewhere =
		    shm_inputs != nullptr &&
		    (*shm_inputs)[static_cast<size_t>(i)] != 0;
		std::span<const uint8_t> data;
		if (!elsewhere && x->size > 0)
			data = {static_cast<const uint8_t *>(x->data), x->size};
		codec::put_torch_tensor(
		    w, codec::kTorchRunInputs, data,
		    {x->dims, static_cast<size_t>(x->nr_dims)},
		    core::enum_value(x->data_type));
	}
	w.varint_nonzero(codec::kTorchRunNrOut, static_cast<uint64_t>(nr_out));
	return Status::ok();
}

// The output tensors of a ModelRunResponse.
Status decode_torch_outputs(std::span<const uint8_t> payload,
			    vaccel_torch_tensor **out, int nr_out)
{
	for (int i = 0; i < nr_out; ++i)
		out[i] = nullptr;
	codec::Tensors ts;
	if (!codec::parse_torch_run_response(payload, &ts))
		return Status(VACCEL_EREMOTEIO, "malformed response payload");
	auto get = [&ts](int i, std::vector<int64_t> *dims, int *type,
			 std::span<const uint8_t> *data) {
		const auto &t = ts.tensors[static_cast<size_t>(i)];
		const auto d = ts.dims_of(t);
		dims->assign(d.begin(), d.end());
		*type = t.type;
		*data = t.data;
	};
	return make_outputs<vaccel_torch_tensor, int64_t>(
	    ts.tensors.size(), get, out, nr_out, torch_alloc,
	    vaccel_torch_tensor_delete);
}

// Sends a torch run's @p payload (@p method's message) and makes the
// output tensors from the reply.
int torch_call(const char *name, std::string_view method,
	       std::string_view service, const Target &t,
	       std::span<const uint8_t> payload, vaccel_torch_tensor **out,
	       int nr_out)
{
	Status outputs = Status::ok();
	auto on_reply = [&](std::span<const uint8_t> reply) {
		outputs = decode_torch_outputs(reply, out, nr_out);
		return Status::ok(); // failing here is logged below, once
	};
	Status st = plugin().client.call_bytes({.method = method,
						.generation = t.sess.generation,
						.service = service},
					       payload, on_reply);
	if (!st)
		return st.code();
	return outputs ? VACCEL_OK : fail(name, outputs);
}

// A torch run whose large input tensors go through shared memory instead of
// the socket: the agent runs the model on the shared bytes. An input whose
// data vAccel allocated in its shared tensor memory
// (vaccel_torch_tensor_allocate(); core/host_arena.h) is named where it
// lies, without a copy; any other is copied into a leased region. Returns
// false, having done nothing, when shared memory is not to be used: inputs
// below the threshold, or an agent or connection without it.
bool torch_run_shm(vaccel_session *sess, vaccel_resource *model,
		   const vaccel_torch_buffer *run_options,
		   vaccel_torch_tensor *const *in, int nr_in,
		   vaccel_torch_tensor **out, int nr_out, int *rc)
{
	constexpr const char *name = "torch_model_run";
	// Small tensors stay inline; big ones take 64-byte aligned slots.
	constexpr size_t kInlineMax = 4096;
	const auto slot = [](size_t n) { return (n + 63) & ~size_t{63}; };
	size_t region = 0, largest_copy = 0;
	uint64_t total = 0;
	bool any_big = false;
	// Where each big input already lies in shared memory (block 0: it
	// does not).
	std::vector<vaccel_shared_memory_place> placed(
	    static_cast<size_t>(nr_in));
	for (int i = 0; i < nr_in; ++i) {
		if (in[i] == nullptr)
			return false; // the socket path reports it
		total += in[i]->size;
		if (in[i]->size <= kInlineMax)
			continue;
		any_big = true;
		auto &p = placed[static_cast<size_t>(i)];
		p.struct_size = sizeof(p);
		if (vaccel_shared_memory_find(in[i]->data, in[i]->size, &p) !=
		    VACCEL_OK)
			p.block = 0;
		if (p.block == 0) {
			region += slot(in[i]->size);
			largest_copy = std::max(largest_copy, in[i]->size);
		}
	}
	auto &client = plugin().client;
	if (!any_big || total < client.config().shm_threshold)
		return false;
	// Inputs to copy: the helpers wake while the region is found.
	plugin().copies.heads_up(largest_copy);
	auto t = model_target(sess, model);
	if (!t)
		return false;
	// No shared memory after all: the socket serves (logged unless the
	// plane is simply off or not offered).
	const auto use_socket = [name](const Status &why) {
		if (why.code() != VACCEL_ENOTSUP)
			vaccel_debug("[rpc] %s: no shared memory (%s); using "
				     "the socket",
				     name, why.message().c_str());
		return false;
	};
	// The shared blocks first: if one cannot be named on this
	// connection, neither can a leased region, so the socket serves.
	std::vector<uint32_t> ids(static_cast<size_t>(nr_in), 0);
	for (int i = 0; i < nr_in; ++i) {
		const auto &p = placed[static_cast<size_t>(i)];
		if (p.block == 0)
			continue;
		auto id = client.arena_region(t->sess.generation, p.block, p.fd,
					      p.block_size);
		if (!id)
			return use_socket(id.status());
		ids[static_cast<size_t>(i)] = *id;
	}
	std::optional<ShmLease> lease;
	if (region > 0) {
		auto l = client.lease_shm(t->sess.generation, region);
		if (!l)
			return use_socket(l.status());
		lease = std::move(l).value();
	}

	// The ShmTorchRunRequest: the run (its big inputs' bytes left out),
	// then one place per input.
	std::vector<char> shm_inputs(static_cast<size_t>(nr_in));
	for (int i = 0; i < nr_in; ++i)
		shm_inputs[static_cast<size_t>(i)] = in[i]->size > kInlineMax;
	std::string run;
	if (Status st = encode_torch_run(*t, run_options, in, nr_in, nr_out,
					 &shm_inputs, &run);
	    !st) {
		*rc = fail(name, st);
		return true;
	}
	std::string msg;
	msg.reserve(run.size() + 16 + 32 * static_cast<size_t>(nr_in));
	transport::wire::Writer w(&msg);
	w.bytes(codec::kShmTorchRun, run);
	size_t off = 0;
	for (int i = 0; i < nr_in; ++i) {
		codec::ShmPlace d;
		if (shm_inputs[static_cast<size_t>(i)] != 0) {
			const auto &p = placed[static_cast<size_t>(i)];
			d.size = in[i]->size;
			if (p.block != 0) {
				d.region = ids[static_cast<size_t>(i)];
				d.offset = p.offset;
			} else {
				plugin().copies.copy(lease->data() + off,
						     in[i]->data, in[i]->size);
				d.region = lease->region();
				d.offset = lease->offset() + off;
				off += slot(in[i]->size);
			}
		}
		const size_t len =
		    (d.region != 0 ? 1 + transport::wire::varint_size(d.region)
				   : 0) +
		    (d.offset != 0 ? 1 + transport::wire::varint_size(d.offset)
				   : 0) +
		    (d.size != 0 ? 1 + transport::wire::varint_size(d.size)
				 : 0);
		w.len_header(codec::kShmTorchData, len);
		w.varint_nonzero(codec::kShmArgRegion, d.region);
		w.varint_nonzero(codec::kShmArgOffset, d.offset);
		w.varint_nonzero(codec::kShmArgSize, d.size);
	}
	*rc = torch_call(
	    name, "TorchModelRunShm", transport::kServiceData, *t,
	    {reinterpret_cast<const uint8_t *>(msg.data()), msg.size()}, out,
	    nr_out);
	return true;
}

} // namespace

int rpc_torch_model_run(vaccel_session *sess, vaccel_resource *model,
			const vaccel_torch_buffer *run_options,
			vaccel_torch_tensor *const *inputs, int nr_inputs,
			vaccel_torch_tensor **outputs, int nr_outputs)
{
	const char *name = "torch_model_run";
	return session_op(
	    name, sess, replay_of(VACCEL_OP_TORCH_MODEL_RUN), [&]() -> int {
		    if (nr_inputs > 0 && inputs != nullptr && nr_outputs >= 0 &&
			(nr_outputs == 0 || outputs != nullptr)) {
			    int rc = VACCEL_OK;
			    if (torch_run_shm(sess, model, run_options, inputs,
					      nr_inputs, outputs, nr_outputs,
					      &rc))
				    return rc;
		    }
		    if (nr_inputs < 0 || nr_outputs < 0 ||
			(nr_inputs > 0 && inputs == nullptr) ||
			(nr_outputs > 0 && outputs == nullptr))
			    return fail(name, Status(VACCEL_EINVAL,
						     "bad tensor arrays"));
		    auto t = model_target(sess, model);
		    if (!t)
			    return fail(name, t.status());
		    std::string msg;
		    if (Status st =
			    encode_torch_run(*t, run_options, inputs, nr_inputs,
					     nr_outputs, nullptr, &msg);
			!st)
			    return fail(name, st);
		    return torch_call(
			name, "TorchModelRun", transport::kServiceSync, *t,
			{reinterpret_cast<const uint8_t *>(msg.data()),
			 msg.size()},
			outputs, nr_outputs);
	    });
}

} // namespace vaccel::rpc_plugin
