//! `driftbench sweep`.

use crate::args::PluginArgs;
use crate::text::terminal;
use crate::{backends, environment, interrupt, progress::Bar};
use anyhow::{Context, Result};
use driftbench_report::{harness_line, summary_table, write_reports, Report};
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::grid;
use driftbench_sweep::journal::{self, Journal};
use driftbench_sweep::peaks_cache::PeaksCache;
use driftbench_sweep::records::{Record, ReferenceInfo, SweepHeader, SCHEMA_VERSION};
use driftbench_sweep::resume::{self, SweepPlan};
use driftbench_sweep::runner;
use driftbench_sweep::runner::{FloorSource, SweepControl};
use driftbench_sweep::verdict::GlobalVerdict;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Switches of `driftbench sweep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// Continue the journal in the output folder.
    pub resume: bool,
    /// Measure peaks again instead of reading the machine's cache.
    pub remeasure_peaks: bool,
}

/// Run a sweep; returns the exit code of its global verdict.
pub fn run(
    config: &Path,
    out: Option<PathBuf>,
    names: &[String],
    flags: Flags,
    plugins: &PluginArgs,
) -> Result<i32> {
    let resume = flags.resume;
    let cfg = SweepConfig::load(config)?;
    crate::model_check::check_sweep(&cfg)?;
    let names = if names.is_empty() {
        cfg.backends.clone()
    } else {
        names.to_vec()
    };
    let isolation = backends::Isolation::new(
        plugins.in_process,
        plugins.open_timeout.or(Some(cfg.open_timeout_s)),
        cfg.timeout_s,
    );
    let cache = plugins.cache()?;
    let found = backends::find(&plugins.plugins)?;
    fn selection<'a>(
        names: &'a [String],
        cfg: &'a SweepConfig,
        config: &'a Path,
        cache: &Option<PathBuf>,
        isolation: &backends::Isolation,
    ) -> backends::Selection<'a> {
        backends::Selection {
            names,
            instances: &cfg.instances,
            config: Some(config),
            cache_dir: cache.clone(),
            isolation: isolation.clone(),
        }
    }
    let planned = backends::select(
        found.clone(),
        &selection(&names, &cfg, config, &cache.path, &isolation),
    )?;
    let found = backends::Found {
        warnings: Vec::new(), // printed once, by the selection above
        ..found
    };
    // The f64 reference runs on the floor backend, in the sweep or started for it alone.
    let floor_name = &cfg.reference.floor_backend;
    let floor_only =
        if cfg.reference.noise_floor && !planned.iter().any(|p| &p.entry.name == floor_name) {
            Some(
                backends::select(
                    found,
                    &selection(
                        std::slice::from_ref(floor_name),
                        &cfg,
                        config,
                        &cache.path,
                        &isolation,
                    ),
                )
                .map_err(|e| format!("noise floor backend {floor_name}: {e:#}")),
            )
        } else {
            None
        };
    let floor = if !cfg.reference.noise_floor {
        FloorSource::Off
    } else {
        match &floor_only {
            None => FloorSource::Backend(
                planned
                    .iter()
                    .find(|p| &p.entry.name == floor_name)
                    .expect("checked above"),
            ),
            Some(Ok(v)) if !v.is_empty() => FloorSource::Backend(&v[0]),
            Some(Ok(_)) => FloorSource::Missing(format!("no backend named {floor_name}")),
            Some(Err(why)) => {
                eprintln!("warning: {}", terminal(why));
                FloorSource::Missing(why.clone())
            }
        }
    };
    let out_dir = out.unwrap_or_else(|| PathBuf::from("out").join(&cfg.name));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output folder {}", out_dir.display()))?;
    let journal_path = out_dir.join("results.jsonl");
    let backend_names: Vec<String> = planned.iter().map(|p| p.entry.name.clone()).collect();
    let plan = SweepPlan::of(&cfg, &backend_names);
    let pairs_planned = grid::expand(&cfg, &backend_names).len();
    let (mut journal, header, mut records, done) = if resume {
        let (old, warnings) = journal::read(&journal_path).context("--resume")?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        let r = resume::resume(old, &plan)
            .with_context(|| format!("--resume: cannot continue {}", journal_path.display()))?;
        let journal = Journal::rewrite(&journal_path, &r.kept)
            .with_context(|| format!("rewriting {}", journal_path.display()))?;
        eprintln!(
            "driftbench: resuming `{}`: {} of {} cells already done",
            cfg.name,
            r.done.len(),
            pairs_planned / backend_names.len().max(1)
        );
        (journal, None, r.kept, r.done)
    } else {
        let journal = Journal::create(&journal_path)
            .with_context(|| format!("cannot create {}", journal_path.display()))?;
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
            pairs_planned,
            environment: environment::collect(),
            backends: planned.iter().map(|p| p.entry.clone()).collect(),
            plan: Some(plan),
            reference: Some(ReferenceInfo {
                cross_backend: runner::cross_reference(&cfg, &backend_names).map(str::to_string),
                noise_floor: cfg.reference.noise_floor,
                floor_backend: cfg.reference.floor_backend.clone(),
                rule: cfg.reference.rule,
            }),
        };
        let header = Some(Record::Sweep(Box::new(header)));
        (journal, header, Vec::new(), HashSet::new())
    };
    eprintln!(
        "driftbench: sweep `{}`: {pairs_planned} pairs on {} → {}",
        terminal(&cfg.name),
        terminal(&backend_names.join(", ")),
        out_dir.display()
    );
    let ctl = SweepControl {
        done,
        stop: interrupt::install(),
        // Every FAIL_* or INCOMPLETE pair leaves what `driftbench replay` needs.
        bundles: Some(out_dir.join("replay")),
        peaks: PeaksCache::in_dir(cache.path.as_deref(), flags.remeasure_peaks),
    };
    let bar = Bar::new();
    let t0 = Instant::now();
    let run = runner::run_sweep(&cfg, &planned, floor, header, &mut journal, &bar, &ctl)
        .with_context(|| format!("writing {}", journal_path.display()))?;
    bar.finish();
    records.extend(run.records);
    let mut report = Report::from_records(&records);
    if run.interrupted {
        report
            .gaps
            .push("the sweep was interrupted (SIGINT or SIGTERM)".into());
        // DESIGN.md's rule: a FAIL already found stays FAIL; otherwise INCOMPLETE.
        if report.global == GlobalVerdict::Pass {
            report.global = GlobalVerdict::Incomplete;
        }
    }
    let t_report = Instant::now();
    write_reports(&out_dir, &report)
        .with_context(|| format!("writing the report into {}", out_dir.display()))?;
    let report_s = t_report.elapsed().as_secs_f64();
    println!("{}", terminal(&summary_table(&report).to_string()));
    if let Some(h) = &report.harness {
        println!("{}", harness_line(h));
    }
    println!("report written in {report_s:.2}s (not part of the sweep time above)");
    if run.interrupted {
        eprintln!(
            "driftbench: interrupted; finished pairs are in {} (continue with --resume)",
            journal_path.display()
        );
    }
    println!(
        "global verdict: {} — sweep took {:.1}s; report: {}",
        report.global().as_str(),
        t0.elapsed().as_secs_f64(),
        out_dir.join("report.md").display()
    );
    Ok(report.global().exit_code())
}
