//! What `driftbench run` prints: warm timings by default (the first calls shown apart), cold
//! ones only with `--cold` and labelled so, the report's metrics (KL, the first flip) in the
//! report's number format, on the default backend when none is named.

use crate::common::{driftbench, root, text};
use regex::Regex;

/// The default model's path, as `run --help` states it.
const MODEL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

fn run(extra: &[&str]) -> String {
    let cfg = root().join("configs/ci.toml");
    let mut args = vec!["run", "--config", cfg.to_str().unwrap(), "--span", "9"];
    args.extend_from_slice(extra);
    let o = driftbench(&args).output().unwrap();
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    t
}

/// The line of `t` that starts with `prefix`.
fn line<'a>(t: &'a str, prefix: &str) -> &'a str {
    t.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?}:\n{t}"))
}

#[test]
fn run_warms_up_first_and_says_its_times_are_warm() {
    let t = run(&["--backend", "cpu"]);
    let first = line(&t, "first calls (warm-up, not measured): ");
    assert!(
        first.contains("prefill ") && first.contains("decode "),
        "{first}"
    );
    let times = line(&t, "span 9 ");
    assert!(times.contains("[warm: after a warm-up"), "{times}");
}

#[test]
fn run_cold_times_the_first_calls_alone_and_says_so() {
    let t = run(&["--backend", "cpu", "--cold"]);
    assert!(!t.contains("first calls (warm-up"), "{t}");
    let times = line(&t, "span 9 ");
    assert!(times.contains("[cold: first calls (--cold)"), "{times}");
}

#[test]
fn run_prints_the_reports_metrics_in_the_reports_format() {
    let t = run(&["--backend", "cpu", "--dtype", "f16"]);
    let metrics = line(&t, "max_abs_diff ");
    for name in ["KL mean ", "KL max ", "NMSE ", "top1_agreement "] {
        assert!(metrics.contains(name), "{metrics}");
    }
    // The report's formatter: 6 decimals for diffs, 3 significant digits for KL and NMSE,
    // never a float's whole expansion (`0.000025918605270310497`).
    let long = Regex::new(r"\d\.\d{7,}").unwrap();
    assert!(!long.is_match(&t), "{t}");
    let diff = Regex::new(r"^max_abs_diff \d+\.\d{6} ").unwrap();
    assert!(diff.is_match(metrics), "{metrics}");
    let flip = line(&t, "first flip: ");
    assert!(
        flip == "first flip: none (top-1 agrees at every position)" || flip.contains("margin"),
        "{flip}"
    );
}

#[test]
fn run_without_backend_runs_the_default_backend() {
    let t = run(&[]);
    let head = line(&t, "backend ");
    assert!(
        head.starts_with(&format!(
            "backend {} on ",
            driftbench_sweep::default_backend::DEFAULT_BACKEND
        )),
        "{head}"
    );
}

#[test]
fn run_without_model_or_config_loads_the_reference_model_or_says_how_to_fetch_it() {
    let elsewhere = tempfile::tempdir().unwrap();
    let o = driftbench(&["run", "--span", "4"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&format!("the default model {MODEL} is not here"))
            && t.contains("./scripts/fetch-model.sh"),
        "{t}"
    );
    if !root().join(MODEL).is_file() {
        eprintln!("skipped the loading half: the model is not fetched (scripts/fetch-model.sh)");
        return;
    }
    let o = driftbench(&["run", "--span", "4", "--dtype", "f32"])
        .current_dir(root())
        .output()
        .unwrap();
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    assert!(line(&t, "backend cpu on ").contains("30 layers"), "{t}");
}
