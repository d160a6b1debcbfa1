//! `driftbench run`: one pair, optionally saving both logits matrices and tracing where
//! its error enters (`--trace-layers`).

mod trace_layers;

use crate::args::RunArgs;
use crate::model_check;
use crate::text::terminal;
use crate::{backends, npy};
use anyhow::{anyhow, bail, Context, Result};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::rng::prompt_tokens;
use driftbench_core::route::Route;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::records::{PairKey, Record};
use driftbench_sweep::runner::{run_pair, Buffers, PairPlan, Warmed};
use driftbench_sweep::verdict::global_verdict;
use driftbench_sweep::verdict::DtypeTolerance;
use std::time::Instant;

/// Run one pair; returns the exit code of its verdict.
pub fn run(a: &RunArgs) -> Result<i32> {
    let dtype: Dtype = a
        .dtype
        .parse()
        .map_err(|e: String| anyhow!("--dtype: {e}"))?;
    model_check::check_span_arg(a.span)?;
    let (model, block, tol, instances) = match (&a.config, &a.model) {
        (Some(c), _) => {
            let cfg = SweepConfig::load(c)?;
            let tol = cfg.tolerance(dtype);
            (cfg.model, cfg.block_size, tol, cfg.instances)
        }
        (None, Some(m)) => (
            ModelSpec::Gguf { path: m.clone() },
            16,
            DtypeTolerance::default_for(dtype),
            Default::default(),
        ),
        (None, None) => anyhow::bail!("give --model PATH or --config PATH"),
    };
    let block = a.block_size.unwrap_or(block);
    if block == 0 {
        anyhow::bail!("--block-size: invalid value 0: expected at least 1");
    }
    model_check::check_run(&model, a.span)?;
    let isolation = backends::Isolation::new(a.plugins.in_process, a.plugins.open_timeout, None);
    let cache = a.plugins.cache()?;
    let planned = backends::select(
        backends::find(&a.plugins.plugins)?,
        &backends::Selection {
            names: std::slice::from_ref(&a.backend),
            instances: &instances,
            config: a.config.as_deref(),
            cache_dir: cache.path.clone(),
            isolation: isolation.clone(),
        },
    )?;
    let b = &planned[0];
    if let Some(why) = b
        .entry
        .probe
        .as_ref()
        .and_then(|p| p.dtype_unavailable(dtype))
    {
        println!("SKIPPED: {why}");
        return Ok(0);
    }
    let t0 = Instant::now();
    let mut session = b
        .backend
        .open(&model, dtype)
        .map_err(|e| anyhow!("{}: {e}", a.backend))?;
    let load_s = t0.elapsed().as_secs_f64();
    let info = session.info();
    info.check().map_err(|e| anyhow!("{}: {e}", a.backend))?;
    let kv = KvMode::from_flag(i64::from(a.kv_aligned))
        .ok_or_else(|| anyhow!("--kv-aligned: expected 0 or 1"))?;
    let plan = PairPlan {
        block_size: block,
        tolerance: tol,
        // One pair, measured as it comes: a cold first call is what `run` shows.
        warmup: false,
        // `run` computes no f64 noise floor: fixed bounds.
        rule: driftbench_sweep::noise_floor::FloorRule::default(),
        repetitions: 1,
    };
    let key = PairKey {
        backend: a.backend.clone(),
        span: a.span,
        dtype,
        kv_aligned: kv,
        seed: a.seed,
    };
    let mut bufs = Buffers::default();
    let outcome = run_pair(
        &plan,
        session.as_mut(),
        &key,
        info.vocab,
        &mut Warmed::default(),
        &mut bufs,
        None,
    );
    let wall = |route: Route| {
        outcome.records.iter().find_map(|r| match r {
            Record::Run(r) if r.route == route => r.wall_s,
            _ => None,
        })
    };
    let Some(pair) = outcome.records.iter().find_map(|r| match r {
        Record::Pair(p) => Some(p),
        _ => None,
    }) else {
        bail!("the pair produced no verdict");
    };
    let (verdict, reason) = (pair.verdict, pair.reason.clone());
    println!(
        "backend {} on {}; model {}",
        a.backend,
        terminal(&info.device),
        terminal(&info.model)
    );
    let Some(m) = pair.metrics.clone() else {
        println!(
            "verdict {verdict}: {}",
            terminal(reason.as_deref().unwrap_or("no metrics"))
        );
        return Ok(global_verdict([verdict]).exit_code());
    };
    let (prefill_s, decode_s) = (
        wall(Route::Prefill).unwrap_or(f64::NAN),
        wall(Route::Decode).unwrap_or(f64::NAN),
    );
    println!(
        "span {} dtype {dtype} kv_aligned {kv} seed {}: load {load_s:.2}s, prefill {prefill_s:.3}s ({:.1} tok/s), decode {decode_s:.3}s ({:.1} tok/s)",
        a.span, a.seed, a.span as f64 / prefill_s, a.span as f64 / decode_s
    );
    println!(
        "max_abs_diff {} p99_abs_diff {} mean_abs_diff {} top1_agreement {:.4} nonfinite {}/{}",
        m.max_abs_diff,
        m.p99_abs_diff,
        m.mean_abs_diff,
        m.top1_agreement,
        m.nonfinite_prefill,
        m.nonfinite_decode
    );
    println!(
        "verdict {verdict}{}",
        reason
            .as_deref()
            .map(|r| format!(": {}", terminal(r)))
            .unwrap_or_default()
    );
    let tokens = prompt_tokens(a.seed, a.span, info.vocab);
    let (p, d) = (&bufs.prefill, &bufs.decode);
    if let Some(dir) = &a.save_logits {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        npy::write_f32(&dir.join("prefill.npy"), &[a.span, info.vocab], p)
            .with_context(|| format!("writing {}", dir.join("prefill.npy").display()))?;
        npy::write_f32(&dir.join("decode.npy"), &[a.span, info.vocab], d)
            .with_context(|| format!("writing {}", dir.join("decode.npy").display()))?;
        let manifest = serde_json::json!({
            "backend": a.backend,
            "device": info.device,
            "model": model,
            "model_description": info.model,
            "span": a.span,
            "dtype": dtype,
            "kv_aligned": a.kv_aligned,
            "block_size": block,
            "seed": a.seed,
            "vocab": info.vocab,
            "tokens": tokens,
            "load_s": load_s,
            "prefill_wall_s": prefill_s,
            "decode_wall_s": decode_s,
            "metrics": m,
            "verdict": verdict,
            "reason": reason,
            "logits": {"prefill": "prefill.npy", "decode": "decode.npy", "dtype": "float32", "shape": [a.span, info.vocab]},
        });
        let text = serde_json::to_string_pretty(&manifest)?;
        let path = dir.join("manifest.json");
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("saved {}", dir.display());
    }
    if a.trace_layers {
        let job = trace_layers::Job {
            backend: &a.backend,
            dtype,
            model: &model,
            tokens: &tokens,
            layout: kv.layout(block),
        };
        // Started only once the pair's backend has traced: no reference for a backend
        // that cannot.
        let reference = || -> Result<Box<dyn driftbench_core::backend::Backend>> {
            let name = trace_layers::REFERENCE_BACKEND.to_string();
            let mut planned = backends::select(
                backends::find(&a.plugins.plugins)?,
                &backends::Selection {
                    names: std::slice::from_ref(&name),
                    instances: &instances,
                    config: a.config.as_deref(),
                    cache_dir: cache.path.clone(),
                    isolation,
                },
            )?;
            Ok(planned.remove(0).backend)
        };
        trace_layers::run(&job, session.as_mut(), reference, a.save_logits.as_deref())?;
    }
    Ok(global_verdict([verdict]).exit_code())
}
