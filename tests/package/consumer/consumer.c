/* An out-of-tree program using the installed C API. */
#include <stdio.h>
#include <vaccel.h>

int main(void)
{
	struct vaccel_session sess;
	if (vaccel_session_init(&sess, 0) != VACCEL_OK)
		return 1;
	int rc = vaccel_noop(&sess);
	vaccel_session_release(&sess);
	printf("noop: %s (vAccel %s)\n", rc == VACCEL_OK ? "ok" : "failed",
	       VACCEL_VERSION);
	return rc;
}
