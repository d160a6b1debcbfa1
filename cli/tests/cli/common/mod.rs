//! Helpers shared by the CLI tests: the built binary and plugin libraries.

// Each test binary uses a different subset of these.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The folder cargo put the binary and the plugin libraries in (`target/debug`).
pub fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_driftbench"))
        .parent()
        .expect("binary folder")
        .to_path_buf()
}

/// A built cdylib of this workspace, e.g. `driftbench_backend_flex`.
pub fn library(stem: &str) -> PathBuf {
    let file = format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let p = artifacts().join(&file);
    assert!(
        p.is_file(),
        "{} not built: run `cargo build --workspace` before the tests (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `driftbench ARGS` with a clean plugin environment. Backend caches (compiled kernels,
/// autotune results) go to a folder in the build tree, not the user's home.
pub fn driftbench(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftbench"));
    c.args(args)
        .env_remove("DRIFTBENCH_PLUGIN_PATH")
        .env_remove("DRIFTBENCH_TEST_PLUGIN_MODE")
        .env(
            "DRIFTBENCH_CACHE_DIR",
            artifacts().join("driftbench-test-cache"),
        );
    c
}

/// Write `text` as `name` in `dir` and return its path.
pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// stdout + stderr as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The records of the journal `results.jsonl` in `dir`; `context` (the command's output) is
/// shown when there is none.
pub fn journal(dir: &Path, context: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no journal in {} ({e}); output:\n{context}", dir.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a journal line is JSON"))
        .collect()
}

/// The pair records of `backend`.
pub fn pairs<'a>(recs: &'a [Value], backend: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["type"] == "pair" && r["backend"] == backend)
        .collect()
}

/// `driftbench sweep CONFIG --plugin LIB --backend testplugin,flex --out OUT`: the test
/// plugin beside the real flex, as the isolation, hostile and resume tests run them.
pub fn plugin_sweep(config: &Path, lib: &Path, out: &Path) -> Command {
    driftbench(&[
        "sweep",
        config.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin,flex",
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Sweep a plugin built outside the workspace (`lib`, backend `name`) beside flex on the
/// synthetic model of `model_toml` with `dtypes` (its own dtype first, then one it lacks),
/// check the sweep passes, that the plugin's pairs in `own` pass and the others are
/// SKIPPED with `reason`, and return its cross-backend records against flex.
pub fn sweep_beside_flex(
    dir: &Path,
    lib: &Path,
    name: &str,
    model_toml: &str,
    own: &str,
    lacks: &str,
    reason: &str,
) -> Vec<Value> {
    let cfg = write_config(
        dir,
        "beside-flex.toml",
        &format!(
            "{model_toml}\n[sweep]\nspans = [8, 33]\ndtypes = [\"{own}\", \"{lacks}\"]\n\
             kv_aligned = [0, 1]\nseeds = [0, 1]\nblock_size = 16\n\
             [reference]\nbackend = \"flex\"\n"
        ),
    );
    let out = dir.join("out");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        &format!("{name},flex"),
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let recs = journal(&out, &t);
    let mine = pairs(&recs, name);
    assert_eq!(mine.len(), 16, "every pair of {name} is journaled: {t}");
    for p in &mine {
        let v = p["verdict"].as_str().unwrap();
        if p["dtype"] == own {
            // Both routes of one implementation: equivalent, or drift within the envelope.
            assert!(v == "PASS_EQUIV" || v == "EXPECTED_DRIFT", "{p}");
        } else {
            // The probe says the dtype is missing, with its reason.
            assert_eq!(v, "SKIPPED", "{p}");
            assert!(p["reason"].as_str().unwrap().contains(reason), "{p}");
        }
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains(&format!("## Backend: {name}")), "{report}");
    let cross: Vec<Value> = recs
        .into_iter()
        .filter(|r| r["type"] == "cross" && r["backend"] == name)
        .collect();
    assert_eq!(
        cross.len(),
        16,
        "both routes of all 8 {own} cells against flex: {t}"
    );
    for r in &cross {
        assert_eq!(r["reference"], "flex", "{r}");
    }
    cross
}

/// Run `cmd` and fail (after killing it) if it has not exited within `limit`: a command that
/// opens a FIFO would otherwise hang the test suite.
pub fn output_within(cmd: Command, limit: Duration) -> Output {
    output_within_or(cmd, limit, || "driftbench hangs".to_string())
}

/// [`output_within`], whose panic shows `context()` (what the command was waiting for).
pub fn output_within_or(mut cmd: Command, limit: Duration, context: impl Fn() -> String) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}\n{}", context());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Pair identity (backend, dtype, span, kv_aligned, seed) → (verdict, metrics) of the
/// journal in `dir`.
pub fn pair_results(dir: &Path) -> std::collections::BTreeMap<String, (Value, Value)> {
    journal(dir, "")
        .into_iter()
        .filter(|r| r["type"] == "pair")
        .map(|r| {
            let id = format!(
                "{} {} {} {} {}",
                r["backend"], r["dtype"], r["span"], r["kv_aligned"], r["seed"]
            );
            (id, (r["verdict"].clone(), r["metrics"].clone()))
        })
        .collect()
}

/// How long a command that must not hang may take in the tests.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Make a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}
