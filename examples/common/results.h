// SPDX-License-Identifier: Apache-2.0
/*
 * The files an image op leaves behind: the result image whose path the op
 * returns, and the summary some plugins write next to it (<stem>.txt: the
 * opencv plugin's boxes, keypoints, ...). Both live in the session's run
 * directory, which the runtime removes when the session is released, so an
 * example shows the summary and copies what the user asked to keep before
 * that.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Prints each line of @p imgname's summary as "<label> result: <line>".
 * Nothing when there is none (the plugin writes none, or @p imgname is not
 * a file here: a dummy name, or a path on the agent's machine). */
void example_print_summary(const char *label, const char *imgname);

/* When $EXAMPLE_RESULTS_DIR is set and @p imgname is a file here, copies it
 * and its summary (if any) into that directory and prints
 * "result kept: <path>". @return 0 or a VACCEL_E* code. */
int example_keep_results(const char *imgname);

#ifdef __cplusplus
}
#endif
