// SPDX-License-Identifier: Apache-2.0
/*
 * Upstream vAccel's binary interface, declared independently of this
 * repository's headers: the structs a program or plugin built against
 * upstream's headers allocates and reads, written to the facts in
 * upstream_layout.def (upstream_abi_check.c holds them to it), and the
 * entry points the ABI program and plugin call. Nothing here includes
 * <vaccel.h>: what these tests see of libvaccel is what an upstream-built
 * binary sees.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UP_OK 0
#define UP_EINVAL 22
#define UP_RESOURCE_KINDS 3 /* lib, data, model */
#define UP_OP_KINDS 24
#define UP_RESOURCE_MODEL 2
#define UP_PATH_LOCAL_FILE 0
#define UP_OP_NOOP 0
#define UP_ARG_UINT32 13
#define UP_PLUGIN_DEBUG 0x0100
#define UP_SLOG_INFO (1 << 2)
#define UP_TORCH_FLOAT 7
#define UP_TF_FLOAT 1
#define UP_TFLITE_FLOAT32 1

struct up_link {
	struct up_link *next;
	struct up_link *prev;
};

/* glibc x86_64 pthread_mutex_t */
struct up_mutex {
	uint64_t opaque[5];
};

struct up_session {
	int64_t id;
	int64_t remote_id;
	uint32_t hint;
	bool is_virtio;
	char rundir[4096];
	struct up_link entry;
	struct up_link resources[UP_RESOURCE_KINDS];
	size_t resource_counts[UP_RESOURCE_KINDS];
	struct up_mutex resources_lock;
	struct up_plugin *plugin;
	void *priv;
};

struct up_blob {
	int type;
	char *name;
	char *path;
	bool path_owned;
	uint8_t *data;
	bool data_owned;
	size_t size;
};

struct up_resource {
	int64_t id;
	int64_t remote_id;
	int type;
	int path_type;
	char **paths;
	size_t nr_paths;
	char *rundir;
	struct up_blob **blobs;
	size_t nr_blobs;
	struct up_link entry;
	struct up_link sessions;
	struct up_mutex sessions_lock;
	unsigned int refcount;
	void *plugin_priv;
};

struct up_plugin_info {
	const char *name;
	const char *version;
	const char *vaccel_version;
	int (*init)(void);
	int (*fini)(void);
	bool is_virtio;
	int type;
	int (*session_init)(struct up_session *sess, uint32_t flags);
	int (*session_release)(struct up_session *sess);
	int (*session_update)(struct up_session *sess, uint32_t flags);
	int (*resource_register)(struct up_resource *res,
				 struct up_session *sess);
	int (*resource_unregister)(struct up_resource *res,
				   struct up_session *sess);
	int (*resource_sync)(struct up_resource *res, struct up_session *sess);
};

struct up_op {
	int type;
	void *func;
	struct up_plugin *owner;
};

struct up_plugin {
	void *dl_handle;
	struct up_link entry;
	struct up_op *ops[UP_OP_KINDS];
	struct up_plugin_info *info;
};

struct up_arg {
	void *buf;
	size_t size;
	int type;
	uint32_t custom_type_id;
	bool owned;
};

struct up_arg_array {
	struct up_arg *args;
	size_t count;
	size_t capacity;
	size_t position;
	bool owned;
};

struct up_prof_sample {
	uint64_t start;
	uint64_t time;
};

struct up_prof_region {
	const char *name;
	bool name_owned;
	size_t nr_entries;
	struct up_prof_sample *samples;
	size_t size;
};

struct up_torch_tensor {
	void *data;
	size_t size;
	bool owned;
	int64_t nr_dims;
	int64_t *dims;
	int data_type;
};

struct up_tf_tensor {
	void *data;
	size_t size;
	bool owned;
	int nr_dims;
	int64_t *dims;
	int data_type;
};

struct up_tflite_tensor {
	void *data;
	size_t size;
	bool owned;
	int nr_dims;
	int32_t *dims;
	int data_type;
};

struct up_config {
	char *plugins;
	int log_level;
	char *log_file;
	bool profiling_enabled;
	bool version_ignore;
};

struct up_arg_list {
	uint32_t size;
	struct up_arg *list;
	int curr_idx;
	int *idcs_allocated_space;
};

struct up_torch_buffer {
	char *data;
	size_t size;
};

struct up_tf_buffer {
	void *data;
	size_t size;
};

struct up_tf_node {
	char *name;
	int id;
};

struct up_tf_status {
	uint8_t code;
	char *message;
};

/* Entry points, under upstream's names. */
int vaccel_session_init(struct up_session *sess, uint32_t flags);
int vaccel_session_release(struct up_session *sess);
int vaccel_resource_init(struct up_resource *res, const char *path, int type);
int vaccel_resource_release(struct up_resource *res);
int vaccel_resource_register(struct up_resource *res, struct up_session *sess);
int vaccel_resource_unregister(struct up_resource *res,
			       struct up_session *sess);
long int vaccel_resource_refcount(const struct up_resource *res);
int vaccel_arg_array_init(struct up_arg_array *array, size_t capacity);
int vaccel_arg_array_add_uint32(struct up_arg_array *array, uint32_t *value);
int vaccel_arg_array_release(struct up_arg_array *array);
int vaccel_prof_region_init(struct up_prof_region *region, const char *name);
int vaccel_prof_region_start(struct up_prof_region *region);
int vaccel_prof_region_stop(const struct up_prof_region *region);
int vaccel_prof_region_release(struct up_prof_region *region);
int vaccel_torch_tensor_new(struct up_torch_tensor **tensor, int64_t nr_dims,
			    const int64_t *dims, int type);
int vaccel_torch_tensor_delete(struct up_torch_tensor *tensor);
int vaccel_tf_tensor_new(struct up_tf_tensor **tensor, int nr_dims,
			 const int64_t *dims, int type);
int vaccel_tf_tensor_delete(struct up_tf_tensor *tensor);
int vaccel_tflite_tensor_new(struct up_tflite_tensor **tensor, int nr_dims,
			     const int32_t *dims, int type);
int vaccel_tflite_tensor_delete(struct up_tflite_tensor *tensor);
int vaccel_noop(struct up_session *sess);
int vaccel_plugin_register_ops(struct up_op *ops, size_t nr_ops);
int fs_file_read(const char *path, void **data, size_t *size);
void slog_print(int flag, uint8_t new_line, const char *fmt, ...);
