// SPDX-License-Identifier: Apache-2.0
#include "tensors.h"

namespace vaccel::agent::handlers
{

int tf_elem_size(int type)
{
	switch (type) {
	case VACCEL_TF_INT8:
	case VACCEL_TF_UINT8:
	case VACCEL_TF_BOOL:
	case VACCEL_TF_QINT8:
	case VACCEL_TF_QUINT8:
		return 1;
	case VACCEL_TF_INT16:
	case VACCEL_TF_UINT16:
	case VACCEL_TF_QINT16:
	case VACCEL_TF_QUINT16:
	case VACCEL_TF_BFLOAT16:
	case VACCEL_TF_HALF:
		return 2;
	case VACCEL_TF_FLOAT:
	case VACCEL_TF_INT32:
	case VACCEL_TF_UINT32:
	case VACCEL_TF_QINT32:
		return 4;
	case VACCEL_TF_DOUBLE:
	case VACCEL_TF_INT64:
	case VACCEL_TF_UINT64:
	case VACCEL_TF_COMPLEX64:
		return 8;
	case VACCEL_TF_COMPLEX128:
		return 16;
	case VACCEL_TF_STRING:
	case VACCEL_TF_RESOURCE:
	case VACCEL_TF_VARIANT:
		return 0;
	default:
		return -1;
	}
}

int tflite_elem_size(int type)
{
	switch (type) {
	case VACCEL_TFLITE_UINT8:
	case VACCEL_TFLITE_INT8:
	case VACCEL_TFLITE_BOOL:
		return 1;
	case VACCEL_TFLITE_INT16:
	case VACCEL_TFLITE_UINT16:
	case VACCEL_TFLITE_FLOAT16:
		return 2;
	case VACCEL_TFLITE_FLOAT32:
	case VACCEL_TFLITE_INT32:
	case VACCEL_TFLITE_UINT32:
		return 4;
	case VACCEL_TFLITE_INT64:
	case VACCEL_TFLITE_UINT64:
	case VACCEL_TFLITE_FLOAT64:
	case VACCEL_TFLITE_COMPLEX64:
		return 8;
	case VACCEL_TFLITE_COMPLEX128:
		return 16;
	case VACCEL_TFLITE_NOTYPE:
	case VACCEL_TFLITE_STRING:
	case VACCEL_TFLITE_RESOURCE:
	case VACCEL_TFLITE_VARIANT:
	case VACCEL_TFLITE_INT4:
		return 0;
	default:
		return -1;
	}
}

int torch_elem_size(int type)
{
	switch (type) {
	case VACCEL_TORCH_BYTE:
	case VACCEL_TORCH_CHAR:
		return 1;
	case VACCEL_TORCH_SHORT:
	case VACCEL_TORCH_HALF:
		return 2;
	case VACCEL_TORCH_INT:
	case VACCEL_TORCH_FLOAT:
		return 4;
	case VACCEL_TORCH_LONG:
		return 8;
	default:
		return -1;
	}
}

} // namespace vaccel::agent::handlers
