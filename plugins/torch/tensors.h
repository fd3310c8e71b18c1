// SPDX-License-Identifier: Apache-2.0
// Conversions between vAccel torch tensors and libtorch tensors.
//
// Element types: BYTE<->uint8, CHAR<->int8, SHORT<->int16, INT<->int32,
// LONG<->int64, HALF<->float16, FLOAT<->float32. Every vAccel type has a
// libtorch type; libtorch types without a vAccel one (bool, float64,
// bfloat16, complex, quantized...) cannot be returned: VACCEL_ENOTSUP.
#pragma once

#include <vaccel.h>

#include <ATen/Tensor.h>
#include <ATen/core/ivalue.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>
#include <vector>

namespace vtorch
{

std::optional<c10::ScalarType> to_scalar_type(int data_type);

// The tensor's data_type as the int the caller stored. Read without loading
// the enum: in C++ an enum holding a value outside its enumerators is
// undefined behaviour, and callers (in C) may store anything there.
int raw_data_type(const vaccel_torch_tensor *t);
std::optional<vaccel_torch_data_type> to_vaccel_type(c10::ScalarType type);

// A CPU tensor over @p in's data (no copy when the data is suitably
// aligned). Validates the descriptor: a known type, nr_dims >= 1, dims
// >= 0, and size equal to the bytes the dims need. On failure returns
// VACCEL_EINVAL and sets @p error.
int to_torch(const vaccel_torch_tensor *in, at::Tensor &out,
	     std::string &error);

// Flattens a model's result into its tensors, in order: a tensor, or a
// tuple / list of tensors (nested ones are flattened depth first). Other
// values (dicts, numbers, strings, None) give VACCEL_ENOTSUP.
int flatten_outputs(const c10::IValue &value, std::vector<at::Tensor> &out,
		    std::string &error);

// A new vAccel tensor (freed with vaccel_torch_tensor_delete()) holding a
// copy of @p t, moved to the CPU. A 0-dim tensor becomes dims {1}.
int from_torch(const at::Tensor &t, vaccel_torch_tensor **out,
	       std::string &error);

} // namespace vtorch
