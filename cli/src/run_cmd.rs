//! `driftbench run`: one pair, optionally saving both logits matrices and tracing where
//! its error enters (`--trace-layers`).

mod timing;
mod trace_layers;

use crate::args::RunArgs;
use crate::model_check;
use crate::text::terminal;
use crate::{backends, npy};
use anyhow::{anyhow, bail, Context, Result};
use driftbench_core::backend::Backend;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::logits::LogitsRef;
use driftbench_core::metrics::Metrics;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::probe::Probe;
use driftbench_report::format::{first_flip, fixed, metrics_line, secs};
use driftbench_sweep::config::BackendInstance;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::plan::PairPlan;
use driftbench_sweep::prompt::{Prompt, PromptSource};
use driftbench_sweep::records::PairRecord;
use driftbench_sweep::records::{PairKey, Record};
use driftbench_sweep::runner::{run_pair, OpenSession, PlannedBackend};
use driftbench_sweep::verdict::DtypeTolerance;
use driftbench_sweep::verdict::{global_verdict, GlobalVerdict, Verdict};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use timing::Walls;

/// Run one pair; returns the exit code of its verdict.
pub fn run(a: &RunArgs) -> Result<i32> {
    let dtype: Dtype = a
        .dtype
        .parse()
        .map_err(|e: String| anyhow!("--dtype: {e}"))?;
    model_check::check_span_arg(a.span)?;
    let setup = Setup::of(a, dtype)?;
    model_check::check_run(&setup.model, a.span)?;
    let kv = KvMode::from_flag(i64::from(a.kv_aligned))
        .ok_or_else(|| anyhow!("--kv-aligned: expected 0 or 1"))?;
    let chosen = setup.backend(a, &a.backend)?;
    if let Some(why) = chosen
        .entry
        .probe
        .as_ref()
        .and_then(|p| p.dtype_unavailable(dtype))
    {
        println!("SKIPPED: {why}");
        return Ok(exit_code(Verdict::Skipped));
    }
    if a.trace_layers {
        setup.check_traces(a, chosen.entry.probe.as_ref())?;
    }
    let t0 = Instant::now();
    let session = chosen
        .backend
        .open(&setup.model, dtype)
        .map_err(|e| anyhow!("{}: {e}", a.backend))?;
    let load_s = t0.elapsed().as_secs_f64();
    let info = session.info();
    info.check().map_err(|e| anyhow!("{}: {e}", a.backend))?;
    let key = PairKey {
        backend: a.backend.clone(),
        span: a.span,
        dtype,
        kv_aligned: kv,
        seed: a.seed,
    };
    let mut open = OpenSession::new(session, info.vocab);
    let outcome = run_pair(&setup.pair_plan(), &key, &mut open, None);
    let Some(pair) = outcome.records.iter().find_map(|r| match r {
        Record::Pair(p) => Some(p),
        _ => None,
    }) else {
        bail!("the pair produced no verdict");
    };
    println!(
        "backend {} on {}; model {}",
        a.backend,
        terminal(&info.device),
        terminal(&info.model)
    );
    let Some(m) = pair.metrics.clone() else {
        println!(
            "verdict {}: {}",
            pair.verdict,
            terminal(pair.reason.as_deref().unwrap_or("no metrics"))
        );
        return Ok(exit_code(pair.verdict));
    };
    let walls = Walls::of(&outcome.records, load_s);
    say_pair(a, &key, &walls, &m, pair);
    let tokens = setup.prompt.tokens(a.seed, a.span, info.vocab)?;
    if let Some(f) = setup.prompt.file() {
        println!("prompt: {}", terminal(&f.describe()));
    }
    if let Some(dir) = &a.save_logits {
        let saved = Saved {
            a,
            setup: &setup,
            info: &info,
            tokens: &tokens,
            walls: &walls,
            metrics: &m,
            pair,
        };
        saved.write(dir, open.bufs.prefill.as_ref(), open.bufs.decode.as_ref())?;
    }
    if a.trace_layers {
        let job = trace_layers::Job {
            backend: &a.backend,
            dtype,
            model: &setup.model,
            tokens: &tokens,
            layout: kv.layout(setup.block),
        };
        // Started only once the pair's backend has traced: no reference for a backend
        // that cannot.
        let reference = || -> Result<Box<dyn Backend>> {
            let name = trace_layers::REFERENCE_BACKEND.to_string();
            Ok(setup.backend(a, &name)?.backend)
        };
        trace_layers::run(
            &job,
            open.session.as_mut(),
            reference,
            a.save_logits.as_deref(),
        )?;
    }
    Ok(exit_code(pair.verdict))
}

/// The exit code of one pair's verdict. A SKIPPED pair tested nothing: exit 3, as
/// INCOMPLETE, so a script never reads it as a pass.
fn exit_code(v: Verdict) -> i32 {
    match v {
        Verdict::Skipped => GlobalVerdict::Incomplete.exit_code(),
        v => global_verdict([v]).exit_code(),
    }
}

/// `--model`, else the reference model where `scripts/fetch-model.sh` puts it.
fn model_path(given: Option<&Path>) -> Result<std::path::PathBuf> {
    if let Some(m) = given {
        return Ok(m.to_path_buf());
    }
    let path = std::path::PathBuf::from(crate::args::DEFAULT_MODEL);
    if !path.is_file() {
        bail!(
            "no --model or --config, and the default model {} is not here: run ./scripts/fetch-model.sh from the repository's root, or give --model PATH or --config PATH",
            path.display()
        );
    }
    Ok(path)
}

/// What `run` takes from `--config` (or `--model` and the defaults): the model, the padded
/// cache's block size, the dtype's tolerance and the backend instances.
struct Setup {
    model: ModelSpec,
    block: usize,
    tolerance: DtypeTolerance,
    instances: BTreeMap<String, BackendInstance>,
    cache: crate::args::CacheDir,
    isolation: backends::Isolation,
    cold: bool,
    /// Where the pair's tokens come from: `--prompt-text`, `--prompt-tokens`, the config's
    /// `[prompt]`, else random ids.
    prompt: Prompt,
}

impl Setup {
    fn of(a: &RunArgs, dtype: Dtype) -> Result<Setup> {
        let (model, block, tolerance, instances, prompt) = match (&a.config, &a.model) {
            (Some(c), _) => {
                let cfg = SweepConfig::load(c)?;
                let tol = cfg.tolerance(dtype);
                (cfg.model, cfg.block_size, tol, cfg.instances, cfg.prompt)
            }
            (None, model) => (
                ModelSpec::Gguf {
                    path: model_path(model.as_deref())?,
                },
                16,
                DtypeTolerance::default_for(dtype),
                Default::default(),
                Prompt::Random,
            ),
        };
        let prompt = prompt_of(a, &model, prompt)?;
        let block = a.block_size.unwrap_or(block);
        if block == 0 {
            anyhow::bail!("--block-size: invalid value 0: expected at least 1");
        }
        Ok(Setup {
            model,
            block,
            tolerance,
            instances,
            cache: a.plugins.cache()?,
            isolation: backends::Isolation::new(a.plugins.in_process, a.plugins.open_timeout, None),
            cold: a.cold,
            prompt,
        })
    }

    /// The backend instance `name`, started.
    fn backend(&self, a: &RunArgs, name: &String) -> Result<PlannedBackend> {
        let mut planned = backends::select(
            backends::find(&a.plugins.plugins)?,
            &backends::Selection {
                names: std::slice::from_ref(name),
                instances: &self.instances,
                config: a.config.as_deref(),
                cache_dir: self.cache.path.clone(),
                isolation: self.isolation.clone(),
            },
        )?;
        Ok(planned.remove(0))
    }

    /// Refuse `--trace-layers` before anything runs when the backend's probe does not
    /// declare traces, naming the backends found that do.
    fn check_traces(&self, a: &RunArgs, probe: Option<&Probe>) -> Result<()> {
        if probe.is_some_and(|p| p.traces) {
            return Ok(());
        }
        let found = backends::find(&a.plugins.plugins)?;
        let tracing: Vec<String> = found
            .candidates
            .iter()
            .filter_map(|c| match backends::start(c, &self.isolation).result {
                Ok((_, p)) if p.traces && p.unavailable.is_none() => Some(p.backend),
                _ => None,
            })
            .collect();
        let those = if tracing.is_empty() {
            "none of the backends found does".to_string()
        } else {
            format!("backends found that do: {}", tracing.join(", "))
        };
        bail!(
            "--trace-layers: {} does not trace layers (its probe does not declare `traces`); {those} (`driftbench plugins` shows a traces column)",
            terminal(&a.backend)
        )
    }

    fn pair_plan(&self) -> PairPlan {
        PairPlan {
            block_size: self.block,
            tolerance: self.tolerance,
            // Warm by default, as the sweep measures; `--cold` shows the first calls alone.
            warmup: !self.cold,
            // `run` computes no f64 noise floor: fixed bounds.
            rule: driftbench_sweep::noise_floor::FloorRule::default(),
            repetitions: 1,
            prompt: self.prompt.clone(),
        }
    }
}

/// The prompts of `run`: `--prompt-text` or `--prompt-tokens` read for `model`, else the
/// config's (`configured`); a file must hold `--span` tokens.
fn prompt_of(a: &RunArgs, model: &ModelSpec, configured: Prompt) -> Result<Prompt> {
    let (flag, source) = match (&a.prompt_text, &a.prompt_tokens) {
        (Some(p), _) => ("--prompt-text", PromptSource::Text(p.clone())),
        (None, Some(p)) => ("--prompt-tokens", PromptSource::Tokens(p.clone())),
        (None, None) => {
            if let Some(f) = configured.file().filter(|f| f.tokens < a.span) {
                bail!(
                    "--span: invalid value {}: the config's prompt {} has {} tokens",
                    a.span,
                    terminal(&f.path),
                    f.tokens
                );
            }
            return Ok(configured);
        }
    };
    Prompt::load(&source, model, a.span)
        .map_err(|e| anyhow!("{flag}: {}", terminal(&e.to_string())))
}

/// The pair's times, metrics and verdict on the terminal, every number through the report's
/// own formatter, so `run` and report.md say the same things the same way.
fn say_pair(a: &RunArgs, key: &PairKey, w: &Walls, m: &Metrics, pair: &PairRecord) {
    if let Some(line) = w.warmup_line() {
        println!("{line}");
    }
    let rate = |c: &timing::Call| fixed(a.span as f64 / c.wall_s, 1);
    println!(
        "span {} dtype {} kv_aligned {} seed {}: load {}, prefill {} ({} tok/s), decode {} ({} tok/s) [{}]",
        a.span,
        key.dtype,
        key.kv_aligned,
        a.seed,
        secs(w.load_s),
        secs(w.prefill.wall_s),
        rate(&w.prefill),
        secs(w.decode.wall_s),
        rate(&w.decode),
        w.temperature()
    );
    println!("{}", metrics_line(m));
    println!("first flip: {}", first_flip(m, "prefill", "decode"));
    println!(
        "verdict {}{}",
        pair.verdict,
        pair.reason
            .as_deref()
            .map(|r| format!(": {}", terminal(r)))
            .unwrap_or_default()
    );
}

/// What `--save-logits` writes beside the two logits matrices.
struct Saved<'a> {
    a: &'a RunArgs,
    setup: &'a Setup,
    info: &'a driftbench_core::session_info::SessionInfo,
    tokens: &'a [u32],
    walls: &'a Walls,
    metrics: &'a Metrics,
    pair: &'a PairRecord,
}

impl Saved<'_> {
    /// `prefill.npy`, `decode.npy` and `manifest.json` into `dir`: float64 (`<f8`) for an
    /// f64 pair, whose logits are kept as f64, float32 otherwise.
    fn write(&self, dir: &Path, prefill: LogitsRef<'_>, decode: LogitsRef<'_>) -> Result<()> {
        let (a, info) = (self.a, self.info);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (file, logits) in [("prefill.npy", prefill), ("decode.npy", decode)] {
            npy::write(&dir.join(file), &[a.span, info.vocab], logits)
                .with_context(|| format!("writing {}", dir.join(file).display()))?;
        }
        let numpy_dtype = if prefill.is_f64() {
            "float64"
        } else {
            "float32"
        };
        let manifest = serde_json::json!({
            "backend": a.backend,
            "device": info.device,
            "model": self.setup.model,
            "model_description": info.model,
            "span": a.span,
            "dtype": self.pair.key.dtype,
            "kv_aligned": a.kv_aligned,
            "block_size": self.setup.block,
            "seed": a.seed,
            "vocab": info.vocab,
            "tokens": self.tokens,
            "load_s": self.walls.load_s,
            "prefill_wall_s": self.walls.prefill.wall_s,
            "decode_wall_s": self.walls.decode.wall_s,
            "prefill_warmup_s": self.walls.prefill_warmup.as_ref().map(|c| c.wall_s),
            "decode_warmup_s": self.walls.decode_warmup.as_ref().map(|c| c.wall_s),
            "timing": self.walls.temperature(),
            "metrics": self.metrics,
            "verdict": self.pair.verdict,
            "reason": self.pair.reason,
            "transport": self.pair.transport,
            "logits": {"prefill": "prefill.npy", "decode": "decode.npy", "dtype": numpy_dtype, "shape": [a.span, info.vocab]},
        });
        let text = serde_json::to_string_pretty(&manifest)?;
        let path = dir.join("manifest.json");
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("saved {}", dir.display());
        Ok(())
    }
}
