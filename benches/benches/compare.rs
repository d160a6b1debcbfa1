//! Throughput of the host-side comparison (metrics) over a span × vocab logits matrix.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use driftbench_core::metrics::compare;
use driftbench_core::rng::SplitMix64;

fn bench(c: &mut Criterion) {
    let (rows, vocab) = (128, 49152);
    let mut rng = SplitMix64::new(1);
    let a: Vec<f32> = (0..rows * vocab)
        .map(|_| rng.uniform(-10.0, 30.0))
        .collect();
    let b: Vec<f32> = a.iter().map(|x| x + rng.uniform(-1e-3, 1e-3)).collect();
    let mut g = c.benchmark_group("compare");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((2 * a.len() * 4) as u64));
    g.bench_function("128x49152", |bch| bch.iter(|| compare(&a, &b, vocab)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
