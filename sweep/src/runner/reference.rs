//! The f64 noise-floor reference of a sweep: each (span, seed) prefilled once in f64 on the
//! floor backend (and decoded too with `[reference] floor_routes = "both"`), kept on disk
//! for the rest of the sweep.
//!
//! The f64 prefill stands for both routes by default: the two f64 routes compute the same
//! exact logits to ~1e-13 relative, far below any error the floor measures (on flex they agree
//! bitwise once rounded to f32), while the f64 decode costs as much as every other run of
//! its span together. `"both"` runs it anyway and journals how far the two f64 routes are
//! apart.
//!
//! The references are computed at the start of each dtype's pass, before that dtype's
//! sessions open, so the f64 model (the largest) is never in memory beside them; every later
//! dtype reads them back instead of running f64 again.

use super::{Progress, Sink};
use crate::records::{Record, ReferenceRecord};
use crate::runner::MAX_LOGITS;
use crate::runner::{timed_run, PlannedBackend};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvLayout;
use driftbench_core::metrics;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::rng::prompt_tokens;
use driftbench_core::route::Route;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Where a sweep's noise floor comes from.
pub enum FloorSource<'a> {
    /// Not measured (`[reference] noise_floor = false`).
    Off,
    /// Measured on this backend in f64.
    Backend(&'a PlannedBackend),
    /// Asked for, but the backend could not be started: why.
    Missing(String),
}

/// f64 reference logits on disk, by (span, seed).
pub(super) struct ReferenceStore<'a> {
    source: FloorSource<'a>,
    label: String,
    dir: Option<tempfile::TempDir>,
    /// Also run the f64 decode (else the f64 prefill is both routes' reference).
    decode_ref: bool,
    cells: HashMap<(usize, u64), Result<Files, String>>,
}

/// A cell's reference files: the f64 prefill, and the f64 decode where it ran.
type Files = (PathBuf, Option<PathBuf>);

/// One (span, seed)'s reference, read back for the pairs of a cell.
pub(super) enum Loaded {
    /// The prefill's logits, and the decode's where it ran (`floor_routes = "both"`); the
    /// prefill's serve both routes otherwise.
    Logits(Vec<f32>, Option<Vec<f32>>),
    /// Why there are none.
    Missing(String),
}

impl<'a> ReferenceStore<'a> {
    pub(super) fn new(source: FloorSource<'a>) -> Self {
        let label = match &source {
            FloorSource::Backend(b) => format!("{} f64", b.entry.name),
            _ => "f64".to_string(),
        };
        ReferenceStore {
            source,
            label,
            dir: None,
            decode_ref: false,
            cells: HashMap::new(),
        }
    }

    /// Run the f64 decode too (`floor_routes = "both"`), not only the f64 prefill.
    pub(super) fn with_decode_reference(mut self, yes: bool) -> Self {
        self.decode_ref = yes;
        self
    }

    /// Whether the noise floor is measured at all.
    pub(super) fn enabled(&self) -> bool {
        !matches!(self.source, FloorSource::Off)
    }

    /// What computed the references, e.g. `flex f64`.
    pub(super) fn label(&self) -> &str {
        &self.label
    }

    /// Compute the references of `wanted` (span, seed) cells not yet known, journaling one
    /// [`ReferenceRecord`] each.
    pub(super) fn fill(
        &mut self,
        model: &ModelSpec,
        wanted: &[(usize, u64)],
        sink: &mut Sink,
        progress: &dyn Progress,
    ) -> std::io::Result<()> {
        let todo: Vec<(usize, u64)> = wanted
            .iter()
            .copied()
            .filter(|c| !self.cells.contains_key(c))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let planned = match &self.source {
            FloorSource::Off => return Ok(()),
            FloorSource::Missing(why) => {
                for c in todo {
                    self.cells.insert(c, Err(why.clone()));
                }
                return Ok(());
            }
            FloorSource::Backend(b) => *b,
        };
        let name = planned.entry.name.clone();
        let unavailable = match &planned.entry.probe {
            Some(p) => p.dtype_unavailable(Dtype::F64),
            None => Some(planned.entry.error.clone().unwrap_or("not loaded".into())),
        };
        if let Some(why) = unavailable {
            let why = format!("noise floor backend {name} has no f64 here: {why}");
            progress.println(&why);
            for c in todo {
                self.cells.insert(c, Err(why.clone()));
            }
            return Ok(());
        }
        if self.dir.is_none() {
            self.dir = Some(
                tempfile::Builder::new()
                    .prefix("driftbench-f64-")
                    .tempdir()?,
            );
        }
        progress.message(&format!(
            "{name} f64: loading the noise-floor reference model"
        ));
        let t0 = Instant::now();
        let opened = planned.backend.open(model, Dtype::F64).and_then(|s| {
            s.info()
                .check()
                .map_err(driftbench_core::error::BackendError::Run)?;
            Ok(s)
        });
        let mut load_s = Some(t0.elapsed().as_secs_f64());
        let mut session = match opened {
            Ok(s) => s,
            Err(e) => {
                let why = format!("noise floor backend {name} f64: {e}");
                progress.println(&why);
                for (span, seed) in todo {
                    sink.push(Record::Reference(ReferenceRecord {
                        backend: name.clone(),
                        span,
                        seed,
                        load_s: None,
                        prefill_wall_s: None,
                        decode_wall_s: None,
                        metrics: None,
                        error: Some(why.clone()),
                        peak_rss_bytes: None,
                    }))?;
                    self.cells.insert((span, seed), Err(why.clone()));
                }
                return Ok(());
            }
        };
        let vocab = session.info().vocab;
        for (span, seed) in todo {
            progress.message(&format!("{name} f64 reference: span {span} seed {seed}"));
            let tokens = prompt_tokens(seed, span, vocab);
            let Some(n) = span.checked_mul(vocab).filter(|n| *n <= MAX_LOGITS) else {
                let why = format!("span {span} × vocab {vocab} logits exceed {MAX_LOGITS}");
                self.cells.insert((span, seed), Err(why));
                continue;
            };
            let mut p = vec![0f32; n];
            let pr = timed_run(
                session.as_mut(),
                Route::Prefill,
                &tokens,
                KvLayout::Aligned,
                &mut p,
            );
            let mut d = Vec::new();
            let dr = self.decode_ref.then(|| {
                d = vec![0f32; n];
                timed_run(
                    session.as_mut(),
                    Route::Decode,
                    &tokens,
                    KvLayout::Aligned,
                    &mut d,
                )
            });
            let failed: Vec<String> = [("prefill", Some(&pr)), ("decode", dr.as_ref())]
                .into_iter()
                .filter_map(|(r, x)| x?.as_ref().err().map(|e| format!("{r}: {e}")))
                .collect();
            let (result, m, error) = if failed.is_empty() {
                let dir = self.dir.as_ref().expect("created above").path();
                let prefill_file = dir.join(format!("{span}-{seed}-prefill.f32"));
                write_f32(&prefill_file, &p)?;
                let decode_file = if dr.is_some() {
                    let f = dir.join(format!("{span}-{seed}-decode.f32"));
                    write_f32(&f, &d)?;
                    Some(f)
                } else {
                    None
                };
                let m = dr.is_some().then(|| metrics::compare(&p, &d, vocab));
                (Ok((prefill_file, decode_file)), m, None)
            } else {
                let why = format!("{} failed: {}", self.label, failed.join("; "));
                progress.println(&why);
                (Err(why.clone()), None, Some(why))
            };
            sink.push(Record::Reference(ReferenceRecord {
                backend: name.clone(),
                span,
                seed,
                load_s: load_s.take(),
                prefill_wall_s: pr.as_ref().ok().map(|t| t.wall_s),
                decode_wall_s: dr.and_then(|r| r.ok()).map(|t| t.wall_s),
                metrics: m,
                error,
                peak_rss_bytes: session.last_profile().peak_rss_bytes,
            }))?;
            self.cells.insert((span, seed), result);
        }
        Ok(())
    }

    /// The reference of (span, seed), read back from disk.
    pub(super) fn load(&self, span: usize, seed: u64) -> Loaded {
        match self.cells.get(&(span, seed)) {
            None => Loaded::Missing("no reference was computed".into()),
            Some(Err(why)) => Loaded::Missing(why.clone()),
            Some(Ok((p, d))) => {
                let p = read_f32(p);
                let d = d.as_ref().map(|d| read_f32(d)).transpose();
                match (p, d) {
                    (Ok(p), Ok(d)) => Loaded::Logits(p, d),
                    (Err(e), _) | (_, Err(e)) => {
                        Loaded::Missing(format!("cannot read the f64 reference back: {e}"))
                    }
                }
            }
        }
    }
}

fn write_f32(path: &std::path::Path, v: &[f32]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for x in v {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()
}

fn read_f32(path: &std::path::Path) -> std::io::Result<Vec<f32>> {
    // Straight into the f32 vector through a small buffer: no byte copy of the whole file.
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len() as usize;
    if !len.is_multiple_of(4) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes is not a whole number of f32 values", len),
        ));
    }
    let mut out = Vec::with_capacity(len / 4);
    let mut buf = vec![0u8; (1 << 20).min(len)];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len());
        f.read_exact(&mut buf[..n])?;
        out.extend(
            buf[..n]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        left -= n;
    }
    Ok(out)
}
