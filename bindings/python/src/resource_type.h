// SPDX-License-Identifier: Apache-2.0
// The type vaccel.Resource(path) gives a resource when none is named
// (docs/python.md, "Resource types"). Upstream's binding requires one; a
// default of DATA made a model directory unusable for classification
// ("no MODEL resource"), so the type is read off the files instead:
//   - any model file (.pt .pth .ptl .torchscript .onnx .tflite .pb .h5
//     .keras .engine .plan)                             -> MODEL
//   - only shared libraries (.so, .so.N)                -> LIB
//   - shared libraries among other files (a compiled
//     model and its parameters)                         -> MODEL
//   - anything else                                     -> DATA
// A directory counts its regular files (as the C API does: not
// recursively); a URL counts the last segment of its path.
#pragma once

#include <vaccel.h>

#include <string>
#include <vector>

namespace vaccel_py
{

vaccel_resource_type_t
infer_resource_type(const std::vector<std::string> &paths);

} // namespace vaccel_py
