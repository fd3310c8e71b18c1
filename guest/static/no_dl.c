// SPDX-License-Identifier: Apache-2.0
/*
 * Dynamic loading in the static guest build: there is none. The one plugin
 * a guest needs (rpc) is linked in and registered at bootstrap, so these
 * take the place of glibc's dlopen family, which in a static binary would
 * still try to load the system's shared libraries at run time (and which a
 * unikernel usually lacks altogether). A plugin named in VACCEL_PLUGINS then
 * fails to load with the message below and is skipped.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static char no_dl_message[] =
    "dynamic loading is not available in the static guest build";
static int no_dl_failed;

void *dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	no_dl_failed = 1;
	return NULL;
}

void *dlsym(void *restrict handle, const char *restrict name)
{
	(void)handle;
	(void)name;
	no_dl_failed = 1;
	return NULL;
}

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}

char *dlerror(void)
{
	/* As dlerror(): the message once per failure, then NULL. */
	if (!no_dl_failed)
		return NULL;
	no_dl_failed = 0;
	return no_dl_message;
}

int dladdr(const void *addr, Dl_info *info)
{
	(void)addr;
	(void)info;
	return 0;
}
