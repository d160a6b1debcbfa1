//! The one-input function of the cargo-fuzz target `journal`, shared by `fuzz/fuzz_targets/journal.rs`
//! and the stable replay test of the crate it exercises (`report/tests/`), both of which include this file
//! with `#[path]`. It must return normally on any input: errors are the expected outcome of
//! garbage; a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

use driftbench_report::diff::ReportView;
use driftbench_report::render::csv::{pairs_csv, performance_csv};
use driftbench_report::{render_html, report_plots, summary_table, Report};
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::journal::{self, Journal};
use driftbench_sweep::plan::SweepPlan;
use driftbench_sweep::records::Record;
use driftbench_sweep::resume::resume;
use std::path::Path;
use std::sync::OnceLock;

/// The sweep `--resume` is checked against: `configs/ci.toml` (as the journal seeds
/// `corpus/journal/real-*` were run) on `--backend flex`. A copy, so an edit of the shipped
/// config does not change what the target does.
const PLAN_CONFIG: &str = r#"
name = "ci"
[model]
kind = "synthetic"
layers = 2
hidden = 32
heads = 4
kv_heads = 2
ffn = 64
vocab = 128
weight_seed = 1

[sweep]
backends = ["flex"]
spans = [5, 17]
dtypes = ["f32", "f16", "bf16"]
kv_aligned = [0, 1]
seeds = [0]
block_size = 8
"#;

/// The plan of [`PLAN_CONFIG`] on `flex`, required as `--backend flex` makes it.
pub fn fixed_plan() -> &'static SweepPlan {
    static PLAN: OnceLock<SweepPlan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let cfg =
            SweepConfig::parse(PLAN_CONFIG, Path::new("ci.toml")).expect("PLAN_CONFIG parses");
        SweepPlan {
            required: vec!["flex".to_string()],
            ..SweepPlan::of(&cfg, &["flex".to_string()])
        }
    })
}

/// The journal reader on arbitrary bytes, and everything `report` and `sweep --resume` do
/// with what it returns:
///
/// 1. the bytes as `results.jsonl` in a temp folder, read by `journal::read` (a torn last
///    line is a warning, any other bad line an error);
/// 2. `--resume`: `resume` against [`fixed_plan`] and against the plan the journal's own
///    header records (so the finished-cell logic runs, not only the plan check), then the
///    journal rewritten with the kept records (`Journal::rewrite`) and read again: it must
///    read, every record (a resumed journal that cannot be read again loses the sweep);
/// 3. `report`: `Report::from_records`, the terminal's summary table, and every file
///    `write_reports` writes (plots, `report.html` with the markdown inside, the CSV tables,
///    `report.json`), rendered in memory; `diff` must accept that `report.json`
///    (`ReportView::read`), as it must any report driftbench writes.
pub fn journal(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("results.jsonl");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let records = match journal::read(&path) {
        Ok((records, warnings)) => {
            let _ = warnings.concat();
            records
        }
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };

    // --resume.
    let own_plan = match records.first() {
        Some(Record::Sweep(h)) => h.plan.clone(),
        _ => None,
    };
    for plan in std::iter::once(fixed_plan()).chain(own_plan.as_ref()) {
        match resume(records.clone(), plan) {
            Ok(r) => {
                let _ = (r.done.len(), r.header.name.len(), format!("{:?}", r.done));
                let kept = dir.path().join("kept.jsonl");
                if let Ok(j) = Journal::rewrite(&kept, &r.kept) {
                    drop(j);
                    match journal::read(&kept) {
                        Ok((again, _)) => assert_eq!(
                            again.len(),
                            r.kept.len(),
                            "the journal `--resume` rewrote reads back other records"
                        ),
                        Err(e) => panic!("the journal `--resume` rewrote does not read back: {e}"),
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    // report: every file `write_reports` writes, rendered in memory (its atomic writes sync
    // each file, which would cost more than the rendering).
    let report = Report::from_records(&records);
    let _ = (report.global().as_str(), report.global().exit_code());
    let _ = summary_table(&report).to_string();
    let plots = report_plots(&report);
    let _ = render_html(&report, &plots);
    let _ = (pairs_csv(&report), performance_csv(&report));
    match serde_json::to_string_pretty(&report) {
        Ok(json) => {
            if let Err(e) = ReportView::read(&json) {
                panic!("`diff` refuses the report.json written from this journal: {e}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
