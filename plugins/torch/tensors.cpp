// SPDX-License-Identifier: Apache-2.0
// Conversions between vAccel torch tensors and libtorch tensors (see
// tensors.h).
#include "tensors.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <limits>

namespace vtorch
{

std::optional<c10::ScalarType> to_scalar_type(int data_type)
{
	switch (data_type) {
	case VACCEL_TORCH_BYTE:
		return c10::ScalarType::Byte;
	case VACCEL_TORCH_CHAR:
		return c10::ScalarType::Char;
	case VACCEL_TORCH_SHORT:
		return c10::ScalarType::Short;
	case VACCEL_TORCH_INT:
		return c10::ScalarType::Int;
	case VACCEL_TORCH_LONG:
		return c10::ScalarType::Long;
	case VACCEL_TORCH_HALF:
		return c10::ScalarType::Half;
	case VACCEL_TORCH_FLOAT:
		return c10::ScalarType::Float;
	default:
		return std::nullopt;
	}
}

std::optional<vaccel_torch_data_type> to_vaccel_type(c10::ScalarType type)
{
	switch (type) {
	case c10::ScalarType::Byte:
		return VACCEL_TORCH_BYTE;
	case c10::ScalarType::Char:
		return VACCEL_TORCH_CHAR;
	case c10::ScalarType::Short:
		return VACCEL_TORCH_SHORT;
	case c10::ScalarType::Int:
		return VACCEL_TORCH_INT;
	case c10::ScalarType::Long:
		return VACCEL_TORCH_LONG;
	case c10::ScalarType::Half:
		return VACCEL_TORCH_HALF;
	case c10::ScalarType::Float:
		return VACCEL_TORCH_FLOAT;
	default:
		return std::nullopt;
	}
}

int raw_data_type(const vaccel_torch_tensor *t)
{
	static_assert(sizeof(t->data_type) == sizeof(int));
	int raw = 0;
	std::memcpy(&raw, &t->data_type, sizeof(raw));
	return raw;
}

int to_torch(const vaccel_torch_tensor *in, at::Tensor &out, std::string &error)
{
	if (in == nullptr) {
		error = "is NULL";
		return VACCEL_EINVAL;
	}
	const int raw_type = raw_data_type(in);
	const auto type = to_scalar_type(raw_type);
	if (!type) {
		error = "has data type " + std::to_string(raw_type) +
			", which is not a vaccel_torch_data_type";
		return VACCEL_EINVAL;
	}
	if (in->nr_dims < 1 || in->dims == nullptr) {
		error = "has no dimensions (nr_dims " +
			std::to_string(in->nr_dims) + ")";
		return VACCEL_EINVAL;
	}
	// Tensors with more dimensions than this are certainly corrupt, and
	// the bound keeps the loop below short.
	if (in->nr_dims > 64) {
		error = "has " + std::to_string(in->nr_dims) + " dimensions";
		return VACCEL_EINVAL;
	}

	const auto elem = static_cast<uint64_t>(c10::elementSize(*type));
	std::vector<int64_t> dims(static_cast<size_t>(in->nr_dims));
	uint64_t bytes = elem;
	for (size_t i = 0; i < dims.size(); i++) {
		const int64_t d = in->dims[i];
		if (d < 0) {
			error = "has negative dimension " + std::to_string(d);
			return VACCEL_EINVAL;
		}
		if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() /
					  static_cast<uint64_t>(d)) {
			error = "has dimensions whose product overflows";
			return VACCEL_EINVAL;
		}
		bytes *= static_cast<uint64_t>(d);
		dims[i] = d;
	}
	if (bytes != in->size) {
		error = "holds " + std::to_string(in->size) +
			" bytes but its dimensions need " +
			std::to_string(bytes);
		return VACCEL_EINVAL;
	}
	if (bytes > 0 && in->data == nullptr) {
		error = "has no data";
		return VACCEL_EINVAL;
	}

	const auto options = at::TensorOptions().dtype(*type);
	// Data that arrives over a transport may sit at any offset of a
	// message buffer; libtorch kernels expect naturally aligned elements,
	// so such data is copied into a tensor of its own.
	const bool aligned = reinterpret_cast<uintptr_t>(in->data) % elem == 0;
	if (bytes == 0 || !aligned) {
		out = at::empty(dims, options);
		if (bytes > 0)
			std::memcpy(out.data_ptr(), in->data, bytes);
		return VACCEL_OK;
	}
	out = at::from_blob(in->data, dims, options);
	return VACCEL_OK;
}

namespace
{

int flatten_into(const c10::IValue &value, std::vector<at::Tensor> &out,
		 std::string &error, int depth)
{
	if (depth > 16) {
		error = "the model's result is nested too deeply";
		return VACCEL_ENOTSUP;
	}
	if (value.isTensor()) {
		out.push_back(value.toTensor());
		return VACCEL_OK;
	}
	if (value.isTuple()) {
		for (const auto &e : value.toTupleRef().elements())
			if (int rc = flatten_into(e, out, error, depth + 1);
			    rc != VACCEL_OK)
				return rc;
		return VACCEL_OK;
	}
	if (value.isTensorList()) {
		for (const at::Tensor &t : value.toTensorVector())
			out.push_back(t);
		return VACCEL_OK;
	}
	if (value.isList()) {
		for (const c10::IValue &e : value.toListRef())
			if (int rc = flatten_into(e, out, error, depth + 1);
			    rc != VACCEL_OK)
				return rc;
		return VACCEL_OK;
	}
	error = "the model returned a " + value.tagKind() +
		" value; only tensors and tuples/lists of tensors can be "
		"returned";
	return VACCEL_ENOTSUP;
}

} // namespace

int flatten_outputs(const c10::IValue &value, std::vector<at::Tensor> &out,
		    std::string &error)
{
	out.clear();
	return flatten_into(value, out, error, 0);
}

int from_torch(const at::Tensor &t, vaccel_torch_tensor **out,
	       std::string &error)
{
	*out = nullptr;
	if (!t.defined()) {
		error = "is an undefined tensor";
		return VACCEL_ENOTSUP;
	}
	const auto type = to_vaccel_type(t.scalar_type());
	if (!type) {
		error = std::string("has libtorch type ") +
			c10::toString(t.scalar_type()) +
			", which has no vaccel_torch_data_type";
		return VACCEL_ENOTSUP;
	}
	if (t.is_sparse() || t.is_quantized()) {
		error = "is not a dense tensor";
		return VACCEL_ENOTSUP;
	}

	const at::Tensor cpu = t.to(at::kCPU).contiguous();
	std::vector<int64_t> dims(cpu.sizes().begin(), cpu.sizes().end());
	if (dims.empty())
		dims.push_back(1);
	const size_t bytes = cpu.nbytes();
	int rc = vaccel_torch_tensor_allocate(
	    out, static_cast<int64_t>(dims.size()), dims.data(), *type, bytes);
	if (rc != VACCEL_OK) {
		error =
		    "cannot be allocated (" + std::to_string(bytes) + " bytes)";
		*out = nullptr;
		return rc;
	}
	if (bytes > 0)
		std::memcpy((*out)->data, cpu.data_ptr(), bytes);
	return VACCEL_OK;
}

} // namespace vtorch
