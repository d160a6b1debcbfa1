//! Two reports compared (before and after a driver or burn update): verdicts that changed
//! per pair, metrics that moved beyond a threshold, and speed ratios per (backend, span,
//! dtype, route).
//!
//! Reports are read into a view ([`ReportView`]) of only what the diff uses, so a
//! `report.json` of an older driftbench (without KL, NMSE, warm-ups or later sections) still
//! compares. A file is read with [`ReportView::read`], which first proves it is a driftbench
//! report (the keys every report has, their types, its `schema_version`, each backend, pair
//! and performance row once; see [`validate`]) and says what is wrong otherwise.
//!
//! Only verdicts decide a regression by default: a pair whose verdict got worse, a pair that
//! went missing, or a worse global verdict. Metric and speed moves are reported, and count
//! as regressions only when asked ([`Thresholds::fail_on_metrics`],
//! [`Thresholds::fail_on_slowdown`]), since two machines (or two runs on a noisy one) differ.
//! A row whose wall times give no speed ratio (missing, NaN, infinite, zero or negative on
//! either side) is listed ([`ReportDiff::unusable_speed`]), and is a regression under
//! `fail_on_slowdown`: never dropped.
//!
//! Speed is judged like a benchmark harness judges it, not from one number per side: a row
//! (backend, span, dtype, route) slowed down when the ratio of its median run wall times
//! exceeds `1 + slowdown` **and** a Mann–Whitney U test of the two sides' runs says the
//! difference is not chance (two-sided p < [`SIGNIFICANCE`]). That needs the runs: at least
//! [`MIN_RUNS`] timed runs on each side (`[sweep] repetitions = 5` for a one-seed grid), from
//! `performance[].profile.wall_samples_s`. With fewer, or a report that predates per-run
//! times (compared by its mean wall times), the ratio is shown as "not enough repetitions to
//! judge" and is never a slowdown nor a speedup.

pub mod context;
pub mod validate;

pub use validate::ReportError;

use crate::model::Report;
use crate::stats;
use context::HeaderView;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::route::Route;
use driftbench_sweep::records::PairKey;
use driftbench_sweep::verdict::GlobalVerdict;
use driftbench_sweep::verdict::Verdict;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Default relative threshold of a metric move: 25% of the larger value. Rounding noise
/// of a reassociated reduction moves a max or a p99 by tens of percent between kernels;
/// a real change in precision moves it by a factor.
pub const DEFAULT_METRIC_REL: f64 = 0.25;
/// Default absolute threshold of a metric move: 1e-6, about one f32 ulp of a logit of
/// magnitude 8, so moves within f32 rounding of typical logits are never reported. f64 pairs
/// use it scaled to f64 precision ([`F64_METRIC_ABS_SCALE`]).
pub const DEFAULT_METRIC_ABS: f64 = 1e-6;
/// The absolute threshold of an f64 pair is `metric_abs` times this: f64's epsilon over
/// f32's (2^-29), so the default 1e-6 becomes 1.9e-15, about one f64 ulp of a logit of
/// magnitude 8 (f64 logits cross as f64: a 1e-6 floor would hide every change).
pub const F64_METRIC_ABS_SCALE: f64 = f64::EPSILON / f32::EPSILON as f64;
/// Default slowdown threshold: new/old median wall time above 1.25 (and speedups below
/// 1/1.25). Run-to-run spread on the 2-core development machines is about 10%.
pub const DEFAULT_SLOWDOWN: f64 = 0.25;
/// Timed runs each side of a speed row needs before its ratio is judged: with 5 and 5 the
/// Mann–Whitney test's smallest two-sided p is 2/252 = 0.008, and a slowdown stays below
/// [`SIGNIFICANCE`] with two pairs of runs out of order (0.032); with 4 and 4 one such pair
/// gives 0.057, and with 3 and 3 nothing is ever significant (p ≥ 0.1).
pub const MIN_RUNS: usize = 5;
/// The Mann–Whitney p-value below which a speed ratio beyond the threshold is not chance.
pub const SIGNIFICANCE: f64 = 0.05;

/// When a move is worth reporting, and which moves are regressions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A metric moved when |new − old| exceeds this fraction of the larger of |old|, |new| ...
    pub metric_rel: f64,
    /// ... and exceeds this absolute amount.
    pub metric_abs: f64,
    /// A route slowed down when new/old median wall time exceeds `1 + slowdown` (and the
    /// runs differ significantly, see [`SpeedRatio::slowdown`]).
    pub slowdown: f64,
    /// A metric that got worse is a regression.
    pub fail_on_metrics: bool,
    /// A slowdown is a regression.
    pub fail_on_slowdown: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            metric_rel: DEFAULT_METRIC_REL,
            metric_abs: DEFAULT_METRIC_ABS,
            slowdown: DEFAULT_SLOWDOWN,
            fail_on_metrics: false,
            fail_on_slowdown: false,
        }
    }
}

/// What the diff reads of a `report.json`; every field may be absent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportView {
    /// Global verdict.
    #[serde(default)]
    pub global: Option<GlobalVerdict>,
    /// Backends.
    #[serde(default)]
    pub backends: Vec<BackendView>,
    /// The sweep's header: what ran, on what, from which files.
    #[serde(default)]
    pub header: Option<HeaderView>,
}

/// What the diff reads of one backend.
#[derive(Debug, Clone, Deserialize)]
pub struct BackendView {
    /// Backend name.
    pub name: String,
    /// One row per pair.
    #[serde(default)]
    pub comparisons: Vec<PairView>,
    /// One row per (span, dtype, route).
    #[serde(default)]
    pub performance: Vec<PerfView>,
}

/// What the diff reads of one pair.
#[derive(Debug, Clone, Deserialize)]
pub struct PairView {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// KV layout.
    pub kv_aligned: KvMode,
    /// Seed.
    pub seed: u64,
    /// Verdict.
    pub verdict: Verdict,
    /// Metrics, when measured.
    #[serde(default)]
    pub metrics: Option<MetricsView>,
}

/// The metrics the diff compares; a metric absent on either side is not compared.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricsView {
    /// Largest |prefill − decode|.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub max_abs_diff: Option<f64>,
    /// 99th percentile.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub p99_abs_diff: Option<f64>,
    /// Mean.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub mean_abs_diff: Option<f64>,
    /// Top-1 agreement (compared as disagreement, 1 − agreement, so larger is worse).
    #[serde(default, with = "driftbench_core::float_opt")]
    pub top1_agreement: Option<f64>,
    /// Mean KL.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub kl_mean: Option<f64>,
    /// Largest KL.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub kl_max: Option<f64>,
    /// NMSE.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub nmse: Option<f64>,
    /// Non-finite prefill values.
    #[serde(default)]
    pub nonfinite_prefill: Option<u64>,
    /// Non-finite decode values.
    #[serde(default)]
    pub nonfinite_decode: Option<u64>,
}

/// What the diff reads of one performance row.
#[derive(Debug, Clone, Deserialize)]
pub struct PerfView {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Route.
    pub route: Route,
    /// Mean wall time, seconds.
    #[serde(default, with = "driftbench_core::float_opt")]
    pub wall_mean_s: Option<f64>,
    /// The latency profile of the row's runs; absent from older reports.
    #[serde(default)]
    pub profile: Option<PerfProfileView>,
}

/// What the diff reads of a performance row's latency profile.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PerfProfileView {
    /// Every timed run's wall time, seconds; empty in reports that predate them.
    #[serde(default, with = "driftbench_core::float_vec64")]
    pub wall_samples_s: Vec<f64>,
}

impl PerfView {
    /// The row's per-run wall times (none in an older report).
    pub fn samples(&self) -> &[f64] {
        self.profile
            .as_ref()
            .map_or(&[], |p| p.wall_samples_s.as_slice())
    }
}

impl ReportView {
    /// Parse a `report.json` leniently: every field may be absent and nothing is checked
    /// (duplicates included), for reports known to be driftbench's. Files are read with
    /// [`ReportView::read`].
    pub fn parse(json: &str) -> Result<ReportView, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The view of a report in memory.
    pub fn of(r: &Report) -> ReportView {
        serde_json::to_value(r)
            .and_then(serde_json::from_value)
            .expect("a Report reads back as its own view")
    }

    fn pairs(&self) -> BTreeMap<PairKey, &PairView> {
        self.backends
            .iter()
            .flat_map(|b| {
                b.comparisons.iter().map(|c| {
                    let key = PairKey {
                        backend: b.name.clone(),
                        span: c.span,
                        dtype: c.dtype,
                        kv_aligned: c.kv_aligned,
                        seed: c.seed,
                    };
                    (key, c)
                })
            })
            .collect()
    }

    fn perf(&self) -> BTreeMap<PerfKey, &PerfView> {
        self.backends
            .iter()
            .flat_map(|b| {
                b.performance.iter().map(|p| {
                    let key = PerfKey {
                        backend: b.name.clone(),
                        span: p.span,
                        dtype: p.dtype,
                        route: p.route,
                    };
                    (key, p)
                })
            })
            .collect()
    }
}

/// (backend, span, dtype, route) of a speed ratio.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PerfKey {
    /// Backend.
    pub backend: String,
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Route.
    pub route: Route,
}

/// How a pair's verdict changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Worse: a pass became FAIL_* or INCOMPLETE (or SKIPPED: no longer tested), or an
    /// INCOMPLETE became FAIL_*.
    Regressed,
    /// Better.
    Improved,
    /// Different, neither better nor worse (e.g. FAIL_EQUIV ↔ FAIL_DRIFT never happens for
    /// one key; SKIPPED ↔ INCOMPLETE of an unavailable backend does).
    Changed,
    /// In the old report only (a regression unless it was SKIPPED there).
    Missing,
    /// In the new report only.
    Added,
    /// In the old report only, and no longer in the new report's plan: the grid changed,
    /// not the results.
    Unplanned,
}

/// One pair whose verdict changed.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictChange {
    /// The pair.
    pub key: PairKey,
    /// Verdict in the old report.
    pub old: Option<Verdict>,
    /// Verdict in the new report.
    pub new: Option<Verdict>,
    /// Better, worse...
    pub change: Change,
    /// The verdict changed while the metrics did not and the tolerance (or floor rule) of
    /// the pair's dtype moved: the rules changed, not the backend.
    pub tolerance_moved: bool,
}

impl VerdictChange {
    /// Whether this change is a regression.
    pub fn is_regression(&self) -> bool {
        match self.change {
            Change::Regressed => true,
            Change::Missing => self.old != Some(Verdict::Skipped),
            _ => false,
        }
    }
}

/// One metric of one pair that moved beyond the thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricMove {
    /// The pair.
    pub key: PairKey,
    /// Metric name as in the report (`max_abs_diff`...).
    pub metric: &'static str,
    /// Old value.
    pub old: f64,
    /// New value.
    pub new: f64,
    /// The new value is worse (more error, or a value turned non-finite).
    pub worse: bool,
}

/// Which wall time a speed ratio sets side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Center {
    /// The median of the row's runs (both reports carry them).
    Median,
    /// The mean (a report without per-run wall times).
    Mean,
}

impl Center {
    /// The report field it comes from: `wall_median_s` (of `wall_samples_s`) or
    /// `wall_mean_s`.
    pub fn field(self) -> &'static str {
        match self {
            Center::Median => "wall_median_s",
            Center::Mean => "wall_mean_s",
        }
    }
}

/// New over old wall time of one (backend, span, dtype, route), and whether the runs say
/// the difference is real.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedRatio {
    /// Where.
    pub key: PerfKey,
    /// Medians, or means where a report has no per-run times.
    pub center: Center,
    /// Old wall time (median or mean), seconds.
    pub old_s: f64,
    /// New wall time (median or mean), seconds.
    pub new_s: f64,
    /// Old median absolute deviation, seconds, with medians.
    pub old_mad_s: Option<f64>,
    /// New median absolute deviation, seconds, with medians.
    pub new_mad_s: Option<f64>,
    /// Old timed runs the report carries (0: none recorded).
    pub old_runs: usize,
    /// New timed runs the report carries.
    pub new_runs: usize,
    /// new / old: above 1 is slower.
    pub ratio: f64,
    /// The ratio is beyond the threshold, either way (significant or not).
    pub beyond: bool,
    /// Two-sided Mann–Whitney p of the two sides' runs; `None` when either side has fewer
    /// than [`MIN_RUNS`]: not enough repetitions to judge.
    pub p_value: Option<f64>,
    /// Slower beyond the threshold, with p below [`SIGNIFICANCE`].
    pub slowdown: bool,
    /// Faster beyond the threshold, with p below [`SIGNIFICANCE`].
    pub speedup: bool,
}

impl SpeedRatio {
    /// Both sides have the runs a judgement needs.
    pub fn judged(&self) -> bool {
        self.p_value.is_some()
    }
}

/// A (backend, span, dtype, route) of both reports whose wall times give no speed ratio:
/// either is missing (null), NaN, infinite, zero or negative (or new/old over- or
/// underflows). A median is NaN when any of its runs' times is not a positive number.
#[derive(Debug, Clone, PartialEq)]
pub struct UnusableSpeed {
    /// Where.
    pub key: PerfKey,
    /// Which wall times: means, or medians of the runs.
    pub center: Center,
    /// Old wall time, seconds; `None` when null.
    pub old_s: Option<f64>,
    /// New wall time, seconds; `None` when null.
    pub new_s: Option<f64>,
}

impl UnusableSpeed {
    /// `wall_mean_s old 0.0021, new NaN`.
    pub fn values(&self) -> String {
        let v = |s: Option<f64>| s.map_or_else(|| "null".to_string(), |s| format!("{s:?}"));
        format!(
            "{} old {}, new {}",
            self.center.field(),
            v(self.old_s),
            v(self.new_s)
        )
    }
}

/// A p-value as the diff prints it: four decimals, or two significant digits below 1e-4.
pub fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// A wall time a speed ratio can be made of.
fn usable_time(s: f64) -> bool {
    s.is_finite() && s > 0.0
}

/// Everything two reports differ in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDiff {
    /// Old global verdict.
    pub old_global: Option<GlobalVerdict>,
    /// New global verdict.
    pub new_global: Option<GlobalVerdict>,
    /// Pairs whose verdict changed, appeared or went missing, in key order.
    pub verdicts: Vec<VerdictChange>,
    /// Metrics that moved beyond the thresholds, in key order.
    pub metrics: Vec<MetricMove>,
    /// Every (backend, span, dtype, route) measured in both, in key order.
    pub speed: Vec<SpeedRatio>,
    /// Rows of both reports with no usable speed ratio, in key order.
    pub unusable_speed: Vec<UnusableSpeed>,
    /// The thresholds used.
    pub thresholds: Thresholds,
    /// What changed between the runs besides their results (config, tolerances, plan,
    /// plugins, version, machine), said first.
    pub context: Vec<String>,
}

/// Higher is worse; `None` for SKIPPED (nothing was tested).
fn rank(v: Verdict) -> Option<u8> {
    match v {
        Verdict::PassEquiv | Verdict::ExpectedDrift => Some(0),
        Verdict::Incomplete => Some(1),
        Verdict::FailEquiv | Verdict::FailDrift => Some(2),
        Verdict::Skipped => None,
    }
}

fn global_rank(g: GlobalVerdict) -> u8 {
    match g {
        GlobalVerdict::Pass => 0,
        GlobalVerdict::Incomplete => 1,
        GlobalVerdict::Fail => 2,
    }
}

fn change(old: Verdict, new: Verdict) -> Change {
    match (rank(old), rank(new)) {
        (Some(a), Some(b)) if b > a => Change::Regressed,
        (Some(a), Some(b)) if b < a => Change::Improved,
        // A pass that is no longer tested loses coverage; a failure that is not tested any
        // more is not fixed either.
        (Some(0), None) => Change::Regressed,
        (None, Some(0)) => Change::Improved,
        _ => Change::Changed,
    }
}

/// Whether `old` → `new` is a move beyond `th`, and whether it is for the worse; values are
/// error-like (larger is worse).
fn moved(old: f64, new: f64, th: &Thresholds) -> Option<bool> {
    if old == new || (old.is_nan() && new.is_nan()) {
        return None;
    }
    if !old.is_finite() || !new.is_finite() {
        // Turning NaN or infinite is always worth a line.
        return Some(!new.is_finite() || new > old);
    }
    let d = (new - old).abs();
    (d > th.metric_abs && d > th.metric_rel * old.abs().max(new.abs())).then_some(new > old)
}

fn metric_moves(
    key: &PairKey,
    a: &MetricsView,
    b: &MetricsView,
    th: &Thresholds,
) -> Vec<MetricMove> {
    // The absolute threshold is in the pair's own precision.
    let scaled = Thresholds {
        metric_abs: th.metric_abs * F64_METRIC_ABS_SCALE,
        ..*th
    };
    let th = if key.dtype == Dtype::F64 { &scaled } else { th };
    let disagree = |m: &MetricsView| m.top1_agreement.map(|t| 1.0 - t);
    let floats = [
        ("max_abs_diff", a.max_abs_diff, b.max_abs_diff),
        ("p99_abs_diff", a.p99_abs_diff, b.p99_abs_diff),
        ("mean_abs_diff", a.mean_abs_diff, b.mean_abs_diff),
        ("top1_agreement", disagree(a), disagree(b)),
        ("kl_mean", a.kl_mean, b.kl_mean),
        ("kl_max", a.kl_max, b.kl_max),
        ("nmse", a.nmse, b.nmse),
    ];
    let mut out = Vec::new();
    for (metric, x, y) in floats {
        let (Some(x), Some(y)) = (x, y) else { continue };
        if let Some(worse) = moved(x, y, th) {
            // Shown as the report has it: agreement, not disagreement.
            let (old, new) = if metric == "top1_agreement" {
                (1.0 - x, 1.0 - y)
            } else {
                (x, y)
            };
            out.push(MetricMove {
                key: key.clone(),
                metric,
                old,
                new,
                worse,
            });
        }
    }
    // Any change in a count of NaN/Inf values matters.
    for (metric, x, y) in [
        (
            "nonfinite_prefill",
            a.nonfinite_prefill,
            b.nonfinite_prefill,
        ),
        ("nonfinite_decode", a.nonfinite_decode, b.nonfinite_decode),
    ] {
        if let (Some(x), Some(y)) = (x, y) {
            if x != y {
                out.push(MetricMove {
                    key: key.clone(),
                    metric,
                    old: x as f64,
                    new: y as f64,
                    worse: y > x,
                });
            }
        }
    }
    out
}

/// The median of `runs`, NaN when any run's time is not a positive finite number (a
/// median would step over it).
fn usable_median(runs: &[f64]) -> f64 {
    if runs.iter().all(|&s| usable_time(s)) {
        stats::median(runs)
    } else {
        f64::NAN
    }
}

/// The speed ratio of one row both reports have, or why it has none. The mean wall times
/// must be usable first (as they always had to be); then the medians of the runs are
/// compared where both sides carry runs, the means otherwise.
fn speed_ratio(
    key: &PerfKey,
    o: &PerfView,
    n: &PerfView,
    th: &Thresholds,
) -> Result<SpeedRatio, UnusableSpeed> {
    let unusable = |center, old_s, new_s| UnusableSpeed {
        key: key.clone(),
        center,
        old_s,
        new_s,
    };
    let usable_pair = |a: f64, b: f64| usable_time(a) && usable_time(b) && usable_time(b / a);
    let (mo, mn) = match (o.wall_mean_s, n.wall_mean_s) {
        (Some(a), Some(b)) if usable_pair(a, b) => (a, b),
        (a, b) => return Err(unusable(Center::Mean, a, b)),
    };
    let (ro, rn) = (o.samples(), n.samples());
    let (center, old_s, new_s) = if ro.is_empty() || rn.is_empty() {
        (Center::Mean, mo, mn)
    } else {
        let (a, b) = (usable_median(ro), usable_median(rn));
        if !usable_pair(a, b) {
            return Err(unusable(Center::Median, Some(a), Some(b)));
        }
        (Center::Median, a, b)
    };
    let spread = |runs: &[f64]| (center == Center::Median).then(|| stats::mad(runs));
    let ratio = new_s / old_s;
    let limit = 1.0 + th.slowdown;
    let (slower, faster) = (ratio > limit, ratio < 1.0 / limit);
    let judged = center == Center::Median && ro.len() >= MIN_RUNS && rn.len() >= MIN_RUNS;
    // Two-sided: either way, the runs must tell the sides apart, not one lucky median.
    let p_value = judged
        .then(|| stats::mann_whitney(rn, ro).map(|t| t.p))
        .flatten();
    let significant = p_value.is_some_and(|p| p < SIGNIFICANCE);
    Ok(SpeedRatio {
        key: key.clone(),
        center,
        old_s,
        new_s,
        old_mad_s: spread(ro),
        new_mad_s: spread(rn),
        old_runs: ro.len(),
        new_runs: rn.len(),
        ratio,
        beyond: slower || faster,
        p_value,
        slowdown: slower && significant,
        speedup: faster && significant,
    })
}

/// Compare `old` with `new` under `th`.
pub fn diff_reports(old: &ReportView, new: &ReportView, th: Thresholds) -> ReportDiff {
    let (po, pn) = (old.pairs(), new.pairs());
    let (ho, hn) = (old.header.as_ref(), new.header.as_ref());
    let new_plan = hn.and_then(|h| h.plan.as_ref());
    let mut verdicts = Vec::new();
    let mut metrics = Vec::new();
    for (key, a) in &po {
        match pn.get(key) {
            None => verdicts.push(VerdictChange {
                key: key.clone(),
                old: Some(a.verdict),
                new: None,
                change: match new_plan {
                    Some(p) if !p.contains(key) => Change::Unplanned,
                    _ => Change::Missing,
                },
                tolerance_moved: false,
            }),
            Some(b) => {
                if a.verdict != b.verdict {
                    let same_metrics = match (&a.metrics, &b.metrics) {
                        (Some(x), Some(y)) => metric_moves(
                            key,
                            x,
                            y,
                            &Thresholds {
                                metric_rel: 0.0,
                                metric_abs: 0.0,
                                ..th
                            },
                        )
                        .is_empty(),
                        _ => false,
                    };
                    verdicts.push(VerdictChange {
                        key: key.clone(),
                        old: Some(a.verdict),
                        new: Some(b.verdict),
                        change: change(a.verdict, b.verdict),
                        tolerance_moved: same_metrics
                            && context::tolerance_moved(ho, hn, key.dtype),
                    });
                }
                if let (Some(x), Some(y)) = (&a.metrics, &b.metrics) {
                    metrics.extend(metric_moves(key, x, y, &th));
                }
            }
        }
    }
    for (key, b) in &pn {
        if !po.contains_key(key) {
            verdicts.push(VerdictChange {
                key: key.clone(),
                old: None,
                new: Some(b.verdict),
                change: Change::Added,
                tolerance_moved: false,
            });
        }
    }
    verdicts.sort_by(|x, y| x.key.cmp(&y.key));
    let (so, sn) = (old.perf(), new.perf());
    let mut speed = Vec::new();
    let mut unusable_speed = Vec::new();
    for (k, o) in &so {
        let Some(n) = sn.get(k) else { continue };
        match speed_ratio(k, o, n, &th) {
            Ok(s) => speed.push(s),
            // A time that is not a positive finite number gives no ratio: said, not dropped.
            Err(u) => unusable_speed.push(u),
        }
    }
    ReportDiff {
        old_global: old.global,
        new_global: new.global,
        verdicts,
        metrics,
        speed,
        unusable_speed,
        thresholds: th,
        context: context::changes(ho, hn),
    }
}

impl ReportDiff {
    /// The global verdict got worse.
    pub fn global_regressed(&self) -> bool {
        matches!((self.old_global, self.new_global), (Some(a), Some(b)) if global_rank(b) > global_rank(a))
    }

    /// Every regression, one line each: worse verdicts, missing pairs, a worse global verdict,
    /// and (when the thresholds opt in) worse metrics, and slowdowns and unusable speed
    /// ratios.
    pub fn regressions(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.global_regressed() {
            out.push(format!(
                "global verdict {} → {}",
                show(self.old_global),
                show(self.new_global)
            ));
        }
        for v in self.verdicts.iter().filter(|v| v.is_regression()) {
            out.push(format!(
                "{}: {} → {}",
                pair_label(&v.key),
                show(v.old),
                show(v.new)
            ));
        }
        if self.thresholds.fail_on_metrics {
            for m in self.metrics.iter().filter(|m| m.worse) {
                out.push(format!(
                    "{}: {} {:?} → {:?}",
                    pair_label(&m.key),
                    m.metric,
                    m.old,
                    m.new
                ));
            }
        }
        if self.thresholds.fail_on_slowdown {
            for s in self.speed.iter().filter(|s| s.slowdown) {
                out.push(format!(
                    "{}: {:.2}× slower (median {} → {}, Mann–Whitney p = {}, {} and {} runs)",
                    perf_label(&s.key),
                    s.ratio,
                    seconds(s.old_s),
                    seconds(s.new_s),
                    p_text(s.p_value.unwrap_or(f64::NAN)),
                    s.old_runs,
                    s.new_runs
                ));
            }
            for u in &self.unusable_speed {
                out.push(format!(
                    "{}: unusable speed ratio: {}",
                    perf_label(&u.key),
                    u.values()
                ));
            }
        }
        out
    }

    /// Nothing changed: same global verdict, same verdicts, no metric move beyond the
    /// thresholds, no significant speed move beyond them, no ratio beyond them that could
    /// not be judged, no unusable speed ratio.
    pub fn no_change(&self) -> bool {
        self.old_global == self.new_global
            && self.verdicts.is_empty()
            && self.metrics.is_empty()
            && !self
                .speed
                .iter()
                .any(|s| s.slowdown || s.speedup || (s.beyond && !s.judged()))
            && self.unusable_speed.is_empty()
    }
}

/// A wall time with a unit that keeps three significant digits readable.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3}s")
    } else if s >= 1e-3 {
        format!("{:.3}ms", s * 1e3)
    } else {
        format!("{:.3}µs", s * 1e6)
    }
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "missing".to_string(), |v| v.to_string())
}

/// `flex f16 span 512 kv_aligned 1 seed 0`.
pub fn pair_label(k: &PairKey) -> String {
    format!(
        "{} {} span {} kv_aligned {} seed {}",
        k.backend, k.dtype, k.span, k.kv_aligned, k.seed
    )
}

/// `flex f16 span 512 decode`.
pub fn perf_label(k: &PerfKey) -> String {
    format!(
        "{} {} span {} {}",
        k.backend,
        k.dtype,
        k.span,
        k.route.as_str()
    )
}
