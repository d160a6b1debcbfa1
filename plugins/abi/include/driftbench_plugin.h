/*
 * driftbench plugin ABI v1.4, for plugins written in C or C++.
 *
 * The contract is plugins/abi/ABI.md; this header declares its types and constants. It is
 * kept by hand beside the Rust definitions (plugins/abi/src/types.rs and buf.rs), and the
 * test plugins/abi/tests/c_header.rs compiles it and checks every size, offset and constant
 * against them.
 *
 * A plugin exports one function:
 *
 *     DB_EXPORT const DbPluginV1 *driftbench_plugin_v1(void);
 *
 * returning a pointer to a table that stays valid while the library is loaded.
 */
#ifndef DRIFTBENCH_PLUGIN_H
#define DRIFTBENCH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DB_EXPORT __declspec(dllexport)
#else
#define DB_EXPORT __attribute__((visibility("default")))
#endif

/* The bytes "DRFTBNCH" read as a little-endian uint64_t: the first field of every table. */
#define DB_MAGIC UINT64_C(0x48434E4254465244)
/* ABI major version: a different major is incompatible. */
#define DB_ABI_MAJOR 1u
/* ABI minor version this header describes: 1 added configure and last_counters, 2 added
 * trace, 3 added last_profile and peaks, 4 added prefill_f64 and decode_f64 (f64 logits). */
#define DB_ABI_MINOR 4u
/* Name of the entry symbol. */
#define DB_ENTRY_SYMBOL "driftbench_plugin_v1"

/* Status codes of the table functions (ABI.md section 4). */
#define DB_STATUS_OK 0
#define DB_STATUS_RUN 1
#define DB_STATUS_UNAVAILABLE 2
#define DB_STATUS_INVALID 3
#define DB_STATUS_LOAD 4
#define DB_STATUS_PANIC 5
#define DB_STATUS_POISONED 6

/* Dtype codes of open's `dtype`. */
#define DB_DTYPE_F32 0u
#define DB_DTYPE_F16 1u
#define DB_DTYPE_BF16 2u
#define DB_DTYPE_F64 3u

/* Route codes of trace's `route`. */
#define DB_ROUTE_PREFILL 0u
#define DB_ROUTE_DECODE 1u

/* The unwritten-logit sentinel: the value the host fills logits buffers with before every call
   (a signalling NaN); one left after a successful call is a logit the plugin did not write. */
#define DB_POISON_BITS UINT32_C(0x7FA55A5A)
/* The same for the double logits buffers of prefill_f64 and decode_f64 (v1.4): a signalling
   NaN of its own, not DB_POISON_BITS widened. */
#define DB_POISON_BITS_F64 UINT64_C(0x7FF5A55A5A5AA55A)

/* A host-owned buffer. Write at most `cap` bytes at `ptr`; always set `len` to the full length
 * of the answer (it may exceed `cap`: the host then retries with `len` bytes, ABI.md 3). */
typedef struct DbBuf {
    uint8_t *ptr;
    size_t cap;
    size_t len;
} DbBuf;

/* The fields every table version starts with. */
typedef struct DbPluginHeader {
    uint64_t magic;       /* DB_MAGIC */
    uint32_t abi_major;   /* DB_ABI_MAJOR */
    uint32_t abi_minor;   /* the newest minor whose fields this table lays out */
    uint32_t struct_size; /* sizeof the table as laid out */
} DbPluginHeader;

typedef int32_t (*DbProbeFn)(DbBuf *out);
typedef int32_t (*DbOpenFn)(const uint8_t *model_json, size_t model_len, uint32_t dtype,
                            void **session, DbBuf *msg);
typedef int32_t (*DbPrefillFn)(void *session, const uint32_t *tokens, size_t n, float *out,
                               size_t out_len, DbBuf *err);
typedef int32_t (*DbDecodeFn)(void *session, const uint32_t *tokens, size_t n,
                              uint32_t kv_aligned, uint32_t block, float *out, size_t out_len,
                              DbBuf *err);
typedef void (*DbCloseFn)(void *session);
typedef int32_t (*DbConfigureFn)(const uint8_t *setup_json, size_t setup_len, DbBuf *msg);
typedef int32_t (*DbSessionJsonFn)(void *session, DbBuf *out);
typedef int32_t (*DbTraceFn)(void *session, const uint32_t *tokens, size_t n, uint32_t route,
                             uint32_t kv_aligned, uint32_t block, DbBuf *out, DbBuf *err);
typedef int32_t (*DbPrefillF64Fn)(void *session, const uint32_t *tokens, size_t n, double *out,
                                  size_t out_len, DbBuf *err);
typedef int32_t (*DbDecodeF64Fn)(void *session, const uint32_t *tokens, size_t n,
                                 uint32_t kv_aligned, uint32_t block, double *out,
                                 size_t out_len, DbBuf *err);

/* The function table of ABI v1. Fields after `close` are optional: a null pointer means "not
 * provided", and a table that ends before them (an older minor) is accepted too. */
typedef struct DbPluginV1 {
    DbPluginHeader header;
    const char *name;    /* NUL-terminated, static */
    const char *version; /* NUL-terminated, static */
    DbProbeFn probe;
    DbOpenFn open;
    DbPrefillFn prefill;
    DbDecodeFn decode;
    DbCloseFn close;
    /* v1.1 */
    DbConfigureFn configure;
    DbSessionJsonFn last_counters;
    /* v1.2 */
    DbTraceFn trace;
    /* v1.3 */
    DbSessionJsonFn last_profile;
    DbSessionJsonFn peaks;
    /* v1.4: called only in an f64 session whose open info says "logits": "f64" */
    DbPrefillF64Fn prefill_f64;
    DbDecodeF64Fn decode_f64;
} DbPluginV1;

/* Table sizes of each minor: a table of minor m is at least DB_V1_m_TABLE_SIZE bytes. */
#define DB_V1_0_TABLE_SIZE offsetof(DbPluginV1, configure)
#define DB_V1_1_TABLE_SIZE offsetof(DbPluginV1, trace)
#define DB_V1_2_TABLE_SIZE offsetof(DbPluginV1, last_profile)
#define DB_V1_3_TABLE_SIZE offsetof(DbPluginV1, prefill_f64)
#define DB_V1_4_TABLE_SIZE sizeof(DbPluginV1)

#ifdef __cplusplus
}
#endif

#endif /* DRIFTBENCH_PLUGIN_H */
