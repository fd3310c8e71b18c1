// SPDX-License-Identifier: Apache-2.0
#include "input.h"

#include <vaccel.h>

#include <stdio.h>

int example_image_input(const char *image_path, float *out)
{
	if (!image_path || !out)
		return VACCEL_EINVAL;

	FILE *f = fopen(image_path, "rb");
	if (!f) {
		fprintf(stderr, "Could not open image %s\n", image_path);
		return VACCEL_ENOENT;
	}
	fclose(f);
	fprintf(stderr,
		"Note: no image decoder in the examples; using a generated "
		"%dx%d input\n",
		EXAMPLE_IMAGE_WIDTH, EXAMPLE_IMAGE_HEIGHT);

	/* ImageNet mean and standard deviation of each channel */
	static const float mean[EXAMPLE_IMAGE_CHANNELS] = {0.485F, 0.456F,
							   0.406F};
	static const float stddev[EXAMPLE_IMAGE_CHANNELS] = {0.229F, 0.224F,
							     0.225F};
	for (int i = 0; i < EXAMPLE_IMAGE_FLOATS; i++) {
		const int c = i % EXAMPLE_IMAGE_CHANNELS;
		const float pixel = (float)((i * 7) % 256) / 255.0F;
		out[i] = (pixel - mean[c]) / stddev[c];
	}
	return VACCEL_OK;
}
