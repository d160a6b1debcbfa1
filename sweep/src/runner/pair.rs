//! One pair on one open session: warm-up of its shapes, the two measured runs (and their
//! repetitions), the verdict.

use crate::noise_floor::{classify_with_floor, NoiseFloor};
use crate::pair_plan::{FloorRef, PairPlan};
use crate::records::{
    PairKey, PairRecord, Record, RepeatMismatch, RunRecord, RunStatus, WarmupRecord,
};
use crate::verdict::Verdict;
use driftbench_core::backend::Session;
use driftbench_core::error::BackendError;
use driftbench_core::kv::KvLayout;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics;
use driftbench_core::rng::prompt_tokens;
use driftbench_core::route::Route;
use driftbench_core::unwritten;
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
    /// Seconds the harness spent around the call: poisoning the buffer before it, checking
    /// every logit was written after it.
    pub checks_s: f64,
}

/// Most logits one route may produce (span × vocab): 8 GiB of f32 per buffer.
pub const MAX_LOGITS: usize = 1 << 31;

/// Run one route into `out` and time it. `out` is poisoned first, and a run that reports
/// success with any logit left unwritten is a failed run.
pub fn timed_run(
    session: &mut dyn Session,
    route: Route,
    tokens: &[u32],
    layout: KvLayout,
    out: &mut [f32],
) -> Result<Timing, BackendError> {
    let start = Instant::now();
    unwritten::fill(out);
    let t0 = Instant::now();
    match route {
        Route::Prefill => session.prefill(tokens, out)?,
        Route::Decode => session.decode(tokens, layout, out)?,
    }
    let host_wall_s = t0.elapsed().as_secs_f64();
    if let Some(u) = unwritten::find(out) {
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
    match r {
        Ok(t) => RunRecord {
            key: key.clone(),
            route,
            status: RunStatus::Ok,
            wall_s: Some(t.wall_s),
            host_wall_s: (t.host_wall_s != t.wall_s).then_some(t.host_wall_s),
            logits_bytes: Some((n * 4) as u64),
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
        },
    }
}

/// The shapes a session has warmed: (span, kv_aligned) of decode, span of prefill.
#[derive(Debug, Default)]
pub struct Warmed {
    prefill: Vec<usize>,
    decode: Vec<(usize, KvMode)>,
}

/// Logits buffers of one backend, reused from pair to pair.
#[derive(Debug, Default)]
pub struct Buffers {
    /// Prefill logits of the last pair.
    pub prefill: Vec<f32>,
    /// Decode logits of the last pair.
    pub decode: Vec<f32>,
    /// Logits of the repetitions after the first, compared with the first bitwise.
    pub repeat: Vec<f32>,
}

/// What one pair produced: its records, in journal order, and whether both routes left
/// logits in the buffers.
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
    /// Buffer poisoning, written-logits checks, repetitions compared bitwise.
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
    let mut n = 0u64;
    let mut max = 0f64;
    for (x, y) in a.iter().zip(b) {
        if x.to_bits() != y.to_bits() {
            n += 1;
            let d = (f64::from(*x) - f64::from(*y)).abs();
            if d.is_nan() || max.is_nan() {
                max = f64::NAN;
            } else if d > max {
                max = d;
            }
        }
    }
    let extra = a.len().abs_diff(b.len()) as u64;
    (n + extra > 0).then_some((n + extra, if extra > 0 { f64::NAN } else { max }))
}

/// Warm the shapes of `key` that `warmed` lacks (one unmeasured run per route and layout:
/// compilation, autotuning and first-touch allocation stay out of measured times and are
/// reported apart), then run the pair's two routes and classify them. With a `reference`,
/// each route is also compared with the f64 reference of the same route (the noise floor).
pub fn run_pair(
    plan: &PairPlan,
    session: &mut dyn Session,
    key: &PairKey,
    vocab: usize,
    warmed: &mut Warmed,
    bufs: &mut Buffers,
    reference: Option<FloorRef<'_>>,
) -> PairOutcome {
    let n = match logits_len(key.span, vocab, bufs, plan.repetitions > 1) {
        Ok(n) => n,
        Err(why) => {
            return PairOutcome {
                records: unrun_pair(key, Verdict::Incomplete, &why),
                prefill_ok: false,
                decode_ok: false,
                times: PairTimes::default(),
            }
        }
    };
    let layout = plan.layout(key.kv_aligned);
    let mut records = Vec::new();
    let mut times = PairTimes::default();
    if plan.warmup {
        let mut routes = Vec::new();
        if !warmed.prefill.contains(&key.span) {
            warmed.prefill.push(key.span);
            routes.push(Route::Prefill);
        }
        if !warmed.decode.contains(&(key.span, key.kv_aligned)) {
            warmed.decode.push((key.span, key.kv_aligned));
            routes.push(Route::Decode);
        }
        let tokens = prompt_tokens(WARMUP_SEED, key.span, vocab);
        for route in routes {
            let out = match route {
                Route::Prefill => &mut bufs.prefill[..],
                Route::Decode => &mut bufs.decode[..],
            };
            let r = timed_run(session, route, &tokens, layout, out);
            times.add_run(&r, true);
            records.push(Record::Warmup(WarmupRecord {
                backend: key.backend.clone(),
                dtype: key.dtype,
                span: key.span,
                kv_aligned: key.kv_aligned,
                route,
                wall_s: r.as_ref().ok().map(|t| t.wall_s),
                error: r.as_ref().err().map(|e| e.to_string()),
                counters: if r.is_ok() {
                    session.last_counters()
                } else {
                    Default::default()
                },
            }));
        }
    }
    let tokens = prompt_tokens(key.seed, key.span, vocab);
    let p = timed_run(session, Route::Prefill, &tokens, layout, &mut bufs.prefill);
    times.add_run(&p, false);
    records.push(Record::Run(run_record(
        key,
        Route::Prefill,
        &p,
        n,
        session,
        0,
    )));
    let d = timed_run(session, Route::Decode, &tokens, layout, &mut bufs.decode);
    times.add_run(&d, false);
    records.push(Record::Run(run_record(
        key,
        Route::Decode,
        &d,
        n,
        session,
        0,
    )));
    let mut repeat_mismatch = Vec::new();
    for rep in 1..plan.repetitions.max(1) {
        let rep = u32::try_from(rep).unwrap_or(u32::MAX);
        for (route, first) in [
            (Route::Prefill, p.is_ok().then_some(&bufs.prefill)),
            (Route::Decode, d.is_ok().then_some(&bufs.decode)),
        ] {
            let r = timed_run(session, route, &tokens, layout, &mut bufs.repeat);
            times.add_run(&r, false);
            records.push(Record::Run(run_record(key, route, &r, n, session, rep)));
            if let (Ok(_), Some(first)) = (&r, first) {
                let t0 = Instant::now();
                if let Some((differing, max_abs_diff)) = bitwise_mismatch(first, &bufs.repeat) {
                    repeat_mismatch.push(RepeatMismatch {
                        route,
                        rep,
                        differing,
                        max_abs_diff,
                    });
                }
                times.checks_s += t0.elapsed().as_secs_f64();
            }
        }
    }
    let pair = match (&p, &d) {
        (Ok(_), Ok(_)) => {
            let t0 = Instant::now();
            let m = session.compare(&bufs.prefill, &bufs.decode, vocab);
            times.compare_s += t0.elapsed().as_secs_f64();
            let t0 = Instant::now();
            let floor = match reference {
                Some(FloorRef::Logits {
                    label,
                    prefill,
                    decode,
                }) if prefill.len() == n && decode.len() == n => Ok(NoiseFloor {
                    reference: label.to_string(),
                    prefill: metrics::compare(prefill, &bufs.prefill, vocab),
                    decode: metrics::compare(decode, &bufs.decode, vocab),
                }),
                Some(FloorRef::Logits { label, .. }) => Err(format!(
                    "{label} produced logits of another shape (vocab differs from {vocab})"
                )),
                Some(FloorRef::Missing(why)) => Err(why.to_string()),
                None => Err("noise floor off".to_string()),
            };
            times.floor_compare_s += t0.elapsed().as_secs_f64();
            let (verdict, reason) = classify_with_floor(
                key.kv_aligned,
                key.dtype,
                &m,
                &plan.tolerance,
                &plan.rule,
                floor.as_ref().map_err(String::as_str),
            );
            let envelope = plan.envelope(key.kv_aligned);
            PairRecord {
                key: key.clone(),
                verdict,
                reason,
                metrics: Some(m),
                envelope: Some(envelope),
                floor: floor.ok().map(Box::new),
                repeat_mismatch,
            }
        }
        _ => {
            let why: Vec<String> = [(Route::Prefill, &p), (Route::Decode, &d)]
                .iter()
                .filter_map(|(r, res)| res.as_ref().err().map(|e| format!("{}: {e}", r.as_str())))
                .collect();
            let all_unavailable = [&p, &d]
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
            }
        }
    };
    records.push(Record::Pair(pair));
    PairOutcome {
        records,
        prefill_ok: p.is_ok(),
        decode_ok: d.is_ok(),
        times,
    }
}

/// Size both buffers (and the repetitions' buffer when `repeat`) for `span` × `vocab`
/// logits, or say why they cannot be: the product overflows, exceeds [`MAX_LOGITS`], or the
/// memory is not there (an error, not an abort).
fn logits_len(
    span: usize,
    vocab: usize,
    bufs: &mut Buffers,
    repeat: bool,
) -> Result<usize, String> {
    let n = span
        .checked_mul(vocab)
        .filter(|n| *n <= MAX_LOGITS)
        .ok_or_else(|| {
            format!("span {span} × vocab {vocab} logits exceed the limit of {MAX_LOGITS} per route")
        })?;
    if !repeat {
        bufs.repeat = Vec::new();
    }
    let mut wanted = vec![&mut bufs.prefill, &mut bufs.decode];
    if repeat {
        wanted.push(&mut bufs.repeat);
    }
    for buf in wanted {
        buf.clear();
        buf.try_reserve_exact(n).map_err(|e| {
            format!(
                "cannot allocate {n} logits ({} bytes): {e}",
                n.saturating_mul(4)
            )
        })?;
        buf.resize(n, 0.0);
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
    }));
    out
}
