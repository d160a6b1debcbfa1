//! A sweep's plan as the journal records it: everything that decides its verdicts and
//! metrics, so `--resume` can tell whether a journal belongs to the sweep being run.

use crate::config::SweepConfig;
use crate::verdict::DtypeTolerance;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::options::BackendOptions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything that decides a sweep's verdicts and metrics: a journal is resumed only by the
/// same plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    /// Model description (path or synthetic shape).
    pub model: String,
    /// Spans.
    pub spans: Vec<usize>,
    /// Dtypes.
    pub dtypes: Vec<Dtype>,
    /// KV layouts.
    pub kv_aligned: Vec<KvMode>,
    /// Prompt seeds.
    pub seeds: Vec<u64>,
    /// Padded-cache block size.
    pub block_size: usize,
    /// Warm-up runs.
    pub warmup: bool,
    /// Tolerances per dtype.
    pub tolerances: BTreeMap<Dtype, DtypeTolerance>,
    /// Backend instances in run order, with their plugin and options.
    pub backends: Vec<(String, String, BackendOptions)>,
    /// Measurements of each route of a pair; 1 in journals that do not record it.
    #[serde(default = "one")]
    pub repetitions: usize,
}

fn one() -> usize {
    1
}

impl SweepPlan {
    /// The plan of `cfg` run on `backends` (instance names, in order).
    pub fn of(cfg: &SweepConfig, backends: &[String]) -> SweepPlan {
        SweepPlan {
            model: cfg.model.describe(),
            spans: cfg.spans.clone(),
            dtypes: cfg.dtypes.clone(),
            kv_aligned: cfg.kv_aligned.clone(),
            seeds: cfg.seeds.clone(),
            block_size: cfg.block_size,
            warmup: cfg.warmup,
            tolerances: cfg.tolerances.clone(),
            backends: backends
                .iter()
                .map(|b| {
                    let i = cfg.instance(b);
                    (b.clone(), i.plugin, i.options)
                })
                .collect(),
            repetitions: cfg.repetitions,
        }
    }

    /// The fields that differ between `self` (the journal's) and `now`.
    pub fn changes(&self, now: &SweepPlan) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name}: {a} in the journal, {b} now"));
            }
        };
        field("model", self.model.clone(), now.model.clone());
        field("spans", j(&self.spans), j(&now.spans));
        field("dtypes", j(&self.dtypes), j(&now.dtypes));
        field("kv_aligned", j(&self.kv_aligned), j(&now.kv_aligned));
        field("seeds", j(&self.seeds), j(&now.seeds));
        field("block_size", j(&self.block_size), j(&now.block_size));
        field("warmup", j(&self.warmup), j(&now.warmup));
        field("tolerances", j(&self.tolerances), j(&now.tolerances));
        field("backends", j(&self.backends), j(&now.backends));
        field("repetitions", j(&self.repetitions), j(&now.repetitions));
        out
    }
}

/// A value as compact JSON, for "what changed" messages.
fn j<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
