//! The sweep runner: grid → sessions (one model load per backend and dtype) → runs →
//! compare → verdicts, each record journaled as soon as it exists.
//!
//! Backends are interleaved cell by cell: for each dtype every backend's session is opened,
//! then each (span, kv_aligned, seed) cell runs on every backend in turn, so the logits of
//! one cell on all backends are in memory together and compared across backends
//! ([`CrossRecord`]) without keeping a whole sweep's logits.

mod pair;
mod reference;

pub use crate::pair_plan::{FloorRef, PairPlan};
pub use pair::{
    bitwise_mismatch, run_pair, run_record, timed_run, unrun_pair, Buffers, PairOutcome, PairTimes,
    Timing, Warmed, MAX_LOGITS, WARMUP_SEED,
};
pub use reference::FloorSource;
use reference::{Loaded, ReferenceStore};

use crate::config::SweepConfig;
use crate::grid;
use crate::journal::Journal;
use crate::peaks_cache::{PeaksCache, PeaksKey};
use crate::records::{
    BackendEntry, CrossRecord, PairKey, PeaksOutcome, PeaksSource, Record, SessionRecord,
    SummaryRecord,
};
use crate::replay;
use crate::resume::Cell;
use crate::verdict::Verdict;
use driftbench_core::backend::Backend;
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::metrics;
use driftbench_core::route::Route;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A backend ready to run, with what the report says about it.
pub struct PlannedBackend {
    /// Report entry (source, probe, options in force).
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
    /// Where the sweep's time went so far (journal writes are counted here).
    time: SummaryRecord,
}

impl Sink<'_> {
    fn push(&mut self, r: Record) -> std::io::Result<()> {
        let t0 = Instant::now();
        self.journal.append(&r)?;
        self.time.harness.journal_s += t0.elapsed().as_secs_f64();
        self.records.push(r);
        Ok(())
    }

    /// Count a pair's time.
    fn add(&mut self, t: &PairTimes) {
        let s = &mut self.time;
        s.warmup_s += t.warmup_s;
        s.runs_s += t.runs_s;
        s.harness.compare_s += t.compare_s;
        s.harness.floor_compare_s += t.floor_compare_s;
        s.harness.checks_s += t.checks_s;
    }

    fn extend(&mut self, rs: Vec<Record>) -> std::io::Result<()> {
        rs.into_iter().try_for_each(|r| self.push(r))
    }
}

/// One backend's state for the dtype being run.
enum Lane {
    /// Not runnable for this dtype: every pair gets this verdict and reason.
    Unrunnable(Verdict, String),
    /// An open session, its logits buffers, and which routes of the current cell left
    /// logits in them.
    Open {
        session: Box<dyn Session>,
        vocab: usize,
        warmed: Warmed,
        bufs: Buffers,
        ok: (bool, bool),
    },
}

/// Open `planned` for `dtype` (or say why not), journaling the session record.
fn open_lane(
    cfg: &SweepConfig,
    planned: &PlannedBackend,
    dtype: Dtype,
    sink: &mut Sink,
    progress: &dyn Progress,
    cache: &PeaksCache,
) -> std::io::Result<Lane> {
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
        return Ok(Lane::Unrunnable(verdict, why));
    }
    progress.message(&format!("{name} {dtype}: loading model"));
    let t0 = Instant::now();
    let opened = planned.backend.open(&cfg.model, dtype);
    let load_s = t0.elapsed().as_secs_f64();
    sink.time.loads_s += load_s;
    // What the backend says sizes everything after: checked before it is believed.
    let opened = opened.and_then(|s| {
        s.info().check().map_err(BackendError::Run)?;
        Ok(s)
    });
    match opened {
        Ok(mut session) => {
            let info = session.info();
            progress.println(&format!(
                "{name} {dtype}: model loaded in {load_s:.2}s on {}",
                info.device
            ));
            let t0 = Instant::now();
            let peaks = if cfg.profile.roofline {
                peaks_of(
                    planned,
                    session.as_mut(),
                    &info.device,
                    dtype,
                    cache,
                    progress,
                )
            } else {
                PeaksOutcome {
                    source: PeaksSource::Off,
                    peaks: None,
                    probe_s: None,
                    error: None,
                }
            };
            sink.time.peaks_s += t0.elapsed().as_secs_f64();
            sink.push(Record::Session(SessionRecord {
                backend: name.clone(),
                dtype,
                load_s: Some(load_s),
                device: Some(info.device.clone()),
                model: Some(info.model.clone()),
                error: None,
                cost: session.cost(),
                peaks: Some(peaks),
            }))?;
            Ok(Lane::Open {
                session,
                vocab: info.vocab,
                warmed: Warmed::default(),
                bufs: Buffers::default(),
                ok: (false, false),
            })
        }
        Err(e) => {
            sink.push(Record::Session(SessionRecord {
                backend: name.clone(),
                dtype,
                load_s: None,
                device: None,
                model: None,
                error: Some(e.to_string()),
                cost: None,
                peaks: None,
            }))?;
            let verdict = match e {
                BackendError::Unavailable(_) => Verdict::Skipped,
                _ => Verdict::Incomplete,
            };
            let why = format!("{name} {dtype}: {e}");
            progress.println(&format!("{why} → {verdict}"));
            Ok(Lane::Unrunnable(verdict, why))
        }
    }
}

/// The peaks of `planned`'s device in `dtype`: from the machine's cache, else measured by
/// `session` (and cached), else why not.
fn peaks_of(
    planned: &PlannedBackend,
    session: &mut dyn Session,
    device: &str,
    dtype: Dtype,
    cache: &PeaksCache,
    progress: &dyn Progress,
) -> PeaksOutcome {
    let name = &planned.entry.name;
    let key = PeaksKey {
        backend: name.clone(),
        plugin_version: planned
            .entry
            .probe
            .as_ref()
            .map_or_else(|| "unknown".to_string(), |p| p.version.clone()),
        device: device.to_string(),
        dtype,
    };
    if let Some(p) = cache.get(&key) {
        return PeaksOutcome {
            source: PeaksSource::Cached,
            peaks: Some(p),
            probe_s: None,
            error: None,
        };
    }
    progress.message(&format!("{name} {dtype}: measuring peak GFLOP/s and GB/s"));
    let t0 = Instant::now();
    match session.peaks() {
        Ok(p) => {
            let probe_s = t0.elapsed().as_secs_f64();
            progress.println(&format!(
                "{name} {dtype}: peaks {:.1} GFLOP/s, {:.1} GB/s (measured in {probe_s:.2}s)",
                p.gemm_gflops, p.bandwidth_gbs
            ));
            if let Err(e) = cache.put(&key, &p) {
                let file = cache.path().map(|f| f.display().to_string());
                progress.println(&format!(
                    "warning: peaks not cached in {}: {e}",
                    file.unwrap_or_default()
                ));
            }
            PeaksOutcome {
                source: PeaksSource::Measured,
                peaks: Some(p),
                probe_s: Some(probe_s),
                error: None,
            }
        }
        Err(e) => {
            let why = e.to_string();
            progress.println(&format!(
                "{name} {dtype}: peaks not measured: {}",
                why.lines().next().unwrap_or_default()
            ));
            PeaksOutcome {
                source: PeaksSource::Failed,
                peaks: None,
                probe_s: None,
                error: Some(why),
            }
        }
    }
}

/// Logits one backend left for the current cell, for the cross-backend comparison.
struct CellLogits<'a> {
    backend: &'a str,
    vocab: usize,
    prefill: Option<&'a [f32]>,
    decode: Option<&'a [f32]>,
}

/// Compare every backend's logits of one cell with the reference backend's, route by route.
fn cross_records(cell: &PairKey, logits: &[CellLogits], reference: Option<&str>) -> Vec<Record> {
    let mut out = Vec::new();
    let Some(r) = logits.iter().find(|l| Some(l.backend) == reference) else {
        return out;
    };
    for b in logits {
        if r.vocab != b.vocab || b.backend == r.backend {
            continue;
        }
        for (route, x, y) in [
            (Route::Prefill, r.prefill, b.prefill),
            (Route::Decode, r.decode, b.decode),
        ] {
            let (Some(x), Some(y)) = (x, y) else { continue };
            out.push(Record::Cross(CrossRecord {
                key: PairKey {
                    backend: b.backend.to_string(),
                    ..cell.clone()
                },
                reference: r.backend.to_string(),
                route,
                metrics: metrics::compare(x, y, b.vocab),
            }));
        }
    }
    out
}

/// Write the replay bundle of `outcome`'s pair under `root` when its verdict wants one, with
/// the logits of the routes that produced them; an error says why none was written.
#[allow(clippy::too_many_arguments)]
fn save_bundle(
    root: &std::path::Path,
    cfg: &SweepConfig,
    planned: &PlannedBackend,
    plan: &PairPlan,
    outcome: &PairOutcome,
    vocab: usize,
    bufs: &Buffers,
    reference: Option<FloorRef<'_>>,
) -> Result<(), String> {
    let Some(pair) = outcome.records.iter().find_map(|r| match r {
        Record::Pair(p) if replay::wants_bundle(p.verdict) => Some(p),
        _ => None,
    }) else {
        return Ok(());
    };
    let bundle = replay::Bundle::new(cfg, &planned.entry, plan, pair, vocab, reference);
    let logits = replay::BundleLogits {
        prefill: outcome.prefill_ok.then_some(&bufs.prefill[..]),
        decode: outcome.decode_ok.then_some(&bufs.decode[..]),
        reference: match (&bundle.floor, reference) {
            (
                replay::SavedFloor::Logits { .. },
                Some(FloorRef::Logits {
                    prefill, decode, ..
                }),
            ) => Some((prefill, decode)),
            _ => None,
        },
    };
    let dir = root.join(replay::bundle_dir_name(&pair.key));
    replay::write_bundle(&dir, &bundle, &logits)
        .map_err(|e| format!("replay bundle not written: {e}"))
}

/// What a sweep skips and when it stops.
#[derive(Debug, Default)]
pub struct SweepControl {
    /// Cells already finished (a resumed journal's): not run again.
    pub done: HashSet<Cell>,
    /// Set (by a signal handler) to stop before the next pair.
    pub stop: Arc<AtomicBool>,
    /// Folder of replay bundles: each FAIL_* or INCOMPLETE pair gets one
    /// ([`crate::replay`]); `None` writes none.
    pub bundles: Option<PathBuf>,
    /// The machine's cache of measured peaks (and whether to measure again); the default
    /// has no file, so every session measures.
    pub peaks: PeaksCache,
}

/// What a sweep wrote, and whether it was stopped before the end.
#[derive(Debug)]
pub struct SweepRun {
    /// Records journaled by this call.
    pub records: Vec<Record>,
    /// `ctl.stop` was set: pairs after the last one recorded were not run.
    pub interrupted: bool,
}

/// The backend every other is compared with in the cross-backend matrix: the config's
/// `[reference] backend` when it is in the sweep, else `flex` when it is, else the first.
pub fn cross_reference<'a>(cfg: &SweepConfig, names: &'a [String]) -> Option<&'a str> {
    let find = |n: &str| names.iter().find(|x| x.as_str() == n).map(String::as_str);
    cfg.reference
        .backend
        .as_deref()
        .and_then(find)
        .or_else(|| find("flex"))
        .or_else(|| names.first().map(String::as_str))
}

/// Run the sweep's cells that `ctl.done` lacks, journaling `header` first when given, and
/// stopping between pairs once `ctl.stop` is set. `floor` says where the f64 noise-floor
/// reference comes from.
pub fn run_sweep(
    cfg: &SweepConfig,
    backends: &[PlannedBackend],
    floor: FloorSource<'_>,
    header: Option<Record>,
    journal: &mut Journal,
    progress: &dyn Progress,
    ctl: &SweepControl,
) -> std::io::Result<SweepRun> {
    let start = Instant::now();
    let mut sink = Sink {
        journal,
        records: Vec::new(),
        time: SummaryRecord::default(),
    };
    if let Some(h) = header {
        sink.push(h)?;
    }
    let names: Vec<String> = backends.iter().map(|b| b.entry.name.clone()).collect();
    let cross_ref = cross_reference(cfg, &names);
    let mut store = ReferenceStore::new(floor).with_decode_reference(cfg.reference.floor_decode);
    progress.start(2 * grid::expand(cfg, &names).len() as u64);
    let cells = grid::expand(cfg, &["".to_string()]);
    let stopped = || ctl.stop.load(Ordering::SeqCst);
    let mut interrupted = false;
    'dtypes: for &dtype in &cfg.dtypes {
        let todo: Vec<&PairKey> = cells
            .iter()
            .filter(|c| c.dtype == dtype)
            .filter(|c| {
                let done = ctl.done.contains(&Cell::of(c));
                if done {
                    progress.advance(2 * backends.len() as u64);
                }
                !done
            })
            .collect();
        if todo.is_empty() {
            continue;
        }
        if stopped() {
            interrupted = true;
            break;
        }
        let plan = PairPlan::of(cfg, dtype);
        let mut wanted: Vec<(usize, u64)> = todo.iter().map(|c| (c.span, c.seed)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        // Before this dtype's sessions open: the f64 model is never beside them.
        let t0 = Instant::now();
        store.fill(&cfg.model, &wanted, &mut sink, progress)?;
        sink.time.reference_s += t0.elapsed().as_secs_f64();
        let mut lanes = Vec::with_capacity(backends.len());
        for planned in backends {
            lanes.push(open_lane(
                cfg, planned, dtype, &mut sink, progress, &ctl.peaks,
            )?);
        }
        for cell in todo {
            let t0 = Instant::now();
            let loaded = store.enabled().then(|| store.load(cell.span, cell.seed));
            sink.time.harness.floor_compare_s += t0.elapsed().as_secs_f64();
            let reference = loaded.as_ref().map(|l| match l {
                Loaded::Logits(p, d) => FloorRef::Logits {
                    label: store.label(),
                    prefill: p,
                    decode: d.as_deref().unwrap_or(p),
                },
                Loaded::Missing(why) => FloorRef::Missing(why),
            });
            for (planned, lane) in backends.iter().zip(lanes.iter_mut()) {
                if stopped() {
                    interrupted = true;
                    break 'dtypes;
                }
                let key = PairKey {
                    backend: planned.entry.name.clone(),
                    ..cell.clone()
                };
                match lane {
                    Lane::Unrunnable(verdict, why) => {
                        sink.extend(unrun_pair(&key, *verdict, why))?;
                    }
                    Lane::Open {
                        session,
                        vocab,
                        warmed,
                        bufs,
                        ok,
                    } => {
                        let label = format!(
                            "{} {dtype} span {} kv_aligned {} seed {}",
                            key.backend, key.span, key.kv_aligned, key.seed
                        );
                        progress.message(&label);
                        let outcome = run_pair(
                            &plan,
                            session.as_mut(),
                            &key,
                            *vocab,
                            warmed,
                            bufs,
                            reference,
                        );
                        *ok = (outcome.prefill_ok, outcome.decode_ok);
                        sink.add(&outcome.times);
                        if let Some(root) = &ctl.bundles {
                            let t0 = Instant::now();
                            save_bundle(
                                root, cfg, planned, &plan, &outcome, *vocab, bufs, reference,
                            )
                            .unwrap_or_else(|why| {
                                progress.println(&format!("warning: {label}: {why}"))
                            });
                            sink.time.harness.bundles_s += t0.elapsed().as_secs_f64();
                        }
                        for r in &outcome.records {
                            if let Record::Pair(p) = r {
                                if !matches!(p.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift)
                                {
                                    progress.println(&format!(
                                        "{label}: {} {}",
                                        p.verdict,
                                        p.reason.as_deref().unwrap_or("")
                                    ));
                                }
                            }
                        }
                        sink.extend(outcome.records)?;
                    }
                }
                progress.advance(2);
            }
            let logits: Vec<CellLogits> = backends
                .iter()
                .zip(&lanes)
                .filter_map(|(planned, lane)| match lane {
                    Lane::Open {
                        vocab, bufs, ok, ..
                    } => Some(CellLogits {
                        backend: &planned.entry.name,
                        vocab: *vocab,
                        prefill: ok.0.then_some(&bufs.prefill[..]),
                        decode: ok.1.then_some(&bufs.decode[..]),
                    }),
                    Lane::Unrunnable(..) => None,
                })
                .collect();
            let t0 = Instant::now();
            let crosses = cross_records(cell, &logits, cross_ref);
            sink.time.harness.cross_compare_s += t0.elapsed().as_secs_f64();
            sink.extend(crosses)?;
        }
        // Sessions of this dtype close here (workers exit) before the next dtype loads.
        drop(lanes);
    }
    let mut summary = sink.time.clone();
    summary.sweep_wall_s = start.elapsed().as_secs_f64();
    summary.interrupted = interrupted;
    summary.host_peak_rss_bytes = driftbench_core::profile::peak_rss_bytes();
    sink.push(Record::Summary(summary))?;
    Ok(SweepRun {
        records: sink.records,
        interrupted,
    })
}
