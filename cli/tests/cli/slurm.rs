//! Slurm for real: a one-node cluster (`scripts/slurm-local.sh`) runs the recipe users copy,
//! `examples/cluster/slurm-shards.sbatch` as a four-task job array, then
//! `examples/cluster/slurm-merge.sbatch`; the merged journal holds the unsharded sweep's pairs
//! with the same verdicts and metrics, and the merged report passes.
//!
//! It needs root and the Debian packages slurm-wlm and munge; without them, or where the
//! cluster does not come up, it says SKIPPED, unless `DRIFTBENCH_REQUIRE_SLURM=1` (CI), where
//! that is a failure.

use crate::common::{artifacts, driftbench, journal, output_within_or, pair_results, root, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long one `sbatch --wait` may take before the test gives up on the cluster.
const JOB_LIMIT: Duration = Duration::from_secs(90);

/// The shards of the array and its label (the folder under RESULTS).
const SHARDS: usize = 4;
const LABEL: &str = "localhost";

/// The running cluster; dropping it stops it, also when the test panics.
struct Cluster {
    state: PathBuf,
}

impl Cluster {
    fn conf(&self) -> PathBuf {
        self.state.join("slurm.conf")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("scripts/slurm-local.sh"))
            .arg("stop")
            .arg(&self.state)
            .status();
    }
}

/// `name` on PATH or in the sbin folders, where the daemons are and a user's PATH may not go.
fn found(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|d| d.join(name).is_file())
}

/// The cluster started in `state`, or why it cannot be.
fn start(state: &Path) -> Result<Cluster, String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("`id -u`: {e}"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root (the cluster's daemons and jobs run as root)".into());
    }
    for b in ["sbatch", "sinfo", "slurmctld", "slurmd", "munged"] {
        if !found(b) {
            return Err(format!(
                "no `{b}` (Debian: apt-get install slurm-wlm munge)"
            ));
        }
    }
    // The guard first, so that whatever part of it did start is stopped.
    let cluster = Cluster {
        state: state.to_path_buf(),
    };
    // Ports of this process's own, below the ephemeral range, so that two test runs on one
    // machine do not meet.
    let port = 20000 + 2 * (std::process::id() % 5000);
    let o = Command::new("bash")
        .arg(root().join("scripts/slurm-local.sh"))
        .arg("start")
        .arg(state)
        .env("SLURM_LOCAL_CTLD_PORT", port.to_string())
        .env("SLURM_LOCAL_SLURMD_PORT", (port + 1).to_string())
        .output()
        .map_err(|e| format!("scripts/slurm-local.sh: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "scripts/slurm-local.sh start failed:\n{}",
            text(&o)
        ));
    }
    Ok(cluster)
}

/// What to show when a job fails: the queue and the jobs' own output files in `work`.
fn job_logs(conf: &Path, work: &Path) -> String {
    let mut s = String::new();
    if let Ok(o) = Command::new("squeue").env("SLURM_CONF", conf).output() {
        s += &format!("squeue:\n{}", text(&o));
    }
    let mut outs: Vec<PathBuf> = std::fs::read_dir(work)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    outs.retain(|p| p.extension().is_some_and(|x| x == "out"));
    outs.sort();
    for p in outs {
        let t = std::fs::read_to_string(&p).unwrap_or_default();
        s += &format!("--- {}:\n{t}\n", p.display());
    }
    s
}

/// `sbatch --wait ARGS RECIPE` from `work`, the recipe reading its settings from the
/// environment as users give them; it must exit 0 (every array task exited 0).
fn submit(cluster: &Cluster, work: &Path, results: &Path, args: &[&str], recipe: &str) {
    let mut cmd = Command::new("sbatch");
    cmd.current_dir(work)
        .arg("--wait")
        .args(args)
        .arg(root().join("examples/cluster").join(recipe))
        .env("SLURM_CONF", cluster.conf())
        .env("DRIFTBENCH", env!("CARGO_BIN_EXE_driftbench"))
        .env("CONFIG", root().join("configs/quick.toml"))
        .env("SHARDS", SHARDS.to_string())
        .env("RESULTS", results)
        .env("LABEL", LABEL)
        // As `common::driftbench` runs the binary: no plugins from the environment, caches in
        // the build tree.
        .env_remove("DRIFTBENCH_PLUGIN_PATH")
        .env_remove("DRIFTBENCH_TEST_PLUGIN_MODE")
        .env(
            "DRIFTBENCH_CACHE_DIR",
            artifacts().join("driftbench-test-cache"),
        );
    let logs = || job_logs(&cluster.conf(), work);
    let o = output_within_or(cmd, JOB_LIMIT, logs);
    assert!(
        o.status.success(),
        "sbatch {recipe}: {}\n{}",
        text(&o),
        logs()
    );
}

/// Pair identity → (verdict, metrics) of the journal in `dir`, and how many pair records it has.
fn pairs(dir: &Path) -> (BTreeMap<String, (Value, Value)>, usize) {
    let n = journal(dir, "")
        .iter()
        .filter(|r| r["type"] == "pair")
        .count();
    (pair_results(dir), n)
}

#[test]
fn the_slurm_recipes_shard_a_sweep_over_a_job_array_and_merge_it_into_the_unsharded_one() {
    for f in [
        "scripts/slurm-local.sh",
        "examples/cluster/slurm-shards.sbatch",
        "examples/cluster/slurm-merge.sbatch",
        "examples/cluster/slurm-submit.sh",
    ] {
        let o = Command::new("bash")
            .arg("-n")
            .arg(root().join(f))
            .output()
            .unwrap();
        assert!(o.status.success(), "bash -n {f}: {}", text(&o));
    }

    let dir = tempfile::tempdir().unwrap();
    let cluster = match start(&dir.path().join("slurm")) {
        Ok(c) => c,
        Err(why) if std::env::var("DRIFTBENCH_REQUIRE_SLURM").as_deref() == Ok("1") => {
            panic!("DRIFTBENCH_REQUIRE_SLURM=1 but no Slurm cluster: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED slurm test: {why}");
            return;
        }
    };
    let work = dir.path().join("work");
    let results = dir.path().join("results");
    std::fs::create_dir_all(&work).unwrap();

    let t0 = Instant::now();
    // This node has no GPU: `--gres=none` clears the recipe's `#SBATCH --gres=gpu:1` (the
    // command line wins over #SBATCH lines), and no --constraint picks a GPU kind.
    let array = format!("--array=0-{}", SHARDS - 1);
    submit(
        &cluster,
        &work,
        &results,
        &[&array, "--gres=none"],
        "slurm-shards.sbatch",
    );
    let logs = || job_logs(&cluster.conf(), &work);
    for k in 0..SHARDS {
        let shard = results.join(LABEL).join(format!("shard-{k}"));
        let header = &journal(&shard, &logs())[0];
        assert_eq!(header["plan"]["shard"]["index"], k, "{header}");
        assert_eq!(header["plan"]["shard"]["count"], SHARDS, "{header}");
    }
    submit(&cluster, &work, &results, &[], "slurm-merge.sbatch");
    eprintln!(
        "slurm: {SHARDS}-task array and merge job, submitted and waited for, in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    drop(cluster);

    let merged = results.join("merged");
    for f in ["results.jsonl", "report.json", "report.md"] {
        assert!(merged.join(f).is_file(), "no {f} in the merged folder");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["global"], "PASS", "the merged report");

    let all = dir.path().join("all");
    let cfg = root().join("configs/quick.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--machine-label",
        LABEL,
        "--out",
        all.to_str().unwrap(),
    ])
    .env_remove("SLURM_ARRAY_TASK_ID")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (whole, n_whole) = pairs(&all);
    let (got, n_got) = pairs(&merged);
    assert_eq!(n_got, got.len(), "a pair journaled twice in the merge");
    assert_eq!(n_whole, whole.len());
    assert_eq!(got, whole, "the merged shards are the unsharded sweep");
}
