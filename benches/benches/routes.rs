//! Prefill latency and decode latency per token on burn-flex, synthetic model.

use burn_flex::{Flex, FlexDevice};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use driftbench_core::rng::prompt_tokens;
use driftbench_core::{Dtype, KvLayout, Session, SyntheticModel};
use driftbench_model::{synthetic, BurnSession, LinearMode, Precision};

fn model() -> SyntheticModel {
    SyntheticModel {
        layers: 4,
        hidden: 256,
        heads: 8,
        kv_heads: 2,
        ffn: 688,
        vocab: 4096,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 0,
    }
}

fn routes(c: &mut Criterion) {
    let host = synthetic::build(&model()).expect("synthetic model");
    let span = 64;
    let tokens = prompt_tokens(0, span, host.arch.vocab);
    let mut out = vec![0f32; span * host.arch.vocab];
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let prec = Precision {
            dtype,
            linear: LinearMode::WidenBf16,
        };
        let mut s = BurnSession::<Flex>::from_host(&host, prec, &FlexDevice, "cpu");
        let mut g = c.benchmark_group(format!("routes/{dtype}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(span as u64));
        g.bench_function(BenchmarkId::new("prefill", span), |b| {
            b.iter(|| s.prefill(&tokens, &mut out).unwrap())
        });
        for (name, layout) in [
            ("decode_aligned", KvLayout::Aligned),
            ("decode_padded", KvLayout::Padded { block: 16 }),
        ] {
            g.bench_function(BenchmarkId::new(name, span), |b| {
                b.iter(|| s.decode(&tokens, layout, &mut out).unwrap())
            });
        }
        g.finish();
    }
}

criterion_group!(benches, routes);
criterion_main!(benches);
