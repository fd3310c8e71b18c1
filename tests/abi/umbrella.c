// SPDX-License-Identifier: Apache-2.0
/* The umbrella header, as a C11 program includes it, plus a few uses of
 * what it declares so that macros and inline helpers are compiled too.
 * Nothing else is included: what upstream's headers bring in (PRId64 from
 * <inttypes.h>, which upstream's plugin template uses) must come with
 * ours. */
#include <vaccel.h>

int abi_umbrella_use(void);

int abi_umbrella_use(void)
{
	struct vaccel_prof_region region = VACCEL_PROF_REGION_INIT("abi");
	struct vaccel_arg arg = {NULL, 0, VACCEL_ARG_RAW, 0, false};
	char name[VACCEL_ENUM_STR_MAX];

	(void)region;
	(void)arg;
	(void)vaccel_arg_type_to_str(VACCEL_ARG_UINT8);
	(void)vaccel_op_type_to_lower(VACCEL_OP_BLAS_SGEMM, name, sizeof(name));
	(void)PRId64;
	return (int)VACCEL_ARG_CUSTOM + (int)VACCEL_TF_UINT64 +
	       (int)VACCEL_TFLITE_INT4 + (int)VACCEL_TORCH_FLOAT;
}
