//! One pair on one open session: warm-up of its shapes, the two measured runs, the verdict.

use crate::config::SweepConfig;
use crate::records::{PairKey, PairRecord, Record, Route, RunRecord, RunStatus, WarmupRecord};
use crate::rng::prompt_tokens;
use crate::verdict::classify;
use crate::{BackendError, KvLayout, Session, Verdict};
use std::time::Instant;

/// Seed of the unmeasured warm-up prompts (never a sweep seed in practice).
pub const WARMUP_SEED: u64 = u64::MAX;

/// The KV layout of `kv_aligned` with the sweep's block size.
pub fn layout_of(kv_aligned: u8, block: usize) -> KvLayout {
    if kv_aligned == 1 {
        KvLayout::Aligned
    } else {
        KvLayout::Padded { block }
    }
}

/// How long a run took: where it ran (see [`Session::last_wall_s`]) and on the host.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Seconds, as the backend's side measured it.
    pub wall_s: f64,
    /// Seconds on the host's clock.
    pub host_wall_s: f64,
}

/// Run one route into `out` and time it.
pub fn timed_run(
    session: &mut dyn Session,
    route: Route,
    tokens: &[u32],
    layout: KvLayout,
    out: &mut [f32],
) -> Result<Timing, BackendError> {
    let t0 = Instant::now();
    match route {
        Route::Prefill => session.prefill(tokens, out)?,
        Route::Decode => session.decode(tokens, layout, out)?,
    }
    let host_wall_s = t0.elapsed().as_secs_f64();
    Ok(Timing {
        wall_s: session.last_wall_s().unwrap_or(host_wall_s),
        host_wall_s,
    })
}

/// The journal record of one measured run.
pub fn run_record(
    key: &PairKey,
    route: Route,
    r: &Result<Timing, BackendError>,
    n: usize,
    session: &dyn Session,
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
        },
    }
}

/// The shapes a session has warmed: (span, kv_aligned) of decode, span of prefill.
#[derive(Debug, Default)]
pub struct Warmed {
    prefill: Vec<usize>,
    decode: Vec<(usize, u8)>,
}

/// Logits buffers of one backend, reused from pair to pair.
#[derive(Debug, Default)]
pub struct Buffers {
    /// Prefill logits of the last pair.
    pub prefill: Vec<f32>,
    /// Decode logits of the last pair.
    pub decode: Vec<f32>,
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
}

/// Warm the shapes of `key` that `warmed` lacks (one unmeasured run per route and layout:
/// compilation, autotuning and first-touch allocation stay out of measured times and are
/// reported apart), then run the pair's two routes and classify them.
pub fn run_pair(
    cfg: &SweepConfig,
    session: &mut dyn Session,
    key: &PairKey,
    vocab: usize,
    warmed: &mut Warmed,
    bufs: &mut Buffers,
) -> PairOutcome {
    let n = key.span * vocab;
    bufs.prefill.resize(n, 0.0);
    bufs.decode.resize(n, 0.0);
    let layout = layout_of(key.kv_aligned, cfg.block_size);
    let mut records = Vec::new();
    if cfg.warmup {
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
    records.push(Record::Run(run_record(key, Route::Prefill, &p, n, session)));
    let d = timed_run(session, Route::Decode, &tokens, layout, &mut bufs.decode);
    records.push(Record::Run(run_record(key, Route::Decode, &d, n, session)));
    let pair = match (&p, &d) {
        (Ok(_), Ok(_)) => {
            let m = session.compare(&bufs.prefill, &bufs.decode, vocab);
            let tol = cfg.tolerance(key.dtype);
            let (verdict, reason) = classify(key.kv_aligned, key.dtype, &m, &tol);
            let envelope = if key.kv_aligned == 1 {
                tol.equiv
            } else {
                tol.drift
            };
            PairRecord {
                key: key.clone(),
                verdict,
                reason,
                metrics: Some(m),
                envelope: Some(envelope),
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
            }
        }
    };
    records.push(Record::Pair(pair));
    PairOutcome {
        records,
        prefill_ok: p.is_ok(),
        decode_ok: d.is_ok(),
    }
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
            })
        })
        .collect();
    out.push(Record::Pair(PairRecord {
        key: key.clone(),
        verdict,
        reason: Some(why.to_string()),
        metrics: None,
        envelope: None,
    }));
    out
}
