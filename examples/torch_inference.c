// SPDX-License-Identifier: Apache-2.0
/*
 * torch_inference: load a TorchScript model as a resource and run it on a
 * 1x3x224x224 float input.
 *
 *   torch_inference <image_file> <model_file> <labels_file> [iterations]
 */
#include "common/example.h"
#include "common/input.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char *argv[])
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr,
			"Usage: %s <image_file> <model_file> <labels_file> "
			"[iterations]\n",
			argv[0]);
		return VACCEL_EINVAL;
	}
	const int iterations = example_iterations(argc, argv, 4);
	if (iterations < 0)
		return VACCEL_EINVAL;

	struct vaccel_prof_region load_region =
	    VACCEL_PROF_REGION_INIT("torch_model_load");
	struct vaccel_prof_region run_region =
	    VACCEL_PROF_REGION_INIT("torch_model_run");
	struct vaccel_resource model = {.id = 0};
	struct vaccel_session sess = {.id = 0};
	struct vaccel_torch_tensor *in = NULL;

	int ret = vaccel_resource_init(&model, argv[2], VACCEL_RESOURCE_MODEL);
	if (ret) {
		fprintf(stderr, "Could not initialize model resource: %d\n",
			ret);
		return ret;
	}
	printf("Initialized model resource %" PRId64 "\n", model.id);

	ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize vAccel session: %d\n",
			ret);
		goto release_model;
	}
	printf("Initialized vAccel session %" PRId64 "\n", sess.id);

	ret = vaccel_resource_register(&model, &sess);
	if (ret) {
		fprintf(stderr, "Could not register model with session: %d\n",
			ret);
		goto release_session;
	}

	vaccel_prof_region_start(&load_region);
	ret = vaccel_torch_model_load(&sess, &model);
	vaccel_prof_region_stop(&load_region);
	if (ret) {
		fprintf(stderr, "Could not load model: %d\n", ret);
		goto unregister_model;
	}

	const int64_t dims[] = {1, EXAMPLE_IMAGE_CHANNELS, EXAMPLE_IMAGE_WIDTH,
				EXAMPLE_IMAGE_HEIGHT};
	ret =
	    vaccel_torch_tensor_allocate(&in, 4, dims, VACCEL_TORCH_FLOAT,
					 sizeof(float) * EXAMPLE_IMAGE_FLOATS);
	if (ret) {
		fprintf(stderr, "Could not create input tensor: %d\n", ret);
		goto unregister_model;
	}
	ret = example_image_input(argv[1], in->data);
	if (ret)
		goto delete_input;

	for (int i = 0; i < iterations; i++) {
		struct vaccel_torch_tensor *out = NULL;

		vaccel_prof_region_start(&run_region);
		ret = vaccel_torch_model_run(&sess, &model, NULL, &in, 1, &out,
					     1);
		vaccel_prof_region_stop(&run_region);
		if (ret) {
			fprintf(stderr, "Could not run op: %d\n", ret);
			break;
		}

		printf("Success!\n");
		printf("Result Tensor :\n");
		printf("Output tensor => type:%u nr_dims:%" PRId64
		       " size:%zuB\n",
		       (unsigned)out->data_type, out->nr_dims, out->size);

		if (vaccel_torch_tensor_delete(out))
			fprintf(stderr, "Could not delete output tensor\n");
	}

delete_input:
	if (vaccel_torch_tensor_delete(in))
		fprintf(stderr, "Could not delete input tensor\n");
unregister_model:
	if (vaccel_resource_unregister(&model, &sess))
		fprintf(stderr, "Could not unregister model from session\n");
release_session:
	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");
release_model:
	if (vaccel_resource_release(&model))
		fprintf(stderr, "Could not release model resource\n");

	vaccel_prof_region_print(&load_region);
	vaccel_prof_region_print(&run_region);
	vaccel_prof_region_release(&load_region);
	vaccel_prof_region_release(&run_region);
	return ret;
}
