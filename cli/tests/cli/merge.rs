//! `driftbench merge`: shards joined into the unsharded sweep's pairs, verdicts and metrics,
//! byte-identical whatever the order and when merged again; a missing shard is INCOMPLETE and
//! named; another plan is refused naming the difference; the same run with other logits is
//! not reproducible; two machine labels give a cross-machine table whose approximate figures
//! stand against the exact ones; plugin files that differ are said; a merged report is diff's
//! OLD and NEW.

use crate::common::{driftbench, library, pair_results, root, text, write_config};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `driftbench sweep CONFIG --out OUT [extra]`; its output, which must exit with `code`.
fn sweep(cfg: &Path, out: &Path, extra: &[&str], mode: Option<&str>, code: i32) -> Output {
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
    if let Some(m) = mode {
        cmd.env("DRIFTBENCH_TEST_PLUGIN_MODE", m);
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(code), "{extra:?}: {}", text(&o));
    o
}

/// `driftbench merge INPUTS --out OUT`: exit code and output.
fn merge(inputs: &[&Path], out: &Path) -> (Option<i32>, String) {
    let mut args = vec!["merge"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    let o = driftbench(&args).output().unwrap();
    (o.status.code(), text(&o))
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&read(&dir.join("report.json"))).unwrap()
}

/// The quick sweep, unsharded and as four shards, under `dir`.
fn quick_shards(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let cfg = root().join("configs/quick.toml");
    let all = dir.join("all");
    sweep(&cfg, &all, &[], None, 0);
    let shards = (0..4)
        .map(|k| {
            let out = dir.join(format!("s{k}"));
            sweep(&cfg, &out, &["--shard", &format!("{k}/4")], None, 0);
            out
        })
        .collect();
    (all, shards)
}

#[test]
fn shards_merge_into_the_unsharded_sweep_in_any_order_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let (all, s) = quick_shards(dir.path());
    let one = dir.path().join("m1");
    let (code, out) = merge(&[&s[0], &s[1], &s[2], &s[3]], &one);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        pair_results(&one),
        pair_results(&all),
        "the same pairs, verdicts and metrics"
    );
    assert_eq!(report(&one)["global"], "PASS");

    let two = dir.path().join("m2");
    let (code, out) = merge(&[&s[3], &s[1], &s[0], &s[2]], &two);
    assert_eq!(code, Some(0), "{out}");
    for f in ["results.jsonl", "report.json", "report.md"] {
        assert!(
            read(&one.join(f)) == read(&two.join(f)),
            "{f} depends on the order of the inputs"
        );
    }

    // Identical duplicates collapse; a merge merged again with one of its sources is itself.
    let three = dir.path().join("m3");
    let (code, out) = merge(&[&one, &s[1], &s[1]], &three);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        read(&one.join("results.jsonl")) == read(&three.join("results.jsonl")),
        "merge(merge(A, B), B) is merge(A, B)"
    );
    assert!(out.contains("collapsed"), "{out}");

    // A merged report is diff's OLD and NEW.
    let o = driftbench(&[
        "diff",
        one.join("report.json").to_str().unwrap(),
        all.join("report.json").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = driftbench(&[
        "diff",
        all.join("report.json").to_str().unwrap(),
        two.join("report.json").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_missing_shard_is_incomplete_and_named_and_another_plan_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/quick.toml");
    let mut s = Vec::new();
    for k in [0, 1, 3] {
        let out = dir.path().join(format!("s{k}"));
        sweep(&cfg, &out, &["--shard", &format!("{k}/4")], None, 0);
        s.push(out);
    }
    let merged = dir.path().join("merged");
    let (code, out) = merge(&[&s[0], &s[1], &s[2]], &merged);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("shard 2/4 on "), "{out}");
    let r = report(&merged);
    assert_eq!(r["global"], "INCOMPLETE");
    assert!(
        r["gaps"].to_string().contains("shard 2/4 on "),
        "{}",
        r["gaps"]
    );

    // Shard 2 of another config (other seeds) is refused, the difference named.
    let text_cfg = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("seeds = [0, 1]", "seeds = [0, 2]");
    assert!(
        text_cfg.contains("seeds = [0, 2]"),
        "quick.toml changed: update this test"
    );
    let other = write_config(dir.path(), "other.toml", &text_cfg);
    let s2 = dir.path().join("other-s2");
    sweep(&other, &s2, &["--shard", "2/4"], None, 0);
    let refused = dir.path().join("refused");
    let (code, out) = merge(&[&s[0], &s[1], &s2, &s[2]], &refused);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("another sweep")
            && out.contains("seeds: [0,1] in ")
            && out.contains("[0,2] in "),
        "{out}"
    );
    assert!(!refused.join("results.jsonl").exists(), "nothing written");
}

/// A test-plugin sweep of spans 2 and 3 (f32, aligned cache, seed 0) as `machine`.
fn plugin_sweep(dir: &Path, name: &str, machine: &str, mode: &str, code: i32) -> PathBuf {
    let cfg = write_config(
        dir,
        "plugin.toml",
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\n\
         ffn = 16\nvocab = 11\n\n[sweep]\nspans = [2, 3]\ndtypes = [\"f32\"]\nkv_aligned = [1]\n\
         seeds = [0]\n\n[reference]\nnoise_floor = false\n",
    );
    let lib = library("driftbench_test_plugin");
    let out = dir.join(name);
    sweep(
        &cfg,
        &out,
        &[
            "--plugin",
            lib.to_str().unwrap(),
            "--backend",
            "testplugin",
            "--machine-label",
            machine,
        ],
        Some(mode),
        code,
    );
    out
}

#[test]
fn the_same_run_with_other_logits_on_one_machine_is_not_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let a = plugin_sweep(dir.path(), "a", "node1", "ok", 0);
    let b = plugin_sweep(dir.path(), "b", "node1", "perturb-odd-spans", 1);
    let merged = dir.path().join("merged");
    let (code, out) = merge(&[&a, &b], &merged);
    assert_eq!(code, Some(3), "{out}");
    let r = report(&merged);
    let gaps = r["gaps"].to_string();
    assert!(
        gaps.contains("not reproducible")
            && gaps.contains("testplugin f32 span 3")
            && gaps.contains("decode run"),
        "{gaps}"
    );
    assert!(!gaps.contains("span 2 "), "span 2 reproduced: {gaps}");
    let pairs = r["backends"][0]["comparisons"].as_array().unwrap();
    let verdict = |span: u64| {
        pairs
            .iter()
            .find(|p| p["span"] == span)
            .map(|p| p["verdict"].clone())
            .unwrap()
    };
    assert_eq!(verdict(3), "INCOMPLETE", "{pairs:?}");
    assert_eq!(verdict(2), "PASS_EQUIV", "{pairs:?}");
}

#[test]
fn two_machines_give_a_cross_machine_table_whose_approximations_bound_the_exact_figures() {
    let dir = tempfile::tempdir().unwrap();
    let a = plugin_sweep(dir.path(), "a", "gpu-a", "ok", 0);
    let b = plugin_sweep(dir.path(), "b", "gpu-b", "perturb-odd-spans", 1);
    let merged = dir.path().join("merged");
    let (code, out) = merge(&[&b, &a], &merged);
    assert_eq!(code, Some(1), "gpu-b's span 3 fails: {out}");
    let r = report(&merged);
    let names: Vec<&str> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["testplugin@gpu-a", "testplugin@gpu-b"], "two rows");
    let across = &r["merge"]["across"];
    assert_eq!(across["reference"], "gpu-a");
    let differing = across["differing"].as_array().unwrap();
    assert_eq!(differing.len(), 1, "one run differs: {differing:?}");
    let d = &differing[0];
    assert_eq!(
        (&d["span"], &d["route"], &d["machine"]),
        (
            &Value::from(3),
            &Value::from("decode"),
            &Value::from("gpu-b")
        ),
        "{d}"
    );
    let summary = across["summary"].as_array().unwrap();
    let row = |route: &str| summary.iter().find(|s| s["route"] == route).unwrap();
    assert_eq!(
        (&row("prefill")["runs"], &row("prefill")["identical"]),
        (&Value::from(2), &Value::from(2))
    );
    assert_eq!(
        (&row("decode")["runs"], &row("decode")["identical"]),
        (&Value::from(2), &Value::from(1))
    );

    // gpu-a's decode is its prefill, bit for bit, and gpu-b's prefill is gpu-a's: so gpu-b's
    // own pair metrics at span 3 are the exact figures of gpu-b's decode against gpu-a's.
    let exact = r["backends"][1]["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["span"] == 3)
        .unwrap()["metrics"]
        .clone();
    let m = &d["metrics"];
    let f = |v: &Value| v.as_f64().unwrap();
    assert_eq!(
        m["top1_agreement"], exact["top1_agreement"],
        "top-1 is exact"
    );
    assert!(f(&m["max_abs_topk"]) > 0.0);
    assert!(
        f(&m["max_abs_topk"]) <= f(&exact["max_abs_diff"]),
        "{m} vs {exact}"
    );
    assert!(
        f(&m["kl_mean_approx"]) <= f(&exact["kl_mean"]) * (1.0 + 1e-9),
        "{m} vs {exact}"
    );
    let md = String::from_utf8(read(&merged.join("report.md"))).unwrap();
    assert!(
        md.contains("## Across Machines") && md.contains("testplugin on gpu-b vs gpu-a"),
        "{md}"
    );
    bmf_has_bencher_shape(&merged, &exact);
}

/// `report --format bmf` of the two-machine merge: one Bencher Metric Format file per
/// machine label (testbed), one benchmark per pair, measures with numeric values.
fn bmf_has_bencher_shape(merged: &Path, exact_b3: &Value) {
    let o = driftbench(&[
        "report",
        merged.join("results.jsonl").to_str().unwrap(),
        "--format",
        "bmf",
    ])
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "the verdict's exit code: {}",
        text(&o)
    );
    let mut files: Vec<String> = std::fs::read_dir(merged.join("bmf"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["gpu-a.json", "gpu-b.json"],
        "one testbed per machine"
    );
    for f in &files {
        let doc: Value = serde_json::from_slice(&read(&merged.join("bmf").join(f))).unwrap();
        let benches = doc.as_object().expect("an object of benchmarks");
        let names: Vec<&String> = benches.keys().collect();
        assert_eq!(
            names,
            [
                "testplugin f32 span 2 kv_aligned 1 seed 0",
                "testplugin f32 span 3 kv_aligned 1 seed 0"
            ],
            "{f}: one benchmark per pair, without the machine"
        );
        for (name, measures) in benches {
            let measures = measures.as_object().expect("an object of measures");
            for slug in [
                "prefill-wall-time-s",
                "decode-wall-time-s",
                "max-abs-diff",
                "kl-mean",
                "top1-agreement",
            ] {
                let m = &measures[slug];
                let v = m["value"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{f} {name} {slug}: {m}"));
                if let (Some(lo), Some(hi)) = (m["lower_value"].as_f64(), m["upper_value"].as_f64())
                {
                    assert!(lo <= v && v <= hi, "{f} {name} {slug}: {m}");
                }
            }
            assert!(
                measures.keys().all(|k| k.len() <= 64),
                "measure slugs fit Bencher's 64"
            );
        }
    }
    let b: Value = serde_json::from_slice(&read(&merged.join("bmf/gpu-b.json"))).unwrap();
    assert_eq!(
        b["testplugin f32 span 3 kv_aligned 1 seed 0"]["max-abs-diff"]["value"],
        exact_b3["max_abs_diff"],
        "the pair's own metric"
    );
}

#[test]
fn plugin_files_that_differ_by_hash_are_said_in_the_merged_report() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/quick.toml");
    let s0 = dir.path().join("s0");
    sweep(&cfg, &s0, &["--shard", "0/2"], None, 0);
    // Another build of the cpu plugin: the same library with one byte more at its end.
    let lib = library("driftbench_backend_cpu");
    let other = dir.path().join("other-build");
    std::fs::create_dir_all(&other).unwrap();
    let mut bytes = read(&lib);
    bytes.push(0);
    std::fs::write(other.join(lib.file_name().unwrap()), bytes).unwrap();
    let s1 = dir.path().join("s1");
    sweep(
        &cfg,
        &s1,
        &[
            "--shard",
            "1/2",
            "--plugin",
            other.join(lib.file_name().unwrap()).to_str().unwrap(),
        ],
        None,
        0,
    );
    let merged = dir.path().join("merged");
    let (code, out) = merge(&[&s0, &s1], &merged);
    assert_eq!(code, Some(0), "{out}");
    let md = String::from_utf8(read(&merged.join("report.md"))).unwrap();
    assert!(
        md.contains("Plugin files differ between sources")
            && md.contains("cpu: the plugin file differs between sources"),
        "{md}"
    );
}
