//! pairs.csv and performance.csv opened in a spreadsheet: a text cell from a plugin, a
//! config or a journal (a backend's name, a pair's reason) that starts like a formula is
//! neutralised with a leading `'`, control characters (ESC, DEL, C1, line breaks) are written
//! visibly as `\xHH`, and numeric cells stay numbers, negative ones included.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::route::Route;
use driftbench_report::render::csv::{pairs_csv, performance_csv, PAIR_COLUMNS, PERF_COLUMNS};
use driftbench_report::Report;
use driftbench_sweep::records::{PairKey, PairRecord, Record, RunRecord, RunStatus};
use driftbench_sweep::verdict::Verdict;

/// A backend whose name is a formula.
const FORMULA_BACKEND: &str = "@SUM(1+1)*cmd|' /C calc'!A0";

/// Reasons as a plugin or a journal may write them, and the cell each must become.
const REASONS: [(&str, &str); 9] = [
    (
        "=HYPERLINK(\"http://elsewhere/\",\"click\")",
        "'=HYPERLINK(\"http://elsewhere/\",\"click\")",
    ),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\\x09=1+1"),
    ("\r=1+1", "'\\x0d=1+1"),
    (
        "probe said \x1b[31mred\x1b[0m, bell \x07, DEL \x7f, CSI \u{9b}, line\nbreak",
        "probe said \\x1b[31mred\\x1b[0m, bell \\x07, DEL \\x7f, CSI \\x9b, line\\x0abreak",
    ),
    (
        "max_abs_diff 0.5 > 0.25 (f16 equiv); a = b",
        "max_abs_diff 0.5 > 0.25 (f16 equiv); a = b",
    ),
    ("", ""),
];

fn key(backend: &str, seed: u64) -> PairKey {
    PairKey {
        backend: backend.to_string(),
        span: 8,
        dtype: Dtype::F16,
        kv_aligned: KvMode::from_flag(1).unwrap(),
        seed,
    }
}

fn run(k: &PairKey, route: Route) -> Record {
    Record::Run(RunRecord {
        key: k.clone(),
        route,
        status: RunStatus::Ok,
        wall_s: Some(0.5),
        host_wall_s: None,
        logits_bytes: Some(512),
        reason: None,
        counters: Default::default(),
        rep: 0,
        profile: Default::default(),
        fingerprint: None,
    })
}

/// One pair per reason of [`REASONS`] on [`FORMULA_BACKEND`]; their metrics hold negative and
/// non-finite numbers, to be written as numbers, and a top-1 agreement of 0 that bears their
/// FAIL_EQUIV out (a report derives each verdict from its metrics).
fn records() -> Vec<Record> {
    let mut out = Vec::new();
    for (seed, (reason, _)) in REASONS.iter().enumerate() {
        let k = key(FORMULA_BACKEND, seed as u64);
        out.push(run(&k, Route::Prefill));
        out.push(run(&k, Route::Decode));
        out.push(Record::Pair(PairRecord {
            key: k,
            verdict: Verdict::FailEquiv,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            metrics: Some(Metrics {
                max_abs_diff: -0.5,
                p99_abs_diff: f64::NEG_INFINITY,
                mean_abs_diff: -1e-7,
                top1_agreement: 0.0,
                kl_mean: Some(-2.5),
                positions: 8,
                vocab: 16,
                ..Default::default()
            }),
            envelope: None,
            floor: None,
            repeat_mismatch: Vec::new(),
            transport: None,
        }));
    }
    out
}

fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

/// No cell starts like a formula (unless it is a number) and none holds a control character.
fn assert_inert(rows: &[Vec<String>], what: &str) {
    for row in rows {
        for cell in row {
            assert!(
                !cell.chars().any(char::is_control),
                "{what}: a control character in {cell:?}"
            );
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']) || cell.parse::<f64>().is_ok(),
                "{what}: a cell a spreadsheet would run: {cell:?}"
            );
        }
    }
}

#[test]
fn pairs_csv_neutralises_formulas_and_control_characters_but_keeps_numbers() {
    let r = Report::from_records(&records());
    let text = pairs_csv(&r);
    let (header, rows) = parse(&text);
    assert_eq!(header, PAIR_COLUMNS);
    assert_eq!(rows.len(), REASONS.len());
    assert_inert(&rows, "pairs.csv");
    // Every row is one line: the header, one line per pair.
    assert_eq!(text.lines().count(), 1 + REASONS.len(), "{text}");
    let backend = column(&header, "backend");
    let reason = column(&header, "reason");
    let mut got: Vec<&str> = rows.iter().map(|row| row[reason].as_str()).collect();
    let mut want: Vec<&str> = REASONS.iter().map(|(_, cell)| *cell).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    for row in &rows {
        assert_eq!(row[backend], format!("'{FORMULA_BACKEND}"));
        assert_eq!(row[column(&header, "verdict")], "FAIL_EQUIV");
        assert_eq!(row[column(&header, "dtype")], "f16");
        // Numbers stay numbers: a negative one is not given an apostrophe.
        assert_eq!(row[column(&header, "max_abs_diff")], "-0.5");
        assert_eq!(row[column(&header, "p99_abs_diff")], "-inf");
        assert_eq!(row[column(&header, "mean_abs_diff")], "-1e-7");
        assert_eq!(row[column(&header, "kl_mean")], "-2.5");
        assert_eq!(
            row[column(&header, "max_abs_diff")].parse::<f64>(),
            Ok(-0.5)
        );
    }
}

#[test]
fn performance_csv_neutralises_a_formula_backend_name() {
    let r = Report::from_records(&records());
    let (header, rows) = parse(&performance_csv(&r));
    assert_eq!(header, PERF_COLUMNS);
    assert!(!rows.is_empty());
    assert_inert(&rows, "performance.csv");
    for row in &rows {
        assert_eq!(
            row[column(&header, "backend")],
            format!("'{FORMULA_BACKEND}")
        );
        assert!(matches!(
            row[column(&header, "route")].as_str(),
            "prefill" | "decode"
        ));
        assert_eq!(row[column(&header, "wall_mean_s")].parse::<f64>(), Ok(0.5));
    }
}
