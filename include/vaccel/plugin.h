// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel/plugin.h
 * Writing and loading plugins.
 *
 * A plugin is a shared library that defines, with VACCEL_PLUGIN(), a
 * `vaccel_plugin` symbol describing itself. The runtime dlopen()s it, checks
 * the vAccel version it was built against, and calls its `init`, which
 * registers op implementations with vaccel_plugin_register_ops(). Works the
 * same from C and C++ (in C++ list the fields in declaration order).
 * docs/plugins.md walks through a complete plugin.
 */
#pragma once

#include "list.h"
#include "op.h"
#include "resource.h"
#include "session.h"
#include "utils/enum.h"
#include "utils/layout.h"
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _ENUM_PREFIX VACCEL_PLUGIN
#define VACCEL_PLUGIN_TYPE_ENUM_LIST(VACCEL_ENUM_ITEM)                         \
	VACCEL_ENUM_ITEM(CPU, 0x0001, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(GPU, 0x0002, _ENUM_PREFIX)                            \
	VACCEL_ENUM_ITEM(FPGA, 0x0004, _ENUM_PREFIX)                           \
	VACCEL_ENUM_ITEM(SOFTWARE, 0x0008, _ENUM_PREFIX)                       \
	VACCEL_ENUM_ITEM(TENSORFLOW, 0x0010, _ENUM_PREFIX)                     \
	VACCEL_ENUM_ITEM(TORCH, 0x0020, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(JETSON, 0x0040, _ENUM_PREFIX)                         \
	VACCEL_ENUM_ITEM(GENERIC, 0x0080, _ENUM_PREFIX)                        \
	VACCEL_ENUM_ITEM(DEBUG, 0x0100, _ENUM_PREFIX)                          \
	VACCEL_ENUM_ITEM(REMOTE, 0x4000, _ENUM_PREFIX)                         \
	VACCEL_ENUM_ITEM(ALL, 0xffff, _ENUM_PREFIX)
/** vaccel_plugin_type_t: a bitmask; a session's hint selects by these bits. */
VACCEL_ENUM_DEF_WITH_STR_FUNCS(vaccel_plugin_type, _ENUM_PREFIX,
			       VACCEL_PLUGIN_TYPE_ENUM_LIST)
#undef _ENUM_PREFIX

/** What a plugin says about itself. Field order is the order C++ designated
 *  initializers must use. */
struct vaccel_plugin_info {
	const char *name;           /**< short unique name, e.g. "noop" */
	const char *version;        /**< the plugin's own version */
	const char *vaccel_version; /**< VACCEL_VERSION it was built with */
	int (*init)(void); /**< registers ops; non-zero fails the load */
	int (*fini)(void); /**< called once at unload; may be NULL */
	bool is_virtio;    /**< transport plugin (upstream's name) */
	vaccel_plugin_type_t type; /**< bitmask of VACCEL_PLUGIN_* */
	/* Optional hooks, used by transport plugins that mirror sessions and
	 * resources on a remote agent. NULL when not needed. */
	int (*session_init)(struct vaccel_session *sess, uint32_t flags);
	int (*session_release)(struct vaccel_session *sess);
	int (*session_update)(struct vaccel_session *sess, uint32_t flags);
	int (*resource_register)(struct vaccel_resource *res,
				 struct vaccel_session *sess);
	int (*resource_unregister)(struct vaccel_resource *res,
				   struct vaccel_session *sess);
	int (*resource_sync)(struct vaccel_resource *res,
			     struct vaccel_session *sess);
};

/** A plugin as the runtime sees it. Runtime state is private. The layout is
 *  upstream vAccel's, so that the loader finds @c info in plugins built
 *  against upstream's headers; the runtime keeps its state behind @c state,
 *  in the slot of upstream's list entry, and does not use @c ops (each op
 *  is registered through vaccel_plugin_register_ops()). */
struct vaccel_plugin {
	void *dl_handle; /**< set by the runtime */
	union {
		/** runtime-private; set by the loader, whatever the plugin
		 *  put there */
		void *state;
		/** upstream's name for this slot; unused here */
		struct vaccel_list_entry entry;
	};
	/** unused here; sized as upstream's per-plugin op table */
	struct vaccel_op *ops[VACCEL_LAYOUT_OP_SLOTS];
	struct vaccel_plugin_info *info;
};

/**
 * Define this plugin. Arguments are designated initializers of
 * `struct vaccel_plugin_info`, e.g.
 * `VACCEL_PLUGIN(.name = "x", .version = "1.0", .vaccel_version =
 * VACCEL_VERSION, .init = init, .fini = fini, .type = VACCEL_PLUGIN_CPU)`.
 * C++ needs them in the order of the fields (upstream's order).
 * Exports one symbol, `vaccel_plugin`, which the loader looks up.
 */
#ifdef __cplusplus
/* C++: a braced extern "C" block (the one-line form warns "initialized and
 * declared extern"), and no -Wmissing-field-initializers for the hooks a
 * plugin leaves out (g++ < 14 warns for designated initializers). */
#define VACCEL_PLUGIN_EXTERN_BEGIN_ extern "C" {
#define VACCEL_PLUGIN_EXTERN_END_ }
#define VACCEL_PLUGIN_DIAG_PUSH_                                               \
	_Pragma("GCC diagnostic push")                                         \
	    _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
#define VACCEL_PLUGIN_DIAG_POP_ _Pragma("GCC diagnostic pop")
#else
#define VACCEL_PLUGIN_EXTERN_BEGIN_
#define VACCEL_PLUGIN_EXTERN_END_
#define VACCEL_PLUGIN_DIAG_PUSH_
#define VACCEL_PLUGIN_DIAG_POP_
#endif
#define VACCEL_PLUGIN(...)                                                     \
	VACCEL_PLUGIN_DIAG_PUSH_                                               \
	static struct vaccel_plugin_info vaccel_plugin_info_ = {__VA_ARGS__};  \
	VACCEL_PLUGIN_DIAG_POP_                                                \
	__attribute__((                                                        \
	    visibility("hidden"))) struct vaccel_plugin vaccel_this_plugin = { \
	    NULL, {NULL}, {NULL}, &vaccel_plugin_info_};                       \
	VACCEL_PLUGIN_EXTERN_BEGIN_ __attribute__((visibility("default")))     \
	const struct vaccel_plugin *vaccel_plugin = &vaccel_this_plugin;       \
	VACCEL_PLUGIN_EXTERN_END_

/**
 * Register @p nr_ops op implementations. Called from a plugin's init.
 * Each op's owner must be the calling plugin (VACCEL_OP_INIT sets it).
 * @return VACCEL_OK; VACCEL_EINVAL for NULL/zero ops, an op type out of
 * range, a NULL func, or an unknown owner. A second registration of the
 * same op by the same plugin replaces the first.
 */
int vaccel_plugin_register_ops(struct vaccel_op *ops, size_t nr_ops);

/**
 * Load one plugin: a path, or a file name searched like dlopen() does.
 * @return VACCEL_OK; VACCEL_EINVAL (NULL/empty, or version mismatch);
 * VACCEL_ENOENT (cannot dlopen); VACCEL_ELIBBAD (no `vaccel_plugin` symbol
 * or bad info); VACCEL_EEXIST (a plugin of that name is loaded); the init
 * function's error. A failed load leaves nothing behind.
 */
int vaccel_plugin_load(const char *lib);

/**
 * Load each plugin of a ':'-separated list. Entries that fail are logged and
 * skipped. @return VACCEL_OK if every entry loaded, else the first error.
 */
int vaccel_plugin_parse_and_load(const char *lib_str);

/** Register a single op. */
static inline int vaccel_plugin_register_op(struct vaccel_op *op)
{
	return vaccel_plugin_register_ops(op, 1);
}

/* Deprecated upstream spellings. */
#define VACCEL_MODULE(...) VACCEL_PLUGIN(__VA_ARGS__)
__attribute__((deprecated("use vaccel_plugin_register_op()"))) static inline int
register_plugin_function(struct vaccel_op *plugin_op)
{
	return vaccel_plugin_register_op(plugin_op);
}
__attribute__((
    deprecated("use vaccel_plugin_register_ops()"))) static inline int
register_plugin_functions(struct vaccel_op *plugin_ops, size_t nr_ops)
{
	return vaccel_plugin_register_ops(plugin_ops, nr_ops);
}

#ifdef __cplusplus
}
#endif
