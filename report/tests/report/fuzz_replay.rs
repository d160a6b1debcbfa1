//! The fuzz targets `journal` (the journal reader, `--resume` and the report writers) and
//! `diff` (diff's report reader and the comparison) replayed on every test run (their corpora
//! and regressions, then seeded mutations: see `fuzz/replay.rs`). Their seeds are files of
//! real sweeps (`real-*`, checked here to still read) and hostile variants of them.

#[path = "../../../fuzz/targets/diff.rs"]
mod diff_target;
#[path = "../../../fuzz/targets/journal.rs"]
mod journal_target;
#[path = "../../../fuzz/replay.rs"]
mod replay;

mod target {
    pub use super::diff_target::diff;
    pub use super::journal_target::journal;
}

use std::path::PathBuf;

#[test]
fn fuzz_journal() {
    replay::fuzz("journal", target::journal);
}

#[test]
fn fuzz_diff() {
    replay::fuzz("diff", target::diff);
}

/// The `real-*` seeds of `fuzz/corpus/<target>/`, by name.
fn real_seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = replay::fuzz_dir().join("corpus").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("real-")
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 3,
        "{} real seeds in {}",
        seeds.len(),
        dir.display()
    );
    seeds
}

/// The real journals still read whole, resume against the plan they record (and the CI one
/// against the target's fixed plan) and give pairs to report: a schema change that made them
/// garbage would leave the fuzzer mutating refusals.
#[test]
fn journal_seeds_still_read() {
    use driftbench_report::Report;
    use driftbench_sweep::journal;
    use driftbench_sweep::records::Record;
    use driftbench_sweep::resume::resume;
    for (name, bytes) in real_seeds("journal") {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("results.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let (records, warnings) = journal::read(&path)
            .unwrap_or_else(|e| panic!("{name} no longer reads ({e}): make it again"));
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        let Some(Record::Sweep(header)) = records.first() else {
            panic!("{name} has no header")
        };
        let plan = header.plan.clone().expect("a plan");
        let r = resume(records.clone(), &plan).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!r.done.is_empty(), "{name}: no finished cell");
        if name == "real-ci-flex.jsonl" {
            resume(records.clone(), journal_target::fixed_plan())
                .unwrap_or_else(|e| panic!("{name} against the target's plan: {e}"));
        }
        let report = Report::from_records(&records);
        assert!(
            report.backends.iter().any(|b| !b.comparisons.is_empty()),
            "{name}: no pair in the report"
        );
    }
}

/// Both sides of every real diff seed are driftbench reports.
#[test]
fn diff_seeds_still_read() {
    use driftbench_report::diff::ReportView;
    for (name, bytes) in real_seeds("diff") {
        for side in bytes.split(|b| *b == diff_target::SEPARATOR) {
            let text = String::from_utf8(side.to_vec()).unwrap();
            ReportView::read(&text)
                .unwrap_or_else(|e| panic!("{name} no longer reads ({e}): make it again"));
        }
    }
}
