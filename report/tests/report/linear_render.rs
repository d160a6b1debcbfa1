//! Rendering time grows with the text, not with its square: a pair's reason and a plugin's
//! load error of 1 MB and of 8 MB of hostile markdown (brackets, link and image syntax, HTML,
//! emphasis, code, pipes, backslashes, bare URLs, e-mail addresses, a long run of `[`) go
//! through the aggregation (observations quote them), the markdown renderer and
//! `write_reports` (report.md, report.html, report.json, pairs.csv, performance.csv), and
//! each one's time for 8 MB stays far below 64 times its time for 1 MB (what a quadratic step
//! would take): under 20 times.
//!
//! Only ratios are compared, never absolute times; each time is the best of two runs, so a
//! busy machine does not make a false alarm. (Light steps alone, such as pairs.csv, are not
//! timed: a few milliseconds over 1 MB that still fits in the CPU's cache against 8 MB that
//! does not made ratios of 25 to 45 for linear code; their cost is inside `write_reports`.)

use crate::link_safety::{records, LINK_FORMS};
use driftbench_report::render::csv::pairs_csv;
use driftbench_report::{render_markdown, write_reports, Report};
use std::time::{Duration, Instant};

/// The hostile mix repeated to `bytes`: half of it every form of link and markup, half a run
/// of `[` (the plugin error that first showed the problem).
fn hostile(bytes: usize) -> String {
    let unit = format!(
        "{} *a* _b_ __c__ `d` ``e`` | \\ \\\\ ! ]( [[ ![ <<< &amp; &#91; $x$ ~~s~~ # a_b ",
        LINK_FORMS.join(" ")
    );
    let mut s = unit.repeat(bytes / 2 / unit.len() + 1);
    s.truncate(bytes / 2);
    s.push_str(&"[".repeat(bytes - s.len()));
    s
}

/// The best of `runs` timings of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Each renderer's best time with `bytes` of hostile text as a pair's reason and as a
/// plugin's load error (the other places hold a few words).
fn timings(bytes: usize) -> Vec<(&'static str, Duration)> {
    let text = hostile(bytes);
    let recs = records(|place| match place {
        "pair reason" | "load error" => text.clone(),
        other => other.to_string(),
    });
    let mut report = None;
    let from_records = best(2, || report = Some(Report::from_records(&recs)));
    let r = report.unwrap();
    let mut md_len = 0;
    let markdown = best(2, || md_len = render_markdown(&r).len());
    assert!(
        md_len > 2 * bytes,
        "both texts are in report.md ({md_len} bytes)"
    );
    assert!(pairs_csv(&r).len() > bytes, "the reason is in pairs.csv");
    let dir = tempfile::tempdir().unwrap();
    let written = best(2, || write_reports(dir.path(), &r).unwrap());
    vec![
        ("Report::from_records", from_records),
        ("render_markdown", markdown),
        ("write_reports (every file, report.html included)", written),
    ]
}

#[test]
fn rendering_time_grows_linearly_with_hostile_text() {
    const MB: usize = 1 << 20;
    let small = timings(MB);
    let large = timings(8 * MB);
    let mut table = String::new();
    let mut worst = 0.0f64;
    for ((what, s), (_, l)) in small.iter().zip(&large) {
        let ratio = l.as_secs_f64() / s.as_secs_f64().max(1e-6);
        worst = worst.max(ratio);
        table.push_str(&format!(
            "{what}: 1 MB {s:.2?}, 8 MB {l:.2?}, ×{ratio:.1}\n"
        ));
    }
    eprint!("{table}");
    assert!(
        worst < 20.0,
        "8 MB of text takes more than 20× the time of 1 MB (linear: ×8, quadratic: ×64):\n{table}"
    );
}
