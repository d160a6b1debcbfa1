//! Route latency through the plugin API: for every backend plugin found whose probe says it
//! runs here, every model (synthetic; SmolLM2 when its file is present) and every dtype the
//! probe offers,
//! - `prefill/<backend>/<model>/<dtype>/<span>`: one prefill of `span` tokens;
//! - `decode/<backend>/<model>/<dtype>/<layout>/<span>`: one decode of `span` tokens.
//!
//! The Session API decodes a whole prompt per call: `span` steps through a fresh cache whose
//! length grows from 1 to `span`. Each decode benchmark therefore declares
//! `Throughput::Elements(span)`, so criterion prints the time per step (per token) averaged
//! over cache lengths 1..=span, and the id ends in `span`, the cache length reached:
//! `decode/flex/synthetic/f32/aligned/64` vs `.../aligned/256` shows how a step's cost grows
//! with the cache. `padded` steps attend over the whole preallocated capacity (`span` rounded
//! up to the block of 16) from the first step on, as serving engines do. Prefill declares the
//! same throughput, so both routes read in tokens/s.
//!
//! Timing on a GPU waits for the device: every `prefill`/`decode` call copies the logits back
//! into host memory before it returns, which cannot finish before every queued kernel has.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use driftbench_benches::models::{self, BenchModel};
use driftbench_benches::pace;
use driftbench_benches::plugins::{self, note, BenchBackend};
use driftbench_benches::selection::Selection;
use driftbench_benches::session::Target;
use driftbench_core::Dtype;

/// Prefill latency per span.
fn prefill(c: &mut Criterion, model: &BenchModel, target: &mut Target<'_>, group: &str) {
    let mut g = c.benchmark_group(format!("prefill/{group}"));
    model.timing.apply(&mut g);
    for &span in &model.prefill_spans {
        g.throughput(Throughput::Elements(span as u64));
        let label = format!("prefill {} span {span}", target.label());
        let mut primed = !target.primes();
        g.bench_function(BenchmarkId::from_parameter(span), |b| {
            let (session, tokens, out) = target.parts(span);
            let mut run = || {
                session
                    .prefill(tokens, out)
                    .unwrap_or_else(|e| panic!("{label}: {e}"))
            };
            // One untimed run first absorbs kernel compilation and autotuning (GPU
            // backends), as driftbench's own warm-up run does, so criterion's warm-up
            // estimates the steady state. CPU backends skip it: nothing to compile.
            if !std::mem::replace(&mut primed, true) {
                run();
            }
            b.iter(run);
        });
    }
    g.finish();
}

/// Decode latency per step, per KV layout and cache length.
fn decode(c: &mut Criterion, model: &BenchModel, target: &mut Target<'_>, group: &str) {
    let mut g = c.benchmark_group(format!("decode/{group}"));
    model.timing.apply(&mut g);
    for &(layout_name, layout) in &model.layouts {
        for &span in &model.decode_spans {
            g.throughput(Throughput::Elements(span as u64));
            let label = format!("decode {layout_name} {} span {span}", target.label());
            let mut primed = !target.primes();
            g.bench_function(BenchmarkId::new(layout_name, span), |b| {
                let (session, tokens, out) = target.parts(span);
                let mut run = || {
                    session
                        .decode(tokens, layout, out)
                        .unwrap_or_else(|e| panic!("{label}: {e}"))
                };
                // As for prefill; one decode run compiles the kernels of every cache length.
                if !std::mem::replace(&mut primed, true) {
                    run();
                }
                b.iter(run);
            });
        }
    }
    g.finish();
}

/// The dtypes of `selection` that `backend`'s probe offers; prints what it skips and why.
fn dtypes_of(backend: &BenchBackend, selection: &Selection) -> Vec<Dtype> {
    let mut out = Vec::new();
    for &dtype in &selection.dtypes {
        match backend.probe.dtype_unavailable(dtype) {
            None => out.push(dtype),
            Some(why) => {
                // The probe's reason may already start with the backend's name, once or twice.
                let prefix = format!("{}: ", backend.name);
                let mut why = why.as_str();
                while let Some(rest) = why.strip_prefix(&prefix) {
                    why = rest;
                }
                note(&format!("skipped {} {dtype}: {why}", backend.name))
            }
        }
    }
    out
}

fn routes(c: &mut Criterion) {
    let selection = Selection::from_env().unwrap_or_else(|e| panic!("{e}"));
    let backends = plugins::load(&selection);
    let full = pace::full_on_software();
    // Everything is planned (and every skip printed) before the first benchmark runs.
    let mut plans: Vec<(&BenchBackend, BenchModel, Vec<Dtype>)> = Vec::new();
    let dtypes: Vec<Vec<Dtype>> = backends.iter().map(|b| dtypes_of(b, &selection)).collect();
    for model in &models::all() {
        for (backend, dtypes) in backends.iter().zip(&dtypes) {
            match pace::plan_for(model, backend, full) {
                Ok(m) => plans.push((backend, m, dtypes.clone())),
                Err(why) => note(&why),
            }
        }
    }
    for (backend, model, dtypes) in &plans {
        for &dtype in dtypes {
            let group = format!("{}/{}/{dtype}", backend.name, model.name);
            // Prefill and decode share one session; it closes when `target` drops.
            let mut target = Target::new(backend, model, dtype);
            prefill(c, model, &mut target, &group);
            decode(c, model, &mut target, &group);
        }
    }
}

criterion_group!(benches, routes);
criterion_main!(benches);
