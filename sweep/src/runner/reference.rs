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
//!
//! They are kept as f64 (files of raw little-endian f64, `.f64`), as the f64 session hands
//! them over: bit for bit what it computed when it speaks ABI v1.4, its f32 logits widened
//! otherwise. Nothing is rounded to f32 on the way, so the floor of an f64 pair measures f64.

use super::pair::{timed_run, MAX_LOGITS};
use super::planned::PlannedBackend;
use super::progress::Progress;
use super::sink::Sink;
use crate::records::{Record, ReferenceRecord};
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::kv::KvLayout;
use driftbench_core::logits::Logits;
use driftbench_core::metrics;
use driftbench_core::model_spec::ModelSpec;
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
pub(crate) struct ReferenceStore<'a> {
    source: FloorSource<'a>,
    label: String,
    dir: Option<tempfile::TempDir>,
    /// Also run the f64 decode (else the f64 prefill is both routes' reference).
    decode_ref: bool,
    /// Where each (span, seed)'s tokens come from: the sweep's prompts.
    prompts: crate::prompt::Prompt,
    cells: HashMap<(usize, u64), Result<Files, String>>,
}

/// A cell's reference files: the f64 prefill, and the f64 decode where it ran.
type Files = (PathBuf, Option<PathBuf>);

/// The (span, seed) of a reference: the prompt every dtype's pairs of it share.
#[derive(Debug, Clone, Copy)]
struct Prompt {
    span: usize,
    seed: u64,
}

/// One (span, seed)'s reference, read back for the pairs of a cell.
pub(crate) enum Loaded {
    /// The prefill's logits, and the decode's where it ran (`floor_routes = "both"`); the
    /// prefill's serve both routes otherwise.
    Logits(Vec<f64>, Option<Vec<f64>>),
    /// Why there are none.
    Missing(String),
}

impl<'a> ReferenceStore<'a> {
    pub(crate) fn new(source: FloorSource<'a>) -> Self {
        let label = match &source {
            FloorSource::Backend(b) => format!("{} f64", b.entry.name),
            _ => "f64".to_string(),
        };
        ReferenceStore {
            source,
            label,
            dir: None,
            decode_ref: false,
            prompts: crate::prompt::Prompt::Random,
            cells: HashMap::new(),
        }
    }

    /// Take each reference's tokens from `prompts` (random ids until told otherwise).
    pub(crate) fn with_prompts(mut self, prompts: crate::prompt::Prompt) -> Self {
        self.prompts = prompts;
        self
    }

    /// Run the f64 decode too (`floor_routes = "both"`), not only the f64 prefill.
    pub(crate) fn with_decode_reference(mut self, yes: bool) -> Self {
        self.decode_ref = yes;
        self
    }

    /// Whether the noise floor is measured at all.
    pub(crate) fn enabled(&self) -> bool {
        !matches!(self.source, FloorSource::Off)
    }

    /// What computed the references, e.g. `flex f64`.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Compute the references of `wanted` (span, seed) cells not yet known, journaling one
    /// [`ReferenceRecord`] each.
    pub(crate) fn fill(
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
        let planned = match self.f64_backend(progress) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(()),
            Err(why) => {
                self.missing(&todo, &why);
                return Ok(());
            }
        };
        let name = planned.entry.name.clone();
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
            s.info().check().map_err(BackendError::Run)?;
            Ok(s)
        });
        let mut load_s = Some(t0.elapsed().as_secs_f64());
        let mut session = match opened {
            Ok(s) => s,
            Err(e) => {
                let why = format!("noise floor backend {name} f64: {e}");
                progress.println(&why);
                return self.not_opened(&name, &todo, &why, sink);
            }
        };
        for (span, seed) in todo {
            progress.message(&format!("{name} f64 reference: span {span} seed {seed}"));
            let prompt = Prompt { span, seed };
            self.compute(
                session.as_mut(),
                &name,
                prompt,
                load_s.take(),
                sink,
                progress,
            )?;
        }
        Ok(())
    }

    /// The backend that computes the references: `None` when the floor is off, why not when
    /// it cannot (not started, or no f64 here).
    fn f64_backend(&self, progress: &dyn Progress) -> Result<Option<&'a PlannedBackend>, String> {
        let planned = match &self.source {
            FloorSource::Off => return Ok(None),
            FloorSource::Missing(why) => return Err(why.clone()),
            FloorSource::Backend(b) => *b,
        };
        let unavailable = match &planned.entry.probe {
            Some(p) => p.dtype_unavailable(Dtype::F64),
            None => Some(planned.entry.error.clone().unwrap_or("not loaded".into())),
        };
        match unavailable {
            None => Ok(Some(planned)),
            Some(why) => {
                let why = format!(
                    "noise floor backend {} has no f64 here: {why}",
                    planned.entry.name
                );
                progress.println(&why);
                Err(why)
            }
        }
    }

    /// Remember that the references of `todo` are missing, and why.
    fn missing(&mut self, todo: &[(usize, u64)], why: &str) {
        for &c in todo {
            self.cells.insert(c, Err(why.to_string()));
        }
    }

    /// The f64 session did not open: every reference of `todo` is missing, and journaled so.
    fn not_opened(
        &mut self,
        name: &str,
        todo: &[(usize, u64)],
        why: &str,
        sink: &mut Sink,
    ) -> std::io::Result<()> {
        for &(span, seed) in todo {
            sink.push(Record::Reference(ReferenceRecord {
                backend: name.to_string(),
                span,
                seed,
                load_s: None,
                prefill_wall_s: None,
                decode_wall_s: None,
                metrics: None,
                error: Some(why.to_string()),
                peak_rss_bytes: None,
            }))?;
        }
        self.missing(todo, why);
        Ok(())
    }

    /// Compute one (span, seed)'s reference on the f64 `session` (the prefill, and the decode
    /// with `floor_routes = "both"`), keep its logits on disk and journal its record;
    /// `load_s` is the session's load time, journaled with its first reference.
    fn compute(
        &mut self,
        session: &mut dyn Session,
        name: &str,
        prompt: Prompt,
        load_s: Option<f64>,
        sink: &mut Sink,
        progress: &dyn Progress,
    ) -> std::io::Result<()> {
        let Prompt { span, seed } = prompt;
        let vocab = session.info().vocab;
        let tokens = match self.prompts.tokens(seed, span, vocab) {
            Ok(tokens) => tokens,
            Err(why) => {
                self.cells
                    .insert((span, seed), Err(format!("prompt: {why}")));
                return Ok(());
            }
        };
        let Some(n) = span.checked_mul(vocab).filter(|n| *n <= MAX_LOGITS) else {
            let why = format!("span {span} × vocab {vocab} logits exceed {MAX_LOGITS}");
            self.cells.insert((span, seed), Err(why));
            return Ok(());
        };
        let mut p = Logits::F64(vec![0f64; n]);
        let pr = timed_run(session, Route::Prefill, &tokens, KvLayout::Aligned, &mut p);
        let mut d = Logits::F64(Vec::new());
        let dr = self.decode_ref.then(|| {
            d = Logits::F64(vec![0f64; n]);
            timed_run(session, Route::Decode, &tokens, KvLayout::Aligned, &mut d)
        });
        let (Logits::F64(p), Logits::F64(d)) = (p, d) else {
            unreachable!("f64 buffers stay f64")
        };
        let failed: Vec<String> = [("prefill", Some(&pr)), ("decode", dr.as_ref())]
            .into_iter()
            .filter_map(|(r, x)| x?.as_ref().err().map(|e| format!("{r}: {e}")))
            .collect();
        let (result, m, error) = if failed.is_empty() {
            let files = self.keep(prompt, &p, dr.is_some().then_some(&d[..]))?;
            let m = dr.is_some().then(|| metrics::compare_f64(&p, &d, vocab));
            (Ok(files), m, None)
        } else {
            let why = format!("{} failed: {}", self.label, failed.join("; "));
            progress.println(&why);
            (Err(why.clone()), None, Some(why))
        };
        sink.push(Record::Reference(ReferenceRecord {
            backend: name.to_string(),
            span,
            seed,
            load_s,
            prefill_wall_s: pr.as_ref().ok().map(|t| t.wall_s),
            decode_wall_s: dr.and_then(|r| r.ok()).map(|t| t.wall_s),
            metrics: m,
            error,
            peak_rss_bytes: session.last_profile().peak_rss_bytes,
        }))?;
        self.cells.insert((span, seed), result);
        Ok(())
    }

    /// Write a reference's logits into the store's folder.
    fn keep(
        &self,
        prompt: Prompt,
        prefill: &[f64],
        decode: Option<&[f64]>,
    ) -> std::io::Result<Files> {
        let Prompt { span, seed } = prompt;
        let dir = self
            .dir
            .as_ref()
            .expect("created before the first reference")
            .path();
        let prefill_file = dir.join(format!("{span}-{seed}-prefill.f64"));
        write_f64(&prefill_file, prefill)?;
        let decode_file = match decode {
            Some(d) => {
                let f = dir.join(format!("{span}-{seed}-decode.f64"));
                write_f64(&f, d)?;
                Some(f)
            }
            None => None,
        };
        Ok((prefill_file, decode_file))
    }

    /// The reference of (span, seed), read back from disk.
    pub(crate) fn load(&self, span: usize, seed: u64) -> Loaded {
        match self.cells.get(&(span, seed)) {
            None => Loaded::Missing("no reference was computed".into()),
            Some(Err(why)) => Loaded::Missing(why.clone()),
            Some(Ok((p, d))) => {
                let p = read_f64(p);
                let d = d.as_ref().map(|d| read_f64(d)).transpose();
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

/// Write `v` to `path` as raw little-endian f64.
fn write_f64(path: &std::path::Path, v: &[f64]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for x in v {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()
}

/// What [`write_f64`] wrote, bit for bit.
fn read_f64(path: &std::path::Path) -> std::io::Result<Vec<f64>> {
    // Straight into the f64 vector through a small buffer: no byte copy of the whole file.
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len() as usize;
    if !len.is_multiple_of(8) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes is not a whole number of f64 values", len),
        ));
    }
    let mut out = Vec::with_capacity(len / 8);
    // A whole number of values per read (1 MiB).
    let mut buf = vec![0u8; (1 << 20).min(len)];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len());
        f.read_exact(&mut buf[..n])?;
        out.extend(
            buf[..n]
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
        );
        left -= n;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{read_f64, write_f64};

    /// The reference files give back every f64 bit for bit: values no f32 holds, signed
    /// zeros, subnormals, infinities and NaN payloads, across the reader's 1 MiB chunks.
    #[test]
    fn reference_files_round_trip_f64_bit_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut v: Vec<f64> = (0..300_000)
            .map(|i| (i as f64).sqrt() * 1.000_000_000_123 - 17.25)
            .collect();
        v.extend([
            0.1,
            -0.0,
            f64::MIN_POSITIVE / 3.0,
            f64::INFINITY,
            f64::from_bits(0x7FF5_A55A_5A5A_A55A),
            f64::from_bits(0xFFF8_0000_0000_1234),
            1.0 + f64::EPSILON,
        ]);
        let path = dir.path().join("32-0-prefill.f64");
        write_f64(&path, &v).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), v.len() as u64 * 8);
        let back = read_f64(&path).unwrap();
        assert_eq!(back.len(), v.len());
        assert!(v.iter().zip(&back).all(|(a, b)| a.to_bits() == b.to_bits()));
        // 1.0 + EPSILON is one f64 ulp above 1: an f32 store would have lost it.
        assert_ne!(*back.last().unwrap(), 1.0);
        std::fs::write(&path, [0u8; 12]).unwrap();
        assert!(read_f64(&path)
            .unwrap_err()
            .to_string()
            .contains("f64 values"));
    }
}
