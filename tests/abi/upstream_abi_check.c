// SPDX-License-Identifier: Apache-2.0
/* upstream_abi.h against the facts (upstream_layout.def), at compile time:
 * the ABI program and plugin then stand for binaries built against
 * upstream's own headers. */
#include "upstream_abi.h"

#define UP_vaccel_list_entry struct up_link
#define UP_vaccel_session struct up_session
#define UP_vaccel_resource struct up_resource
#define UP_vaccel_blob struct up_blob
#define UP_vaccel_config struct up_config
#define UP_vaccel_op struct up_op
#define UP_vaccel_plugin_info struct up_plugin_info
#define UP_vaccel_plugin struct up_plugin
#define UP_vaccel_arg struct up_arg
#define UP_vaccel_arg_array struct up_arg_array
#define UP_vaccel_arg_list struct up_arg_list
#define UP_vaccel_prof_sample struct up_prof_sample
#define UP_vaccel_prof_region struct up_prof_region
#define UP_vaccel_torch_buffer struct up_torch_buffer
#define UP_vaccel_torch_tensor struct up_torch_tensor
#define UP_vaccel_tf_buffer struct up_tf_buffer
#define UP_vaccel_tf_node struct up_tf_node
#define UP_vaccel_tf_tensor struct up_tf_tensor
#define UP_vaccel_tf_status struct up_tf_status
#define UP_vaccel_tflite_tensor struct up_tflite_tensor

#define VACCEL_ABI_SIZE(s, size, align)                                        \
	_Static_assert(sizeof(UP_##s) == (size), "sizeof " #s);                \
	_Static_assert(_Alignof(UP_##s) == (align), "alignof " #s);
#define VACCEL_ABI_FIELD(s, f, off, size)                                      \
	_Static_assert(offsetof(UP_##s, f) == (off), "offset " #s "." #f);     \
	_Static_assert(sizeof(((UP_##s *)0)->f) == (size), "size " #s "." #f);

#include "upstream_layout.def"
