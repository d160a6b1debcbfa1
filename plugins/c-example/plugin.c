/*
 * driftbench backend plugin `c-example`, in C: the synthetic LLaMA of driftbench's model
 * crate (same SplitMix64 weights, same op order), computed in f32 with double sums, on the
 * CPU, one thread. It exists to show that the ABI (plugins/abi/ABI.md) is language-neutral;
 * CI builds it with `cc` and sweeps it (cli/tests/c_plugin.rs).
 *
 * Build:  cc -std=c11 -O2 -shared -fPIC -I plugins/abi/include \
 *            plugins/c-example/plugin.c -o libdriftbench_backend_c-example.so -lm
 * Use:    driftbench sweep CONFIG --plugin ./libdriftbench_backend_c-example.so \
 *            --backend c-example
 *
 * It reads synthetic models only (a GGUF model answers UNAVAILABLE: those pairs are SKIPPED)
 * and computes in f32 only (the probe says why the other dtypes are missing).
 */
#include "driftbench_plugin.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- answers into host buffers (ABI.md 3) ---- */

static void put(DbBuf *b, const char *s) {
    size_t n = strlen(s);
    if (!b) return;
    size_t m = n < b->cap ? n : b->cap;
    if (m && b->ptr) memcpy(b->ptr, s, m);
    b->len = n;
}

/* Write a formatted failure message and return `code`. */
static int32_t fail(DbBuf *b, int32_t code, const char *fmt, ...) {
    char text[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    put(b, text);
    return code;
}

/* ---- weights: driftbench_core::rng::SplitMix64 and driftbench_model::synthetic ---- */

typedef struct { uint64_t state; } Rng;

static uint64_t next_u64(Rng *r) {
    r->state += UINT64_C(0x9E3779B97F4A7C15);
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi): the f64 draw scaled in f64, rounded to f32, kept below hi. */
static float uniform(Rng *r, float lo, float hi) {
    double u = (double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    float x = (float)((double)lo + ((double)hi - (double)lo) * u);
    if (x >= hi && lo < hi) return nextafterf(hi, -INFINITY);
    return x;
}

static float *fill(Rng *r, size_t n, float lo, float hi) {
    float *v = malloc(n * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) v[i] = uniform(r, lo, hi);
    return v;
}

static float *matrix(Rng *r, size_t out, size_t in) {
    float b = 1.0f / sqrtf((float)in);
    return fill(r, out * in, -b, b);
}

typedef struct {
    size_t layers, hidden, heads, kv_heads, ffn, vocab, head_dim;
    double rope_base, norm_eps;
} Arch;

typedef struct {
    float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
} Layer;

typedef struct {
    Arch a;
    float *embed; /* [vocab, hidden]; also the output projection (tied) */
    Layer *layer;
    float *final_norm;
} Model;

static void free_model(Model *m) {
    if (!m) return;
    if (m->layer) {
        for (size_t i = 0; i < m->a.layers; i++) {
            Layer *l = &m->layer[i];
            free(l->attn_norm); free(l->wq); free(l->wk); free(l->wv); free(l->wo);
            free(l->ffn_norm); free(l->w_gate); free(l->w_up); free(l->w_down);
        }
    }
    free(m->layer);
    free(m->embed);
    free(m->final_norm);
    free(m);
}

/* ---- the model spec: a flat JSON object read by key (ABI.md 7, ModelSpec) ---- */

static const char *value_of(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *at = strstr(json, pattern);
    if (!at) return NULL;
    at += strlen(pattern);
    while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r' || *at == ':') at++;
    return at;
}

static int read_size(const char *json, const char *key, size_t *out) {
    const char *v = value_of(json, key);
    if (!v || *v < '0' || *v > '9') return 0;
    *out = (size_t)strtoull(v, NULL, 10);
    return 1;
}

static double read_f64(const char *json, const char *key, double fallback) {
    const char *v = value_of(json, key);
    return v ? strtod(v, NULL) : fallback;
}

/* ---- the forward pass, both routes (the op order of driftbench_model::Llama in f32) ---- */

static float dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return (float)s;
}

/* y[o] = w[o] . x for a [out, in] weight. */
static void linear(const float *w, size_t out, size_t in, const float *x, float *y) {
    for (size_t o = 0; o < out; o++) y[o] = dot(w + o * in, x, in);
}

static void rms_norm(const float *x, const float *w, size_t n, double eps, float *y) {
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    float r = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (size_t i = 0; i < n; i++) y[i] = (x[i] * r) * w[i];
}

/* Rotate adjacent pairs of every head of x (heads × head_dim) at position pos. */
static void rope(float *x, size_t heads, size_t hd, size_t pos, double base) {
    for (size_t h = 0; h < heads; h++) {
        float *v = x + h * hd;
        for (size_t i = 0; i < hd / 2; i++) {
            double inv_freq = pow(base, -(2.0 * (double)i) / (double)hd);
            float angle = (float)pos * (float)inv_freq;
            float c = cosf(angle), s = sinf(angle);
            float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = x0 * c - x1 * s;
            v[2 * i + 1] = x0 * s + x1 * c;
        }
    }
}

/* A KV cache of `cap` slots per layer and kv head. */
typedef struct { float *k, *v; size_t cap; } Cache;

/*
 * One token at position `pos` through every layer, its keys and values written to slot
 * `pos`; attention over slots 0..attended-1, of which slots past `pos` are masked (the
 * padded layout's tail: their weight is exactly zero). Writes the logits row.
 */
static void step(const Model *m, Cache *c, uint32_t token, size_t pos, size_t attended,
                 float *logits, float *scratch) {
    const Arch *a = &m->a;
    size_t h = a->hidden, hd = a->head_dim, q_w = a->heads * hd, kv_w = a->kv_heads * hd;
    size_t g = a->heads / a->kv_heads;
    float *x = scratch, *hn = x + h, *q = hn + h, *k = q + q_w, *v = k + kv_w,
          *ctx = v + kv_w, *gate = ctx + q_w, *up = gate + a->ffn, *proj = up + a->ffn,
          *probs = proj + h;
    float scale = (float)(1.0 / sqrt((double)hd));
    memcpy(x, m->embed + (size_t)token * h, h * sizeof *x);
    for (size_t li = 0; li < a->layers; li++) {
        const Layer *l = &m->layer[li];
        rms_norm(x, l->attn_norm, h, a->norm_eps, hn);
        linear(l->wq, q_w, h, hn, q);
        linear(l->wk, kv_w, h, hn, k);
        linear(l->wv, kv_w, h, hn, v);
        rope(q, a->heads, hd, pos, a->rope_base);
        rope(k, a->kv_heads, hd, pos, a->rope_base);
        for (size_t kh = 0; kh < a->kv_heads; kh++) {
            size_t at = ((li * a->kv_heads + kh) * c->cap + pos) * hd;
            memcpy(c->k + at, k + kh * hd, hd * sizeof(float));
            memcpy(c->v + at, v + kh * hd, hd * sizeof(float));
        }
        for (size_t qh = 0; qh < a->heads; qh++) {
            size_t kh = qh / g;
            const float *keys = c->k + (li * a->kv_heads + kh) * c->cap * hd;
            const float *vals = c->v + (li * a->kv_heads + kh) * c->cap * hd;
            float max = -INFINITY;
            for (size_t j = 0; j < attended; j++) {
                probs[j] = j <= pos ? dot(q + qh * hd, keys + j * hd, hd) * scale : -INFINITY;
                if (probs[j] > max) max = probs[j];
            }
            double sum = 0.0;
            for (size_t j = 0; j < attended; j++) {
                probs[j] = expf(probs[j] - max);
                sum += probs[j];
            }
            for (size_t d = 0; d < hd; d++) {
                double acc = 0.0;
                for (size_t j = 0; j < attended; j++)
                    acc += (double)(float)(probs[j] / sum) * (double)vals[j * hd + d];
                ctx[qh * hd + d] = (float)acc;
            }
        }
        linear(l->wo, h, q_w, ctx, proj);
        for (size_t i = 0; i < h; i++) x[i] += proj[i];
        rms_norm(x, l->ffn_norm, h, a->norm_eps, hn);
        linear(l->w_gate, a->ffn, h, hn, gate);
        linear(l->w_up, a->ffn, h, hn, up);
        for (size_t i = 0; i < a->ffn; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
        linear(l->w_down, h, a->ffn, gate, proj);
        for (size_t i = 0; i < h; i++) x[i] += proj[i];
    }
    rms_norm(x, m->final_norm, h, a->norm_eps, hn);
    linear(m->embed, a->vocab, h, hn, logits);
}

/*
 * Run `n` tokens; `cap` cache slots (n, or the padded capacity). Prefill and decode share
 * this loop: each position attends only to the keys before it, which is what a causal
 * prefill computes; `attend_all` makes every step attend over the whole capacity with the
 * tail masked (kv_aligned = 0).
 */
static int32_t run(const Model *m, const uint32_t *tokens, size_t n, size_t cap,
                   int attend_all, float *out, size_t out_len, DbBuf *err) {
    const Arch *a = &m->a;
    if (n == 0) return fail(err, DB_STATUS_INVALID, "empty prompt");
    if (out_len != n * a->vocab)
        return fail(err, DB_STATUS_INVALID, "output buffer holds %lld values, expected %lld",
                    (long long)out_len, (long long)(n * a->vocab));
    for (size_t i = 0; i < n; i++)
        if (tokens[i] >= a->vocab)
            return fail(err, DB_STATUS_INVALID, "token %lld is not below the vocab %lld",
                        (long long)tokens[i], (long long)a->vocab);
    size_t kv = a->layers * a->kv_heads * cap * a->head_dim;
    size_t q_w = a->heads * a->head_dim, kv_w = a->kv_heads * a->head_dim;
    Cache c = {calloc(kv, sizeof(float)), calloc(kv, sizeof(float)), cap};
    float *scratch = malloc((3 * a->hidden + 2 * q_w + 2 * kv_w + 2 * a->ffn + cap) *
                            sizeof(float));
    if (!c.k || !c.v || !scratch) {
        free(c.k); free(c.v); free(scratch);
        return fail(err, DB_STATUS_RUN, "out of memory for a cache of %zu slots", cap);
    }
    for (size_t pos = 0; pos < n; pos++)
        step(m, &c, tokens[pos], pos, attend_all ? cap : pos + 1, out + pos * a->vocab,
             scratch);
    free(c.k); free(c.v); free(scratch);
    return DB_STATUS_OK;
}

/* ---- the table functions ---- */

static int32_t probe(DbBuf *out) {
    put(out,
        "{\"backend\":\"c-example\",\"version\":\"0.1.0\",\"unavailable\":null,"
        "\"devices\":[{\"name\":\"cpu\",\"kind\":\"cpu\",\"driver\":null,\"dtypes\":[\"f32\"],"
        "\"unsupported\":[[\"f16\",\"the C example computes in f32 only\"],"
        "[\"bf16\",\"the C example computes in f32 only\"],"
        "[\"f64\",\"the C example computes in f32 only\"]],"
        "\"details\":[[\"language\",\"C\"],[\"threads\",\"1\"]]}],"
        "\"backend_dtypes\":[\"f32\"]}");
    return DB_STATUS_OK;
}

static int32_t open_session(const uint8_t *model_json, size_t model_len, uint32_t dtype,
                            void **session, DbBuf *msg) {
    if (!model_json || !session) return fail(msg, DB_STATUS_INVALID, "null argument");
    if (dtype != DB_DTYPE_F32)
        return fail(msg, DB_STATUS_UNAVAILABLE,
                    "the C example computes in f32 only (dtype code %u)", (unsigned)dtype);
    char *json = malloc(model_len + 1);
    if (!json) return fail(msg, DB_STATUS_LOAD, "out of memory");
    memcpy(json, model_json, model_len);
    json[model_len] = '\0';
    if (!strstr(json, "\"synthetic\"")) {
        free(json);
        return fail(msg, DB_STATUS_UNAVAILABLE,
                    "the C example reads synthetic models only");
    }
    Model *m = calloc(1, sizeof *m);
    Arch *a = &m->a;
    int ok = m && read_size(json, "layers", &a->layers) && read_size(json, "hidden", &a->hidden) &&
             read_size(json, "heads", &a->heads) && read_size(json, "kv_heads", &a->kv_heads) &&
             read_size(json, "ffn", &a->ffn) && read_size(json, "vocab", &a->vocab);
    if (ok) {
        const char *s = value_of(json, "weight_seed");
        uint64_t seed64 = s ? strtoull(s, NULL, 10) : 0;
        a->rope_base = read_f64(json, "rope_base", 10000.0);
        a->norm_eps = read_f64(json, "norm_eps", 1e-5);
        free(json);
        json = NULL;
        if (!a->layers || !a->hidden || !a->heads || !a->kv_heads || !a->ffn || !a->vocab ||
            a->hidden % a->heads || a->heads % a->kv_heads || (a->hidden / a->heads) % 2) {
            free_model(m);
            return fail(msg, DB_STATUS_INVALID,
                        "unusable synthetic shape (hidden %lld, heads %lld)",
                        (long long)a->hidden, (long long)a->heads);
        }
        a->head_dim = a->hidden / a->heads;
        size_t h = a->hidden, q = a->heads * a->head_dim, kv = a->kv_heads * a->head_dim;
        Rng r = {seed64};
        m->embed = fill(&r, a->vocab * h, -1.0f, 1.0f);
        m->layer = calloc(a->layers, sizeof *m->layer);
        ok = m->embed && m->layer;
        for (size_t i = 0; ok && i < a->layers; i++) {
            Layer *l = &m->layer[i];
            l->attn_norm = fill(&r, h, 0.9f, 1.1f);
            l->wq = matrix(&r, q, h);
            l->wk = matrix(&r, kv, h);
            l->wv = matrix(&r, kv, h);
            l->wo = matrix(&r, h, q);
            l->ffn_norm = fill(&r, h, 0.9f, 1.1f);
            l->w_gate = matrix(&r, a->ffn, h);
            l->w_up = matrix(&r, a->ffn, h);
            l->w_down = matrix(&r, h, a->ffn);
            ok = l->attn_norm && l->wq && l->wk && l->wv && l->wo && l->ffn_norm &&
                 l->w_gate && l->w_up && l->w_down;
        }
        m->final_norm = ok ? fill(&r, h, 0.9f, 1.1f) : NULL;
        ok = ok && m->final_norm;
    }
    free(json);
    if (!ok) {
        free_model(m);
        return fail(msg, DB_STATUS_LOAD, "cannot read the synthetic model spec or allocate it");
    }
    char info[256];
    snprintf(info, sizeof info,
             "{\"vocab\":%zu,\"max_span\":4096,\"device\":\"cpu (C)\","
             "\"model\":\"synthetic llama in C: %zu layers, hidden %zu\"}",
             a->vocab, a->layers, a->hidden);
    put(msg, info);
    *session = m;
    return DB_STATUS_OK;
}

static int32_t prefill(void *session, const uint32_t *tokens, size_t n, float *out,
                       size_t out_len, DbBuf *err) {
    if (!session || !tokens || !out) return fail(err, DB_STATUS_INVALID, "null argument");
    return run(session, tokens, n, n, 0, out, out_len, err);
}

static int32_t decode(void *session, const uint32_t *tokens, size_t n, uint32_t kv_aligned,
                      uint32_t block, float *out, size_t out_len, DbBuf *err) {
    if (!session || !tokens || !out) return fail(err, DB_STATUS_INVALID, "null argument");
    if (kv_aligned == 1) return run(session, tokens, n, n, 0, out, out_len, err);
    if (kv_aligned != 0 || block == 0)
        return fail(err, DB_STATUS_INVALID, "kv_aligned must be 0 or 1 and block at least 1 (got %u, %u)",
                    (unsigned)kv_aligned, (unsigned)block);
    size_t cap = (n + block - 1) / block * block;
    return run(session, tokens, n, cap, 1, out, out_len, err);
}

static void close_session(void *session) { free_model(session); }

static const DbPluginV1 TABLE = {
    {DB_MAGIC, DB_ABI_MAJOR, DB_ABI_MINOR, (uint32_t)sizeof(DbPluginV1)},
    "c-example",
    "0.1.0",
    probe,
    open_session,
    prefill,
    decode,
    close_session,
    /* Optional functions this plugin does not provide: null. */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

DB_EXPORT const DbPluginV1 *driftbench_plugin_v1(void) { return &TABLE; }
