//! Replay bundles: everything needed to run one failed or incomplete pair again, alone.
//!
//! A bundle is a folder holding `bundle.json` ([`Bundle`]) and, for each route that produced
//! logits, a raw logits file: `prefill.f32` and `decode.f32` (`prefill.f64` and `decode.f64`
//! for an f64 pair, whose logits are kept as f64), and with a noise-floor rule the f64
//! reference's `reference_prefill.f64` and `reference_decode.f64`. Layout of every file
//! ([`LOGITS_LAYOUT`]): little-endian IEEE-754 values, f32 in a `.f32` file and f64 in a
//! `.f64` file, no header, row-major `[positions][vocab]` (row `t` is the logits after token
//! `t`), so `numpy.fromfile(path, "<f4").reshape(span, vocab)` (`"<f8"` for `.f64`) reads
//! it. Raw rather than `.npy` keeps core free of a writer for one more format; the shape is
//! in `bundle.json`.
//!
//! Format 1 (before f64 logits were kept as f64) had only `.f32` files, its references
//! included; it is still read, its f32 references widened to f64.
//!
//! The folder is written under a temporary name and renamed into place, so a bundle is
//! either whole or absent.
//!
//! A bundle is input like a config: [`Bundle::read`] checks its model, timeouts and plan with
//! the config's own checks (`replay/validate.rs`) and refuses what a config would refuse,
//! naming the file and the key. Its recorded pair is evidence that `replay` compares a new
//! run with; the replay's verdict is always the new run's, judged afresh.

mod prompt;
mod validate;

use crate::config::SweepConfig;
use crate::input_file::{self, FileError, Size};
use crate::noise_floor::FloorRef;
use crate::noise_floor::FloorRule;
use crate::plan::PairPlan;
use crate::prompt::{Prompt, PromptFile};
use crate::records::{BackendEntry, PairKey, PairRecord, SCHEMA_VERSION};
use crate::verdict::DtypeTolerance;
use crate::verdict::Verdict;
use driftbench_core::logits::{Logits, LogitsRef};
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::options::Configured;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Version of the bundle layout this driftbench writes. 2 keeps f64 logits as f64 (`.f64`
/// files: an f64 pair's routes and the f64 reference); 1 had `.f32` files only.
pub const BUNDLE_FORMAT: u32 = 2;
/// The oldest bundle layout this driftbench reads; a reader refuses a format outside
/// `OLDEST_BUNDLE_FORMAT..=BUNDLE_FORMAT`.
pub const OLDEST_BUNDLE_FORMAT: u32 = 1;
/// Name of the bundle's description inside its folder.
pub const BUNDLE_FILE: &str = "bundle.json";
/// How the logits files are laid out, as `bundle.json` states it.
pub const LOGITS_LAYOUT: &str = "raw little-endian, f32 in .f32 files and f64 in .f64 files, \
                                 no header, row-major [span][vocab]";

/// A bundle that cannot be written or read. One line, naming the file.
#[derive(Debug, Error)]
pub enum BundleError {
    /// A file or folder could not be written or read.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: String,
        /// The I/O error (in the message, not a `source()`: printed once).
        error: io::Error,
    },
    /// `bundle.json` is not a bundle this version reads.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl From<FileError> for BundleError {
    fn from(e: FileError) -> BundleError {
        let path = e.path().display().to_string();
        match e {
            FileError::Io { error, .. } => BundleError::Io { path, error },
            e => BundleError::Invalid {
                path,
                message: e.why(),
            },
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |error| BundleError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// What a pair takes from the sweep's plan ([`PairPlan`]), as the bundle stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundlePlan {
    /// Block size of padded KV caches.
    pub block_size: usize,
    /// The dtype's tolerance.
    pub tolerance: DtypeTolerance,
    /// Warm-up runs before the measured ones.
    pub warmup: bool,
    /// Fixed bounds, noise floor, or both.
    #[serde(default)]
    pub rule: FloorRule,
}

impl From<&PairPlan> for BundlePlan {
    fn from(p: &PairPlan) -> Self {
        BundlePlan {
            block_size: p.block_size,
            tolerance: p.tolerance,
            warmup: p.warmup,
            rule: p.rule,
        }
    }
}

impl BundlePlan {
    /// The plan to hand [`crate::runner::run_pair`] again: one measurement per route (the
    /// verdict's repetition), with seeded random prompts; `replay` sets the bundle's own
    /// tokens instead ([`Bundle::replay_prompt`]).
    pub fn pair_plan(&self) -> PairPlan {
        PairPlan {
            block_size: self.block_size,
            tolerance: self.tolerance,
            warmup: self.warmup,
            rule: self.rule,
            repetitions: 1,
            prompt: Prompt::Random,
        }
    }
}

/// What the pair's noise-floor reference was, so a replay hands `run_pair` the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedFloor {
    /// The sweep measured no floor.
    Off,
    /// The sweep wanted a floor but had none for this pair, and why.
    Missing {
        /// The reason the pair was given.
        why: String,
    },
    /// The f64 reference logits are in the bundle (`reference_*.f32`).
    Logits {
        /// What computed them, e.g. `flex f64`.
        label: String,
    },
    /// A floor was measured, but its logits are not kept: under the `fixed` rule it does not
    /// decide the verdict, and two more span × vocab files per bundle would dwarf the rest.
    NotSaved {
        /// What computed them.
        label: String,
    },
}

/// The logits files a bundle holds, by file name (`None`: that route produced none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogitsFiles {
    /// See [`LOGITS_LAYOUT`].
    pub layout: String,
    /// Prefill logits.
    pub prefill: Option<String>,
    /// Decode logits.
    pub decode: Option<String>,
    /// f64 reference prefill (`.f64`; `.f32` in format 1).
    pub reference_prefill: Option<String>,
    /// f64 reference decode (`.f64`; `.f32` in format 1).
    pub reference_decode: Option<String>,
    /// Why no logits were saved although the routes produced them (over
    /// [`MAX_BUNDLE_LOGITS_BYTES`]); replay then compares metrics only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted: Option<String>,
}

/// Most logits bytes one bundle keeps (64 MiB): SmolLM2 at span 128 fits (two 25 MB routes);
/// at span 512 each route is 100 MB, and a sweep with a dozen failing pairs would write
/// gigabytes. Above it the bundle keeps tokens, settings and metrics, which replay needs.
pub const MAX_BUNDLE_LOGITS_BYTES: usize = 64 << 20;

/// `bundle.json`: one pair, how it was run, and what it gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: u32,
    /// driftbench version that wrote it.
    pub driftbench_version: String,
    /// Journal/report schema of the record inside.
    pub schema_version: u32,
    /// The model.
    pub model: ModelSpec,
    /// Backend instance name.
    pub backend: String,
    /// Plugin behind the instance.
    pub plugin: String,
    /// Where the backend came from (plugin file, ABI, isolation).
    pub source: String,
    /// Options in force and what the backend said about them.
    pub configured: Option<Configured>,
    /// Deadline of a worker's start, probe, options and model load, seconds.
    pub open_timeout_s: Option<f64>,
    /// Per-run timeout, seconds.
    pub run_timeout_s: Option<f64>,
    /// The pair.
    pub pair: PairKey,
    /// Row width of the logits.
    pub vocab: usize,
    /// The prompt: `rng::prompt_tokens(seed, span, vocab)`, or the seed's window of the
    /// prompt file.
    pub tokens: Vec<u32>,
    /// The prompt file the tokens are a window of (its path made absolute, its sha256);
    /// absent for seeded random ids, and in bundles written before prompt files existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptFile>,
    /// Block size, tolerance, warm-up and rule.
    pub plan: BundlePlan,
    /// The noise-floor reference the pair had.
    pub floor: SavedFloor,
    /// The pair's record: verdict, reason, metrics.
    pub record: PairRecord,
    /// The logits files present.
    #[serde(default)]
    pub logits: LogitsFiles,
}

/// Logits to write beside `bundle.json`; `None` for a route that produced none. Each is
/// written in its own width (`.f32` or `.f64`).
#[derive(Debug, Default, Clone, Copy)]
pub struct BundleLogits<'a> {
    /// Prefill logits.
    pub prefill: Option<LogitsRef<'a>>,
    /// Decode logits.
    pub decode: Option<LogitsRef<'a>>,
    /// f64 reference (prefill, decode), when the bundle keeps it.
    pub reference: Option<(&'a [f64], &'a [f64])>,
}

/// Whether a pair of this verdict gets a bundle: the ones someone will want to rerun.
pub fn wants_bundle(v: Verdict) -> bool {
    matches!(
        v,
        Verdict::FailEquiv | Verdict::FailDrift | Verdict::Incomplete
    )
}

/// Folder name of `key`'s bundle, e.g. `flex-f16-span512-kv1-seed0`: only letters, digits,
/// `-`, `_` and `.`, never starting with `.`.
pub fn bundle_dir_name(key: &PairKey) -> String {
    let raw = format!(
        "{}-{}-span{}-kv{}-seed{}",
        key.backend, key.dtype, key.span, key.kv_aligned, key.seed
    );
    raw.chars()
        .enumerate()
        .map(|(i, c)| match c {
            '.' if i == 0 => '_',
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') => c,
            _ => '_',
        })
        .collect()
}

impl Bundle {
    /// The bundle of `record`, run by `entry` under `cfg` and `plan`, with the floor
    /// reference it had. `logits` is filled by [`write_bundle`]. `tokens` is empty when
    /// `plan`'s prompt gives the pair none (an id beyond `vocab`): such a bundle cannot be
    /// replayed and is not written.
    pub fn new(
        cfg: &SweepConfig,
        entry: &BackendEntry,
        plan: &PairPlan,
        record: &PairRecord,
        vocab: usize,
        floor: Option<FloorRef<'_>>,
    ) -> Bundle {
        let key = record.key.clone();
        let floor = match floor {
            None => SavedFloor::Off,
            Some(FloorRef::Missing(why)) => SavedFloor::Missing {
                why: why.to_string(),
            },
            Some(FloorRef::Logits { label, .. }) if plan.rule.mode.uses_floor() => {
                SavedFloor::Logits {
                    label: label.to_string(),
                }
            }
            Some(FloorRef::Logits { label, .. }) => SavedFloor::NotSaved {
                label: label.to_string(),
            },
        };
        Bundle {
            format: BUNDLE_FORMAT,
            driftbench_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: SCHEMA_VERSION,
            model: absolute_model(&cfg.model),
            backend: entry.name.clone(),
            plugin: entry.plugin.clone().unwrap_or_else(|| entry.name.clone()),
            source: entry.source.clone(),
            configured: entry.configured.clone(),
            open_timeout_s: Some(cfg.open_timeout_s),
            run_timeout_s: cfg.timeout_s,
            tokens: plan
                .prompt
                .tokens(key.seed, key.span, vocab)
                .unwrap_or_default(),
            prompt: plan.prompt.file().map(absolute_prompt),
            pair: key,
            vocab,
            plan: plan.into(),
            floor,
            record: record.clone(),
            logits: LogitsFiles::default(),
        }
    }

    /// Read `dir/bundle.json` and check its values as the config's are checked: the model
    /// (a synthetic model's sizes, shape, `rope_base`, `norm_eps` and parameter count; a gguf
    /// path not empty), the span against the model, the timeouts, the block size, the
    /// tolerance and the floor's `k`. A value the config would refuse is a
    /// [`BundleError::Invalid`] naming the file and the key (`plan.tolerance.equiv.max_abs`).
    pub fn read(dir: &Path) -> Result<Bundle, BundleError> {
        let path = dir.join(BUNDLE_FILE);
        let text = input_file::read_text(&path, input_file::BUNDLE_CAP)?;
        let invalid = |message: String| BundleError::Invalid {
            path: path.display().to_string(),
            message,
        };
        // The format first, so a newer bundle says so rather than failing on a field.
        let format = serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| invalid(format!("not JSON: {e}")))?
            .get("format")
            .and_then(serde_json::Value::as_u64);
        let known = u64::from(OLDEST_BUNDLE_FORMAT)..=u64::from(BUNDLE_FORMAT);
        if !format.is_some_and(|f| known.contains(&f)) {
            return Err(invalid(format!(
                "bundle format {}: expected {OLDEST_BUNDLE_FORMAT} to {BUNDLE_FORMAT} \
                 (a bundle of a newer driftbench: replay it with that version)",
                format.map_or("missing".to_string(), |f| f.to_string())
            )));
        }
        let b: Bundle = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if b.tokens.len() != b.pair.span {
            return Err(invalid(format!(
                "key `tokens`: {} tokens, expected span {}",
                b.tokens.len(),
                b.pair.span
            )));
        }
        validate::check_bundle(&b, &path)?;
        Ok(b)
    }

    /// The logits file `name` of the bundle in `dir`, checked to hold `span × vocab`
    /// values of its width (f32 for a `.f32` file, f64 for a `.f64` one; `None` when the
    /// bundle has no such file).
    pub fn read_logits(
        &self,
        dir: &Path,
        name: Option<&str>,
    ) -> Result<Option<Logits>, BundleError> {
        let Some(name) = name else { return Ok(None) };
        let named = |message: String| BundleError::Invalid {
            path: dir.join(BUNDLE_FILE).display().to_string(),
            message,
        };
        // A name from the file must not lead out of the bundle.
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(named(format!(
                "logits file name `{name}`: expected a plain file name"
            )));
        }
        let width: usize = if name.ends_with(".f64") {
            8
        } else if name.ends_with(".f32") {
            4
        } else {
            return Err(named(format!(
                "logits file name `{name}`: expected a .f32 or .f64 file"
            )));
        };
        let path = dir.join(name);
        let want = self
            .pair
            .span
            .saturating_mul(self.vocab)
            .saturating_mul(width);
        let bytes = match input_file::read_bytes(&path, Size::Exactly(want as u64)) {
            Err(FileError::WrongSize { size, .. }) => {
                return Err(BundleError::Invalid {
                    path: path.display().to_string(),
                    message: format!(
                        "{size} bytes, expected {want} (span {} × vocab {} × {width})",
                        self.pair.span, self.vocab
                    ),
                })
            }
            read => read?,
        };
        Ok(Some(if width == 8 {
            Logits::F64(
                bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            )
        } else {
            Logits::F32(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )
        }))
    }
}

/// A prompt file's path made absolute, so a bundle's replay finds it from any working
/// directory.
fn absolute_prompt(f: &PromptFile) -> PromptFile {
    PromptFile {
        path: std::path::absolute(&f.path)
            .map_or_else(|_| f.path.clone(), |p| p.display().to_string()),
        ..f.clone()
    }
}

/// A gguf path made absolute, so a bundle replays from any working directory.
fn absolute_model(m: &ModelSpec) -> ModelSpec {
    match m {
        ModelSpec::Gguf { path } => ModelSpec::Gguf {
            path: std::path::absolute(path).unwrap_or_else(|_| path.clone()),
        },
        other => other.clone(),
    }
}

/// Write `bundle` and `logits` as the folder `dir` (replacing an older bundle there): the
/// files go into a temporary sibling folder that is renamed to `dir` once complete. The
/// written `bundle.json` lists the logits files present, whatever `bundle.logits` says.
pub fn write_bundle(dir: &Path, bundle: &Bundle, logits: &BundleLogits) -> Result<(), BundleError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".bundle-")
        .tempdir_in(parent)
        .map_err(io_err(parent))?;
    let mut b = bundle.clone();
    b.logits = LogitsFiles {
        layout: LOGITS_LAYOUT.to_string(),
        ..LogitsFiles::default()
    };
    let (rp, rd) = logits.reference.unzip();
    let (rp, rd) = (rp.map(LogitsRef::F64), rd.map(LogitsRef::F64));
    let bytes: usize = [logits.prefill, logits.decode, rp, rd]
        .iter()
        .flatten()
        .map(|d| d.len().saturating_mul(d.value_bytes()))
        .sum();
    let keep = bytes <= MAX_BUNDLE_LOGITS_BYTES;
    if !keep {
        b.logits.omitted = Some(format!(
            "{:.1} MB of logits exceed the bundle cap of {} MiB; replay compares metrics only",
            bytes as f64 / 1e6,
            MAX_BUNDLE_LOGITS_BYTES >> 20
        ));
    }
    for (stem, data, slot) in [
        ("prefill", logits.prefill, &mut b.logits.prefill),
        ("decode", logits.decode, &mut b.logits.decode),
        ("reference_prefill", rp, &mut b.logits.reference_prefill),
        ("reference_decode", rd, &mut b.logits.reference_decode),
    ] {
        if let Some(data) = data.filter(|_| keep) {
            let name = format!("{stem}.{}", if data.is_f64() { "f64" } else { "f32" });
            let path = tmp.path().join(&name);
            write_logits(&path, data).map_err(io_err(&path))?;
            *slot = Some(name);
        }
    }
    let json = serde_json::to_string_pretty(&b).map_err(|e| BundleError::Invalid {
        path: dir.join(BUNDLE_FILE).display().to_string(),
        message: e.to_string(),
    })?;
    let path = tmp.path().join(BUNDLE_FILE);
    write_synced(&path, |w| w.write_all(json.as_bytes())).map_err(io_err(&path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A temporary folder is private; a bundle is shared like a report.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(io_err(tmp.path()))?;
    }
    // A rerun pair (a resumed sweep) replaces its old bundle.
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(dir)(e)),
        _ => {}
    }
    let kept: PathBuf = tmp.keep();
    std::fs::rename(&kept, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        io_err(dir)(e)
    })
}

/// Write `data` to `path` as raw little-endian values of its width.
fn write_logits(path: &Path, data: LogitsRef<'_>) -> io::Result<()> {
    write_synced(path, |w| match data {
        LogitsRef::F32(v) => v.iter().try_for_each(|x| w.write_all(&x.to_le_bytes())),
        LogitsRef::F64(v) => v.iter().try_for_each(|x| w.write_all(&x.to_le_bytes())),
    })
}

/// Create `path`, fill it through a buffer, and sync it to disk before the folder is renamed.
fn write_synced(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&std::fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = io::BufWriter::new(&file);
    fill(&mut w)?;
    w.flush()?;
    drop(w);
    file.sync_all()
}
