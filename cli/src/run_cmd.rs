//! `driftbench run`: one pair, optionally saving both logits matrices.

use crate::args::RunArgs;
use crate::sweep_cmd::check_model;
use crate::{backends, npy};
use anyhow::{anyhow, Context, Result};
use driftbench_core::config::SweepConfig;
use driftbench_core::rng::prompt_tokens;
use driftbench_core::verdict::{classify, global_verdict};
use driftbench_core::{Dtype, DtypeTolerance, KvLayout, ModelSpec};
use std::time::Instant;

/// Run one pair; returns the exit code of its verdict.
pub fn run(a: &RunArgs) -> Result<i32> {
    let dtype: Dtype = a
        .dtype
        .parse()
        .map_err(|e: String| anyhow!("--dtype: {e}"))?;
    if a.span == 0 {
        anyhow::bail!("--span: invalid value 0: expected a span of at least 1 token");
    }
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
    check_model(&model)?;
    let isolation = if a.plugins.in_process {
        backends::Isolation::InProcess
    } else {
        backends::Isolation::Worker { timeout: None }
    };
    let cache = a.plugins.cache()?;
    let planned = backends::select(
        backends::find(&a.plugins.plugins)?,
        &backends::Selection {
            names: std::slice::from_ref(&a.backend),
            instances: &instances,
            config: a.config.as_deref(),
            cache_dir: cache.path.clone(),
            isolation,
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
    let tokens = prompt_tokens(a.seed, a.span, info.vocab);
    let n = a.span * info.vocab;
    let (mut p, mut d) = (vec![0f32; n], vec![0f32; n]);
    let layout = if a.kv_aligned == 1 {
        KvLayout::Aligned
    } else {
        KvLayout::Padded { block }
    };
    let t = Instant::now();
    session
        .prefill(&tokens, &mut p)
        .map_err(|e| anyhow!("prefill: {e}"))?;
    let prefill_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    session
        .decode(&tokens, layout, &mut d)
        .map_err(|e| anyhow!("decode: {e}"))?;
    let decode_s = t.elapsed().as_secs_f64();
    let m = session.compare(&p, &d, info.vocab);
    let (verdict, reason) = classify(a.kv_aligned, dtype, &m, &tol);
    println!(
        "backend {} on {}; model {}",
        a.backend, info.device, info.model
    );
    println!(
        "span {} dtype {dtype} kv_aligned {} seed {}: load {load_s:.2}s, prefill {prefill_s:.3}s ({:.1} tok/s), decode {decode_s:.3}s ({:.1} tok/s)",
        a.span, a.kv_aligned, a.seed, a.span as f64 / prefill_s, a.span as f64 / decode_s
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
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    if let Some(dir) = &a.save_logits {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        npy::write_f32(&dir.join("prefill.npy"), &[a.span, info.vocab], &p)
            .with_context(|| format!("writing {}", dir.join("prefill.npy").display()))?;
        npy::write_f32(&dir.join("decode.npy"), &[a.span, info.vocab], &d)
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
    Ok(global_verdict([verdict]).exit_code())
}
