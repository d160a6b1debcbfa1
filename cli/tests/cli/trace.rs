//! `driftbench run --trace-layers`: the per-layer table, the finding and trace.json on flex,
//! and a clean "not available" from a backend that cannot trace.

use crate::common;

use common::{driftbench, library, root, text};

fn ci_config() -> String {
    root().join("configs/ci.toml").to_str().unwrap().to_string()
}

#[test]
fn flex_f16_trace_prints_every_point_and_a_finding_and_saves_trace_json() {
    let out = tempfile::tempdir().unwrap();
    let save = out.path().join("saved");
    let cfg = ci_config();
    let o = driftbench(&[
        "run",
        "--config",
        &cfg,
        "--backend",
        "flex",
        "--dtype",
        "f16",
        "--span",
        "9",
        "--trace-layers",
        "--save-logits",
        save.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert!(o.status.code().is_some(), "{t}");
    // ci.toml: 2 layers.
    let points = [
        "embed",
        "L0.attn",
        "L0.mlp",
        "L1.attn",
        "L1.mlp",
        "final_norm",
    ];
    for p in points {
        assert!(
            t.lines().any(|l| l.starts_with(&format!("| {p} "))),
            "no row for {p}:\n{t}"
        );
    }
    assert!(t.contains("decode max_abs vs f64"), "{t}");
    let finding = t
        .lines()
        .find(|l| l.starts_with("finding: "))
        .unwrap_or_else(|| panic!("no finding line:\n{t}"));
    assert!(finding.len() > "finding: ".len() + 10, "{finding}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("trace.json")).unwrap()).unwrap();
    assert_eq!(json["backend"], "flex");
    assert_eq!(json["dtype"], "f16");
    assert_eq!(json["reference"], "flex f64");
    assert_eq!(json["span"], 9);
    assert_eq!(json["finding"], finding["finding: ".len()..]);
    let rows = json["points"].as_array().unwrap();
    assert_eq!(rows.len(), points.len());
    for (row, p) in rows.iter().zip(points) {
        assert_eq!(row["point"], p);
        for route in ["prefill", "decode"] {
            let e = &row[route];
            assert!(e["max_abs"].as_f64().unwrap() >= 0.0, "{row}");
            assert_eq!(e["nonfinite_candidate"], 0, "{row}");
        }
    }
    // f16 rounds: the traced error is real, not zero everywhere.
    assert!(
        rows.iter()
            .any(|r| r["decode"]["max_abs"].as_f64().unwrap() > 0.0),
        "{json}"
    );
    // The per-layer plot beside it: one polyline per route, every point on the x axis.
    let svg = std::fs::read_to_string(save.join("trace.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for label in ["prefill", "decode", "L0.attn", "final_norm"] {
        assert!(svg.contains(label), "trace.svg names {label}");
    }
}

#[test]
fn a_backend_without_trace_is_a_clean_not_available_error() {
    let cfg = ci_config();
    let lib = library("driftbench_test_plugin");
    for mode in ["ok", "v1.1"] {
        let o = driftbench(&[
            "run",
            "--config",
            &cfg,
            "--plugin",
            lib.to_str().unwrap(),
            "--backend",
            "testplugin",
            "--span",
            "5",
            "--trace-layers",
        ])
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
        let t = text(&o);
        assert!(
            !matches!(o.status.code(), Some(0) | None),
            "{mode}: exit {:?}\n{t}",
            o.status
        );
        assert!(t.contains("--trace-layers: testplugin"), "{mode}: {t}");
        assert!(t.contains("not available"), "{mode}: {t}");
        assert!(!t.contains("panicked"), "{mode}: {t}");
        if mode == "v1.1" {
            assert!(t.contains("ABI v1.1"), "{t}");
        }
    }
}
