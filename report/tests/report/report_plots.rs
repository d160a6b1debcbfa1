//! The report's plots and HTML page: well-formed SVG, NaN/Inf drawn visibly, text from
//! plugins escaped, safe file names, and `write_reports` putting everything in place.

use driftbench_core::trace::PointError;
use driftbench_report::{
    per_layer_plot, per_layer_plot_values, render_html, render_markdown, report_plots,
    write_reports, Report,
};
use driftbench_sweep::records::Record;

/// A backend name a plugin could report: markup, an ampersand, quotes, a path.
const HOSTILE: &str = "evil<svg onload=x>&\"q'/../";

/// A journal as JSON lines (the journal format is what stays readable as the report grows).
fn journal() -> String {
    let mut lines = Vec::new();
    let pair = |b: &str, span: usize, dtype: &str, kv: u8, seed: u64, curve: &str, max: &str| {
        format!(
            r#"{{"type":"pair","backend":"{b}","span":{span},"dtype":"{dtype}","kv_aligned":{kv},"seed":{seed},"verdict":"EXPECTED_DRIFT","reason":null,"metrics":{{"max_abs_diff":{max},"p99_abs_diff":0.0,"mean_abs_diff":0.0,"top1_agreement":1.0,"nonfinite_prefill":0,"nonfinite_decode":0,"positions":{span},"vocab":16,"drift_curve":[{curve}]}},"envelope":null}}"#
        )
    };
    let run = |b: &str, span: usize, dtype: &str, kv: u8, route: &str, wall: f64| {
        format!(
            r#"{{"type":"run","backend":"{b}","span":{span},"dtype":"{dtype}","kv_aligned":{kv},"seed":0,"route":"{route}","status":"ok","wall_s":{wall},"logits_bytes":64,"reason":null}}"#
        )
    };
    let hostile = serde_json::to_string(HOSTILE).unwrap();
    let hostile = &hostile[1..hostile.len() - 1];
    for b in ["flex", hostile] {
        for dtype in ["f32", "f16"] {
            for span in [4usize, 9] {
                for kv in [0u8, 1] {
                    let zeros = vec!["0.0"; span].join(",");
                    let drift: Vec<String> = (0..span)
                        .map(|p| format!("{}", 1e-4 * (p + 1) as f64))
                        .collect();
                    let curve = if kv == 1 { zeros } else { drift.join(",") };
                    lines.push(pair(b, span, dtype, kv, 0, &curve, "0.001"));
                    for route in ["prefill", "decode"] {
                        let wall = if route == "decode" { 0.02 } else { 0.004 } * span as f64;
                        lines.push(run(b, span, dtype, kv, route, wall));
                    }
                }
            }
        }
    }
    // A second seed of flex f32 span 9 kv 0 that goes bad: it is the one plotted.
    let mut bad: Vec<String> = (0..9)
        .map(|p| format!("{}", 1e-2 * (p + 1) as f64))
        .collect();
    bad[3] = "\"NaN\"".to_string();
    bad[6] = "\"inf\"".to_string();
    lines.push(pair("flex", 9, "f32", 0, 1, &bad.join(","), "\"NaN\""));
    lines.join("\n")
}

fn report() -> Report {
    let recs: Vec<Record> = journal()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    Report::from_records(&recs)
}

/// Elements HTML writes without a closing tag.
const VOID: [&str; 6] = ["meta", "br", "img", "hr", "link", "input"];

/// A small well-formedness check: balanced, properly nested tags, quoted attributes, no
/// raw `<` in text or attributes and `&` only as an entity. `html` allows void elements
/// and a doctype. Returns the element names in document order.
fn check_markup(doc: &str, html: bool) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let b = doc.as_bytes();
    let mut i = 0;
    let entity_ok = |at: usize| {
        let rest = &doc[at + 1..];
        let end = rest.find(';').expect("unterminated entity");
        let name = &rest[..end];
        assert!(
            !name.is_empty()
                && name.len() <= 10
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '#'),
            "bad entity &{name}; at {at}"
        );
    };
    while i < b.len() {
        match b[i] {
            b'<' => {
                if doc[i..].starts_with("<!--") {
                    i += doc[i..].find("-->").expect("unterminated comment") + 3;
                    continue;
                }
                if doc[i..].starts_with("<!DOCTYPE") {
                    assert!(html && stack.is_empty(), "doctype out of place");
                    i += doc[i..].find('>').unwrap() + 1;
                    continue;
                }
                let closing = b[i + 1] == b'/';
                let start = i + 1 + usize::from(closing);
                let name_len = doc[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .unwrap();
                assert!(name_len > 0, "empty tag name at {i}: {}", &doc[i..i + 20]);
                let name = doc[start..start + name_len].to_string();
                // Attributes: name="value" pairs up to `>` or `/>`.
                let mut j = start + name_len;
                loop {
                    while b[j] == b' ' || b[j] == b'\n' {
                        j += 1;
                    }
                    if b[j] == b'>' || doc[j..].starts_with("/>") {
                        break;
                    }
                    let eq = doc[j..].find('=').unwrap() + j;
                    let attr = &doc[j..eq];
                    assert!(
                        attr.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
                        "bad attribute name {attr:?} in <{name}>"
                    );
                    assert_eq!(b[eq + 1], b'"', "unquoted attribute {attr} in <{name}>");
                    let end = doc[eq + 2..].find('"').unwrap() + eq + 2;
                    let value = &doc[eq + 2..end];
                    assert!(!value.contains('<'), "raw < in attribute {attr}={value:?}");
                    for (k, c) in value.char_indices() {
                        if c == '&' {
                            entity_ok(eq + 2 + k);
                        }
                    }
                    j = end + 1;
                }
                let self_closing = doc[j..].starts_with("/>");
                i = j + if self_closing { 2 } else { 1 };
                if closing {
                    let open = stack.pop().unwrap_or_else(|| panic!("stray </{name}>"));
                    assert_eq!(open, name, "</{name}> closes <{open}>");
                } else {
                    seen.push(name.clone());
                    let void = html && VOID.contains(&name.as_str());
                    if !(self_closing || void) {
                        // Style text is CSS: skip it whole.
                        if name == "style" {
                            i += doc[i..].find("</style>").expect("unclosed style");
                        }
                        stack.push(name);
                    }
                }
            }
            b'&' => {
                entity_ok(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    seen
}

#[test]
fn the_markup_checker_catches_broken_markup() {
    for bad in [
        "<svg><g></svg>",
        "<svg>a < b</svg>",
        "<svg x=1></svg>",
        "<svg>AT&T</svg>",
        "<svg><text>x</svg></text>",
    ] {
        let r = std::panic::catch_unwind(|| check_markup(bad, false));
        assert!(r.is_err(), "accepted {bad}");
    }
    check_markup("<svg a=\"1&amp;2\"><g/><text>&lt;</text></svg>", false);
}

#[test]
fn plot_files_are_safe_unique_and_in_report_order() {
    let r = report();
    let files: Vec<String> = report_plots(&r).into_iter().map(|p| p.file).collect();
    let hostile = "evil_svg_onload_x___q_____";
    assert_eq!(
        files,
        [
            "drift-flex-f32.svg".to_string(),
            "drift-flex-f16.svg".to_string(),
            "latency-flex.svg".to_string(),
            format!("drift-{hostile}-f32.svg"),
            format!("drift-{hostile}-f16.svg"),
            format!("latency-{hostile}.svg"),
            "latency-backends-prefill.svg".to_string(),
            "latency-backends-decode.svg".to_string(),
        ]
    );
    for f in &files {
        let stem = f.strip_suffix(".svg").unwrap();
        assert!(
            stem.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'),
            "{f}"
        );
    }
}

#[test]
fn every_plot_is_well_formed_and_escapes_plugin_text() {
    let r = report();
    for p in report_plots(&r) {
        let tags = check_markup(&p.svg, false);
        assert_eq!(tags[0], "svg", "{}", p.file);
        assert!(p
            .svg
            .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(
            !p.svg.contains("<script") && !p.svg.contains("<svg onload"),
            "{}",
            p.file
        );
        if p.title.contains("evil") {
            assert!(p
                .svg
                .contains("evil&lt;svg onload=x&gt;&amp;&quot;q&#39;/../"));
        }
        assert!(
            tags.iter().any(|t| t == "path" || t == "rect"),
            "{}: empty",
            p.file
        );
    }
}

#[test]
fn nan_and_inf_are_drawn_not_dropped() {
    let r = report();
    let plots = report_plots(&r);
    let f32_plot = plots
        .iter()
        .find(|p| p.file == "drift-flex-f32.svg")
        .unwrap();
    let svg = &f32_plot.svg;
    // The worst seed of span 9 / kv 0 is seed 1, the one with NaN and Inf.
    assert!(
        svg.contains("span 9, kv_aligned=0, worst seed 1 (1 NaN, 1 Inf)"),
        "{svg}"
    );
    assert!(svg.contains(">NaN/Inf</text>"), "the band is labelled");
    assert!(svg.contains(": NaN at 3</title>") && svg.contains(": +Inf at 6</title>"));
    // The aligned pairs are all zero: drawn at a floor the legend names.
    assert!(svg.contains("values of 0 are drawn at the floor"), "{svg}");
    // A clean plot has no band.
    let f16_plot = plots
        .iter()
        .find(|p| p.file == "drift-flex-f16.svg")
        .unwrap();
    assert!(!f16_plot.svg.contains("NaN/Inf"));
    assert!(
        !f16_plot.svg.contains("worst seed"),
        "one seed: no seed in the labels"
    );
}

#[test]
fn per_layer_plot_names_points_and_marks_nonfinite_ones() {
    let err = |point: &str, max: f64, nan: u64| PointError {
        point: point.to_string(),
        max_abs: max,
        mean_abs: max / 2.0,
        reference_max: 1.0,
        relative: Some(max),
        rel_max: Some(max),
        rel_median: Some(max),
        nonfinite_candidate: nan,
        nonfinite_reference: 0,
    };
    let prefill = vec![
        err("embed", 0.0, 0),
        err("L0.attn", 1e-6, 0),
        err("L0.mlp", 1e-5, 0),
    ];
    let decode = vec![
        err("embed", 0.0, 0),
        err("L0.attn", 1e-6, 0),
        err("L0.mlp", 1e-3, 2),
    ];
    let svg = per_layer_plot("trace <f16>", &[("prefill", &prefill), ("decode", &decode)]);
    check_markup(&svg, false);
    for p in ["embed", "L0.attn", "L0.mlp", "trace &lt;f16&gt;"] {
        assert!(svg.contains(&format!(">{p}</text>")), "{p} missing:\n{svg}");
    }
    assert!(svg.contains("decode (1 NaN, 0 Inf)"));
    assert!(svg.contains("values of 0 are drawn at the floor"));

    let points = vec!["a&b".to_string(), "c".to_string()];
    let svg = per_layer_plot_values("v", &points, &[("x", &[1.0, f64::INFINITY])]);
    check_markup(&svg, false);
    assert!(svg.contains(">a&amp;b</text>") && svg.contains("x (0 NaN, 1 Inf)"));
}

#[test]
fn an_all_zero_plot_says_so() {
    let points = vec!["embed".to_string(), "final_norm".to_string()];
    let svg = per_layer_plot_values("zero", &points, &[("prefill", &[0.0, 0.0])]);
    check_markup(&svg, false);
    assert!(svg.contains("every finite value is 0 (bitwise equal)"));
    let svg = per_layer_plot_values("not zero", &points, &[("prefill", &[0.0, 1e-3])]);
    assert!(!svg.contains("every finite value is 0"));
}

#[test]
fn html_page_is_self_contained_with_tables_and_every_plot() {
    let r = report();
    let plots = report_plots(&r);
    let html = render_html(&r, &plots);
    let tags = check_markup(&html, true);
    assert_eq!(tags[0], "html");
    assert_eq!(tags.iter().filter(|t| *t == "svg").count(), plots.len());
    assert!(tags.iter().filter(|t| *t == "table").count() >= 6);
    assert!(!tags
        .iter()
        .any(|t| t == "script" || t == "img" || t == "link"));
    // No external resource: the only URL is the SVG namespace.
    let urls = html.matches("://").count();
    assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count());
    assert!(html.contains("Content-Security-Policy"));
    assert!(!html.contains("<svg onload") && html.contains("evil&lt;svg onload=x&gt;"));
    // Every markdown section is a heading of the page.
    let md = render_markdown(&r);
    let sections = md.lines().filter(|l| l.starts_with("## ")).count();
    assert_eq!(html.matches("<h2 ").count(), sections);
    assert!(html.contains("<h2 id=\"global-verdict\">Global Verdict<a "));
}

#[test]
fn write_reports_puts_plots_beside_the_report_and_links_them() {
    let dir = tempfile::tempdir().unwrap();
    let r = report();
    std::fs::create_dir_all(dir.path().join("plots")).unwrap();
    std::fs::write(dir.path().join("plots/stale.svg"), "old").unwrap();
    std::fs::write(dir.path().join("plots/notes.txt"), "mine").unwrap();
    write_reports(dir.path(), &r).unwrap();
    let plots = report_plots(&r);
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.path().join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut want: Vec<String> = plots.iter().map(|p| p.file.clone()).collect();
    want.push("notes.txt".to_string());
    want.sort();
    assert_eq!(
        on_disk, want,
        "stale SVG removed, other files kept, no temp files"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let section = &md[md.find("\n## Plots\n").expect("a Plots section")..];
    for p in &plots {
        assert!(
            section.contains(&format!("](plots/{})", p.file)),
            "{}",
            p.file
        );
        let svg = std::fs::read_to_string(dir.path().join("plots").join(&p.file)).unwrap();
        assert_eq!(svg, p.svg);
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(html, render_html(&r, &plots));
}
