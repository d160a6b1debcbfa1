//! Worker-process isolation: a backend that aborts, segfaults, is SIGKILLed or hangs costs
//! only its own runs (INCOMPLETE, with the reason), and the sweep finishes with the other
//! backends' results intact.

use crate::common;
use common::{driftbench, journal, library, pairs, plugin_sweep, root, text};
use serde_json::Value;

fn sweep(mode: &str, config: &std::path::Path) -> (Option<i32>, Vec<Value>, String) {
    let out = tempfile::tempdir().unwrap();
    let lib = library("driftbench_test_plugin");
    let o = plugin_sweep(config, &lib, out.path())
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
    let recs = journal(out.path(), &text(&o));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap_or_default();
    (o.status.code(), recs, md)
}

fn check_crash(mode: &str, reason: &str) {
    let (code, recs, md) = sweep(mode, &root().join("configs/ci.toml"));
    assert_eq!(code, Some(3), "INCOMPLETE exits 3");
    let t = pairs(&recs, "testplugin");
    assert_eq!(
        t.len(),
        12,
        "every pair of the crashing backend is recorded"
    );
    for p in &t {
        assert_eq!(p["verdict"], "INCOMPLETE", "{p}");
        let why = p["reason"].as_str().unwrap();
        assert!(why.contains(reason), "`{reason}` not in `{why}`");
    }
    // Prefill runs still succeed: each crash cost one worker, and a fresh one took over.
    let ok_prefills = recs
        .iter()
        .filter(|r| {
            r["type"] == "run"
                && r["backend"] == "testplugin"
                && r["route"] == "prefill"
                && r["status"] == "ok"
        })
        .count();
    assert_eq!(ok_prefills, 12);
    let f = pairs(&recs, "flex");
    assert_eq!(f.len(), 12);
    assert!(
        f.iter()
            .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"),
        "flex results intact"
    );
    assert!(md.contains(reason), "the reason reaches the report");
}

#[test]
fn abort_costs_only_its_runs() {
    check_crash("abort", "SIGABRT");
}

#[test]
fn segfault_costs_only_its_runs() {
    check_crash("segfault", "SIGSEGV");
}

#[test]
fn sigkill_mid_sweep_costs_only_its_runs() {
    check_crash("sigkill", "SIGKILL");
}

#[test]
fn a_hang_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hang.toml");
    std::fs::write(
        &cfg,
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\nkv_heads = 1\nffn = 32\nvocab = 32\n\
         [sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\nwarmup = false\ntimeout_s = 1.5\n",
    )
    .unwrap();
    let (code, recs, _) = sweep("hang", &cfg);
    assert_eq!(code, Some(3));
    let t = pairs(&recs, "testplugin");
    assert_eq!(t[0]["verdict"], "INCOMPLETE");
    assert!(
        t[0]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 1.5s"),
        "{}",
        t[0]
    );
    assert_eq!(pairs(&recs, "flex")[0]["verdict"], "PASS_EQUIV");
}

#[test]
fn in_process_mode_still_runs() {
    let out = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--in-process",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        md.contains("in process"),
        "the report says how the backend ran"
    );
}

/// PIDs of the `driftbench worker` children of `parent` whose command line mentions `needle`.
#[cfg(target_os = "linux")]
fn workers_of(parent: u32, needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised command name: state, then the parent PID.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if ppid == Some(parent) && cmd.contains(" worker ") && cmd.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

#[cfg(target_os = "linux")]
#[test]
fn sigkill_from_outside_mid_sweep_costs_only_that_workers_run() {
    let out = tempfile::tempdir().unwrap();
    let cfg = out.path().join("slow.toml");
    std::fs::write(
        &cfg,
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\nkv_heads = 1\nffn = 32\nvocab = 32\n\
         [sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [0, 1]\nseeds = [0, 1, 2, 3, 4, 5]\nwarmup = false\n",
    )
    .unwrap();
    let lib = library("driftbench_test_plugin");
    let stderr = std::fs::File::create(out.path().join("stderr.txt")).unwrap();
    let mut child = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "flex,testplugin",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", "slow")
    .stdout(std::process::Stdio::null())
    .stderr(stderr)
    .spawn()
    .unwrap();
    // Wait for the test plugin's first measured run, then kill its worker as an OOM killer
    // would: it is in (or about to start) a 150 ms decode.
    let journal_file = out.path().join("results.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let killed = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the test plugin never ran"
        );
        let started = std::fs::read_to_string(&journal_file)
            .unwrap_or_default()
            .contains("\"backend\":\"testplugin\",\"span\"");
        let pids = workers_of(child.id(), "driftbench_test_plugin");
        if started && !pids.is_empty() {
            let ok = std::process::Command::new("kill")
                .args(["-KILL", &pids[0].to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill -KILL {}", pids[0]);
            break pids[0];
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(out.path().join("stderr.txt")).unwrap();
    assert_eq!(status.code(), Some(3), "INCOMPLETE exits 3:\n{log}");
    let recs = journal(out.path(), &log);
    let t = pairs(&recs, "testplugin");
    assert_eq!(t.len(), 12, "the sweep finished every pair");
    let lost: Vec<&&Value> = t.iter().filter(|p| p["verdict"] == "INCOMPLETE").collect();
    assert_eq!(lost.len(), 1, "only the killed worker's run is lost: {t:?}");
    assert!(
        lost[0]["reason"].as_str().unwrap().contains("SIGKILL"),
        "{}",
        lost[0]
    );
    assert!(
        t.iter()
            .filter(|p| p["verdict"] != "INCOMPLETE")
            .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"),
        "a fresh worker ran the rest"
    );
    let f = pairs(&recs, "flex");
    assert_eq!(f.len(), 12);
    assert!(f
        .iter()
        .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"));
    eprintln!("killed worker {killed}; lost: {}", lost[0]["reason"]);
}

#[test]
fn a_discovered_plugin_of_the_wrong_abi_costs_only_its_pairs() {
    // Found through DRIFTBENCH_PLUGIN_PATH under a plugin's name, not given with --plugin:
    // the sweep goes on without it and says why.
    let dir = tempfile::tempdir().unwrap();
    let name = format!(
        "{}driftbench_backend_stale{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    std::fs::copy(library("driftbench_test_plugin"), dir.path().join(name)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--backend",
        "flex,stale",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .env("DRIFTBENCH_PLUGIN_PATH", dir.path())
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", "wrong-abi")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let recs = journal(out.path(), &text(&o));
    let s = pairs(&recs, "stale");
    assert_eq!(s.len(), 12);
    for p in &s {
        assert_eq!(p["verdict"], "INCOMPLETE");
        let why = p["reason"].as_str().unwrap();
        assert!(
            why.contains("incompatible plugin ABI") && why.contains("v2.0"),
            "{why}"
        );
    }
    let f = pairs(&recs, "flex");
    assert_eq!(f.len(), 12);
    assert!(f
        .iter()
        .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("Backend: stale") && md.contains("incompatible plugin ABI"));
}

#[test]
fn a_panic_that_aborts_is_reported_by_its_message_not_rusts_notes() {
    let out = tempfile::tempdir().unwrap();
    let lib = library("driftbench_test_plugin");
    // With a backtrace on, as CI runners often have it: its lines must not be the reason.
    let o = plugin_sweep(&root().join("configs/ci.toml"), &lib, out.path())
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", "panic-abort")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    let recs = journal(out.path(), &t);
    for p in pairs(&recs, "testplugin") {
        let why = p["reason"].as_str().unwrap();
        assert!(
            why.contains("killed by signal 6 (SIGABRT)")
                && why.contains(
                    "last stderr: test plugin panics where it cannot unwind (panicked at"
                ),
            "{why}"
        );
        assert!(!why.contains("RUST_BACKTRACE"), "{why}");
    }
}
