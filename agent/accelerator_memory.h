// SPDX-License-Identifier: Apache-2.0
// The accelerators' memory, for the metrics page: each NVIDIA GPU's used and
// total bytes as its driver reports them (NVML), whoever holds them: this
// agent, its tenants' worker processes, or anyone else on the host.
//
// Why NVML and not the CUDA runtime: it answers without a CUDA context, so
// reading it neither costs a context's memory nor makes a CPU-only agent a
// CUDA user, and it sees the GPU memory of --isolate-tenants workers, which
// the agent process never touches. The library comes with the NVIDIA driver
// and is opened on the first read; a host without it has no such gauges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vaccel::agent
{

struct AcceleratorMemory {
	std::string device; // "cuda:<index>", as VACCEL_TORCH_DEVICE names it
	uint64_t used = 0;
	uint64_t total = 0;
};

// One entry per GPU the driver lists; empty without the driver's NVML (no
// NVIDIA driver here) or when it fails. Any thread; at most a few driver
// calls per device, for a scrape, never for a request.
std::vector<AcceleratorMemory> accelerator_memory();

} // namespace vaccel::agent
