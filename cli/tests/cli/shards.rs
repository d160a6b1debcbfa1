//! `sweep --shard K/N`: four shards of the quick sweep hold every pair of the unsharded sweep
//! exactly once, with the same verdicts and metrics, and each shard's journal names its shard
//! and is complete on its own; `auto/N` takes the index from the engine (Slurm, Kubernetes)
//! or says what is missing; `--resume` refuses another shard's folder.

use crate::common::{driftbench, journal, pair_results, root, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `sweep configs/quick.toml --out OUT [extra]`, which must exit 0.
fn sweep(out: &Path, extra: &[&str], env: &[(&str, &str)]) {
    let cfg = root().join("configs/quick.toml");
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut cmd = driftbench(&args);
    cmd.env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", text(&o));
}

#[test]
fn four_shards_hold_every_pair_once_with_the_unsharded_verdicts_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    sweep(&dir.path().join("all"), &[], &[]);
    let whole = pair_results(&dir.path().join("all"));
    let fingerprint = journal(&dir.path().join("all"), "")[0]["origin"]["plan_sha256"].clone();
    assert!(
        fingerprint.is_string(),
        "the header names the plan's fingerprint"
    );
    let mut union = BTreeMap::new();
    for k in 0..4 {
        let out = dir.path().join(format!("s{k}"));
        sweep(&out, &["--shard", &format!("{k}/4")], &[]);
        let header = &journal(&out, "")[0];
        assert_eq!(header["plan"]["shard"]["index"], k, "{header}");
        assert_eq!(header["plan"]["shard"]["count"], 4, "{header}");
        assert_eq!(
            header["origin"]["plan_sha256"], fingerprint,
            "every shard names the whole sweep's plan fingerprint"
        );
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(report["global"], "PASS", "a shard is complete on its own");
        let mine = pair_results(&out);
        assert!(!mine.is_empty(), "shard {k} ran nothing");
        // One model load per (backend, dtype) the shard holds, never more.
        let records = journal(&out, "");
        let loads: Vec<(String, String)> = records
            .iter()
            .filter(|r| r["type"] == "session")
            .map(|r| (r["backend"].to_string(), r["dtype"].to_string()))
            .collect();
        let groups: std::collections::BTreeSet<(String, String)> = records
            .iter()
            .filter(|r| r["type"] == "pair")
            .map(|r| (r["backend"].to_string(), r["dtype"].to_string()))
            .collect();
        assert!(
            loads.len() <= groups.len(),
            "shard {k}: {} model loads for {} (backend, dtype) groups: {loads:?}",
            loads.len(),
            groups.len()
        );
        for (id, got) in mine {
            assert!(
                union.insert(id.clone(), got).is_none(),
                "{id} in two shards"
            );
        }
    }
    assert_eq!(union, whole, "the shards together are the unsharded sweep");
}

#[test]
fn auto_takes_the_engines_index_or_says_which_variables_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    sweep(&dir.path().join("two"), &["--shard", "2/4"], &[]);
    sweep(
        &dir.path().join("slurm"),
        &["--shard", "auto/4"],
        &[("SLURM_ARRAY_TASK_ID", "2")],
    );
    sweep(
        &dir.path().join("k8s"),
        &["--shard", "auto/4"],
        &[("JOB_COMPLETION_INDEX", "2")],
    );
    let two = pair_results(&dir.path().join("two"));
    assert_eq!(
        pair_results(&dir.path().join("slurm"))
            .keys()
            .collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        pair_results(&dir.path().join("k8s"))
            .keys()
            .collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );

    let cfg = root().join("configs/quick.toml");
    let o = driftbench(&["sweep", cfg.to_str().unwrap(), "--shard", "auto/4"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("error: --shard: `auto/4`: no shard index in the environment")
            && t.contains("SLURM_ARRAY_TASK_ID")
            && t.contains("JOB_COMPLETION_INDEX"),
        "{t}"
    );
}

#[test]
fn resume_refuses_the_folder_of_another_shard() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s1");
    sweep(&out, &["--shard", "1/4"], &[]);
    let cfg = root().join("configs/quick.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shard",
        "2/4",
        "--resume",
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("shard"), "{t}");
}
