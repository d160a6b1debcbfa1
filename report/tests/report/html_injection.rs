//! Text a plugin controls (a device name, a load error, a pair's reason, a session's error)
//! reaches `report.html` through `report.md`; markup or markdown in it shows up on the page
//! as text, never as an element, a live link or an image.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::probe::{DeviceInfo, Probe};
use driftbench_core::route::Route;
use driftbench_report::{render_html, render_markdown, report_plots, write_reports, Report};
use driftbench_sweep::records::{
    BackendEntry, Environment, PairKey, PairRecord, Record, RunRecord, RunStatus, SessionRecord,
    SweepHeader, SCHEMA_VERSION,
};
use driftbench_sweep::verdict::{DtypeTolerance, Verdict};
use std::collections::BTreeMap;

const SCRIPT: &str = "<script>alert(1)</script>";
const SVG: &str = "<svg onload=alert(1)>";
const JS_LINK: &str = "[x](javascript:alert(1))";
const NET_LINK: &str = "[x](//elsewhere/)";
const IMAGE: &str = "![](http://elsewhere/p.png)";

/// One hostile text of each kind, with words around it to find it by.
fn hostile(place: &str) -> String {
    format!(
        "{place} {SCRIPT} then {SVG} then {JS_LINK} then {NET_LINK} then {IMAGE} end of {place}"
    )
}

fn key(backend: &str, span: usize, dtype: Dtype, kv: u8) -> PairKey {
    PairKey {
        backend: backend.to_string(),
        span,
        dtype,
        kv_aligned: KvMode::from_flag(kv.into()).unwrap(),
        seed: 0,
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

fn records() -> Vec<Record> {
    let mut tolerances = BTreeMap::new();
    tolerances.insert(Dtype::F16, DtypeTolerance::default_for(Dtype::F16));
    let probe = Probe {
        backend: "flex".to_string(),
        version: "0.1.0".to_string(),
        burn_version: None,
        unavailable: None,
        devices: vec![DeviceInfo {
            name: hostile("device"),
            kind: "cpu".to_string(),
            driver: None,
            dtypes: vec![Dtype::F16],
            unsupported: vec![],
            details: vec![],
        }],
        backend_dtypes: vec![],
        kv_unsupported: Vec::new(),
        kv_padding: None,
        traces: false,
    };
    let header = Record::Sweep(Box::new(SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: "hostile".to_string(),
        config_path: "configs/hostile.toml".to_string(),
        started_unix: 1_770_595_200,
        model: "synthetic".to_string(),
        block_size: 8,
        tolerances,
        pairs_planned: 1,
        environment: Environment {
            driftbench_version: "0.1.0".to_string(),
            commit: None,
            os: "linux x86_64".to_string(),
            cpu: "Test CPU".to_string(),
            threads: 2,
            extra: BTreeMap::new(),
        },
        backends: vec![
            BackendEntry {
                name: "flex".to_string(),
                source: "embedded".to_string(),
                probe: Some(probe),
                error: None,
                plugin: None,
                configured: None,
            },
            BackendEntry {
                name: "broken".to_string(),
                source: "plugin libbroken.so".to_string(),
                probe: None,
                error: Some(hostile("load error")),
                plugin: None,
                configured: None,
            },
        ],
        origin: None,
        merged: None,
        plan: None,
        reference: None,
    }));
    let k = key("flex", 8, Dtype::F16, 1);
    vec![
        header,
        Record::Session(SessionRecord {
            backend: "flex".to_string(),
            dtype: Dtype::F16,
            load_s: Some(0.25),
            device: Some("cpu".to_string()),
            model: Some("synthetic".to_string()),
            error: Some(hostile("session error")),
            cost: None,
            peaks: None,
        }),
        run(&k, Route::Prefill),
        run(&k, Route::Decode),
        Record::Pair(PairRecord {
            key: k,
            verdict: Verdict::FailEquiv,
            reason: Some(hostile("pair reason")),
            metrics: Some(Metrics {
                max_abs_diff: 0.5,
                top1_agreement: 1.0,
                positions: 8,
                vocab: 16,
                ..Default::default()
            }),
            envelope: None,
            floor: None,
            repeat_mismatch: Vec::new(),
            transport: None,
        }),
    ]
}

/// The text a browser shows for `html`: the tags dropped, the entities decoded. (Escaped
/// text has no raw `<`, so every `<` starts a tag.)
fn visible(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        text.push_str(&rest[..at]);
        rest = &rest[at..];
        rest = &rest[rest.find('>').map_or(rest.len(), |e| e + 1)..];
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The tags of `html` (`<...>`), the stylesheet's text left out.
fn tags(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        out.push(&rest[..end]);
        rest = &rest[end..];
        if out.last() == Some(&"<style>") {
            rest = &rest[rest.find("</style>").unwrap_or(0)..];
        }
    }
    out
}

/// Nothing of the hostile text is live in `html`, and what it says is on the page.
fn assert_inert(html: &str, places: &[&str]) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "<svg onload",
        "href=\"javascript",
        "href=\"//",
        "href=\"http",
        "<img",
    ] {
        assert!(!lower.contains(bad), "{bad} in the page:\n{html}");
    }
    // No tag has an event handler or loads anything (the text may say `onload=`).
    for tag in tags(&lower) {
        assert!(
            !tag.contains(" onload") && !tag.contains(" src=") && !tag.contains("javascript:"),
            "live tag {tag}"
        );
    }
    // The only hrefs are the page's own fragments (contents, summary, section links).
    for (at, _) in html.match_indices("href=\"") {
        let target = html[at + 6..].split('"').next().unwrap();
        let id = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("a link out: {target}"));
        assert!(
            html.contains(&format!(" id=\"{id}\"")),
            "{target} has no target"
        );
    }
    let shown = visible(html);
    for place in places {
        // Every text shows as it was written: markup, links and images alike.
        let expected = hostile(place);
        assert!(
            shown.contains(&expected),
            "`{expected}` not shown; the page's text:\n{shown}"
        );
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;svg onload=alert(1)&gt;"));
}

#[test]
fn plugin_text_shows_as_text_in_report_html() {
    let r = Report::from_records(&records());
    let md = render_markdown(&r);
    let places = ["device", "load error", "session error", "pair reason"];
    for place in places {
        assert!(
            md.contains(&format!("{place} ")),
            "{place} not in report.md:\n{md}"
        );
    }
    let html = render_html(&r, &report_plots(&r));
    assert_inert(&html, &places);
}

#[test]
fn plugin_text_shows_as_text_in_the_written_report_html() {
    let dir = tempfile::tempdir().unwrap();
    let r = Report::from_records(&records());
    write_reports(dir.path(), &r).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_inert(&html, &["device", "pair reason"]);
}
