// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one switch behind pr_debug (log.h): set by -v, read by every floor, owned by none above. */
#include "log.h"

bool mw_verbose;
