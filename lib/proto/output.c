/* SPDX-License-Identifier: BSD-3-Clause */
#include "proto/output.h"
#include "proto/request.h"

#include <errno.h>
#include <string.h>

#include "core/decimal.h"

void
proto_out_set_copy_max(struct proto_out *out, uint32_t max)
{
	out->copy_max = max;
}

static int
overflow(struct proto_out *out)
{
	out->overflow = true;
	return -ENOBUFS;
}

int
proto_out_copy(struct proto_out *out, const void *data, uint32_t len)
{
	uint8_t *dst = out->buf + out->used;
	struct iovec *last = out->niov > 0 ? &out->iov[out->niov - 1] : NULL;

	if (len == 0)
		return 0;
	if (out->cap - out->used < len)
		return overflow(out);
	if (last == NULL || (uint8_t *)last->iov_base + last->iov_len != dst) {
		if (out->niov == out->max_iov)
			return overflow(out);
		last = &out->iov[out->niov++];
		last->iov_base = dst;
		last->iov_len = 0;
	}
	memcpy(dst, data, len);
	last->iov_len += len;
	out->used += len;
	out->bytes += len;
	return 0;
}

int
proto_out_ref(struct proto_out *out, const void *data, uint32_t len)
{
	if (len == 0)
		return 0;
	if (out->niov == out->max_iov)
		return overflow(out);
	out->iov[out->niov].iov_base = (void *)(uintptr_t)data;
	out->iov[out->niov].iov_len = len;
	out->niov++;
	out->bytes += len;
	return 0;
}

int
proto_out_value(struct proto_out *out, const void *data, uint32_t len)
{
	return out->copy_values || len <= out->copy_max ? proto_out_copy(out, data, len) :
							  proto_out_ref(out, data, len);
}

int
proto_out_result_value(struct proto_out *out, const struct proto_result *res)
{
	uint32_t first = res->value_seg_len != 0 ? res->value_seg_len : res->value_len;
	uint32_t left = res->value_len - first;
	const void *cursor = res->value_more;
	int rc = proto_out_value(out, res->value, first);

	while (rc == 0 && left > 0 && cursor != NULL) {
		const void *data;
		uint32_t n;

		cursor = res->value_next(cursor, &data, &n);
		if (n > left)
			n = left;
		rc = proto_out_value(out, data, n);
		left -= n;
	}
	return rc;
}

int
proto_out_str(struct proto_out *out, const char *s)
{
	return proto_out_copy(out, s, (uint32_t)strlen(s));
}

int
proto_out_u64(struct proto_out *out, uint64_t v)
{
	char tmp[NC_DECIMAL_U64_MAX];

	return proto_out_copy(out, tmp, nc_decimal_u64(tmp, v));
}

int
proto_out_i64(struct proto_out *out, int64_t v)
{
	if (v < 0) {
		int rc = proto_out_copy(out, "-", 1);

		if (rc < 0)
			return rc;
		return proto_out_u64(out, (uint64_t)0 - (uint64_t)v);
	}
	return proto_out_u64(out, (uint64_t)v);
}

uint64_t
proto_out_flatten(const struct proto_out *out, void *dst, uint64_t cap)
{
	uint8_t *d = dst;
	uint64_t n = 0;

	for (uint32_t i = 0; i < out->niov && n < cap; i++) {
		uint64_t len = out->iov[i].iov_len;

		if (len > cap - n)
			len = cap - n;
		memcpy(d + n, out->iov[i].iov_base, len);
		n += len;
	}
	return n;
}

int
proto_out_rewind(struct proto_out *out, const struct proto_out_mark *m)
{
	out->niov = m->niov;
	out->used = m->used;
	out->bytes = m->bytes;
	if (m->niov > 0)
		out->iov[m->niov - 1].iov_len = m->last_len;
	out->overflow = true;
	return -ENOBUFS;
}
