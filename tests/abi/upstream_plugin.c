// SPDX-License-Identifier: Apache-2.0
/* A plugin as upstream's headers lay it out (upstream_abi.h): its
 * descriptor has upstream's field order, its plugin object upstream's list
 * entry (pointing at itself, as upstream's plugin macro leaves it) and op
 * table, and it logs through slog_print(). Its noop checks the session it
 * is handed at upstream's offsets and counts its calls in the session's
 * priv field, which the ABI program reads back. */
#include "upstream_abi.h"

#include <string.h>

#ifndef ABI_VACCEL_VERSION
#error "ABI_VACCEL_VERSION: the vAccel version this plugin claims"
#endif

static int abi_noop(struct up_session *sess)
{
	if (sess == NULL || sess->id <= 0 || sess->rundir[0] != '/')
		return UP_EINVAL;
	slog_print(UP_SLOG_INFO, 1, "abi-upstream: noop for session %lld",
		   (long long)sess->id);
	sess->priv = (char *)sess->priv + 1;
	return UP_OK;
}

static struct up_plugin abi_plugin;

static struct up_op abi_ops[] = {
    {UP_OP_NOOP, (void *)abi_noop, &abi_plugin},
};

static int abi_init(void)
{
	return vaccel_plugin_register_ops(abi_ops, 1);
}

static int abi_fini(void)
{
	return UP_OK;
}

static struct up_plugin_info abi_info = {
    .name = "abi-upstream",
    .version = "1.0.0",
    .vaccel_version = ABI_VACCEL_VERSION,
    .init = abi_init,
    .fini = abi_fini,
    .is_virtio = false,
    .type = UP_PLUGIN_DEBUG,
};

static struct up_plugin abi_plugin = {
    .dl_handle = NULL,
    .entry = {&abi_plugin.entry, &abi_plugin.entry},
    .ops = {NULL},
    .info = &abi_info,
};

__attribute__((visibility("default"))) const struct up_plugin *vaccel_plugin =
    &abi_plugin;
