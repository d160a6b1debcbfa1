//! `driftbench run --trace-layers`: the per-layer table of relative errors, the finding and
//! trace.json on flex and on cpu (the default backend, which traces and is the reference),
//! and a clean refusal, before anything runs, from a backend whose probe does not declare
//! traces.

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
    assert!(t.contains("decode rel (max / median)"), "{t}");
    let finding = t
        .lines()
        .find(|l| l.starts_with("finding: "))
        .unwrap_or_else(|| panic!("no finding line:\n{t}"));
    assert!(finding.len() > "finding: ".len() + 10, "{finding}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("trace.json")).unwrap()).unwrap();
    assert_eq!(json["backend"], "flex");
    assert_eq!(json["dtype"], "f16");
    assert_eq!(json["reference"], "cpu f64");
    assert_eq!(json["span"], 9);
    assert_eq!(json["finding"], finding["finding: ".len()..]);
    let rows = json["points"].as_array().unwrap();
    assert_eq!(rows.len(), points.len());
    for (row, p) in rows.iter().zip(points) {
        assert_eq!(row["point"], p);
        for route in ["prefill", "decode"] {
            let e = &row[route];
            assert!(e["max_abs"].as_f64().unwrap() >= 0.0, "{row}");
            assert!(e["rel_max"].as_f64().unwrap() >= e["rel_median"].as_f64().unwrap());
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

/// The rows of the trace table: point, then each cell.
fn table_rows(t: &str) -> Vec<Vec<String>> {
    t.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| point"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn cpu_traces_layers_with_per_position_relative_errors_and_a_finding() {
    let cfg = ci_config();
    let o = driftbench(&[
        "run",
        "--config",
        &cfg,
        "--backend",
        "cpu",
        "--dtype",
        "f16",
        "--span",
        "9",
        "--trace-layers",
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    assert!(t.contains("layer trace: cpu f16 against cpu f64"), "{t}");
    let rows = table_rows(&t);
    assert_eq!(rows.len(), 6, "2 layers: 6 points\n{t}");
    for r in &rows {
        // `max / median` of the per-position relative error, both real numbers, max ≥ median.
        for cell in [&r[1], &r[2]] {
            let (max, median) = cell.split_once(" / ").unwrap_or_else(|| panic!("{cell}"));
            let (max, median): (f64, f64) = (max.parse().unwrap(), median.parse().unwrap());
            assert!(max >= median && median >= 0.0 && max < 1.0, "{r:?}");
        }
    }
    // f16 rounds: some relative error is above zero.
    assert!(rows.iter().any(|r| !r[2].starts_with("0.00e0")), "{t}");
    let finding = t.lines().find(|l| l.starts_with("finding: ")).unwrap();
    assert!(finding.contains("relative error"), "{finding}");
}

#[test]
fn a_backend_whose_probe_does_not_declare_traces_is_refused_naming_those_that_do() {
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
        assert_eq!(o.status.code(), Some(2), "{mode}: {t}");
        assert!(
            t.contains("--trace-layers: testplugin does not trace layers"),
            "{mode}: {t}"
        );
        // The default backend, built beside the binary, traces.
        let those = t
            .split("backends found that do: ")
            .nth(1)
            .unwrap_or_default();
        assert!(those.split([',', ' ']).any(|b| b == "cpu"), "{mode}: {t}");
        // Refused before the pair ran: no verdict printed.
        assert!(!t.contains("verdict "), "{mode}: {t}");
        assert!(!t.contains("panicked"), "{mode}: {t}");
    }
}
