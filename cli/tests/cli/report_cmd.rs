//! `driftbench report` never calls a journal PASS unless it holds the whole sweep: an empty
//! journal, one without a header, a header alone or a sweep cut short are INCOMPLETE (exit
//! 3, with the reason); a header of an unknown schema is an error (exit 2).

use crate::common;
use common::{driftbench, root, text};
use std::path::Path;

/// The journal lines of a finished, passing flex sweep of configs/ci.toml.
fn passing_journal(dir: &Path) -> Vec<String> {
    let config = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        config.to_str().unwrap(),
        "--backend",
        "flex",
        "--out",
        dir.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `driftbench report` on `lines`: exit code and output.
fn report(lines: &[String]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let mut body = lines.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    std::fs::write(&path, body).unwrap();
    let o = driftbench(&["report", path.to_str().unwrap()])
        .output()
        .unwrap();
    (o.status.code(), text(&o))
}

#[test]
fn report_is_pass_only_for_a_whole_sweep() {
    let sweep = tempfile::tempdir().unwrap();
    let lines = passing_journal(sweep.path());
    let is = |kind: &str| {
        let kind = format!("\"type\":\"{kind}\"");
        move |l: &&String| l.contains(&kind)
    };
    assert!(lines
        .first()
        .is_some_and(|l| l.contains("\"type\":\"sweep\"")));

    let (code, out) = report(&lines);
    assert_eq!(code, Some(0), "the whole sweep passes: {out}");

    let (code, out) = report(&[]);
    assert_eq!(code, Some(3), "empty journal: {out}");
    assert!(out.contains("no sweep header"), "{out}");

    let headerless: Vec<String> = lines[1..].to_vec();
    let (code, out) = report(&headerless);
    assert_eq!(code, Some(3), "no header: {out}");
    assert!(out.contains("no sweep header"), "{out}");

    let (code, out) = report(&lines[..1]);
    assert_eq!(code, Some(3), "header only: {out}");
    assert!(out.contains("no pair was classified"), "{out}");

    // A crashed sweep: the header and the first quarter of the pairs.
    let pairs: Vec<&String> = lines.iter().filter(is("pair")).collect();
    let keep = pairs.len() / 4;
    let last = lines
        .iter()
        .position(|l| std::ptr::eq(l, pairs[keep - 1]))
        .unwrap();
    let (code, out) = report(&lines[..=last]);
    assert_eq!(code, Some(3), "{keep} of {} pairs: {out}", pairs.len());
    assert!(
        out.contains(&format!(
            "{} of {} planned pairs have no verdict",
            pairs.len() - keep,
            pairs.len()
        )),
        "{out}"
    );

    let mut future = lines.clone();
    future[0] = future[0].replace("\"schema_version\":1", "\"schema_version\":99");
    assert_ne!(future[0], lines[0], "the header names its schema");
    let (code, out) = report(&future);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("schema version 99"), "{out}");
}
