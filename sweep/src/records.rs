//! Machine-readable records: one JSON object per line in `results.jsonl`, appended as each
//! session, run and pair finishes. Kept small and stable; `report` re-renders from them.

use crate::noise_floor::{FloorRule, NoiseFloor};
use crate::verdict::DtypeTolerance;
use crate::verdict::Envelope;
use crate::verdict::Transport;
use crate::verdict::Verdict;
use driftbench_core::compact::CompactLogits;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::options::Configured;
use driftbench_core::options::Counters;
use driftbench_core::probe::Probe;
use driftbench_core::profile::{Peaks, RunProfile};
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the `results.jsonl` and `report.json` schema. Bump on a breaking change.
pub const SCHEMA_VERSION: u32 = 1;

/// Identity of a pair: (backend, span, dtype, kv_aligned, seed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PairKey {
    /// Backend name.
    pub backend: String,
    /// Prompt length in tokens.
    pub span: usize,
    /// Compute dtype.
    pub dtype: Dtype,
    /// 1: aligned KV cache; 0: block-padded cache.
    pub kv_aligned: KvMode,
    /// Prompt (and synthetic weight) seed.
    pub seed: u64,
}

/// Outcome of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Logits produced.
    Ok,
    /// The run failed, crashed or timed out.
    Failed,
    /// Not run: the backend, device or dtype is not available.
    Skipped,
}

/// Host machine and build, for the report's Environment section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// driftbench version.
    pub driftbench_version: String,
    /// Git commit the binary was built from, when known.
    pub commit: Option<String>,
    /// Operating system and architecture.
    pub os: String,
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub threads: usize,
    /// Extra key/value facts (thread-pool settings...).
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// First line of a journal: what the sweep is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepHeader {
    /// [`SCHEMA_VERSION`] at writing time.
    pub schema_version: u32,
    /// Sweep name (from the config).
    pub name: String,
    /// Config file as given on the command line.
    pub config_path: String,
    /// Start time, seconds since the Unix epoch (UTC).
    pub started_unix: u64,
    /// Model description.
    pub model: String,
    /// KV block size of kv_aligned=0 runs.
    pub block_size: usize,
    /// Tolerances in force, per dtype.
    pub tolerances: BTreeMap<Dtype, DtypeTolerance>,
    /// Number of pairs in the grid (all backends).
    pub pairs_planned: usize,
    /// Host and build.
    pub environment: Environment,
    /// Probe of every backend in the sweep (plugin path, device, driver, versions).
    pub backends: Vec<BackendEntry>,
    /// What the sweep runs, as `--resume` compares it; absent from older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plan::SweepPlan>,
    /// What logits are measured against (`[reference]`); absent from older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceInfo>,
    /// Where the sweep ran and from which files: the machine of its run identities, the
    /// config's and the plugins' hashes; absent from older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// For a journal written by `driftbench merge`: the journals it joins, and the plan
    /// they share ([`crate::merge`]). Absent from a sweep's own journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Box<MergeInfo>>,
}

/// What a merged journal joins (`driftbench merge`, [`crate::merge`]): its header's
/// `merged` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// The plan every source ran, without a shard, under plain backend names.
    pub plan: crate::plan::SweepPlan,
    /// The machine labels, sorted; with more than one, backend instances are named
    /// `backend@machine` in the merged records and plan.
    pub machines: Vec<String>,
    /// Every journal merged (a merged input contributes its own sources), sorted, each once.
    pub sources: Vec<SourceInfo>,
}

/// One journal a merge read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Its machine label.
    pub machine: String,
    /// Its slice of the grid; absent: the whole grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard_id::Shard>,
    /// When it started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// The host and build it ran on.
    pub environment: Environment,
    /// Its machine identity, config and plugin hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Where a journal was written and from what ([`crate::identity`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The machine label (`--machine-label`, the config's `machine_label`, else the host
    /// name): part of every run's identity.
    pub machine: String,
    /// sha256 of the config file's bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    /// Per backend instance: the plugin file and the sha256 of its bytes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, PluginFile>,
    /// sha256 of the sweep's plan without its shard ([`crate::plan::SweepPlan::fingerprint`]):
    /// equal for every shard of one sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// The host's name (the label may be another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Every GPU the host's driver lists, with the driver's version (the runtimes are in
    /// the backends' probes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<GpuInfo>,
}

/// A GPU of the host, as its kernel driver lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// Model name (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Kernel driver and its version (`nvidia 550.54.15`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// PCI bus location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
}

/// A plugin library as a sweep loaded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginFile {
    /// Its file name.
    pub file: String,
    /// sha256 of its bytes, hex.
    pub sha256: String,
}

/// The `[reference]` settings a sweep ran with, as the report states them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceInfo {
    /// Backend every other backend is compared with in the cross-backend matrix.
    pub cross_backend: Option<String>,
    /// Whether the f64 noise floor was measured.
    pub noise_floor: bool,
    /// Backend that ran the f64 reference.
    pub floor_backend: String,
    /// How drift is judged and the floor multiple `k`.
    pub rule: FloorRule,
}

/// A backend as the sweep saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendEntry {
    /// Backend name.
    pub name: String,
    /// Where it came from: `plugin <file name>`, `embedded`...
    pub source: String,
    /// Its probe; `None` when loading failed (then `error` says why).
    pub probe: Option<Probe>,
    /// Why the backend could not be loaded.
    pub error: Option<String>,
    /// The plugin behind this instance, when its name differs from the instance's
    /// (`[backends.cuda-nofusion] plugin = "cuda"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The options in force and what the backend said about them, when it was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured: Option<Configured>,
}

/// A model loaded on one backend in one dtype (once per (backend, dtype)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Backend name.
    pub backend: String,
    /// Dtype.
    pub dtype: Dtype,
    /// Seconds the load (parse, dequantize, convert, upload) took; apart from run wall time.
    pub load_s: Option<f64>,
    /// Device the session ran on.
    pub device: Option<String>,
    /// Model description from the backend.
    pub model: Option<String>,
    /// Why the session could not be opened.
    pub error: Option<String>,
    /// What the model costs to run, as the session described it (roofline figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<ModelCost>,
    /// The device's peaks in this dtype: measured, read from the machine's cache, not
    /// measured, or why not. Absent from older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks: Option<PeaksOutcome>,
}

/// Where a session's [`Peaks`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeaksSource {
    /// Measured by this sweep (and cached for the next).
    Measured,
    /// Read from the machine's peaks cache.
    Cached,
    /// Not measured: `[profile] roofline = false`.
    Off,
    /// The probe failed or the backend cannot measure (see the error).
    Failed,
}

/// The peaks of a session as the sweep got them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeaksOutcome {
    /// Where they came from.
    pub source: PeaksSource,
    /// The peaks, when measured or cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks: Option<Peaks>,
    /// Seconds the probe took (measured only).
    #[serde(
        default,
        with = "driftbench_core::float_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub probe_s: Option<f64>,
    /// Why there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One run (one route of one pair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The pair this run belongs to.
    #[serde(flatten)]
    pub key: PairKey,
    /// Prefill or decode.
    pub route: Route,
    /// Outcome.
    pub status: RunStatus,
    /// Wall time of the run in seconds (measured runs only; excludes model load and warm-up).
    /// The clock stops once the logits are back in host memory, which waits for every kernel
    /// the run queued; in a worker it is read beside the plugin, so pipe transport is out.
    pub wall_s: Option<f64>,
    /// The host's own clock around the same run, transport from a worker included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_wall_s: Option<f64>,
    /// Bytes of logits produced (positions × vocab × 4, widened to f32).
    pub logits_bytes: Option<u64>,
    /// Why the run failed or was skipped.
    pub reason: Option<String>,
    /// The backend's counters of this call (kernels compiled, autotune keys tuned...).
    #[serde(default, skip_serializing_if = "Counters::is_empty")]
    pub counters: Counters,
    /// Repetition index (`[sweep] repetitions`): 0 for the first measurement of the pair,
    /// whose logits the verdict judges. Absent (0) in older journals.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rep: u32,
    /// The session's timing details of this run: every decode step's seconds (`step_s`),
    /// the read-back (`readback_s`), the process's peak memory (`peak_rss_bytes`); each
    /// absent when not measured (and in older journals).
    #[serde(flatten)]
    pub profile: RunProfile,
    /// What the logits were, kept small (first repetition of a run that succeeded): the
    /// digest of their exact bits and their top-k form, for comparing runs across machines
    /// and across journals. Absent from older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Box<Fingerprint>>,
}

/// A run's logits in a few kilobytes: enough to tell bitwise identity (`sha256`) and to
/// compare runs that never share a machine (`top_k`, see [`driftbench_core::compact`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// sha256 of the logits as they crossed from the backend (little-endian f32, or f64 for
    /// f64 logits), row-major, hex.
    pub sha256: String,
    /// Per position the top-k ids and values and the row's log-sum-exp.
    pub top_k: CompactLogits,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One unmeasured warm-up run, done once per (backend, dtype, span, kv layout, route) before
/// the measured runs of that shape; its time is what a first call costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupRecord {
    /// Backend name.
    pub backend: String,
    /// Dtype.
    pub dtype: Dtype,
    /// Prompt length.
    pub span: usize,
    /// KV layout of the decode route (1: aligned, 0: padded); prefill ignores it.
    pub kv_aligned: KvMode,
    /// Prefill or decode.
    pub route: Route,
    /// Wall time in seconds, when it succeeded.
    pub wall_s: Option<f64>,
    /// Why it failed (the measured run that follows will say the same, or recover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The backend's counters of this call (kernels compiled, autotune keys tuned...).
    #[serde(default, skip_serializing_if = "Counters::is_empty")]
    pub counters: Counters,
}

/// One classified pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    /// Identity.
    #[serde(flatten)]
    pub key: PairKey,
    /// Verdict.
    pub verdict: Verdict,
    /// Why (for SKIPPED, INCOMPLETE, FAIL_*).
    pub reason: Option<String>,
    /// Metrics, when both runs produced logits.
    pub metrics: Option<Metrics>,
    /// The envelope the verdict was judged against.
    pub envelope: Option<Envelope>,
    /// Each route against the f64 reference of its (span, seed), when it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Box<NoiseFloor>>,
    /// Repetitions whose logits differ bitwise from the first repetition's (the run is not
    /// deterministic); empty when every repetition matched or there was one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeat_mismatch: Vec<RepeatMismatch>,
    /// For an f64 pair whose logits crossed from the backend as f32 (a plugin of ABI v1.3
    /// or older, or a session without f64 routes): `{"logits": "f32", "max_abs_logit": …}`,
    /// and the pair was judged at f32-transport precision (see `envelope`). Absent when the
    /// logits crossed in the pair's own dtype (and in older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
}

/// A repetition of a route whose logits are not bitwise those of the pair's first
/// repetition. NaN counts as equal to NaN of the same bits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatMismatch {
    /// The route.
    pub route: Route,
    /// The repetition index (1 or more).
    pub rep: u32,
    /// Values whose bits differ.
    pub differing: u64,
    /// Largest |a − b| over the differing values (NaN when a NaN stands against a number).
    #[serde(with = "driftbench_core::float_serde")]
    pub max_abs_diff: f64,
}

/// The f64 reference runs of one (span, seed): each route once more in f64 on the noise-floor
/// backend, the yardstick every dtype's routes are measured against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRecord {
    /// Backend that computed it.
    pub backend: String,
    /// Prompt length.
    pub span: usize,
    /// Prompt seed.
    pub seed: u64,
    /// Seconds the f64 model load took, on the first record after each load.
    #[serde(
        default,
        with = "driftbench_core::float_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub load_s: Option<f64>,
    /// Wall time of the f64 prefill, seconds.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub prefill_wall_s: Option<f64>,
    /// Wall time of the f64 decode (aligned KV cache), seconds.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub decode_wall_s: Option<f64>,
    /// The f64 prefill against the f64 decode: how far apart the reference routes are.
    pub metrics: Option<Metrics>,
    /// Why the reference could not be computed (then pairs of this cell have no floor).
    pub error: Option<String>,
    /// Peak resident memory (VmHWM) of the process that ran the f64 session, bytes, read
    /// after this cell's runs (journals written before this field read back `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

/// The same run on two backends: one route of one (span, dtype, kv_aligned, seed) cell,
/// `backend`'s logits against `reference`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossRecord {
    /// The cell (its `backend` field is the compared backend).
    #[serde(flatten)]
    pub key: PairKey,
    /// The backend compared against: the sweep's cross-backend reference.
    pub reference: String,
    /// Prefill or decode.
    pub route: Route,
    /// `reference` on the prefill side of the metrics, `backend` on the decode side.
    pub metrics: Metrics,
}

/// One line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    /// The sweep header (first line).
    Sweep(Box<SweepHeader>),
    /// A model load.
    Session(SessionRecord),
    /// An unmeasured warm-up run (kernel compilation, autotuning, first-touch allocation).
    Warmup(WarmupRecord),
    /// A finished run.
    Run(RunRecord),
    /// A classified pair.
    Pair(PairRecord),
    /// One route of one cell on two backends.
    Cross(CrossRecord),
    /// The f64 reference runs of one (span, seed).
    Reference(ReferenceRecord),
    /// Where one `sweep` invocation's time went (last line of each invocation).
    Summary(SummaryRecord),
}

/// Where the wall time of one `sweep` invocation went: the backends' work (model loads,
/// peak probes, warm-ups, measured runs, the f64 reference) and the harness's own work
/// (comparing, checking buffers, journaling, replay bundles). Seconds on the host's clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryRecord {
    /// The runner's whole wall time (plugin discovery, worker starts before it and the
    /// report after it excluded).
    #[serde(with = "driftbench_core::float_serde")]
    pub sweep_wall_s: f64,
    /// Model loads (sessions opened).
    #[serde(with = "driftbench_core::float_serde")]
    pub loads_s: f64,
    /// Peak probes (and cache look-ups).
    #[serde(with = "driftbench_core::float_serde")]
    pub peaks_s: f64,
    /// Unmeasured warm-up runs.
    #[serde(with = "driftbench_core::float_serde")]
    pub warmup_s: f64,
    /// Measured runs, every repetition.
    #[serde(with = "driftbench_core::float_serde")]
    pub runs_s: f64,
    /// The f64 noise-floor reference: its model loads, runs and files.
    #[serde(with = "driftbench_core::float_serde")]
    pub reference_s: f64,
    /// The harness's own work, by part.
    pub harness: HarnessTimes,
    /// The invocation was stopped before the end.
    #[serde(default)]
    pub interrupted: bool,
    /// Peak resident memory (VmHWM) of the host process (driftbench itself: logits
    /// buffers, the f64 reference read back, comparisons), bytes, at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_peak_rss_bytes: Option<u64>,
}

/// The harness's own work in a sweep, seconds by part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HarnessTimes {
    /// Prefill against decode of every pair.
    #[serde(with = "driftbench_core::float_serde")]
    pub compare_s: f64,
    /// Each route against the f64 reference (reading it back included).
    #[serde(with = "driftbench_core::float_serde")]
    pub floor_compare_s: f64,
    /// Backends against the reference backend.
    #[serde(with = "driftbench_core::float_serde")]
    pub cross_compare_s: f64,
    /// Poisoning buffers before runs, checking every logit was written, comparing
    /// repetitions bitwise, fingerprinting the logits (digest and top-k).
    #[serde(with = "driftbench_core::float_serde")]
    pub checks_s: f64,
    /// Journal writes.
    #[serde(with = "driftbench_core::float_serde")]
    pub journal_s: f64,
    /// Replay bundles of failed pairs.
    #[serde(with = "driftbench_core::float_serde")]
    pub bundles_s: f64,
}

impl HarnessTimes {
    /// Sum of the parts.
    pub fn total_s(&self) -> f64 {
        self.compare_s
            + self.floor_compare_s
            + self.cross_compare_s
            + self.checks_s
            + self.journal_s
            + self.bundles_s
    }
}

impl From<&BackendError> for RunStatus {
    fn from(e: &BackendError) -> Self {
        match e {
            BackendError::Unavailable(_) => RunStatus::Skipped,
            _ => RunStatus::Failed,
        }
    }
}
