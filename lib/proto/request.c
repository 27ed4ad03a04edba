/* SPDX-License-Identifier: BSD-3-Clause */
#include "proto/request.h"

#define NAME_TABLE(fn, type, count, LIST, prefix)                          \
	const char *fn(type v)                                             \
	{                                                                  \
		static const char *const names[count] = {LIST(prefix)};     \
		return (unsigned)v < count ? names[v] : "?";                 \
	}

#define OP_NAME(name, desc) [PROTO_OP_##name] = #name,
#define KIND_NAME(name, str) [PROTO_##name] = str,
#define MODE_NAME(name, str) [PROTO_MODE_##name] = str,
#define STATUS_NAME(name, desc) [PROTO_ST_##name] = #name,

NAME_TABLE(proto_op_name, enum proto_op, PROTO_OP_COUNT, PROTO_OP_LIST, OP_NAME)
NAME_TABLE(proto_kind_name, enum proto_kind, PROTO_KIND_COUNT, PROTO_KIND_LIST, KIND_NAME)
NAME_TABLE(proto_mode_name, enum proto_mode, PROTO_MODE_COUNT, PROTO_MODE_LIST, MODE_NAME)
NAME_TABLE(proto_status_name, enum proto_status, PROTO_STATUS_COUNT, PROTO_STATUS_LIST,
	   STATUS_NAME)

#include "proto/parse.h"

const char *
proto_error_reply(enum proto_error err)
{
#define ERROR_REPLY(name, reply) [PROTO_ERR_##name] = reply,
	static const char *const replies[PROTO_ERROR_COUNT] = {PROTO_ERROR_LIST(ERROR_REPLY)};
#undef ERROR_REPLY

	return (unsigned)err < PROTO_ERROR_COUNT ? replies[err] : "";
}
