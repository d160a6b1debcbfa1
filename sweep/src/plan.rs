//! A sweep's plans: the whole sweep's as the journal records it ([`SweepPlan`]: everything
//! that decides its verdicts and metrics, so `--resume` can tell whether a journal belongs to
//! the sweep being run), and what one pair is run and judged with ([`PairPlan`], resolved
//! from the config once per dtype and shared by the runner, `driftbench run` and replay
//! bundles).

use crate::config::SweepConfig;
use crate::noise_floor::FloorRule;
use crate::prompt::{Prompt, PromptFile};
use crate::shard_id::Shard;
use crate::verdict::{DtypeTolerance, Envelope};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::{KvLayout, KvMode};
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
    /// Backends named by `--backend` or the config: a sweep in which one of them classified
    /// no pair (every pair SKIPPED or INCOMPLETE) is INCOMPLETE. Empty when the backends
    /// were discovered, and in journals that do not record it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// Named backends marked optional (`--optional`, `sweep.optional_backends`): without a
    /// classified pair they are "not run", and the verdict ignores them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
    /// The file the prompts are windows of, with its sha256 (`[prompt]`); absent for seeded
    /// random ids, and in journals written before prompt files existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptFile>,
    /// The slice of the grid this journal runs (`--shard K/N`); absent: the whole grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
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
            required: Vec::new(),
            optional: Vec::new(),
            prompt: cfg.prompt.file().cloned(),
            shard: None,
        }
    }

    /// sha256 of the plan without its shard, as JSON: the same for every shard of one sweep
    /// (what a merge requires of its inputs, which it checks field by field).
    pub fn fingerprint(&self) -> String {
        let whole = SweepPlan {
            shard: None,
            ..self.clone()
        };
        crate::digest::sha256_hex(j(&whole).as_bytes())
    }

    /// The fields that differ between `self` (the journal's) and `now`, as `--resume`
    /// says them.
    pub fn changes(&self, now: &SweepPlan) -> Vec<String> {
        self.differences(now, &Sides::RESUME)
    }

    /// The fields that differ between `self` and `other`, each side named by `sides`.
    pub fn differences(&self, other: &SweepPlan, sides: &Sides<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name}: {a} {}, {b} {}", sides.this, sides.that));
            }
        };
        field("model", self.model.clone(), other.model.clone());
        field("spans", j(&self.spans), j(&other.spans));
        field("dtypes", j(&self.dtypes), j(&other.dtypes));
        field("kv_aligned", j(&self.kv_aligned), j(&other.kv_aligned));
        field("seeds", j(&self.seeds), j(&other.seeds));
        field("block_size", j(&self.block_size), j(&other.block_size));
        field("warmup", j(&self.warmup), j(&other.warmup));
        field("tolerances", j(&self.tolerances), j(&other.tolerances));
        field("backends", j(&self.backends), j(&other.backends));
        field("repetitions", j(&self.repetitions), j(&other.repetitions));
        field("required backends", j(&self.required), j(&other.required));
        field("optional backends", j(&self.optional), j(&other.optional));
        field("shard", j(&self.shard), j(&other.shard));
        if let Some(change) = prompt_change(self.prompt.as_ref(), other.prompt.as_ref(), sides) {
            out.push(change);
        }
        out
    }
}

/// How a list of plan differences names its two sides.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    /// After a value of the first plan (`in the journal`).
    pub this: &'a str,
    /// After a value of the second (`now`).
    pub that: &'a str,
    /// After the first plan's hash of a prompt file whose bytes changed (`then`).
    pub this_hash: &'a str,
    /// After the second plan's hash (`now`).
    pub that_hash: &'a str,
    /// What a prompt file with other bytes under the same path did
    /// (`changed since the journal was written`).
    pub rewritten: &'a str,
}

impl Sides<'static> {
    /// A journal against the sweep that would resume it.
    pub const RESUME: Sides<'static> = Sides {
        this: "in the journal",
        that: "now",
        this_hash: "then",
        that_hash: "now",
        rewritten: "changed since the journal was written",
    };
}

/// How the prompt differs between two plans, if it does; a file with other bytes under the
/// same path says so, with both hashes.
fn prompt_change(
    this: Option<&PromptFile>,
    that: Option<&PromptFile>,
    sides: &Sides<'_>,
) -> Option<String> {
    let describe = |p: Option<&PromptFile>| p.map_or("random token ids".into(), |f| f.describe());
    match (this, that) {
        (a, b) if a == b => None,
        (Some(a), Some(b)) if a.kind == b.kind && a.path == b.path && a.sha256 != b.sha256 => {
            Some(format!(
                "prompt: {} {} {} (sha256 {} {}, {} {})",
                a.kind.as_str(),
                a.path,
                sides.rewritten,
                a.sha256,
                sides.this_hash,
                b.sha256,
                sides.that_hash
            ))
        }
        (a, b) => Some(format!(
            "prompt: {} {}, {} {}",
            describe(a),
            sides.this,
            describe(b),
            sides.that
        )),
    }
}

/// A value as compact JSON, for "what changed" messages.
fn j<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// What a pair takes from the sweep's plan, resolved once per dtype: `sweep` and `run` both
/// build one and hand it to the runner's `run_pair`.
#[derive(Debug, Clone, PartialEq)]
pub struct PairPlan {
    /// Block size of padded KV caches.
    pub block_size: usize,
    /// The dtype's tolerance (both envelopes).
    pub tolerance: DtypeTolerance,
    /// One unmeasured warm-up run per new shape.
    pub warmup: bool,
    /// Fixed bounds, noise floor, or both.
    pub rule: FloorRule,
    /// Measurements of each route (at least 1): the verdict judges the first, the others
    /// are timed and compared with it bitwise.
    pub repetitions: usize,
    /// Where the pair's tokens come from (the f64 reference's of the same span and seed
    /// too).
    pub prompt: Prompt,
}

impl PairPlan {
    /// The plan of `cfg`'s pairs in `dtype`.
    pub fn of(cfg: &SweepConfig, dtype: Dtype) -> PairPlan {
        PairPlan {
            block_size: cfg.block_size,
            tolerance: cfg.tolerance(dtype),
            warmup: cfg.warmup,
            rule: cfg.reference.rule,
            repetitions: cfg.repetitions,
            prompt: cfg.prompt.clone(),
        }
    }

    /// The decode route's KV layout for `kv`.
    pub fn layout(&self, kv: KvMode) -> KvLayout {
        kv.layout(self.block_size)
    }

    /// The envelope a pair of `kv` is judged by.
    pub fn envelope(&self, kv: KvMode) -> Envelope {
        if kv.is_aligned() {
            self.tolerance.equiv
        } else {
            self.tolerance.drift
        }
    }
}
