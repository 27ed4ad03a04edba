/* SPDX-License-Identifier: BSD-3-Clause */
/* Request latency histograms (latency.h): bucket bounds and class names. */
#include "latency.h"

static const unsigned bounds_us[] = {
#define LATENCY_BOUND_VALUE(us) (us),
	LATENCY_BOUNDS_US(LATENCY_BOUND_VALUE)
#undef LATENCY_BOUND_VALUE
};

static const char *const class_names[] = {
#define LATENCY_CLASS_NAME(name, desc) #name,
	LATENCY_CLASSES(LATENCY_CLASS_NAME)
#undef LATENCY_CLASS_NAME
};

static const char *const class_descs[] = {
#define LATENCY_CLASS_DESC(name, desc) desc,
	LATENCY_CLASSES(LATENCY_CLASS_DESC)
#undef LATENCY_CLASS_DESC
};

void
latency_bounds_init(struct latency_bounds *b, uint64_t tsc_hz)
{
	b->tsc_hz = tsc_hz;
	for (unsigned i = 0; i < LATENCY_BOUNDS; i++)
		b->cycles[i] = (uint64_t)((double)tsc_hz * bounds_us[i] / 1e6);
}

unsigned
latency_bound_us(unsigned i)
{
	return i < LATENCY_BOUNDS ? bounds_us[i] : 0;
}

const char *
latency_class_name(enum latency_class c)
{
	return (unsigned)c < LATENCY_CLASS_COUNT ? class_names[c] : "?";
}

const char *
latency_class_desc(enum latency_class c)
{
	return (unsigned)c < LATENCY_CLASS_COUNT ? class_descs[c] : "?";
}
