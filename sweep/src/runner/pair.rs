//! One pair on one open session: warm-up of its shapes, the two measured runs (and their
//! repetitions), the verdict.

use crate::noise_floor::{classify_transported, FloorRef, NoiseFloor};
use crate::plan::PairPlan;
use crate::records::{
    PairKey, PairRecord, Record, RepeatMismatch, RunRecord, RunStatus, WarmupRecord,
};
use crate::runner::fingerprint::fingerprint;
use crate::verdict::{Transport, Verdict};
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::kv::KvLayout;
use driftbench_core::kv::KvMode;
use driftbench_core::logits::{Logits, LogitsRef};
use driftbench_core::metrics::{self, Metrics};
use driftbench_core::rng::prompt_tokens;
use driftbench_core::route::Route;
use std::time::Instant;

/// Seed of the unmeasured warm-up prompts (never a sweep seed in practice).
pub const WARMUP_SEED: u64 = u64::MAX;

/// How long a run took: where it ran (see [`Session::last_wall_s`]) and on the host.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Seconds, as the backend's side measured it.
    pub wall_s: f64,
    /// Seconds on the host's clock.
    pub host_wall_s: f64,
    /// Seconds the harness spent around the call: filling the buffer with the unwritten
    /// sentinel before it, checking every logit was written after it.
    pub checks_s: f64,
}

/// Most logits one route may produce (span × vocab): 8 GiB of f32 (16 GiB of f64) per
/// buffer.
pub const MAX_LOGITS: usize = 1 << 31;

/// Run one route into `out` and time it: the f32 route into an f32 buffer, the f64 route
/// ([`Session::prefill_f64`], [`Session::decode_f64`]) into an f64 one. `out` is filled with
/// the unwritten sentinel of its width first, and a run that reports success with any logit
/// left unwritten is a failed run.
pub fn timed_run(
    session: &mut dyn Session,
    route: Route,
    tokens: &[u32],
    layout: KvLayout,
    out: &mut Logits,
) -> Result<Timing, BackendError> {
    let start = Instant::now();
    out.fill_unwritten();
    let t0 = Instant::now();
    match (route, &mut *out) {
        (Route::Prefill, Logits::F32(o)) => session.prefill(tokens, o)?,
        (Route::Decode, Logits::F32(o)) => session.decode(tokens, layout, o)?,
        (Route::Prefill, Logits::F64(o)) => session.prefill_f64(tokens, o)?,
        (Route::Decode, Logits::F64(o)) => session.decode_f64(tokens, layout, o)?,
    }
    let host_wall_s = t0.elapsed().as_secs_f64();
    if let Some(u) = out.find_unwritten() {
        let vocab = out.len() / tokens.len().max(1);
        return Err(BackendError::Run(u.describe(out.len(), vocab)));
    }
    Ok(Timing {
        wall_s: session.last_wall_s().unwrap_or(host_wall_s),
        host_wall_s,
        checks_s: (start.elapsed().as_secs_f64() - host_wall_s).max(0.0),
    })
}

/// The journal record of measured run `rep` (0 for the first repetition) of a route, with
/// the session's counters and profile of it.
pub fn run_record(
    key: &PairKey,
    route: Route,
    r: &Result<Timing, BackendError>,
    n: usize,
    session: &dyn Session,
    rep: u32,
) -> RunRecord {
    // f64 logits that crossed as f64 are 8 bytes each; everything else crossed as f32.
    let width = if key.dtype == Dtype::F64 && session.logits_f64() {
        8
    } else {
        4
    };
    match r {
        Ok(t) => RunRecord {
            key: key.clone(),
            route,
            status: RunStatus::Ok,
            wall_s: Some(t.wall_s),
            host_wall_s: (t.host_wall_s != t.wall_s).then_some(t.host_wall_s),
            logits_bytes: Some((n * width) as u64),
            reason: None,
            counters: session.last_counters(),
            rep,
            profile: {
                let mut p = session.last_profile();
                // Steps are one per token of a decode: anything else is not kept (a plugin
                // cannot swell the journal with them).
                let steps = if route == Route::Decode { key.span } else { 0 };
                if p.step_s.len() != steps {
                    p.step_s = Vec::new();
                }
                p
            },
            fingerprint: None,
        },
        Err(e) => RunRecord {
            key: key.clone(),
            route,
            status: RunStatus::from(e),
            wall_s: None,
            host_wall_s: None,
            logits_bytes: None,
            reason: Some(e.to_string()),
            counters: Default::default(),
            rep,
            profile: Default::default(),
            fingerprint: None,
        },
    }
}

/// The shapes a session has warmed: (span, kv_aligned) of decode, span of prefill, and what
/// their warm-ups compiled.
#[derive(Debug, Default)]
pub struct Warmed {
    prefill: Vec<usize>,
    decode: Vec<(usize, KvMode)>,
    /// Kernels compiled plus autotune keys tuned by the warm-ups so far, where the backend
    /// counts them (cubecl's counters); what a progress line shows during long warm-ups.
    pub compiled: u64,
}

impl Warmed {
    /// Shapes warmed so far (prefill spans plus decode span × layout).
    pub fn count(&self) -> usize {
        self.prefill.len() + self.decode.len()
    }

    /// Whether `key`'s pair will warm a shape first.
    pub fn lacks(&self, key: &PairKey) -> bool {
        !self.prefill.contains(&key.span) || !self.decode.contains(&(key.span, key.kv_aligned))
    }
}

/// Logits buffers of one backend, reused from pair to pair: f64 for an f64 pair, f32
/// otherwise.
#[derive(Debug, Default)]
pub struct Buffers {
    /// Prefill logits of the last pair.
    pub prefill: Logits,
    /// Decode logits of the last pair.
    pub decode: Logits,
    /// Logits of the repetitions after the first, compared with the first bitwise.
    pub repeat: Logits,
}

/// What one pair produced: its records, in journal order, and whether both routes left
/// logits in the buffers.
#[derive(Default)]
pub struct PairOutcome {
    /// Warm-up, run and pair records.
    pub records: Vec<Record>,
    /// Prefill logits are in `Buffers::prefill`.
    pub prefill_ok: bool,
    /// Decode logits are in `Buffers::decode`.
    pub decode_ok: bool,
    /// Where the pair's time went.
    pub times: PairTimes,
}

/// Where one pair's time went, seconds on the host's clock: the backend's work and the
/// harness's.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PairTimes {
    /// Warm-up runs.
    pub warmup_s: f64,
    /// Measured runs, every repetition.
    pub runs_s: f64,
    /// Prefill against decode.
    pub compare_s: f64,
    /// Each route against the f64 reference.
    pub floor_compare_s: f64,
    /// Sentinel fills, written-logits checks, repetitions compared bitwise.
    pub checks_s: f64,
}

impl PairTimes {
    fn add_run(&mut self, r: &Result<Timing, BackendError>, warmup: bool) {
        if let Ok(t) = r {
            if warmup {
                self.warmup_s += t.host_wall_s;
            } else {
                self.runs_s += t.host_wall_s;
            }
            self.checks_s += t.checks_s;
        }
    }
}

/// Values of `b` whose bits differ from `a`'s (NaN equals NaN of the same bits), and the
/// largest |a − b| among them, NaN when a NaN stands against another value; `None` when
/// the two are bitwise equal.
pub fn bitwise_mismatch(a: &[f32], b: &[f32]) -> Option<(u64, f64)> {
    LogitsRef::F32(a).bitwise_mismatch(LogitsRef::F32(b))
}

/// A session open for a run of pairs, with what its pairs reuse: the vocabulary, the shapes
/// it has warmed and the logits buffers.
pub struct OpenSession {
    /// The session.
    pub session: Box<dyn Session>,
    /// Its vocabulary: the width of a logits row.
    pub vocab: usize,
    /// The shapes warmed so far.
    pub warmed: Warmed,
    /// The logits of the last pair.
    pub bufs: Buffers,
}

impl OpenSession {
    /// `session` with nothing warmed yet.
    pub fn new(session: Box<dyn Session>, vocab: usize) -> OpenSession {
        OpenSession {
            session,
            vocab,
            warmed: Warmed::default(),
            bufs: Buffers::default(),
        }
    }
}

/// One pair being run: its key, its prompt, the decode route's layout and the logits count
/// of a route.
struct PairRun<'k> {
    key: &'k PairKey,
    tokens: Vec<u32>,
    layout: KvLayout,
    n: usize,
}

/// Warm the shapes of `key` that the session lacks (one unmeasured run per route and layout:
/// compilation, autotuning and first-touch allocation stay out of measured times and are
/// reported apart), then run the pair's two routes (and their repetitions) and classify
/// them. With a `reference`, each route is also compared with the f64 reference of the same
/// route (the noise floor).
pub fn run_pair(
    plan: &PairPlan,
    key: &PairKey,
    open: &mut OpenSession,
    reference: Option<FloorRef<'_>>,
) -> PairOutcome {
    // An f64 pair's logits stay f64 end to end (whatever width they crossed in).
    let wide = key.dtype == Dtype::F64;
    let n = match logits_len(
        key.span,
        open.vocab,
        &mut open.bufs,
        plan.repetitions > 1,
        wide,
    ) {
        Ok(n) => n,
        Err(why) => {
            return PairOutcome {
                records: unrun_pair(key, Verdict::Incomplete, &why),
                ..PairOutcome::default()
            }
        }
    };
    // A prompt that cannot serve the pair (an id beyond this backend's vocab) runs nothing.
    let tokens = match plan.prompt.tokens(key.seed, key.span, open.vocab) {
        Ok(tokens) => tokens,
        Err(why) => {
            return PairOutcome {
                records: unrun_pair(key, Verdict::Incomplete, &format!("prompt: {why}")),
                ..PairOutcome::default()
            }
        }
    };
    let layout = plan.layout(key.kv_aligned);
    let mut out = PairOutcome::default();
    if plan.warmup {
        warm_up(key, layout, open, &mut out);
    }
    let run = PairRun {
        key,
        tokens,
        layout,
        n,
    };
    let p = run.measure(Route::Prefill, open, &mut out);
    let d = run.measure(Route::Decode, open, &mut out);
    let repeat_mismatch = run.repeat(plan, [p.is_ok(), d.is_ok()], open, &mut out);
    let pair = if p.is_ok() && d.is_ok() {
        run.judge(plan, open, reference, repeat_mismatch, &mut out.times)
    } else {
        unfinished_pair(key, &p, &d, repeat_mismatch)
    };
    out.records.push(Record::Pair(pair));
    out.prefill_ok = p.is_ok();
    out.decode_ok = d.is_ok();
    out
}

/// The unmeasured warm-up runs of the shapes of `key` the session has not run yet.
fn warm_up(key: &PairKey, layout: KvLayout, open: &mut OpenSession, out: &mut PairOutcome) {
    let mut routes = Vec::new();
    if !open.warmed.prefill.contains(&key.span) {
        open.warmed.prefill.push(key.span);
        routes.push(Route::Prefill);
    }
    if !open.warmed.decode.contains(&(key.span, key.kv_aligned)) {
        open.warmed.decode.push((key.span, key.kv_aligned));
        routes.push(Route::Decode);
    }
    let tokens = prompt_tokens(WARMUP_SEED, key.span, open.vocab);
    for route in routes {
        let buf = match route {
            Route::Prefill => &mut open.bufs.prefill,
            Route::Decode => &mut open.bufs.decode,
        };
        let r = timed_run(open.session.as_mut(), route, &tokens, layout, buf);
        out.times.add_run(&r, true);
        let counters = if r.is_ok() {
            open.session.last_counters()
        } else {
            Default::default()
        };
        open.warmed.compiled += driftbench_core::options::compiled(&counters).unwrap_or(0);
        out.records.push(Record::Warmup(WarmupRecord {
            backend: key.backend.clone(),
            dtype: key.dtype,
            span: key.span,
            kv_aligned: key.kv_aligned,
            route,
            wall_s: r.as_ref().ok().map(|t| t.wall_s),
            error: r.as_ref().err().map(|e| e.to_string()),
            counters,
        }));
    }
}

impl PairRun<'_> {
    /// The first, judged run of `route`, into that route's buffer.
    fn measure(
        &self,
        route: Route,
        open: &mut OpenSession,
        out: &mut PairOutcome,
    ) -> Result<Timing, BackendError> {
        let buf = match route {
            Route::Prefill => &mut open.bufs.prefill,
            Route::Decode => &mut open.bufs.decode,
        };
        let r = timed_run(open.session.as_mut(), route, &self.tokens, self.layout, buf);
        out.times.add_run(&r, false);
        let mut record = run_record(self.key, route, &r, self.n, open.session.as_ref(), 0);
        if r.is_ok() {
            let t0 = Instant::now();
            record.fingerprint = Some(Box::new(fingerprint(buf.as_ref(), open.vocab)));
            out.times.checks_s += t0.elapsed().as_secs_f64();
        }
        out.records.push(Record::Run(record));
        r
    }

    /// The repetitions after the first run of each route, timed and compared with the first
    /// bitwise where both succeeded (`ok`: prefill, decode).
    fn repeat(
        &self,
        plan: &PairPlan,
        ok: [bool; 2],
        open: &mut OpenSession,
        out: &mut PairOutcome,
    ) -> Vec<RepeatMismatch> {
        let mut mismatch = Vec::new();
        for rep in 1..plan.repetitions.max(1) {
            let rep = u32::try_from(rep).unwrap_or(u32::MAX);
            for (route, first_ok) in [(Route::Prefill, ok[0]), (Route::Decode, ok[1])] {
                let bufs = &mut open.bufs;
                let r = timed_run(
                    open.session.as_mut(),
                    route,
                    &self.tokens,
                    self.layout,
                    &mut bufs.repeat,
                );
                out.times.add_run(&r, false);
                let record = run_record(self.key, route, &r, self.n, open.session.as_ref(), rep);
                out.records.push(Record::Run(record));
                if r.is_err() || !first_ok {
                    continue;
                }
                let t0 = Instant::now();
                let first = match route {
                    Route::Prefill => &bufs.prefill,
                    Route::Decode => &bufs.decode,
                };
                if let Some((differing, max_abs_diff)) =
                    first.as_ref().bitwise_mismatch(bufs.repeat.as_ref())
                {
                    mismatch.push(RepeatMismatch {
                        route,
                        rep,
                        differing,
                        max_abs_diff,
                    });
                }
                out.times.checks_s += t0.elapsed().as_secs_f64();
            }
        }
        mismatch
    }

    /// The verdict of a pair whose two routes ran: prefill against decode, each route against
    /// the f64 reference where there is one, judged by the plan's rule.
    fn judge(
        &self,
        plan: &PairPlan,
        open: &OpenSession,
        reference: Option<FloorRef<'_>>,
        repeat_mismatch: Vec<RepeatMismatch>,
        times: &mut PairTimes,
    ) -> PairRecord {
        let (key, bufs, vocab) = (self.key, &open.bufs, open.vocab);
        let t0 = Instant::now();
        let m = compare_routes(open.session.as_ref(), bufs, vocab);
        times.compare_s += t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let floor = noise_floor(reference, self.n, vocab, bufs);
        times.floor_compare_s += t0.elapsed().as_secs_f64();
        // An f64 pair whose logits crossed as f32 is judged, and labelled, at f32-transport
        // precision: its routes may sit an f32 ulp apart where f64 agrees.
        let transport = (key.dtype == Dtype::F64 && !open.session.logits_f64()).then(|| {
            let max = bufs
                .prefill
                .as_ref()
                .max_abs_finite()
                .max(bufs.decode.as_ref().max_abs_finite());
            Transport::f32(max)
        });
        let judgement = transport.and_then(|t| t.judgement(key.dtype));
        let (verdict, reason) = classify_transported(
            key.kv_aligned,
            key.dtype,
            &m,
            &plan.tolerance,
            &plan.rule,
            floor.as_ref().map_err(String::as_str),
            judgement.as_ref(),
        );
        let envelope = plan.envelope(key.kv_aligned);
        PairRecord {
            key: key.clone(),
            verdict,
            reason,
            metrics: Some(m),
            envelope: Some(match &judgement {
                Some(t) => crate::verdict::Envelope {
                    max_abs: t.widen_bound(envelope.max_abs),
                    ..envelope
                },
                None => envelope,
            }),
            floor: floor.ok().map(Box::new),
            repeat_mismatch,
            transport,
        }
    }
}

/// Prefill against decode of the pair in `bufs`, through the session's own comparison of
/// their width.
fn compare_routes(session: &dyn Session, bufs: &Buffers, vocab: usize) -> Metrics {
    match (&bufs.prefill, &bufs.decode) {
        (Logits::F32(p), Logits::F32(d)) => session.compare(p, d, vocab),
        (Logits::F64(p), Logits::F64(d)) => session.compare_f64(p, d, vocab),
        (p, d) => metrics::compare_logits(p.as_ref(), d.as_ref(), vocab),
    }
}

/// Each route of the pair in `bufs` against the f64 `reference` of the same route, or why
/// there is no floor.
fn noise_floor(
    reference: Option<FloorRef<'_>>,
    n: usize,
    vocab: usize,
    bufs: &Buffers,
) -> Result<NoiseFloor, String> {
    match reference {
        Some(FloorRef::Logits {
            label,
            prefill,
            decode,
        }) if prefill.len() == n && decode.len() == n => Ok(NoiseFloor {
            reference: label.to_string(),
            prefill: metrics::compare_logits(prefill.into(), bufs.prefill.as_ref(), vocab),
            decode: metrics::compare_logits(decode.into(), bufs.decode.as_ref(), vocab),
        }),
        Some(FloorRef::Logits { label, .. }) => Err(format!(
            "{label} produced logits of another shape (vocab differs from {vocab})"
        )),
        Some(FloorRef::Missing(why)) => Err(why.to_string()),
        None => Err("noise floor off".to_string()),
    }
}

/// The verdict of a pair a route of which failed: SKIPPED when both say "not available",
/// else INCOMPLETE, with each failure as the reason.
fn unfinished_pair(
    key: &PairKey,
    p: &Result<Timing, BackendError>,
    d: &Result<Timing, BackendError>,
    repeat_mismatch: Vec<RepeatMismatch>,
) -> PairRecord {
    let why: Vec<String> = [(Route::Prefill, p), (Route::Decode, d)]
        .iter()
        .filter_map(|(r, res)| res.as_ref().err().map(|e| format!("{}: {e}", r.as_str())))
        .collect();
    let all_unavailable = [p, d]
        .iter()
        .all(|r| matches!(r, Err(BackendError::Unavailable(_))));
    PairRecord {
        key: key.clone(),
        verdict: if all_unavailable {
            Verdict::Skipped
        } else {
            Verdict::Incomplete
        },
        reason: Some(why.join("; ")),
        metrics: None,
        envelope: None,
        floor: None,
        repeat_mismatch,
        transport: None,
    }
}

/// Size both buffers (and the repetitions' buffer when `repeat`) for `span` × `vocab`
/// logits, f64 when `wide`, or say why they cannot be: the product overflows, exceeds
/// [`MAX_LOGITS`], or the memory is not there (an error, not an abort).
fn logits_len(
    span: usize,
    vocab: usize,
    bufs: &mut Buffers,
    repeat: bool,
    wide: bool,
) -> Result<usize, String> {
    let n = span
        .checked_mul(vocab)
        .filter(|n| *n <= MAX_LOGITS)
        .ok_or_else(|| {
            format!("span {span} × vocab {vocab} logits exceed the limit of {MAX_LOGITS} per route")
        })?;
    if !repeat {
        bufs.repeat = Logits::default();
    }
    let mut wanted = vec![&mut bufs.prefill, &mut bufs.decode];
    if repeat {
        wanted.push(&mut bufs.repeat);
    }
    for buf in wanted {
        buf.resize(n, wide)?;
    }
    Ok(n)
}

/// The records of a pair that cannot run (`SKIPPED` or `INCOMPLETE` for `why`): two unrun
/// runs and the pair.
pub fn unrun_pair(key: &PairKey, verdict: Verdict, why: &str) -> Vec<Record> {
    let status = if verdict == Verdict::Skipped {
        RunStatus::Skipped
    } else {
        RunStatus::Failed
    };
    let mut out: Vec<Record> = [Route::Prefill, Route::Decode]
        .into_iter()
        .map(|route| {
            Record::Run(RunRecord {
                key: key.clone(),
                route,
                status,
                wall_s: None,
                host_wall_s: None,
                logits_bytes: None,
                reason: Some(why.to_string()),
                counters: Default::default(),
                rep: 0,
                profile: Default::default(),
                fingerprint: None,
            })
        })
        .collect();
    out.push(Record::Pair(PairRecord {
        key: key.clone(),
        verdict,
        reason: Some(why.to_string()),
        metrics: None,
        envelope: None,
        floor: None,
        repeat_mismatch: Vec::new(),
        transport: None,
    }));
    out
}
