// SPDX-License-Identifier: Apache-2.0
// The name failure messages give an op: the C function's name without its
// "vaccel_" prefix ("exec", "torch_model_run", "blas_sgemm"), the words a
// program's author wrote rather than the enum's "VACCEL_OP_EXEC".
#pragma once

#include <vaccel/op.h>

namespace vaccel::core
{

// Lower-case name of @p op ("max" for a value out of range); static
// storage, never NULL.
const char *op_name(vaccel_op_type_t op) noexcept;

} // namespace vaccel::core
