//! The GPU plugins on whatever this machine has: wgpu on its adapter (Mesa's lavapipe in CI),
//! cuda on a CUDA device or, without a driver, SKIPPED for every run. One sweep over
//! flex, wgpu and cuda gives one unified report.
//!
//! CI sets `DRIFTBENCH_REQUIRE_WGPU=1` after installing lavapipe, so a missing adapter fails
//! there instead of being reported as skipped.

use crate::common;
use common::{driftbench, journal, pairs, text};
use serde_json::Value;

fn wgpu_required() -> bool {
    std::env::var_os("DRIFTBENCH_REQUIRE_WGPU").is_some_and(|v| v == "1")
}

/// The lines of `listing` (a comfy-table) in rows whose first cell is `backend`.
fn rows_of(listing: &str, backend: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in listing.lines() {
        let first = line
            .trim_start_matches(['|', '│', '┆'])
            .split(['|', '│', '┆'])
            .next();
        let first = first.map(str::trim).unwrap_or("");
        if line.starts_with(['+', '╞', '├', '└', '╰', '┌', '╭', '=']) {
            inside = false;
            continue;
        }
        if !first.is_empty() {
            inside = first == backend;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn plugins_lists_flex_wgpu_and_cuda_with_their_dtypes() {
    // Wide enough that no cell wraps: the rows are read as text.
    let o = driftbench(&["plugins"])
        .env("COLUMNS", "400")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let flex = rows_of(&t, "flex");
    assert!(
        flex.contains("f32") && flex.contains("bf16"),
        "flex row:\n{t}"
    );
    let wgpu = rows_of(&t, "wgpu");
    assert!(!wgpu.is_empty(), "wgpu listed:\n{t}");
    if wgpu.contains("no wgpu adapter found") {
        assert!(
            !wgpu_required(),
            "DRIFTBENCH_REQUIRE_WGPU=1 but no adapter:\n{t}"
        );
        eprintln!("wgpu part skipped: no wgpu adapter on this machine (install mesa-vulkan-drivers libvulkan1)");
    } else {
        assert!(wgpu.contains("f32"), "wgpu dtypes:\n{wgpu}");
        assert!(
            wgpu.contains("no bf16"),
            "wgpu says why bf16 is missing:\n{wgpu}"
        );
        if wgpu.contains("llvmpipe") || wgpu.contains("lavapipe") {
            assert!(
                wgpu.contains("software"),
                "a software adapter is named as such:\n{wgpu}"
            );
        }
    }
    let cuda = rows_of(&t, "cuda");
    assert!(!cuda.is_empty(), "cuda listed:\n{t}");
    if cuda.contains("not available") {
        assert!(cuda.contains("CUDA") || cuda.contains("cuda"), "{cuda}");
        assert!(
            cuda.contains("bf16"),
            "cuda lists the dtypes it would offer:\n{cuda}"
        );
        eprintln!("cuda is not available here, as listed:\n{cuda}");
    } else {
        assert!(cuda.contains("compute") || cuda.contains("f32"), "{cuda}");
    }
}

#[test]
fn one_sweep_over_flex_wgpu_and_cuda_gives_one_report() {
    let out = tempfile::tempdir().unwrap();
    // Small on purpose: every new shape costs a shader compile on a software rasterizer. No
    // peak probes: their GEMM autotunes for about 20 s per dtype on lavapipe (the probes are
    // tested through the flex and test plugins).
    let cfg = out.path().join("gpu.toml");
    std::fs::write(
        &cfg,
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\nkv_heads = 1\nffn = 32\nvocab = 32\n\
         [sweep]\nspans = [3]\ndtypes = [\"f32\", \"f16\", \"bf16\"]\nkv_aligned = [0, 1]\nseeds = [0, 1]\nblock_size = 4\n\
         [profile]\nroofline = false\n",
    )
    .unwrap();
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--backend",
        "flex,wgpu,cuda",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    let recs = journal(out.path(), &t);
    let pairs = |b: &str| pairs(&recs, b);
    let classified = ["PASS_EQUIV", "FAIL_EQUIV", "EXPECTED_DRIFT", "FAIL_DRIFT"];
    let flex = pairs("flex");
    assert_eq!(flex.len(), 12, "{t}");
    // One f64 reference per (span, seed), shared by every backend and dtype.
    let refs = recs.iter().filter(|r| r["type"] == "reference").count();
    assert_eq!(refs, 2, "{t}");
    assert!(flex
        .iter()
        .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"));

    let header = recs.iter().find(|r| r["type"] == "sweep").expect("header");
    let probe_of = |b: &str| {
        header["backends"]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["name"] == b))
            .map(|e| e["probe"].clone())
            .unwrap_or(Value::Null)
    };
    let wgpu = pairs("wgpu");
    assert_eq!(wgpu.len(), 12, "3 dtypes × 2 kv_aligned × 2 seeds: {t}");
    let wgpu_probe = probe_of("wgpu");
    if wgpu_probe["unavailable"].is_string() {
        assert!(
            !wgpu_required(),
            "DRIFTBENCH_REQUIRE_WGPU=1 but: {wgpu_probe}"
        );
        eprintln!("wgpu part skipped: {}", wgpu_probe["unavailable"]);
        assert!(wgpu.iter().all(|p| p["verdict"] == "SKIPPED"));
    } else {
        // The cross-backend matrix: wgpu's logits against flex's (the default reference),
        // both routes of every f32/f16 cell, with the distribution metrics.
        let crosses: Vec<&Value> = recs
            .iter()
            .filter(|r| r["type"] == "cross" && r["backend"] == "wgpu")
            .collect();
        assert_eq!(
            crosses.len(),
            2 * 2 * 2 * 2,
            "f32/f16 × kv × seeds × routes: {t}"
        );
        for c in &crosses {
            assert_eq!(c["reference"], "flex", "{c}");
            assert!(c["metrics"]["kl_max"].is_number(), "{c}");
            assert!(c["metrics"]["max_abs_diff"].is_number(), "{c}");
        }
        // Every classified wgpu pair carries its noise floor against the cpu backend's f64.
        for p in wgpu.iter().filter(|p| p["dtype"] != "bf16") {
            assert_eq!(p["floor"]["reference"], "cpu f64", "{p}");
        }
        for p in &wgpu {
            let v = p["verdict"].as_str().unwrap();
            match p["dtype"].as_str().unwrap() {
                "bf16" => {
                    assert_eq!(v, "SKIPPED", "{p}");
                    // The host names the backend once; the probe's reason does not repeat it.
                    assert_eq!(
                        p["reason"].as_str().unwrap(),
                        "wgpu: bf16 is not supported by cubecl-wgpu",
                        "{p}"
                    );
                }
                _ => assert!(
                    classified.contains(&v),
                    "f32/f16 pairs are classified, not skipped or incomplete: {p}"
                ),
            }
        }
    }

    let cuda = pairs("cuda");
    assert_eq!(cuda.len(), 12, "{t}");
    let cuda_probe = probe_of("cuda");
    if let Some(why) = cuda_probe["unavailable"].as_str() {
        for p in &cuda {
            assert_eq!(p["verdict"], "SKIPPED", "{p}");
            assert!(p["reason"].as_str().unwrap().contains(why), "{p}");
        }
        eprintln!("cuda runs SKIPPED: {why}");
    } else {
        // A CUDA machine: f32 must be classified; the other dtypes as the device allows.
        for p in cuda.iter().filter(|p| p["dtype"] == "f32") {
            assert!(classified.contains(&p["verdict"].as_str().unwrap()), "{p}");
        }
    }

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    let global = report["global"].as_str().unwrap();
    let expected_code = match global {
        "PASS" => 0,
        "FAIL" => 1,
        "INCOMPLETE" => 3,
        other => panic!("global verdict {other}"),
    };
    assert_eq!(o.status.code(), Some(expected_code), "{t}");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for b in ["flex", "wgpu", "cuda"] {
        assert!(
            md.contains(&format!("## Backend: {b}")),
            "one unified report: {b}"
        );
    }
    let cross = &md[md
        .find("## Cross-backend Summary")
        .expect("cross-backend summary")..];
    assert!(
        cross.contains("| verdict | flex | wgpu | cuda |"),
        "{cross}"
    );
    if let Some(dev) = wgpu_probe["devices"][0]["name"].as_str() {
        assert!(md.contains(dev), "adapter `{dev}` named in the report");
        eprintln!("wgpu adapter: {dev}");
    }
}
