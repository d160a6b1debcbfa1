//! The sweep runner: grid → sessions (one model load per backend and dtype) → runs →
//! compare → verdicts, each record journaled as soon as it exists.

use crate::config::SweepConfig;
use crate::journal::Journal;
use crate::records::{
    BackendEntry, PairKey, PairRecord, Record, Route, RunRecord, RunStatus, SessionRecord,
    WarmupRecord,
};
use crate::rng::prompt_tokens;
use crate::verdict::classify;
use crate::{grid, Backend, BackendError, Dtype, KvLayout, Session, Verdict};
use std::time::Instant;

/// Seed of the unmeasured warm-up prompts (never a sweep seed in practice).
pub const WARMUP_SEED: u64 = u64::MAX;

/// A backend ready to run, with what the report says about it.
pub struct PlannedBackend {
    /// Report entry (source, probe).
    pub entry: BackendEntry,
    /// The backend.
    pub backend: Box<dyn Backend>,
}

/// Progress feedback (a progress bar in the CLI; nothing in tests).
pub trait Progress {
    /// Total number of runs, before the first.
    fn start(&self, total_runs: u64);
    /// What is happening now.
    fn message(&self, msg: &str);
    /// `n` runs done (or skipped).
    fn advance(&self, n: u64);
    /// A line worth keeping above the bar.
    fn println(&self, line: &str);
}

/// Progress that shows nothing.
pub struct Silent;
impl Progress for Silent {
    fn start(&self, _: u64) {}
    fn message(&self, _: &str) {}
    fn advance(&self, _: u64) {}
    fn println(&self, _: &str) {}
}

struct Sink<'a> {
    journal: &'a mut Journal,
    records: Vec<Record>,
}

impl Sink<'_> {
    fn push(&mut self, r: Record) -> std::io::Result<()> {
        self.journal.append(&r)?;
        self.records.push(r);
        Ok(())
    }

    fn unrun_pair(&mut self, key: &PairKey, verdict: Verdict, why: &str) -> std::io::Result<()> {
        let status = if verdict == Verdict::Skipped {
            RunStatus::Skipped
        } else {
            RunStatus::Failed
        };
        for route in [Route::Prefill, Route::Decode] {
            self.push(Record::Run(RunRecord {
                key: key.clone(),
                route,
                status,
                wall_s: None,
                host_wall_s: None,
                logits_bytes: None,
                reason: Some(why.to_string()),
            }))?;
        }
        self.push(Record::Pair(PairRecord {
            key: key.clone(),
            verdict,
            reason: Some(why.to_string()),
            metrics: None,
            envelope: None,
        }))
    }
}

fn layout_of(kv_aligned: u8, block: usize) -> KvLayout {
    if kv_aligned == 1 {
        KvLayout::Aligned
    } else {
        KvLayout::Padded { block }
    }
}

/// Run the whole sweep. `header` is journaled first. Returns every record written.
pub fn run_sweep(
    cfg: &SweepConfig,
    backends: &[PlannedBackend],
    header: Record,
    journal: &mut Journal,
    progress: &dyn Progress,
) -> std::io::Result<Vec<Record>> {
    let mut sink = Sink {
        journal,
        records: Vec::new(),
    };
    sink.push(header)?;
    let names: Vec<String> = backends.iter().map(|b| b.entry.name.clone()).collect();
    let pairs = grid::expand(cfg, &names);
    progress.start(2 * pairs.len() as u64);
    for ((name, dtype), group) in grid::sessions(&pairs) {
        let planned = backends
            .iter()
            .find(|b| b.entry.name == name)
            .expect("grid names come from the backend list");
        run_session(cfg, planned, dtype, &group, &mut sink, progress)?;
    }
    Ok(sink.records)
}

fn run_session(
    cfg: &SweepConfig,
    planned: &PlannedBackend,
    dtype: Dtype,
    group: &[PairKey],
    sink: &mut Sink,
    progress: &dyn Progress,
) -> std::io::Result<()> {
    let name = &planned.entry.name;
    // A probe that says "not here" skips; a plugin that could not even be loaded or started
    // is a defect of this setup, not absent hardware, so its pairs are INCOMPLETE.
    let unrunnable = match &planned.entry.probe {
        Some(p) => p
            .dtype_unavailable(dtype)
            .map(|why| (Verdict::Skipped, why)),
        None => Some((
            Verdict::Incomplete,
            format!(
                "{name}: {}",
                planned
                    .entry
                    .error
                    .as_deref()
                    .unwrap_or("plugin not loaded")
            ),
        )),
    };
    if let Some((verdict, why)) = unrunnable {
        progress.println(&format!("{name} {dtype}: {verdict} ({why})"));
        for key in group {
            sink.unrun_pair(key, verdict, &why)?;
            progress.advance(2);
        }
        return Ok(());
    }
    progress.message(&format!("{name} {dtype}: loading model"));
    let t0 = Instant::now();
    let opened = planned.backend.open(&cfg.model, dtype);
    let load_s = t0.elapsed().as_secs_f64();
    let mut session = match opened {
        Ok(s) => s,
        Err(e) => {
            sink.push(Record::Session(SessionRecord {
                backend: name.clone(),
                dtype,
                load_s: None,
                device: None,
                model: None,
                error: Some(e.to_string()),
            }))?;
            let verdict = match e {
                BackendError::Unavailable(_) => Verdict::Skipped,
                _ => Verdict::Incomplete,
            };
            let why = format!("{name} {dtype}: {e}");
            progress.println(&format!("{why} → {verdict}"));
            for key in group {
                sink.unrun_pair(key, verdict, &why)?;
                progress.advance(2);
            }
            return Ok(());
        }
    };
    let info = session.info();
    sink.push(Record::Session(SessionRecord {
        backend: name.clone(),
        dtype,
        load_s: Some(load_s),
        device: Some(info.device.clone()),
        model: Some(info.model.clone()),
        error: None,
    }))?;
    progress.println(&format!(
        "{name} {dtype}: model loaded in {load_s:.2}s on {}",
        info.device
    ));
    let vocab = info.vocab;
    let max_span = group.iter().map(|k| k.span).max().unwrap_or(0);
    let mut a = vec![0f32; max_span * vocab];
    let mut b = vec![0f32; max_span * vocab];
    let mut warmed: Vec<(usize, u8)> = Vec::new();
    for key in group {
        let n = key.span * vocab;
        let tokens = prompt_tokens(key.seed, key.span, vocab);
        let layout = layout_of(key.kv_aligned, cfg.block_size);
        if cfg.warmup && !warmed.contains(&(key.span, key.kv_aligned)) {
            // One unmeasured run per shape (span, KV layout, route): first-touch allocation,
            // kernel compilation and autotuning stay out of the measured wall times, and are
            // reported apart. Prefill does not depend on the layout: warm it once per span.
            progress.message(&format!("{name} {dtype} span {}: warm-up", key.span));
            let w = prompt_tokens(WARMUP_SEED, key.span, vocab);
            let mut routes = vec![Route::Decode];
            if !warmed.iter().any(|(s, _)| *s == key.span) {
                routes.insert(0, Route::Prefill);
            }
            for route in routes {
                let out = if route == Route::Prefill {
                    &mut a[..n]
                } else {
                    &mut b[..n]
                };
                let r = timed_run(session.as_mut(), route, &w, layout, out);
                sink.push(Record::Warmup(WarmupRecord {
                    backend: name.clone(),
                    dtype,
                    span: key.span,
                    kv_aligned: key.kv_aligned,
                    route,
                    wall_s: r.as_ref().ok().map(|t| t.wall_s),
                    error: r.as_ref().err().map(|e| e.to_string()),
                }))?;
            }
            warmed.push((key.span, key.kv_aligned));
        }
        let label = format!(
            "{name} {dtype} span {} kv_aligned {} seed {}",
            key.span, key.kv_aligned, key.seed
        );
        progress.message(&format!("{label}: prefill"));
        let p = timed_run(
            session.as_mut(),
            Route::Prefill,
            &tokens,
            layout,
            &mut a[..n],
        );
        sink.push(Record::Run(run_record(key, Route::Prefill, &p, n)))?;
        progress.advance(1);
        progress.message(&format!("{label}: decode"));
        let d = timed_run(
            session.as_mut(),
            Route::Decode,
            &tokens,
            layout,
            &mut b[..n],
        );
        sink.push(Record::Run(run_record(key, Route::Decode, &d, n)))?;
        progress.advance(1);
        let pair = match (&p, &d) {
            (Ok(_), Ok(_)) => {
                let m = session.compare(&a[..n], &b[..n], vocab);
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
                    .filter_map(|(r, res)| {
                        res.as_ref().err().map(|e| format!("{}: {e}", r.as_str()))
                    })
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
        if !matches!(pair.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift) {
            progress.println(&format!(
                "{label}: {} {}",
                pair.verdict,
                pair.reason.as_deref().unwrap_or("")
            ));
        }
        sink.push(Record::Pair(pair))?;
    }
    Ok(())
}

/// How long a run took: where it ran (see [`Session::last_wall_s`]) and on the host.
#[derive(Debug, Clone, Copy)]
struct Timing {
    wall_s: f64,
    host_wall_s: f64,
}

fn timed_run(
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

fn run_record(
    key: &PairKey,
    route: Route,
    r: &Result<Timing, BackendError>,
    n: usize,
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
        },
        Err(e) => RunRecord {
            key: key.clone(),
            route,
            status: RunStatus::from(e),
            wall_s: None,
            host_wall_s: None,
            logits_bytes: None,
            reason: Some(e.to_string()),
        },
    }
}
