//! Throughput of the host-side comparison (`driftbench_core::metrics::compare`, what the host
//! runs on every pair) on logits of the sizes the routes produce: span × vocab, for the
//! synthetic model's and SmolLM2's vocabularies. Ids read `compare/vocab<vocab>/<span>`;
//! the throughput counts the bytes of both matrices.
//!
//! The logits are seeded pseudo-logits, not a model's: the cost does not depend on where the
//! values come from, and this bench needs no plugin and no model file.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use driftbench_benches::models::compare_shapes;
use driftbench_core::metrics::compare;
use driftbench_core::rng::SplitMix64;
use std::time::Duration;

/// A prefill-like matrix and a decode-like one that drifts from it by up to 1e-3.
fn logits(span: usize, vocab: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = SplitMix64::new(1);
    let a: Vec<f32> = (0..span * vocab)
        .map(|_| rng.uniform(-10.0, 30.0))
        .collect();
    let b: Vec<f32> = a.iter().map(|x| x + rng.uniform(-1e-3, 1e-3)).collect();
    (a, b)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compare");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sampling_mode(SamplingMode::Flat);
    for (vocab, spans) in compare_shapes() {
        for span in spans {
            let (a, b) = logits(span, vocab);
            g.throughput(Throughput::Bytes((2 * a.len() * size_of::<f32>()) as u64));
            g.bench_function(BenchmarkId::new(format!("vocab{vocab}"), span), |bch| {
                bch.iter(|| compare(&a, &b, vocab))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
