//! Text from plugins, configs and journals (errors, reasons, device, backend and config names,
//! model paths, counter names) holding every form of link markdown knows stays text in
//! `report.md`, not only in `report.html`: parsed as CommonMark with the report's GFM options
//! (and with every pulldown-cmark extension), the only links are the report's own (in-page
//! anchors, its `plots/` files); GFM's bare-URL autolinks (`http://`, `www.`, e-mail), which
//! pulldown-cmark does not implement, are checked the way cmark-gfm finds them; and the text
//! a reader sees is the text that was written.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::options::Configured;
use driftbench_core::probe::{DeviceInfo, Probe};
use driftbench_core::route::Route;
use driftbench_report::{render_html, render_markdown, report_plots, Report};
use driftbench_sweep::records::{
    BackendEntry, Environment, PairKey, PairRecord, Record, RunRecord, RunStatus, SessionRecord,
    SweepHeader, WarmupRecord, SCHEMA_VERSION,
};
use driftbench_sweep::verdict::{DtypeTolerance, Verdict};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::collections::BTreeMap;

/// Every form of link a renderer of report.md could make of plain text.
pub(crate) const LINK_FORMS: [&str; 17] = [
    "[x](//elsewhere/)",
    "[x](\\\\elsewhere\\share)",
    "[x](../../etc/passwd)",
    "[x](javascript:alert(1))",
    "![](http://elsewhere/x.png)",
    "[x][ref] [ref]: //elsewhere/",
    "[^1] [[wiki]]",
    "<http://elsewhere/>",
    "<user@elsewhere.com>",
    "http://elsewhere/a",
    "https://elsewhere/b?c=d_e",
    "ftp://elsewhere/f",
    "www.elsewhere.com",
    "WWW.elsewhere.com",
    "user@elsewhere.com",
    "mailto:user@elsewhere.com xmpp:user@elsewhere.com/x",
    "<a href=\"//elsewhere/\">a</a> [plots](plots/evil.svg)",
];

/// A backend name holding links, ending like heading attributes (it names a heading).
pub(crate) const EVIL_BACKEND: &str =
    "evil [x](//elsewhere/) www.elsewhere.com a@elsewhere.com {.evil}";
/// A counter name holding links (it heads a column of the warm-up table).
pub(crate) const EVIL_COUNTER: &str = "compiles [x](//elsewhere/) http://elsewhere/";
/// A reason that starts a list item in the observations, shaped as list markers, a heading
/// and links.
pub(crate) const LIST_START: &str = "- 1. # [x](//elsewhere/) www.elsewhere.com";

/// The text put at `place`: its name, then every link form.
fn hostile(place: &str) -> String {
    format!("{place}: {}", LINK_FORMS.join(" "))
}

/// Where the texts go, each named by its place.
pub(crate) const PLACES: [&str; 16] = [
    "sweep name",
    "config path",
    "model path",
    "env value",
    "device name",
    "device driver",
    "device detail",
    "unsupported why",
    "configured detail",
    "plugin source",
    "load error",
    "session device",
    "session error",
    "warm-up error",
    "pair reason",
    "evil reason",
];

fn key(backend: &str, span: usize, kv: i64) -> PairKey {
    PairKey {
        backend: backend.to_string(),
        span,
        dtype: Dtype::F16,
        kv_aligned: KvMode::from_flag(kv).unwrap(),
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

fn pair(k: PairKey, verdict: Verdict, reason: String) -> Vec<Record> {
    let metrics = (verdict != Verdict::Incomplete).then(|| Metrics {
        max_abs_diff: 0.5,
        top1_agreement: 1.0,
        positions: 8,
        vocab: 16,
        ..Default::default()
    });
    vec![
        run(&k, Route::Prefill),
        run(&k, Route::Decode),
        Record::Pair(PairRecord {
            key: k,
            verdict,
            reason: Some(reason),
            metrics,
            envelope: None,
            floor: None,
            repeat_mismatch: Vec::new(),
            transport: None,
        }),
    ]
}

/// A journal with `text(place)` at every place of [`PLACES`], [`EVIL_BACKEND`] as a backend,
/// [`EVIL_COUNTER`] as a counter and [`LIST_START`] as the reason of an INCOMPLETE pair.
pub(crate) fn records(text: impl Fn(&str) -> String) -> Vec<Record> {
    let mut tolerances = BTreeMap::new();
    tolerances.insert(Dtype::F16, DtypeTolerance::default_for(Dtype::F16));
    let probe = Probe {
        backend: "flex".to_string(),
        version: "0.1.0".to_string(),
        burn_version: None,
        unavailable: None,
        devices: vec![DeviceInfo {
            name: text("device name"),
            kind: "cpu".to_string(),
            driver: Some(text("device driver")),
            dtypes: vec![Dtype::F16],
            unsupported: vec![(Dtype::Bf16, text("unsupported why"))],
            details: vec![("detail".to_string(), text("device detail"))],
        }],
        backend_dtypes: vec![],
        kv_unsupported: Vec::new(),
        kv_padding: None,
        traces: false,
    };
    let mut extra = BTreeMap::new();
    extra.insert("extra".to_string(), text("env value"));
    let entry = |name: &str| BackendEntry {
        name: name.to_string(),
        source: "embedded".to_string(),
        probe: None,
        error: None,
        plugin: None,
        configured: None,
    };
    let header = Record::Sweep(Box::new(SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: text("sweep name"),
        config_path: text("config path"),
        started_unix: 1_770_595_200,
        model: text("model path"),
        block_size: 8,
        tolerances,
        pairs_planned: 4,
        environment: Environment {
            driftbench_version: "0.1.0".to_string(),
            commit: None,
            os: "linux x86_64".to_string(),
            cpu: "Test CPU".to_string(),
            threads: 2,
            extra,
        },
        backends: vec![
            BackendEntry {
                probe: Some(probe),
                configured: Some(Configured {
                    options: Default::default(),
                    details: vec![("cache".to_string(), text("configured detail"))],
                }),
                ..entry("flex")
            },
            entry(EVIL_BACKEND),
            BackendEntry {
                source: text("plugin source"),
                error: Some(text("load error")),
                ..entry("broken")
            },
        ],
        origin: None,
        merged: None,
        plan: None,
        reference: None,
    }));
    let mut counters = BTreeMap::new();
    counters.insert(EVIL_COUNTER.to_string(), 3);
    let mut out = vec![
        header,
        Record::Session(SessionRecord {
            backend: "flex".to_string(),
            dtype: Dtype::F16,
            load_s: Some(0.25),
            device: Some(text("session device")),
            model: Some("synthetic".to_string()),
            error: Some(text("session error")),
            cost: None,
            peaks: None,
        }),
        Record::Warmup(WarmupRecord {
            backend: "flex".to_string(),
            dtype: Dtype::F16,
            span: 8,
            kv_aligned: KvMode::from_flag(1).unwrap(),
            route: Route::Decode,
            wall_s: None,
            error: Some(text("warm-up error")),
            counters,
        }),
    ];
    out.extend(pair(
        key("flex", 8, 1),
        Verdict::FailEquiv,
        text("pair reason"),
    ));
    out.extend(pair(
        key("flex", 16, 1),
        Verdict::Incomplete,
        LIST_START.to_string(),
    ));
    out.extend(pair(
        key(EVIL_BACKEND, 8, 1),
        Verdict::FailEquiv,
        text("evil reason"),
    ));
    out
}

/// Options of GitHub-flavoured markdown as pulldown-cmark has them (no bare-URL autolinks:
/// [`assert_no_bare_url`] checks those).
fn gfm() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM
        | Options::ENABLE_MATH
}

/// The options mdBook parses with.
fn mdbook() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Every link and image of `md` parsed with `options` is one of the report's own: an in-page
/// anchor or a plot the report writes.
fn assert_only_own_links(md: &str, options: Options, plots: &[String]) {
    for ev in Parser::new_ext(md, options) {
        let (what, dest) = match &ev {
            Event::Start(Tag::Link { dest_url, .. }) => ("link", dest_url),
            Event::Start(Tag::Image { dest_url, .. }) => ("image", dest_url),
            _ => continue,
        };
        let own = dest.starts_with('#')
            || dest
                .strip_prefix("plots/")
                .is_some_and(|f| plots.iter().any(|p| p == f));
        assert!(own, "a {what} to `{dest}` in report.md ({options:?})");
    }
}

/// The text runs a GFM renderer sees after merging adjacent text nodes (cmark-gfm's autolink
/// extension calls `cmark_consolidate_text_nodes` before it looks for e-mail addresses): any
/// other event (code, emphasis, a cell's end) ends a run.
fn text_runs(md: &str) -> Vec<String> {
    let mut runs = vec![String::new()];
    for ev in Parser::new_ext(md, gfm()) {
        match ev {
            Event::Text(t) => runs.last_mut().unwrap().push_str(&t),
            _ if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(String::new()),
            _ => {}
        }
    }
    runs
}

/// No bare URL GFM would link: cmark-gfm and comrak find `scheme://` at an unescaped `:` and
/// `www.` at an unescaped `w` in the source while parsing inlines, and e-mail addresses in
/// the merged text afterwards (a local part of letters, digits or `.+-_`, an `@`, a domain).
fn assert_no_bare_url(md: &str) {
    for (at, _) in md.match_indices("://") {
        let backslashes = md[..at].len() - md[..at].trim_end_matches('\\').len();
        assert!(
            backslashes % 2 == 1,
            "an unescaped `://` in report.md: …{}…",
            &md[md[..at].len().saturating_sub(40)..(at + 20).min(md.len())]
        );
    }
    let lower = md.to_ascii_lowercase();
    assert!(!lower.contains("www."), "an unescaped `www.` in report.md");
    let local = |c: char| c.is_ascii_alphanumeric() || ".+-_".contains(c);
    for run in text_runs(md) {
        for (at, _) in run.match_indices('@') {
            let before = run[..at].chars().next_back();
            let after = run[at + 1..].chars().next();
            assert!(
                !(before.is_some_and(local) && after.is_some_and(|c| c.is_ascii_alphanumeric())),
                "an e-mail address GFM would link, in the text `{run}`"
            );
        }
    }
}

/// The text a reader of `md` sees (parsed with `options`), one line per block or cell.
fn md_text(md: &str, options: Options) -> String {
    let mut text = String::new();
    for ev in Parser::new_ext(md, options) {
        match ev {
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::TableCell | TagEnd::Item,
            ) => text.push('\n'),
            _ => {}
        }
    }
    text
}

/// The text a browser shows for `html` (tags dropped, entities decoded): the page escapes
/// every text, so every `<` starts a tag.
fn html_text(html: &str) -> String {
    let body = &html[html.find("<body>").unwrap_or(0)..];
    let mut text = String::new();
    let mut rest = body;
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

/// Every text that went in, as it was written (its place's name, the backend's name, the
/// reason shaped as a list), is in `shown`.
fn assert_shown(shown: &str, what: &str) {
    let mut expected: Vec<String> = PLACES.iter().map(|p| hostile(p)).collect();
    expected.push(EVIL_BACKEND.to_string());
    expected.push(EVIL_COUNTER.to_string());
    expected.push(LIST_START.to_string());
    for e in expected {
        assert!(shown.contains(&e), "{what} does not show `{e}`:\n{shown}");
    }
}

#[test]
fn links_from_plugins_configs_and_journals_stay_text_in_report_md() {
    let r = Report::from_records(&records(hostile));
    let md = render_markdown(&r);
    let plots: Vec<String> = report_plots(&r).into_iter().map(|p| p.file).collect();
    assert!(
        !plots.is_empty(),
        "the report has plots: their links are allowed"
    );
    assert!(
        md.contains("](plots/"),
        "the report's own plot links are still there"
    );
    for options in [Options::ENABLE_TABLES, gfm(), mdbook(), Options::all()] {
        assert_only_own_links(&md, options, &plots);
    }
    assert_no_bare_url(&md);
    // No raw HTML either (an `<a href>` would be a link in every renderer that passes HTML).
    for ev in Parser::new_ext(&md, gfm()) {
        assert!(
            !matches!(ev, Event::Html(_) | Event::InlineHtml(_)),
            "raw HTML in report.md: {ev:?}"
        );
    }
    // What a reader sees is what was written, links and all.
    assert_shown(
        &md_text(&md, Options::ENABLE_TABLES),
        "report.md (CommonMark)",
    );
    assert_shown(&md_text(&md, gfm()), "report.md (GFM)");
    assert_shown(&md_text(&md, mdbook()), "report.md (mdBook)");
}

#[test]
fn links_from_plugins_configs_and_journals_stay_text_in_report_html() {
    let r = Report::from_records(&records(hostile));
    let html = render_html(&r, &report_plots(&r));
    for (at, _) in html.match_indices("href=\"") {
        let target = html[at + 6..].split('"').next().unwrap();
        let id = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("a link out of the page: {target}"));
        assert!(
            html.contains(&format!(" id=\"{id}\"")),
            "{target} has no target"
        );
    }
    assert!(!html.contains("<img"), "an image in the page");
    assert_shown(&html_text(&html), "report.html");
}

#[test]
fn headings_named_by_plugins_keep_their_text() {
    let r = Report::from_records(&records(hostile));
    let md = render_markdown(&r);
    for options in [gfm(), mdbook()] {
        let mut headings = Vec::new();
        let mut open: Option<String> = None;
        for ev in Parser::new_ext(&md, options) {
            match ev {
                Event::Start(Tag::Heading { id, classes, .. }) => {
                    assert!(id.is_none() && classes.is_empty(), "heading attributes");
                    open = Some(String::new());
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(h) = &mut open {
                        h.push_str(&t);
                    }
                }
                Event::End(TagEnd::Heading(_)) => headings.extend(open.take()),
                _ => {}
            }
        }
        for expected in [
            format!("Sweep Report: {}", hostile("sweep name")),
            format!("Backend: {EVIL_BACKEND}"),
        ] {
            assert!(
                headings.contains(&expected),
                "no heading `{expected}` ({options:?}): {headings:#?}"
            );
        }
    }
}

#[test]
fn a_reason_shaped_as_a_list_stays_one_list_item() {
    let r = Report::from_records(&records(hostile));
    let md = render_markdown(&r);
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for ev in Parser::new_ext(&md, gfm()) {
        match ev {
            Event::Start(Tag::List(_)) => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Event::End(TagEnd::List(_)) => depth -= 1,
            Event::Start(Tag::Heading { .. }) if depth > 0 => {
                panic!("a heading inside a list item of report.md")
            }
            _ => {}
        }
    }
    // The environment's device lists nest one level (dtypes, details); nothing deeper.
    assert!(deepest <= 2, "lists nested {deepest} deep in report.md");
}
