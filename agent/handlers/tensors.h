// SPDX-License-Identifier: Apache-2.0
// Shared by the tf, tflite and torch handlers: checking a proto tensor
// before a backend sees it, and owning the C tensors built from it.
//
// Data types travel as the C enum's value, exactly as upstream's agent and
// client convert them (the proto enums' UNUSED = 0 entry exists only so the
// numbers line up with vAccel's; for tflite the proto *names* are one off,
// the values are what counts).
#pragma once

#include "handlers.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vaccel::agent::handlers
{

// Bytes per element, 0 when the type has no fixed size (strings, resources,
// variants, packed int4), -1 when the value is not a type at all.
int tf_elem_size(int type);
int tflite_elem_size(int type);
int torch_elem_size(int type);

// Checks one input tensor: a known type, 1..limit dims, none negative, and
// at least product(dims) * elem bytes of data, so that a backend that
// trusts the shape never reads past the buffer.
template <class Dims>
RpcStatus check_tensor(const Context &ctx, const char *fw, int index,
		       const Dims &dims, int type, int elem, size_t data_size)
{
	if (elem < 0)
		return RpcStatus::invalid("%s: input tensor %d: type %d is "
					  "unknown",
					  fw, index, type);
	if (dims.empty() ||
	    static_cast<size_t>(dims.size()) > ctx.limits.max_dims)
		return RpcStatus::invalid(
		    "%s: input tensor %d: %d dims, must be 1..%zu", fw, index,
		    static_cast<int>(dims.size()), ctx.limits.max_dims);
	uint64_t count = 1;
	for (auto d : dims) {
		if (d < 0)
			return RpcStatus::invalid(
			    "%s: input tensor %d: negative dim %lld", fw, index,
			    static_cast<long long>(d));
		if (__builtin_mul_overflow(count, static_cast<uint64_t>(d),
					   &count))
			return RpcStatus::invalid(
			    "%s: input tensor %d: shape overflows", fw, index);
	}
	uint64_t need = 0;
	if (__builtin_mul_overflow(count, static_cast<uint64_t>(elem), &need) ||
	    need > data_size)
		return RpcStatus::invalid(
		    "%s: input tensor %d: shape needs "
		    "%llu bytes, got %zu",
		    fw, index,
		    static_cast<unsigned long long>(
			count * static_cast<uint64_t>(elem)),
		    data_size);
	return RpcStatus::ok();
}

// C tensors allocated by the C API (inputs we build, outputs a plugin
// returns), deleted together.
template <class T, int (*Delete)(T *)> class TensorList
{
public:
	explicit TensorList(size_t n) : ptrs_(n, nullptr) {}
	TensorList(const TensorList &) = delete;
	TensorList &operator=(const TensorList &) = delete;
	~TensorList()
	{
		for (T *t : ptrs_)
			if (t != nullptr)
				Delete(t);
	}
	T **data() noexcept { return ptrs_.empty() ? nullptr : ptrs_.data(); }
	T *&operator[](size_t i) noexcept { return ptrs_[i]; }
	[[nodiscard]] size_t size() const noexcept { return ptrs_.size(); }

private:
	std::vector<T *> ptrs_;
};

// Builds the C input tensors of a run request from its proto tensors (a
// RepeatedPtrField): each one is checked with check_tensor() and then
// borrows the request's bytes, which outlive the call. `make(&out, proto,
// type)` creates one framework tensor; `set_data` is the framework's
// vaccel_*_tensor_set_data. @p external, when given, holds per tensor
// bytes that live elsewhere (a shared-memory region the caller keeps
// mapped): a non-empty entry replaces the proto's data.
template <class T, int (*Delete)(T *), class Protos, class Make>
RpcStatus
build_inputs(const Context &ctx, const char *fw, Protos &protos,
	     int (*elem_size)(int), Make make,
	     int (*set_data)(T *, void *, size_t), TensorList<T, Delete> &in,
	     const std::vector<std::span<uint8_t>> *external = nullptr)
{
	for (size_t i = 0; i < in.size(); ++i) {
		auto *t = protos.Mutable(static_cast<int>(i));
		const int type = t->type();
		std::span<uint8_t> bytes(
		    reinterpret_cast<uint8_t *>(t->mutable_data()->data()),
		    t->data().size());
		if (external != nullptr && i < external->size() &&
		    !(*external)[i].empty())
			bytes = (*external)[i];
		AGENT_RETURN_IF_ERROR(
		    check_tensor(ctx, fw, static_cast<int>(i), t->dims(), type,
				 elem_size(type), bytes.size()));
		int rc = make(&in[i], *t, type);
		if (rc == VACCEL_OK && !bytes.empty())
			rc = set_data(in[i], bytes.data(), bytes.size());
		if (rc != VACCEL_OK)
			return RpcStatus::vaccel(rc, "%s: input tensor %zu", fw,
						 i);
	}
	return RpcStatus::ok();
}

// Copies output tensors into the reply (dims, type, data), refusing what
// would not fit in one frame.
template <class T, class ProtoTensor, class TypeEnum, class AddFn>
RpcStatus copy_outputs(const Context &ctx, const char *fw, T *const *outs,
		       size_t n, AddFn add)
{
	size_t total = 0;
	for (size_t i = 0; i < n; ++i) {
		const T *t = outs[i];
		ProtoTensor *p = add();
		if (t == nullptr)
			continue; // the backend produced nothing here
		if (t->size > ctx.limits.max_frame - total)
			return RpcStatus::exhausted(
			    "%s: output tensors exceed the %u-byte frame limit",
			    fw, ctx.limits.max_frame);
		total += t->size;
		if (t->data != nullptr)
			p->set_data(t->data, t->size);
		for (decltype(t->nr_dims) d = 0; d < t->nr_dims; ++d)
			p->add_dims(t->dims[d]);
		p->set_type(static_cast<TypeEnum>(t->data_type));
	}
	return RpcStatus::ok();
}

} // namespace vaccel::agent::handlers
