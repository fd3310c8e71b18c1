// SPDX-License-Identifier: Apache-2.0
// VACCEL_ACCELERATOR_BYTES: the CUDA memory this process's libtorch may
// take for tensors, set by vaccel-agent for a tenant's worker process from
// its policy (or by an operator for a whole process). Enforced through
// libtorch's CUDA caching allocator (its per-process memory fraction, the
// C++ side of torch.cuda.set_per_process_memory_fraction): an allocation
// past the cap fails as CUDA out-of-memory, which the plugin reports as
// VACCEL_ENOMEM. What the CUDA context and libraries (cuBLAS, cuDNN
// workspaces) take outside that allocator is not counted.
#pragma once

#include <string>

namespace vtorch
{

// Puts the cap in force before the process's first CUDA tensor; later
// calls return the first one's result. VACCEL_OK when there is no cap or
// it is in force; VACCEL_EINVAL for a malformed value; VACCEL_ENOTSUP when
// this build cannot enforce it (libtorch without its CUDA allocator): CUDA
// is then refused rather than used uncapped.
int apply_memory_cap(std::string &error);

} // namespace vtorch
