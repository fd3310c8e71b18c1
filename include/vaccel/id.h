// SPDX-License-Identifier: Apache-2.0
/** @file vaccel/id.h  Identifier type of sessions and resources. */
#pragma once

#include <stdint.h>

/** Session and resource ids; valid ids are > 0, 0 means "none". */
typedef int64_t vaccel_id_t;
