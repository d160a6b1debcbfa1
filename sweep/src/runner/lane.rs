//! One backend's lane through a dtype's pass: its session opened for the dtype (with its
//! peaks measured or read from the machine's cache), or why its pairs cannot run.

use super::pair::OpenSession;
use super::planned::PlannedBackend;
use super::progress::Progress;
use super::sink::Sink;
use crate::config::SweepConfig;
use crate::peaks_cache::{PeaksCache, PeaksKey};
use crate::records::{PeaksOutcome, PeaksSource, Record, SessionRecord};
use crate::verdict::Verdict;
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use std::time::Instant;

/// One backend's state for the dtype being run.
pub(crate) enum Lane {
    /// Not runnable for this dtype: every pair gets this verdict and reason.
    Unrunnable(Verdict, String),
    /// An open session, and which routes of the current cell left logits in its buffers
    /// (prefill, decode).
    Open { open: OpenSession, ok: (bool, bool) },
}

/// What opening a lane needs: the backend, the dtype, the config and the machine's cache.
pub(crate) struct LaneOpener<'a> {
    pub(crate) cfg: &'a SweepConfig,
    pub(crate) planned: &'a PlannedBackend,
    pub(crate) dtype: Dtype,
    pub(crate) cache: &'a PeaksCache,
    pub(crate) progress: &'a dyn Progress,
}

impl LaneOpener<'_> {
    /// Open the backend's session for the dtype (or say why not), journaling its session
    /// record.
    pub(crate) fn open(&self, sink: &mut Sink) -> std::io::Result<Lane> {
        let (name, dtype) = (&self.planned.entry.name, self.dtype);
        if let Some((verdict, why)) = self.unrunnable() {
            self.progress
                .println(&format!("{name} {dtype}: {verdict} ({why})"));
            return Ok(Lane::Unrunnable(verdict, why));
        }
        self.progress
            .message(&format!("{name} {dtype}: loading model"));
        let t0 = Instant::now();
        let opened = self.planned.backend.open(&self.cfg.model, dtype);
        let load_s = t0.elapsed().as_secs_f64();
        sink.time.loads_s += load_s;
        // What the backend says sizes everything after: checked before it is believed.
        let opened = opened.and_then(|s| {
            s.info().check().map_err(BackendError::Run)?;
            Ok(s)
        });
        match opened {
            Ok(session) => self.opened(session, load_s, sink),
            Err(e) => self.failed(e, sink),
        }
    }

    /// Why the backend cannot run the dtype at all. A probe that says "not here" skips; a
    /// plugin that could not even be loaded or started is a defect of this setup, not absent
    /// hardware, so its pairs are INCOMPLETE.
    fn unrunnable(&self) -> Option<(Verdict, String)> {
        let entry = &self.planned.entry;
        match &entry.probe {
            Some(p) => p
                .dtype_unavailable(self.dtype)
                .map(|why| (Verdict::Skipped, why)),
            None => Some((
                Verdict::Incomplete,
                format!(
                    "{}: {}",
                    entry.name,
                    entry.error.as_deref().unwrap_or("plugin not loaded")
                ),
            )),
        }
    }

    /// The lane of a session that opened: its peaks, and its session record.
    fn opened(
        &self,
        mut session: Box<dyn Session>,
        load_s: f64,
        sink: &mut Sink,
    ) -> std::io::Result<Lane> {
        let info = session.info();
        self.progress.println(&format!(
            "{} {}: model loaded in {load_s:.2}s on {}",
            self.planned.entry.name, self.dtype, info.device
        ));
        let t0 = Instant::now();
        let peaks = if self.cfg.profile.roofline {
            self.peaks(session.as_mut(), &info.device)
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
            backend: self.planned.entry.name.clone(),
            dtype: self.dtype,
            load_s: Some(load_s),
            device: Some(info.device.clone()),
            model: Some(info.model.clone()),
            error: None,
            cost: session.cost(),
            peaks: Some(peaks),
        }))?;
        Ok(Lane::Open {
            open: OpenSession::new(session, info.vocab),
            ok: (false, false),
        })
    }

    /// The lane of a session that did not open: SKIPPED where the backend says the model or
    /// dtype is not available, INCOMPLETE otherwise.
    fn failed(&self, e: BackendError, sink: &mut Sink) -> std::io::Result<Lane> {
        let (name, dtype) = (&self.planned.entry.name, self.dtype);
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
        self.progress.println(&format!("{why} → {verdict}"));
        Ok(Lane::Unrunnable(verdict, why))
    }

    /// The peaks of the backend's device in the dtype: from the machine's cache, else
    /// measured by `session` (and cached), else why not.
    fn peaks(&self, session: &mut dyn Session, device: &str) -> PeaksOutcome {
        let (name, dtype) = (&self.planned.entry.name, self.dtype);
        let key = PeaksKey {
            backend: name.clone(),
            plugin_version: self
                .planned
                .entry
                .probe
                .as_ref()
                .map_or_else(|| "unknown".to_string(), |p| p.version.clone()),
            device: device.to_string(),
            dtype,
        };
        // Invalid cached figures (a hand-edited or older cache) are measured again.
        if let Some(p) = self.cache.get(&key).filter(|p| p.check().is_ok()) {
            return PeaksOutcome {
                source: PeaksSource::Cached,
                peaks: Some(p),
                probe_s: None,
                error: None,
            };
        }
        self.progress
            .message(&format!("{name} {dtype}: measuring peak GFLOP/s and GB/s"));
        let t0 = Instant::now();
        let measured = session.peaks().map_err(|e| e.to_string()).and_then(|p| {
            p.check()
                .map(|()| p)
                .map_err(|why| format!("the backend's peaks are not valid: {why}"))
        });
        match measured {
            Ok(p) => {
                let probe_s = t0.elapsed().as_secs_f64();
                self.progress.println(&format!(
                    "{name} {dtype}: peaks {:.1} GFLOP/s, {:.1} GB/s (measured in {probe_s:.2}s)",
                    p.gemm_gflops, p.bandwidth_gbs
                ));
                self.cache_peaks(&key, &p);
                PeaksOutcome {
                    source: PeaksSource::Measured,
                    peaks: Some(p),
                    probe_s: Some(probe_s),
                    error: None,
                }
            }
            Err(why) => {
                self.progress.println(&format!(
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

    /// Keep measured peaks in the machine's cache; a cache that cannot be written is a
    /// warning, not a failure.
    fn cache_peaks(&self, key: &PeaksKey, p: &driftbench_core::profile::Peaks) {
        if let Err(e) = self.cache.put(key, p) {
            let file = self.cache.path().map(|f| f.display().to_string());
            self.progress.println(&format!(
                "warning: peaks not cached in {}: {e}",
                file.unwrap_or_default()
            ));
        }
    }
}
