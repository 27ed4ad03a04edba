/* SPDX-License-Identifier: BSD-3-Clause */
#include "store/status.h"

static const char *const status_names[STORE_STATUS_COUNT] = {
#define STORE_STATUS_NAME(name, desc) [STORE_##name] = #name,
	STORE_STATUS_LIST(STORE_STATUS_NAME)
#undef STORE_STATUS_NAME
};

const char *
store_status_name(enum store_status st)
{
	if ((unsigned)st >= STORE_STATUS_COUNT)
		return "?";
	return status_names[st];
}
