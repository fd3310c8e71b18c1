// SPDX-License-Identifier: Apache-2.0
/*
 * Input of the inference examples: a 224x224 RGB image as normalized floats.
 * The examples carry no image decoder, so the pixels are generated; a real
 * application would decode and resize its image here.
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	EXAMPLE_IMAGE_WIDTH = 224,
	EXAMPLE_IMAGE_HEIGHT = 224,
	EXAMPLE_IMAGE_CHANNELS = 3,
	EXAMPLE_IMAGE_FLOATS =
	    EXAMPLE_IMAGE_WIDTH * EXAMPLE_IMAGE_HEIGHT * EXAMPLE_IMAGE_CHANNELS,
};

/* Fill @p out (EXAMPLE_IMAGE_FLOATS floats) with a deterministic test
 * pattern, normalized like ImageNet inputs. @p image_path must name a
 * readable file (it is checked, not decoded). @return 0 or a VACCEL_E* code. */
int example_image_input(const char *image_path, float *out);

#ifdef __cplusplus
}
#endif
