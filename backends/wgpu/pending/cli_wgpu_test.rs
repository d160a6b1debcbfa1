//! The wgpu plugin on whatever adapter this machine has (Mesa's lavapipe in CI): f32 and f16
//! pairs classified, bf16 SKIPPED with its reason, the adapter named in the report.

mod common;
use common::{driftbench, library, text};
use serde_json::Value;

#[test]
fn wgpu_sweep_classifies_f32_f16_and_skips_bf16() {
    let lib = library("driftbench_backend_wgpu");
    let listing = driftbench(&["plugins", "--plugin", lib.to_str().unwrap()])
        .output()
        .unwrap();
    let listing = text(&listing);
    if listing.contains("no wgpu adapter found") {
        eprintln!(
            "skipped: no wgpu adapter on this machine (install mesa-vulkan-drivers libvulkan1)"
        );
        return;
    }
    assert!(listing.contains("wgpu"), "{listing}");
    let out = tempfile::tempdir().unwrap();
    // Small on purpose: every new shape costs a shader compile on a software rasterizer.
    let cfg = out.path().join("wgpu.toml");
    std::fs::write(
        &cfg,
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\nkv_heads = 1\nffn = 32\nvocab = 32\n\
         [sweep]\nspans = [3]\ndtypes = [\"f32\", \"f16\", \"bf16\"]\nkv_aligned = [0, 1]\nseeds = [0, 1]\nblock_size = 4\n",
    )
    .unwrap();
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "flex,wgpu",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    let recs: Vec<Value> = std::fs::read_to_string(out.path().join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no journal ({e}):\n{t}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let wgpu: Vec<&Value> = recs
        .iter()
        .filter(|r| r["type"] == "pair" && r["backend"] == "wgpu")
        .collect();
    assert_eq!(wgpu.len(), 12, "3 dtypes × 2 kv_aligned × 2 seeds: {t}");
    for p in &wgpu {
        let v = p["verdict"].as_str().unwrap();
        match p["dtype"].as_str().unwrap() {
            "bf16" => {
                assert_eq!(v, "SKIPPED", "{p}");
                assert!(p["reason"].as_str().unwrap().contains("bf16"), "{p}");
            }
            _ => assert!(
                ["PASS_EQUIV", "FAIL_EQUIV", "EXPECTED_DRIFT", "FAIL_DRIFT"].contains(&v),
                "f32/f16 pairs are classified, not skipped or incomplete: {p}"
            ),
        }
    }
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        md.contains("Backend: wgpu") && md.contains("Backend: flex"),
        "one unified report"
    );
    let dev = recs
        .iter()
        .find(|r| r["type"] == "sweep")
        .and_then(|h| h["backends"].as_array())
        .and_then(|b| b.iter().find(|b| b["name"] == "wgpu"))
        .map(|b| {
            b["probe"]["devices"][0]["name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    assert!(
        !dev.is_empty() && md.contains(&dev),
        "adapter `{dev}` named in the report"
    );
    eprintln!("wgpu adapter: {dev}");
}
