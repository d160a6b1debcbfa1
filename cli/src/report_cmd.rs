//! `driftbench report`: re-render the report from a journal.

use crate::args::ReportFormat;
use crate::text::terminal;
use anyhow::{Context, Result};
use driftbench_report::write::{write_bmf, write_csv};
use driftbench_report::{summary_table, write_reports, Report};
use driftbench_sweep::journal;
use driftbench_sweep::records::{Record, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

/// Re-render (every file, or with `format` csv only the CSV tables); returns the exit code
/// of the journal's global verdict.
pub fn run(results: &Path, out: Option<PathBuf>, format: ReportFormat) -> Result<i32> {
    let (records, warnings) = journal::read(results)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    // Records of another schema may mean other things under the same names.
    if let Some(v) = records.iter().find_map(|r| match r {
        Record::Sweep(h) if h.schema_version != SCHEMA_VERSION => Some(h.schema_version),
        _ => None,
    }) {
        anyhow::bail!(
            "{}: written with journal schema version {v}, this driftbench reads version {SCHEMA_VERSION}",
            results.display()
        );
    }
    let out_dir = out.unwrap_or_else(|| {
        results
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    });
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output folder {}", out_dir.display()))?;
    write(&records, results, &out_dir, format)
}

/// Build the report of `records` (read from `source`) and write it into `out_dir` (every
/// file, or with `format` csv only the CSV tables); prints the summary; returns the exit
/// code of the global verdict.
pub fn write(
    records: &[Record],
    source: &Path,
    out_dir: &Path,
    format: ReportFormat,
) -> Result<i32> {
    let report = Report::from_records(records);
    // Said, not a gap: e.g. an older journal without its plan is checked by counts only.
    for w in driftbench_sweep::audit::audit(records).warnings {
        eprintln!("warning: {}: {w}", source.display());
    }
    if format == ReportFormat::Bmf {
        let (files, left_out) = write_bmf(out_dir, &report, records)
            .with_context(|| format!("writing the BMF files into {}", out_dir.display()))?;
        for l in left_out {
            eprintln!("warning: {}: left out of BMF: {l}", source.display());
        }
        for f in files {
            let testbed = f.file_stem().map(|s| s.to_string_lossy().into_owned());
            println!(
                "wrote {} (bencher run --testbed {} --adapter json --file {})",
                f.display(),
                testbed.unwrap_or_default(),
                f.display()
            );
        }
        return Ok(report.global().exit_code());
    }
    if format == ReportFormat::Csv {
        let files = write_csv(out_dir, &report)
            .with_context(|| format!("writing the CSV tables into {}", out_dir.display()))?;
        for f in files {
            println!("wrote {}", f.display());
        }
        return Ok(report.global().exit_code());
    }
    write_reports(out_dir, &report)
        .with_context(|| format!("writing the report into {}", out_dir.display()))?;
    for g in &report.gaps {
        eprintln!("warning: {}: {}", source.display(), terminal(g));
    }
    println!("{}", terminal(&summary_table(&report).to_string()));
    println!(
        "global verdict: {}; report: {}",
        report.global().as_str(),
        out_dir.join("report.md").display()
    );
    Ok(report.global().exit_code())
}
