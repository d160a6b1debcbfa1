//! One sweep at a time per output folder: a second sweep into a folder another is writing
//! into is refused, naming the folder, and the first sweep's journal and report are intact.

use crate::common;
use common::{driftbench, journal, library, pairs, text, write_config};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3, 5]\ndtypes = [\"f32\"]\n\
    kv_aligned = [0, 1]\nseeds = [0, 1]\n";

fn sweep(cfg: &Path, out: &Path, resume: bool) -> Command {
    let lib = library("driftbench_test_plugin");
    let mut c = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin",
        "--out",
        out.to_str().unwrap(),
    ]);
    if resume {
        c.arg("--resume");
    }
    // Every decode takes 150 ms more: the first sweep is still running when the second starts.
    c.env("DRIFTBENCH_TEST_PLUGIN_MODE", "slow");
    c
}

/// Wait until the first sweep has journaled a pair (it holds the folder by then).
fn wait_for_a_pair(first: &mut Child, out: &Path) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(120) {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first sweep ended too soon"
        );
        let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap_or_default();
        if text.contains("\"type\":\"pair\"") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the first sweep journaled no pair");
}

#[test]
fn a_second_sweep_into_a_folder_in_use_is_refused_and_the_first_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c.toml", CONFIG);
    let out = dir.path().join("out");
    let mut first = sweep(&cfg, &out, false)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_a_pair(&mut first, &out);
    for resume in [false, true] {
        let second = sweep(&cfg, &out, resume).output().unwrap();
        let t = text(&second);
        assert_eq!(second.status.code(), Some(2), "resume {resume}: {t}");
        assert!(
            t.contains("another driftbench sweep is writing into")
                && t.contains(&out.display().to_string()),
            "resume {resume}: {t}"
        );
    }
    let first = first.wait_with_output().unwrap();
    let t = text(&first);
    assert_eq!(first.status.code(), Some(0), "{t}");
    let recs = journal(&out, &t);
    assert_eq!(
        recs.iter().filter(|r| r["type"] == "sweep").count(),
        1,
        "{t}"
    );
    assert_eq!(pairs(&recs, "testplugin").len(), 8, "{t}");
    assert!(out.join("report.md").is_file(), "{t}");
    // The folder is free again: a resumed sweep finds everything done.
    let again = sweep(&cfg, &out, true).output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}
