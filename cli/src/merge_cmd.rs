//! `driftbench merge`: shard journals (from one machine or many) joined into one journal and
//! report ([`driftbench_sweep::merge`] says how).

use crate::args::ReportFormat;
use anyhow::{bail, Context, Result};
use driftbench_sweep::job::FolderLock;
use driftbench_sweep::journal::{self, Journal};
use driftbench_sweep::merge::{merge, Input};
use driftbench_sweep::records::Record;
use std::path::{Path, PathBuf};

/// The journal's name in a sweep folder.
const JOURNAL: &str = "results.jsonl";

/// Merge `inputs` into `out`; returns the exit code of the merged report's verdict.
pub fn run(inputs: &[PathBuf], out: &Path) -> Result<i32> {
    let inputs = read_inputs(inputs)?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    let _lock = FolderLock::acquire(out)?;
    let target = out.join(JOURNAL);
    refuse_to_overwrite_a_sweep(&target, &inputs)?;
    let merged = merge(&inputs)?;
    Journal::rewrite(&target, &merged.records)
        .with_context(|| format!("cannot write {}", target.display()))?;
    if let Some(Record::Sweep(h)) = merged.records.first() {
        if let Some(info) = &h.merged {
            println!(
                "merged {} journal(s): {} source sweep(s) on {} ({} duplicate record(s) collapsed) into {}",
                inputs.len(),
                info.sources.len(),
                info.machines.join(", "),
                merged.collapsed,
                target.display()
            );
        }
    }
    crate::report_cmd::write(&merged.records, &target, out, ReportFormat::Md)
}

/// Each input's journal: a folder's `results.jsonl`, or the file named.
fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    paths
        .iter()
        .map(|p| {
            let path = if p.is_dir() {
                p.join(JOURNAL)
            } else {
                p.clone()
            };
            let (records, warnings) = journal::read(&path)?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            Ok(Input { path, records })
        })
        .collect()
}

/// A sweep's own journal in the output folder is never replaced by a merge, unless it is
/// one of the inputs (then its records are in the merge); a merged journal may be.
fn refuse_to_overwrite_a_sweep(target: &Path, inputs: &[Input]) -> Result<()> {
    if !target.exists() || inputs.iter().any(|i| same_file(&i.path, target)) {
        return Ok(());
    }
    let (records, _) = journal::read(target)?;
    match records.first() {
        Some(Record::Sweep(h)) if h.merged.is_some() => Ok(()),
        _ => bail!(
            "{}: holds a sweep's journal that is not among the inputs; merge into another folder (--out) or name it as an input",
            target.display()
        ),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
