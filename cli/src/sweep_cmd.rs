//! `driftbench sweep`.

use crate::args::PluginArgs;
use crate::{backends, environment, progress::Bar};
use anyhow::{Context, Result};
use driftbench_core::config::SweepConfig;
use driftbench_core::journal::Journal;
use driftbench_core::records::{Record, SweepHeader, SCHEMA_VERSION};
use driftbench_core::report::{summary_table, write_reports, Report};
use driftbench_core::{grid, runner, ModelSpec};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Fail early, with the fix, when a config's model file is absent.
pub fn check_model(model: &ModelSpec) -> Result<()> {
    if let ModelSpec::Gguf { path } = model {
        if !path.is_file() {
            anyhow::bail!(
                "model file {} not found: run scripts/fetch-model.sh to fetch SmolLM2-135M, or fix `model.path` in the config",
                path.display()
            );
        }
    }
    Ok(())
}

/// Run a sweep; returns the exit code of its global verdict.
pub fn run(
    config: &Path,
    out: Option<PathBuf>,
    names: &[String],
    plugins: &PluginArgs,
) -> Result<i32> {
    let cfg = SweepConfig::load(config)?;
    check_model(&cfg.model)?;
    let names = if names.is_empty() {
        cfg.backends.clone()
    } else {
        names.to_vec()
    };
    let isolation = if plugins.in_process {
        backends::Isolation::InProcess
    } else {
        backends::Isolation::Worker {
            timeout: cfg.timeout_s.map(std::time::Duration::from_secs_f64),
        }
    };
    let cache = plugins.cache()?;
    let planned = backends::select(
        backends::find(&plugins.plugins)?,
        &backends::Selection {
            names: &names,
            instances: &cfg.instances,
            config: Some(config),
            cache_dir: cache.path.clone(),
            isolation,
        },
    )?;
    let out_dir = out.unwrap_or_else(|| PathBuf::from("out").join(&cfg.name));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output folder {}", out_dir.display()))?;
    let journal_path = out_dir.join("results.jsonl");
    let mut journal = Journal::create(&journal_path)
        .with_context(|| format!("cannot create {}", journal_path.display()))?;
    let backend_names: Vec<String> = planned.iter().map(|p| p.entry.name.clone()).collect();
    let header = SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: cfg.name.clone(),
        config_path: config.display().to_string(),
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: cfg.model.describe(),
        block_size: cfg.block_size,
        tolerances: cfg.tolerances.clone(),
        pairs_planned: grid::expand(&cfg, &backend_names).len(),
        environment: environment::collect(),
        backends: planned.iter().map(|p| p.entry.clone()).collect(),
    };
    eprintln!(
        "driftbench: sweep `{}`: {} pairs on {} → {}",
        cfg.name,
        header.pairs_planned,
        backend_names.join(", "),
        out_dir.display()
    );
    let bar = Bar::new();
    let t0 = Instant::now();
    let records = runner::run_sweep(
        &cfg,
        &planned,
        Record::Sweep(Box::new(header)),
        &mut journal,
        &bar,
    )
    .with_context(|| format!("writing {}", journal_path.display()))?;
    bar.finish();
    let report = Report::from_records(&records);
    write_reports(&out_dir, &report)
        .with_context(|| format!("writing the report into {}", out_dir.display()))?;
    println!("{}", summary_table(&report));
    println!(
        "global verdict: {} — sweep took {:.1}s; report: {}",
        report.global().as_str(),
        t0.elapsed().as_secs_f64(),
        out_dir.join("report.md").display()
    );
    Ok(report.global().exit_code())
}
