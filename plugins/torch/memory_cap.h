// SPDX-License-Identifier: Apache-2.0
// VACCEL_ACCELERATOR_BYTES: the CUDA memory this process's libtorch may
// take for tensors, set by vaccel-agent for a tenant's worker process from
// its policy (or by an operator for a whole process). Enforced through
// libtorch's CUDA caching allocator (its per-process memory fraction, the
// C++ side of torch.cuda.set_per_process_memory_fraction), on every visible
// device, each on its own: an allocation past it fails as CUDA
// out-of-memory, which the plugin reports as VACCEL_ENOMEM. What the CUDA
// context and libraries (cuBLAS, cuDNN workspaces) take outside that
// allocator is not counted.
//
// It is put in force when the plugin loads, not when the plugin first picks
// a CUDA device: a TorchScript model can create CUDA tensors of its own
// whatever VACCEL_TORCH_DEVICE says. Where it cannot be enforced (a value
// that is not a plain number of bytes, PYTORCH_NO_CUDA_MEMORY_CACHING set,
// which bypasses the allocator, or a libtorch built without its CUDA
// allocator) the plugin hides every GPU from the process
// (CUDA_VISIBLE_DEVICES="", before CUDA starts) rather than let a model
// use them uncapped.
#pragma once

#include <string>

namespace vtorch
{

// Puts the cap in force (or hides the GPUs, see above), once per process;
// later calls return the first one's result. VACCEL_OK when there is no
// cap or it is in force; otherwise the reason in @p error, and
// VACCEL_EINVAL (malformed value or a conflicting setting), VACCEL_ENOTSUP
// (this build cannot enforce it) or VACCEL_EBACKEND.
int apply_memory_cap(std::string &error);

} // namespace vtorch
