// SPDX-License-Identifier: Apache-2.0
/*
 * The image examples: classify, detect, segment, pose and depth, each also
 * in a "_generic" form that makes the same call through vaccel_genop().
 * One source, built once per program: EXAMPLE_IMAGE_OP is the op
 * (VACCEL_OP_IMAGE_*) and EXAMPLE_USE_GENOP selects the generic form.
 *
 *   <program> <image_file> [iterations] [model_path]
 *
 * With a model path, the model is registered with the session as a MODEL
 * resource, where the backend finds it. After the result image's path, the
 * summary the plugin wrote next to it, if any, is printed a line at a time
 * ("detection result: <class> <score> <x1> <y1> <x2> <y2> <label>" from
 * the opencv plugin); with EXAMPLE_RESULTS_DIR set, the result files are
 * copied there, since the session's run directory goes with the session.
 */
#include "common/example.h"
#include "common/results.h"

#include <vaccel.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef EXAMPLE_IMAGE_OP
#error "define EXAMPLE_IMAGE_OP to one of VACCEL_OP_IMAGE_*"
#endif

enum { OUT_TEXT_MAX = 512 };

struct outputs {
	unsigned char text[OUT_TEXT_MAX]; /* classification only */
	unsigned char imgname[OUT_TEXT_MAX];
};

/* What each op's result is called when printed. */
static const char *result_label(vaccel_op_type_t op)
{
	switch (op) {
	case VACCEL_OP_IMAGE_CLASSIFY:
		return "classification";
	case VACCEL_OP_IMAGE_DETECT:
		return "detection";
	case VACCEL_OP_IMAGE_SEGMENT:
		return "segmentation";
	case VACCEL_OP_IMAGE_POSE:
		return "pose estimation";
	case VACCEL_OP_IMAGE_DEPTH:
		return "depth estimation";
	default:
		return "image";
	}
}

/* Name of the profiling region. */
static const char *region_name(vaccel_op_type_t op)
{
	switch (op) {
	case VACCEL_OP_IMAGE_CLASSIFY:
		return "classify";
	case VACCEL_OP_IMAGE_DETECT:
		return "detect";
	case VACCEL_OP_IMAGE_SEGMENT:
		return "segment";
	case VACCEL_OP_IMAGE_POSE:
		return "pose";
	case VACCEL_OP_IMAGE_DEPTH:
		return "depth";
	default:
		return "image";
	}
}

#ifdef EXAMPLE_USE_GENOP
/* The generic form: read = { op type, image }, write = { imgname [, text] }. */
static int run_op(struct vaccel_session *sess, vaccel_op_type_t op, void *image,
		  size_t image_size, struct outputs *out)
{
	struct vaccel_arg_array read;
	struct vaccel_arg_array write;
	int ret = vaccel_arg_array_init(&read, 2);
	if (ret)
		return ret;
	ret = vaccel_arg_array_init(&write, 2);
	if (ret) {
		vaccel_arg_array_release(&read);
		return ret;
	}

	uint8_t op_type = (uint8_t)op;
	ret = vaccel_arg_array_add_uint8(&read, &op_type);
	if (!ret)
		ret = vaccel_arg_array_add_buffer(&read, image, image_size);
	if (!ret)
		ret = vaccel_arg_array_add_uchar_array(&write, out->imgname,
						       sizeof(out->imgname));
	if (!ret && op == VACCEL_OP_IMAGE_CLASSIFY)
		ret = vaccel_arg_array_add_uchar_array(&write, out->text,
						       sizeof(out->text));
	if (ret)
		fprintf(stderr, "Could not pack arguments: %d\n", ret);
	else
		ret = vaccel_genop(sess, read.args, (int)read.count, write.args,
				   (int)write.count);

	vaccel_arg_array_release(&write);
	vaccel_arg_array_release(&read);
	return ret;
}
#else
static int run_op(struct vaccel_session *sess, vaccel_op_type_t op, void *image,
		  size_t image_size, struct outputs *out)
{
	switch (op) {
	case VACCEL_OP_IMAGE_CLASSIFY:
		return vaccel_image_classification(
		    sess, image, out->text, out->imgname, image_size,
		    sizeof(out->text), sizeof(out->imgname));
	case VACCEL_OP_IMAGE_DETECT:
		return vaccel_image_detection(sess, image, out->imgname,
					      image_size, sizeof(out->imgname));
	case VACCEL_OP_IMAGE_SEGMENT:
		return vaccel_image_segmentation(sess, image, out->imgname,
						 image_size,
						 sizeof(out->imgname));
	case VACCEL_OP_IMAGE_POSE:
		return vaccel_image_pose(sess, image, out->imgname, image_size,
					 sizeof(out->imgname));
	case VACCEL_OP_IMAGE_DEPTH:
		return vaccel_image_depth(sess, image, out->imgname, image_size,
					  sizeof(out->imgname));
	default:
		return VACCEL_ENOTSUP;
	}
}
#endif

int main(int argc, char *argv[])
{
	const vaccel_op_type_t op = EXAMPLE_IMAGE_OP;

	if (argc < 2 || argc > 4) {
		fprintf(stderr,
			"Usage: %s <image_file> [iterations] [model_path]\n",
			argv[0]);
		return VACCEL_EINVAL;
	}
	const int iterations = example_iterations(argc, argv, 2);
	if (iterations < 0)
		return VACCEL_EINVAL;

	struct vaccel_prof_region region =
	    VACCEL_PROF_REGION_INIT(region_name(op));
	struct vaccel_session sess;
	int ret = vaccel_session_init(&sess, 0);
	if (ret) {
		fprintf(stderr, "Could not initialize session: %d\n", ret);
		return ret;
	}
	printf("Initialized session with id: %" PRId64 "\n", sess.id);

	struct vaccel_resource model = {.id = 0};
	void *image = NULL;
	size_t image_size = 0;

	if (argc == 4) {
		ret = vaccel_resource_init(&model, argv[3],
					   VACCEL_RESOURCE_MODEL);
		if (ret) {
			fprintf(stderr, "Could not create model resource: %d\n",
				ret);
			goto release_session;
		}
		ret = vaccel_resource_register(&model, &sess);
		if (ret) {
			fprintf(stderr, "Could not register model: %d\n", ret);
			goto release_model;
		}
	}

	ret = example_read_file(argv[1], &image, &image_size);
	if (ret)
		goto unregister_model;

	for (int i = 0; i < iterations; i++) {
		struct outputs out = {{0}, {0}};

		vaccel_prof_region_start(&region);
		ret = run_op(&sess, op, image, image_size, &out);
		vaccel_prof_region_stop(&region);
		if (ret) {
			fprintf(stderr, "Could not run op: %d\n", ret);
			break;
		}

		const char *label = result_label(op);
		if (op == VACCEL_OP_IMAGE_CLASSIFY)
			printf("%s tags: %s\n", label, (const char *)out.text);
		printf("%s imagename: %s\n", label, (const char *)out.imgname);
		example_print_summary(label, (const char *)out.imgname);
		ret = example_keep_results((const char *)out.imgname);
		if (ret)
			break;
	}

	free(image);
unregister_model:
	if (model.id > 0 && vaccel_resource_unregister(&model, &sess))
		fprintf(stderr, "Could not unregister model\n");
release_model:
	if (model.id > 0 && vaccel_resource_release(&model))
		fprintf(stderr, "Could not release model\n");
release_session:
	if (vaccel_session_release(&sess))
		fprintf(stderr, "Could not release session\n");

	vaccel_prof_region_print(&region);
	vaccel_prof_region_release(&region);
	return ret;
}
