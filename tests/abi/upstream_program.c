// SPDX-License-Identifier: Apache-2.0
/* A program as upstream's headers lay it out (upstream_abi.h), run against
 * this libvaccel with the ABI plugin loaded (VACCEL_PLUGINS): it allocates
 * upstream-sized objects, lets the library fill them and reads every field
 * it checks at upstream's offsets. Exits non-zero at the first mismatch. */
#include "upstream_abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define EXPECT(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,     \
				#cond);                                        \
			++failures;                                            \
		}                                                              \
	} while (0)

static const char model_bytes[] = "abi model bytes";

static void check_session(struct up_session *sess)
{
	struct stat st;

	EXPECT(sess->id > 0);
	EXPECT(sess->rundir[0] == '/');
	EXPECT(stat(sess->rundir, &st) == 0 && S_ISDIR(st.st_mode));
	EXPECT(!sess->is_virtio);
	/* Upstream's per-type resource lists are empty heads, safe to walk. */
	for (int i = 0; i < UP_RESOURCE_KINDS; ++i)
		EXPECT(sess->resources[i].next == &sess->resources[i] &&
		       sess->resources[i].prev == &sess->resources[i]);
	/* The session's plugin is the ABI plugin's own object: the loader
	 * found its descriptor at upstream's offset. */
	EXPECT(sess->plugin != NULL && sess->plugin->info != NULL &&
	       strcmp(sess->plugin->info->name, "abi-upstream") == 0);
	EXPECT(vaccel_noop(sess) == UP_OK);
	EXPECT(sess->priv == (void *)1);
}

static void check_resource(struct up_session *sess, const char *path)
{
	struct up_resource res;

	memset(&res, 0xa5, sizeof(res));
	EXPECT(vaccel_resource_init(&res, path, UP_RESOURCE_MODEL) == UP_OK);
	EXPECT(res.id > 0);
	EXPECT(res.type == UP_RESOURCE_MODEL);
	EXPECT(res.path_type == UP_PATH_LOCAL_FILE);
	EXPECT(res.nr_paths == 1 && strcmp(res.paths[0], path) == 0);
	EXPECT(res.nr_blobs == 1 && res.blobs[0]->path != NULL);
	EXPECT(res.refcount == 0);
	EXPECT(res.sessions.next == &res.sessions &&
	       res.sessions.prev == &res.sessions);
	EXPECT(vaccel_resource_register(&res, sess) == UP_OK);
	EXPECT(res.refcount == 1 && vaccel_resource_refcount(&res) == 1);
	EXPECT(vaccel_resource_unregister(&res, sess) == UP_OK);
	EXPECT(res.refcount == 0);
	EXPECT(vaccel_resource_release(&res) == UP_OK);
}

static void check_args(void)
{
	struct up_arg_array array;
	uint32_t value = 42;

	EXPECT(vaccel_arg_array_init(&array, 2) == UP_OK);
	EXPECT(vaccel_arg_array_add_uint32(&array, &value) == UP_OK);
	EXPECT(array.count == 1 && array.capacity >= 1);
	EXPECT(array.args[0].buf == &value);
	EXPECT(array.args[0].size == sizeof(value));
	EXPECT(array.args[0].type == UP_ARG_UINT32);
	EXPECT(vaccel_arg_array_release(&array) == UP_OK);
}

static void check_prof(void)
{
	struct up_prof_region region;

	EXPECT(vaccel_prof_region_init(&region, "abi") == UP_OK);
	EXPECT(region.name != NULL && strcmp(region.name, "abi") == 0);
	EXPECT(vaccel_prof_region_start(&region) == UP_OK);
	EXPECT(vaccel_prof_region_stop(&region) == UP_OK);
	/* The test sets VACCEL_PROFILING_ENABLED: one sample recorded. */
	EXPECT(region.nr_entries == 1 && region.samples != NULL);
	EXPECT(vaccel_prof_region_release(&region) == UP_OK);
}

static void check_tensors(void)
{
	const int64_t dims64[] = {2, 3};
	const int32_t dims32[] = {2, 3};
	struct up_torch_tensor *torch = NULL;
	struct up_tf_tensor *tf = NULL;
	struct up_tflite_tensor *tflite = NULL;

	EXPECT(vaccel_torch_tensor_new(&torch, 2, dims64, UP_TORCH_FLOAT) ==
	       UP_OK);
	EXPECT(torch && torch->nr_dims == 2 && torch->dims[1] == 3 &&
	       torch->data_type == UP_TORCH_FLOAT);
	EXPECT(vaccel_tf_tensor_new(&tf, 2, dims64, UP_TF_FLOAT) == UP_OK);
	EXPECT(tf && tf->nr_dims == 2 && tf->dims[1] == 3 &&
	       tf->data_type == UP_TF_FLOAT);
	EXPECT(vaccel_tflite_tensor_new(&tflite, 2, dims32,
					UP_TFLITE_FLOAT32) == UP_OK);
	EXPECT(tflite && tflite->nr_dims == 2 && tflite->dims[1] == 3 &&
	       tflite->data_type == UP_TFLITE_FLOAT32);
	EXPECT(vaccel_torch_tensor_delete(torch) == UP_OK);
	EXPECT(vaccel_tf_tensor_delete(tf) == UP_OK);
	EXPECT(vaccel_tflite_tensor_delete(tflite) == UP_OK);
}

static void check_exports(const char *path)
{
	void *data = NULL;
	size_t size = 0;

	EXPECT(fs_file_read(path, &data, &size) == UP_OK);
	EXPECT(size == sizeof(model_bytes) &&
	       memcmp(data, model_bytes, size) == 0);
	free(data);
	slog_print(UP_SLOG_INFO, 1, "abi-program: %s", "logging works");
}

int main(void)
{
	char path[] = "/tmp/vaccel-abi-XXXXXX";
	const int fd = mkstemp(path);
	struct up_session sess;

	if (fd < 0 || write(fd, model_bytes, sizeof(model_bytes)) < 0)
		return 2;
	close(fd);
	memset(&sess, 0xa5, sizeof(sess));
	EXPECT(vaccel_session_init(&sess, UP_PLUGIN_DEBUG) == UP_OK);
	if (failures == 0) {
		check_session(&sess);
		check_resource(&sess, path);
		check_args();
		check_prof();
		check_tensors();
		check_exports(path);
		EXPECT(vaccel_session_release(&sess) == UP_OK);
	}
	unlink(path);
	if (failures == 0)
		printf("upstream ABI program: all checks passed\n");
	return failures == 0 ? 0 : 1;
}
