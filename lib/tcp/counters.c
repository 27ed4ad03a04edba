/* SPDX-License-Identifier: BSD-3-Clause */
/* The names of the TCP counters, and their sum over contexts. */
#include "tcp/counters.h"

static const char *const names[] = {
#define TCP_COUNTER_NAME(name, desc) #name,
	TCP_COUNTERS(TCP_COUNTER_NAME)
#undef TCP_COUNTER_NAME
};

const char *
tcp_counter_name(enum tcp_counter c)
{
	return (unsigned)c < TCP_C_MAX ? names[c] : NULL;
}

void
tcp_counters_add(struct tcp_counters *to, const struct tcp_counters *from)
{
	for (unsigned i = 0; i < TCP_C_MAX; i++)
		to->c[i] += __atomic_load_n(&from->c[i], __ATOMIC_RELAXED);
}
