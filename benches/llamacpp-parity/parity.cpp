// Speed of llama.cpp's own build on the calls the driftbench llamacpp plugin makes: prefill = one
// llama_decode of `span` tokens with logits for every position, decode = `span` one-token
// llama_decode calls through the KV cache. Usage: parity MODEL SPAN THREADS KV(f16|bf16|f32) REPS
#include "llama.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <algorithm>
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
static void quiet(ggml_log_level, const char *, void *) {}
int main(int argc, char **argv) {
    const char *path = argv[1]; int span = atoi(argv[2]); int threads = atoi(argv[3]);
    const char *kv = argv[4]; int reps = atoi(argv[5]);
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model *model = llama_model_load_from_file(path, llama_model_default_params());
    llama_context_params p = llama_context_default_params();
    p.n_ctx = span; p.n_batch = std::min(2048, span); p.n_ubatch = std::min(512, span); p.n_seq_max = 1;
    p.n_threads = threads; p.n_threads_batch = threads; p.no_perf = true;
    ggml_type t = !strcmp(kv, "f32") ? GGML_TYPE_F32 : !strcmp(kv, "bf16") ? GGML_TYPE_BF16 : GGML_TYPE_F16;
    p.type_k = t; p.type_v = t;
    llama_context *ctx = llama_init_from_model(model, p);
    int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    std::vector<llama_token> toks(span);
    unsigned s = 12345; for (auto &x : toks) { s = s * 1103515245u + 12345u; x = (s >> 8) % vocab; }
    std::vector<float> out((size_t)span * vocab);
    llama_batch b = llama_batch_init(span, 0, 1);
    auto prefill = [&]() {
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int i = 0; i < span; i++) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
        b.n_tokens = span;
        if (llama_decode(ctx, b)) { fprintf(stderr, "decode failed\n"); exit(1); }
        for (int i = 0; i < span; i++) memcpy(&out[(size_t)i * vocab], llama_get_logits_ith(ctx, i), vocab * 4);
    };
    auto decode = [&]() {
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int i = 0; i < span; i++) {
            b.token[0] = toks[i]; b.pos[0] = i; b.n_seq_id[0] = 1; b.seq_id[0][0] = 0; b.logits[0] = 1; b.n_tokens = 1;
            if (llama_decode(ctx, b)) { fprintf(stderr, "decode failed\n"); exit(1); }
            memcpy(&out[(size_t)i * vocab], llama_get_logits_ith(ctx, 0), vocab * 4);
        }
    };
    prefill(); decode();  // warm-up
    double pp = 0, tg = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now(); prefill(); double t1 = now(); decode(); double t2 = now();
        pp += t1 - t0; tg += t2 - t1;
    }
    printf("span %d threads %d kv %s: prefill %.1f tok/s, decode %.1f tok/s (mean of %d)\n", span, threads, kv,
           span * reps / pp, span * reps / tg, reps);
    llama_batch_free(b); llama_free(ctx); llama_model_free(model);
    return 0;
}
