//! The golden report: `tests/golden/results.jsonl`, the journal of a real sweep (the config
//! beside it: cpu, flex, the test plugin returning NaN, and a plugin file that cannot load)
//! with FAIL, INCOMPLETE and NaN pairs, is rendered into every report file and compared byte
//! for byte with the files in `tests/golden/expected/`.
//!
//! A deliberate change of the report rewrites them:
//! `DRIFTBENCH_BLESS=1 cargo test -p driftbench-report --test report golden`; review the diff before committing it.

use driftbench_report::{write_reports, Report};
use driftbench_sweep::journal;
use driftbench_sweep::records::Record;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

/// Every file under `dir`, by its path relative to `dir` (`/`-separated).
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(rel.join("/"), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The first line where `a` and `b` differ, with the line from each.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let mut al = a.lines();
    let mut bl = b.lines();
    for n in 1.. {
        match (al.next(), bl.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "identical lines, other bytes (line ends?)".into(),
            (x, y) => {
                return format!(
                    "line {n}:\n  produced: {}\n  expected: {}",
                    x.unwrap_or("<end of file>"),
                    y.unwrap_or("<end of file>")
                )
            }
        }
    }
    unreachable!()
}

fn report_of_the_golden_journal() -> (Vec<Record>, Report) {
    let (records, warnings) = journal::read(&Path::new(GOLDEN).join("results.jsonl")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let report = Report::from_records(&records);
    (records, report)
}

/// The journal holds what the golden report is meant to cover, so the comparison below is
/// not over a trivial report.
#[test]
fn the_golden_journal_covers_several_backends_fail_incomplete_and_nan() {
    let (records, report) = report_of_the_golden_journal();
    let verdicts: Vec<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Pair(p) => Some(p.verdict.as_str()),
            _ => None,
        })
        .collect();
    for v in ["PASS_EQUIV", "FAIL_EQUIV", "EXPECTED_DRIFT", "INCOMPLETE"] {
        assert!(verdicts.contains(&v), "no {v} pair in {verdicts:?}");
    }
    let nan_pairs = records
        .iter()
        .filter(|r| {
            matches!(r, Record::Pair(p) if p.metrics.as_ref()
                .is_some_and(|m| m.nonfinite_decode > 0 && m.max_abs_diff.is_nan()))
        })
        .count();
    assert!(nan_pairs > 0, "no pair with NaN logits");
    assert!(
        report.backends.len() >= 3,
        "{} backends",
        report.backends.len()
    );
    assert_eq!(report.global().as_str(), "FAIL");
}

#[test]
fn report_files_match_the_golden_ones() {
    let (_, report) = report_of_the_golden_journal();
    let out = tempfile::tempdir().unwrap();
    write_reports(out.path(), &report).unwrap();
    let produced = files_under(out.path());
    let expected_dir = PathBuf::from(GOLDEN).join("expected");
    if std::env::var_os("DRIFTBENCH_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        for (rel, bytes) in &produced {
            let path = expected_dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
    let expected = files_under(&expected_dir);
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&produced),
        names(&expected),
        "the report's files differ from tests/golden/expected/ \
         (after a deliberate change: DRIFTBENCH_BLESS=1 cargo test -p driftbench-report --test report golden)"
    );
    for (rel, bytes) in &produced {
        assert!(
            bytes == &expected[rel],
            "{rel} differs from tests/golden/expected/{rel} at {}\n\
             (after a deliberate change: DRIFTBENCH_BLESS=1 cargo test -p driftbench-report --test report golden)",
            first_difference(bytes, &expected[rel])
        );
    }
}
