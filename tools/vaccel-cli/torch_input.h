// SPDX-License-Identifier: Apache-2.0
// The input of `vaccel run torch` (docs/cli.md): a raw float32 file of the
// shape --shape gives, or, without --shape, an image prepared exactly as
// the torch plugin's classification prepares one (the same code,
// plugins/torch/image.cpp, with the settings of the model directory's
// *.cfg files, else VACCEL_TORCH_IMAGE_*, else ImageNet's), as a
// 1 x C x H x W tensor. And the labels of its top-k.
#pragma once

#include "cli.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vaccel_cli
{

struct TorchInput {
	std::vector<int64_t> dims;
	std::vector<float> data;
};

// Throws CliError: kExitUsage for a bad --shape or a file of the wrong
// size, kExitSetup for unreadable or undecodable input.
TorchInput torch_input(const OpOptions &o);

// The class labels: --labels, else the first *.txt (by name) of a model
// directory; empty when there are none.
std::vector<std::string> torch_labels(const OpOptions &o);

} // namespace vaccel_cli
