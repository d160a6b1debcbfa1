//! The sweep runner: grid → sessions (one model load per backend and dtype) → runs →
//! compare → verdicts, each record journaled as soon as it exists.
//!
//! Backends are interleaved cell by cell: for each dtype every backend's session is opened
//! (its *lane*), then each (span, kv_aligned, seed) cell runs on every backend in turn, so
//! the logits of one cell on all backends are in memory together and compared across
//! backends ([`CrossRecord`](crate::records::CrossRecord)) without keeping a whole sweep's
//! logits.

mod bundle;
mod cross;
mod fingerprint;
mod lane;
mod pair;
mod planned;
mod progress;
mod reference;
mod sink;

pub use pair::{
    bitwise_mismatch, run_pair, run_record, timed_run, unrun_pair, Buffers, OpenSession,
    PairOutcome, PairTimes, Timing, Warmed, MAX_LOGITS, WARMUP_SEED,
};
pub use planned::PlannedBackend;
pub use progress::{Progress, Silent};
pub use reference::FloorSource;

use crate::config::SweepConfig;
use crate::grid::{Cell, Grid};
use crate::journal::Journal;
use crate::noise_floor::FloorRef;
use crate::peaks_cache::PeaksCache;
use crate::plan::PairPlan;
use crate::records::Record;
use crate::verdict::Verdict;
use cross::{cross_records, CellLogits};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::profile::peak_rss_bytes;
use lane::{Lane, LaneOpener};
use reference::{Loaded, ReferenceStore};
use sink::Sink;
use std::collections::BTreeSet;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What a sweep runs: its config, its grid (expanded once, by the caller), the backends in
/// run order, and where the f64 noise-floor reference comes from.
pub struct Sweep<'a> {
    /// The config.
    pub cfg: &'a SweepConfig,
    /// The config's grid.
    pub grid: &'a Grid,
    /// The backends, in run order.
    pub backends: &'a [PlannedBackend],
    /// Where the noise floor comes from.
    pub floor: FloorSource<'a>,
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

impl SweepControl {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
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
/// `[reference] backend` when it is in the sweep, else [`crate::default_backend::DEFAULT_BACKEND`] when it
/// is, else the first.
pub fn cross_reference<'a>(cfg: &SweepConfig, names: &'a [String]) -> Option<&'a str> {
    let find = |n: &str| names.iter().find(|x| x.as_str() == n).map(String::as_str);
    cfg.reference
        .backend
        .as_deref()
        .and_then(find)
        .or_else(|| find(crate::default_backend::DEFAULT_BACKEND))
        .or_else(|| names.first().map(String::as_str))
}

/// Run the sweep's cells that `ctl.done` lacks, journaling `header` first when given, and
/// stopping between pairs once `ctl.stop` is set. The last record is the sweep's summary
/// (where its time went).
pub fn run_sweep(
    sweep: Sweep<'_>,
    header: Option<Record>,
    journal: &mut Journal,
    progress: &dyn Progress,
    ctl: &SweepControl,
) -> std::io::Result<SweepRun> {
    let start = Instant::now();
    let mut sink = Sink::new(journal);
    if let Some(h) = header {
        sink.push(h)?;
    }
    let Sweep {
        cfg,
        grid,
        backends,
        floor,
    } = sweep;
    progress.start(2 * grid.pair_count(backends.len()) as u64);
    let mut store = ReferenceStore::new(floor)
        .with_decode_reference(cfg.reference.floor_decode)
        .with_prompts(cfg.prompt.clone());
    let names: Vec<String> = backends.iter().map(|b| b.entry.name.clone()).collect();
    let mut interrupted = false;
    for &dtype in &cfg.dtypes {
        let todo = cells_to_run(grid, dtype, backends.len(), ctl, progress);
        if todo.is_empty() {
            continue;
        }
        let pass = DtypePass {
            cfg,
            backends,
            dtype,
            plan: PairPlan::of(cfg, dtype),
            cross_ref: cross_reference(cfg, &names),
            ctl,
            progress,
            shapes: warmup_shapes(&todo),
        };
        if ctl.stopped() || !pass.run(&todo, &mut store, &mut sink)? {
            interrupted = true;
            break;
        }
    }
    let mut summary = sink.time.clone();
    summary.sweep_wall_s = start.elapsed().as_secs_f64();
    summary.interrupted = interrupted;
    summary.host_peak_rss_bytes = peak_rss_bytes();
    sink.push(Record::Summary(summary))?;
    Ok(SweepRun {
        records: sink.records,
        interrupted,
    })
}

/// The cells of `dtype` that `ctl.done` lacks; the done ones count as progress at once.
fn cells_to_run<'g>(
    grid: &'g Grid,
    dtype: Dtype,
    backends: usize,
    ctl: &SweepControl,
    progress: &dyn Progress,
) -> Vec<&'g Cell> {
    grid.of_dtype(dtype)
        .filter(|c| {
            let done = ctl.done.contains(c);
            if done {
                progress.advance(2 * backends as u64);
            }
            !done
        })
        .collect()
}

/// One dtype's pass over its cells: the backends' lanes open for the dtype, each cell run on
/// every lane, then compared across backends.
struct DtypePass<'a> {
    cfg: &'a SweepConfig,
    backends: &'a [PlannedBackend],
    dtype: Dtype,
    plan: PairPlan,
    cross_ref: Option<&'a str>,
    ctl: &'a SweepControl,
    progress: &'a dyn Progress,
    /// Shapes each backend warms up in this pass (prefill spans, decode span × layout).
    shapes: usize,
}

/// The shapes a backend warms for `todo`: each span's prefill, each (span, layout)'s decode.
fn warmup_shapes(todo: &[&Cell]) -> usize {
    let spans: BTreeSet<usize> = todo.iter().map(|c| c.span).collect();
    let decodes: BTreeSet<(usize, KvMode)> = todo.iter().map(|c| (c.span, c.kv_aligned)).collect();
    spans.len() + decodes.len()
}

impl DtypePass<'_> {
    /// Run `todo`; false when the sweep was stopped before the end.
    fn run(
        &self,
        todo: &[&Cell],
        store: &mut ReferenceStore,
        sink: &mut Sink,
    ) -> std::io::Result<bool> {
        // Before this dtype's sessions open: the f64 model is never beside them.
        let mut wanted: Vec<(usize, u64)> = todo.iter().map(|c| (c.span, c.seed)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let t0 = Instant::now();
        store.fill(&self.cfg.model, &wanted, sink, self.progress)?;
        sink.time.reference_s += t0.elapsed().as_secs_f64();
        let mut lanes = self.open_lanes(sink)?;
        if self.ctl.stopped() {
            // Stopped while the sessions opened (SIGTERM ends the workers): the first pair
            // was in flight, and its backends that could not open say why.
            self.journal_unopened(todo.first(), &mut lanes, sink)?;
            return Ok(false);
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
            for (planned, lane) in self.backends.iter().zip(lanes.iter_mut()) {
                if self.ctl.stopped() {
                    return Ok(false);
                }
                self.run_on_lane(cell, planned, lane, reference, sink)?;
                self.progress.advance(2);
            }
            self.compare_across_backends(cell, &lanes, sink)?;
        }
        // Sessions of this dtype close here (workers exit) before the next dtype loads.
        Ok(true)
    }

    /// Journal `cell`'s pair on every lane that did not open, with its reason.
    fn journal_unopened(
        &self,
        cell: Option<&&Cell>,
        lanes: &mut [Lane],
        sink: &mut Sink,
    ) -> std::io::Result<()> {
        let Some(cell) = cell else { return Ok(()) };
        for (planned, lane) in self.backends.iter().zip(lanes.iter_mut()) {
            if matches!(lane, Lane::Unrunnable(..)) {
                self.run_on_lane(cell, planned, lane, None, sink)?;
            }
        }
        Ok(())
    }

    /// Every backend's lane for the dtype, in run order.
    fn open_lanes(&self, sink: &mut Sink) -> std::io::Result<Vec<Lane>> {
        self.backends
            .iter()
            .map(|planned| {
                LaneOpener {
                    cfg: self.cfg,
                    planned,
                    dtype: self.dtype,
                    cache: &self.ctl.peaks,
                    progress: self.progress,
                }
                .open(sink)
            })
            .collect()
    }

    /// Run `cell`'s pair on one backend's lane (or record why it cannot run), journaling
    /// its records and writing its replay bundle where its verdict wants one.
    fn run_on_lane(
        &self,
        cell: &Cell,
        planned: &PlannedBackend,
        lane: &mut Lane,
        reference: Option<FloorRef<'_>>,
        sink: &mut Sink,
    ) -> std::io::Result<()> {
        let key = cell.pair(&planned.entry.name);
        let (open, ok) = match lane {
            Lane::Unrunnable(verdict, why) => return sink.extend(unrun_pair(&key, *verdict, why)),
            Lane::Open { open, ok } => (open, ok),
        };
        // A layout the backend says it cannot express is skipped with its reason, never
        // run on another layout.
        if let Some(why) = planned
            .entry
            .probe
            .as_ref()
            .and_then(|p| p.layout_unavailable(key.kv_aligned))
        {
            *ok = (false, false);
            return sink.extend(unrun_pair(&key, Verdict::Skipped, &why));
        }
        let label = format!(
            "{} {} span {} kv_aligned {} seed {}",
            key.backend, key.dtype, key.span, key.kv_aligned, key.seed
        );
        if self.plan.warmup && open.warmed.lacks(&key) {
            // Warm-ups can take minutes (kernel compilation): say how far they are.
            self.progress.message(&format!(
                "{} {}: warming up shape {} of {} (span {}), {} kernels compiled so far",
                key.backend,
                key.dtype,
                open.warmed.count() + 1,
                self.shapes,
                key.span,
                open.warmed.compiled
            ));
        } else {
            self.progress.message(&label);
        }
        let outcome = run_pair(&self.plan, &key, open, reference);
        *ok = (outcome.prefill_ok, outcome.decode_ok);
        sink.add(&outcome.times);
        if let Some(root) = &self.ctl.bundles {
            let t0 = Instant::now();
            let plan = (self.cfg, &self.plan);
            bundle::save_bundle(root, plan, planned, &outcome, open, reference)
                .unwrap_or_else(|why| self.progress.println(&format!("warning: {label}: {why}")));
            sink.time.harness.bundles_s += t0.elapsed().as_secs_f64();
        }
        self.say_unexpected_verdicts(&label, &outcome.records);
        sink.extend(outcome.records)
    }

    /// A line above the progress bar for every pair that neither passed nor drifted as
    /// expected.
    fn say_unexpected_verdicts(&self, label: &str, records: &[Record]) {
        for r in records {
            if let Record::Pair(p) = r {
                if !matches!(p.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift) {
                    self.progress.println(&format!(
                        "{label}: {} {}",
                        p.verdict,
                        p.reason.as_deref().unwrap_or("")
                    ));
                }
            }
        }
    }

    /// Compare the logits every open lane left for `cell` with the reference backend's.
    fn compare_across_backends(
        &self,
        cell: &Cell,
        lanes: &[Lane],
        sink: &mut Sink,
    ) -> std::io::Result<()> {
        let logits: Vec<CellLogits> = self
            .backends
            .iter()
            .zip(lanes)
            .filter_map(|(planned, lane)| match lane {
                Lane::Open { open, ok } => Some(CellLogits {
                    backend: &planned.entry.name,
                    vocab: open.vocab,
                    prefill: ok.0.then(|| open.bufs.prefill.as_ref()),
                    decode: ok.1.then(|| open.bufs.decode.as_ref()),
                }),
                Lane::Unrunnable(..) => None,
            })
            .collect();
        let t0 = Instant::now();
        let crosses = cross_records(cell, &logits, self.cross_ref);
        sink.time.harness.cross_compare_s += t0.elapsed().as_secs_f64();
        sink.extend(crosses)
    }
}
