//! A host that is ended takes its workers with it. `timeout -k` (as CI scripts use) sends
//! SIGTERM and, later, SIGKILL to driftbench only: on SIGTERM the sweep ends its workers,
//! marks the pair in flight INCOMPLETE and writes its report; on SIGKILL (or any death of the
//! host) each worker notices within a moment and kills its own process group. The plugin
//! here hangs in its model load; the processes left are looked up through /proc by the path
//! of a private copy of the plugin, which only this test's workers carry on their command line.

use crate::common;
use common::{driftbench, journal, library, pairs, text, write_config};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\n\
    kv_aligned = [1]\nseeds = [0]\nopen_timeout_s = 600\n\n[reference]\nnoise_floor = false\n";

/// A private copy of the test plugin: its path names this test's workers.
fn plugin_copy(dir: &Path) -> PathBuf {
    let to = dir.join("libdriftbench_test_plugin_copy.so");
    std::fs::copy(library("driftbench_test_plugin"), &to).unwrap();
    to
}

/// Pids whose command line mentions `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Wait (up to a few seconds) until no process mentions `needle`; fail naming them otherwise.
fn assert_no_process_left(needle: &str) {
    let t0 = Instant::now();
    loop {
        let left = processes_with(needle);
        if left.is_empty() {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "processes left behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `timeout ARGS driftbench CMD…`, with the test plugin hanging in its model load.
fn under_timeout(timeout_args: &[&str], driftbench_args: &[&str]) -> Output {
    let exe = driftbench(&[]).get_program().to_owned();
    let mut c = Command::new("timeout");
    c.args(timeout_args)
        .arg(exe)
        .args(driftbench_args)
        .env_remove("DRIFTBENCH_PLUGIN_PATH")
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", "open-hang");
    c.output().unwrap()
}

#[test]
fn timeout_k_around_a_hung_sweep_leaves_a_report_and_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let lib = plugin_copy(dir.path());
    let cfg = write_config(dir.path(), "c.toml", CONFIG);
    let out = dir.path().join("out");
    let o = under_timeout(
        &["--preserve-status", "-k", "10", "3"],
        &[
            "sweep",
            cfg.to_str().unwrap(),
            "--plugin",
            lib.to_str().unwrap(),
            "--backend",
            "testplugin",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let t = text(&o);
    // 3: INCOMPLETE, written by driftbench itself; 137 would be timeout's SIGKILL.
    assert_eq!(o.status.code(), Some(3), "{t}");
    let recs = journal(&out, &t);
    let p = pairs(&recs, "testplugin");
    assert_eq!(p.len(), 1, "{t}");
    assert_eq!(p[0]["verdict"], "INCOMPLETE", "{t}");
    assert!(
        p[0]["reason"].as_str().unwrap().contains("terminated"),
        "{}",
        p[0]
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("interrupted"), "{md}");
    assert_no_process_left(lib.to_str().unwrap());
}

#[test]
fn a_killed_host_leaves_no_worker_in_sweep_or_run() {
    let dir = tempfile::tempdir().unwrap();
    let lib = plugin_copy(dir.path());
    let cfg = write_config(dir.path(), "c.toml", CONFIG);
    let l = lib.to_str().unwrap();
    let out = dir.path().join("out");
    let sweep = [
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        l,
        "--backend",
        "testplugin",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = [
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--plugin",
        l,
        "--backend",
        "testplugin",
        "--span",
        "3",
    ];
    for (args, signal) in [(&sweep[..], "KILL"), (&run[..], "KILL"), (&run[..], "TERM")] {
        let o = under_timeout(&["-s", signal, "2"], args);
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
        assert_no_process_left(l);
    }
}
