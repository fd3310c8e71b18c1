// SPDX-License-Identifier: Apache-2.0
// The shape of an ONNX model's first input, read straight from the protobuf
// bytes. OpenCV 4.6 has no public call that returns a network's declared
// input shape, and the plugin needs it to pick the input size and the
// colour mode (1x1x28x28 means a 28x28 grayscale image).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ocv
{

struct OnnxInput {
	std::string name;
	int32_t elem_type = 0;     // TensorProto.DataType; 1 is FLOAT, 0 unset
	std::vector<int64_t> dims; // -1 where the dimension is symbolic
	static constexpr int32_t kFloat = 1;
};

// The first graph input that is not an initializer, or nullopt when the
// bytes do not parse as an ONNX ModelProto or the graph has no such input.
std::optional<OnnxInput> read_onnx_input(const unsigned char *data,
					 size_t size);

} // namespace ocv
