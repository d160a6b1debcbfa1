//! The models the benches run, with the spans and measurement settings each can afford.

use crate::plugins::note;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use driftbench_core::{KvLayout, ModelSpec, SyntheticModel};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// SmolLM2's file, relative to the workspace root.
pub const SMOLLM2_FILE: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
/// SmolLM2's vocabulary: the width of its logits rows (for `compare`, which needs no file).
pub const SMOLLM2_VOCAB: usize = 49152;
/// Vocabulary of the synthetic model.
pub const SYNTHETIC_VOCAB: usize = 4096;
/// Block size of the padded KV cache: the sweep config's default `block_size`.
pub const PADDED_BLOCK: usize = 16;

/// How criterion measures one model's benchmarks.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Samples per benchmark.
    pub sample_size: usize,
    /// Warm-up time (criterion runs at least one iteration).
    pub warm_up: Duration,
    /// Target measurement time.
    pub measurement: Duration,
    /// Flat sampling: every sample runs the same number of iterations, so a benchmark whose
    /// iteration takes seconds costs `sample_size` iterations, not the 55 of linear sampling.
    pub flat: bool,
}

impl Timing {
    /// Apply to a criterion group.
    pub fn apply(&self, g: &mut BenchmarkGroup<'_, WallTime>) {
        g.sample_size(self.sample_size)
            .warm_up_time(self.warm_up)
            .measurement_time(self.measurement);
        if self.flat {
            g.sampling_mode(SamplingMode::Flat);
        }
    }
}

/// A model to bench.
#[derive(Debug, Clone)]
pub struct BenchModel {
    /// Name used in benchmark ids (`synthetic`, `smollm2`).
    pub name: &'static str,
    /// What sessions load.
    pub spec: ModelSpec,
    /// Spans of the `prefill` benchmarks.
    pub prefill_spans: Vec<usize>,
    /// Spans of the `decode` benchmarks: the cache lengths reached.
    pub decode_spans: Vec<usize>,
    /// KV layouts of the `decode` benchmarks, each with its name in benchmark ids.
    pub layouts: Vec<(&'static str, KvLayout)>,
    /// Measurement settings.
    pub timing: Timing,
}

impl BenchModel {
    /// The longest span any benchmark of this model runs.
    pub fn max_span(&self) -> usize {
        self.prefill_spans
            .iter()
            .chain(&self.decode_spans)
            .copied()
            .max()
            .unwrap_or(0)
    }
}

/// Both KV layouts of the sweep: `kv_aligned = 1` and `0`.
fn both_layouts() -> Vec<(&'static str, KvLayout)> {
    vec![
        ("aligned", KvLayout::Aligned),
        (
            "padded",
            KvLayout::Padded {
                block: PADDED_BLOCK,
            },
        ),
    ]
}

/// A small LLaMA-style model with seeded weights: milliseconds per route on a CPU, so every
/// backend (lavapipe included) runs all spans and both layouts.
pub fn synthetic() -> BenchModel {
    BenchModel {
        name: "synthetic",
        spec: ModelSpec::Synthetic(SyntheticModel {
            layers: 4,
            hidden: 256,
            heads: 8,
            kv_heads: 2,
            ffn: 688,
            vocab: SYNTHETIC_VOCAB,
            rope_base: 10000.0,
            norm_eps: 1e-5,
            weight_seed: 0,
        }),
        prefill_spans: vec![16, 64, 256],
        decode_spans: vec![16, 64, 256],
        layouts: both_layouts(),
        timing: Timing {
            sample_size: 20,
            warm_up: Duration::from_millis(500),
            measurement: Duration::from_millis(1500),
            flat: false,
        },
    }
}

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// SmolLM2-135M-Instruct, when its file is present. Its routes take seconds on a CPU (decode
/// of span 512 about 10 s per iteration on flex), so: ten samples of one iteration each,
/// decode only up to 128 and only in the aligned layout (the padded one costs the same
/// matrix products; the synthetic model shows the difference).
pub fn smollm2() -> Result<BenchModel, String> {
    let path = workspace_root().join(SMOLLM2_FILE);
    if !path.is_file() {
        return Err(format!(
            "skipped smollm2: {} not found; fetch it with `./scripts/fetch-model.sh`",
            path.display()
        ));
    }
    Ok(BenchModel {
        name: "smollm2",
        spec: ModelSpec::Gguf { path },
        prefill_spans: vec![32, 128, 512],
        decode_spans: vec![32, 128],
        layouts: vec![("aligned", KvLayout::Aligned)],
        timing: Timing {
            sample_size: 10,
            warm_up: Duration::from_millis(500),
            measurement: Duration::from_secs(5),
            flat: true,
        },
    })
}

/// Every model to bench; prints why SmolLM2 is skipped when it is.
pub fn all() -> Vec<BenchModel> {
    let mut out = vec![synthetic()];
    match smollm2() {
        Ok(m) => out.push(m),
        Err(why) => note(&why),
    }
    out
}

/// Logits shapes of the `compare` benchmarks, (vocab, spans): the sizes the synthetic model's
/// and SmolLM2's prefills produce. SmolLM2's shape needs no file.
pub fn compare_shapes() -> Vec<(usize, Vec<usize>)> {
    vec![
        (SYNTHETIC_VOCAB, synthetic().prefill_spans),
        (SMOLLM2_VOCAB, vec![32, 128, 512]),
    ]
}
