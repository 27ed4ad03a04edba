/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names of the packet path's counters (from the X-macro lists in counters.h) and the sum of
 * per-queue blocks.
 */
#include "net/counters.h"

#include <stddef.h>

static const char *const event_names[NET_EV_MAX] = {
#define NET_EVENT_NAME(name, desc) [NET_EV_##name] = #name,
	NET_EVENTS(NET_EVENT_NAME)
#undef NET_EVENT_NAME
};

static const char *const drop_names[NET_DROP_MAX] = {
#define NET_DROP_NAME(name, desc) [NET_DROP_##name] = #name,
	NET_DROPS(NET_DROP_NAME)
#undef NET_DROP_NAME
};

const char *
net_event_name(enum net_event e)
{
	if ((unsigned)e >= NET_EV_MAX)
		return NULL;
	return event_names[e];
}

const char *
net_drop_name(enum net_drop d)
{
	if ((unsigned)d >= NET_DROP_MAX)
		return NULL;
	return drop_names[d];
}

void
net_counters_add(struct net_counters *to, const struct net_counters *from)
{
	for (unsigned i = 0; i < NET_EV_MAX; i++)
		to->ev[i] += __atomic_load_n(&from->ev[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < NET_DROP_MAX; i++)
		to->drop[i] += __atomic_load_n(&from->drop[i], __ATOMIC_RELAXED);
}
