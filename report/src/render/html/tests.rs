//! The converter on small markdown, and the whole page of the golden journal's report.

use super::*;
use driftbench_sweep::records::Record;

fn html(md: &str) -> String {
    Converter::new(&[], None).convert(md)
}

fn plot(file: &str, section: PlotSection) -> Plot {
    Plot {
        file: file.to_string(),
        title: "t".to_string(),
        svg: "<svg><title>t</title></svg>\n".to_string(),
        section,
    }
}

/// A heading as the page writes it.
fn h(level: usize, id: &str, html: &str) -> String {
    if level == 1 {
        return format!("<h1 id=\"{id}\">{html}</h1>\n");
    }
    format!(
        "<h{level} id=\"{id}\">{html}<a class=\"self\" href=\"#{id}\" \
         aria-label=\"Link to this section\">#</a></h{level}>\n"
    )
}

#[test]
fn inline_markup() {
    assert_eq!(
        html("**a** and _b_ and `<x>` a\\|b"),
        "<p><strong>a</strong> and <em>b</em> and <code>&lt;x&gt;</code> a|b</p>\n"
    );
    assert_eq!(
        html("kv_aligned=0 x_y a * b"),
        "<p>kv_aligned=0 x_y a * b</p>\n"
    );
    assert_eq!(html("one\ntwo"), "<p>one two</p>\n");
}

#[test]
fn entities_the_markdown_escaping_makes_are_the_characters_once_escaped() {
    assert_eq!(html("&lt;b&gt; & c"), "<p>&lt;b&gt; &amp; c</p>\n");
    assert_eq!(html("a &amp;lt; b"), "<p>a &amp;lt; b</p>\n");
    assert_eq!(html("x &quot;q&quot; &#124;"), "<p>x &quot;q&quot; |</p>\n");
}

#[test]
fn raw_html_is_text() {
    assert_eq!(
        html("<script>alert(1)</script>\n"),
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    );
    assert_eq!(
        html("<div>\n<svg onload=alert(1)>\n</div>\n"),
        "<p>&lt;div&gt;\n&lt;svg onload=alert(1)&gt;\n&lt;/div&gt;</p>\n"
    );
    assert_eq!(
        html("a <b onclick=\"x\">b</b> <!-- c -->"),
        "<p>a &lt;b onclick=&quot;x&quot;&gt;b&lt;/b&gt; &lt;!-- c --&gt;</p>\n"
    );
}

#[test]
fn only_links_into_the_report_are_live() {
    let plots = [plot("a.svg", PlotSection::CrossPerformance)];
    let conv = |md: &str| Converter::new(&plots, None).convert(md);
    assert_eq!(
        conv("[r](plots/a.svg) [s](#backend-x) [t](pairs.csv)"),
        "<p><a href=\"plots/a.svg\">r</a> <a href=\"#backend-x\">s</a> \
         <a href=\"pairs.csv\">t</a></p>\n"
    );
    for dest in [
        "javascript:alert(1)",
        "JavaScript:x",
        "//elsewhere/",
        "http://elsewhere/",
        "data:text/html,x",
        "plots/b.svg",
        "../report.md",
        "#a\"b",
    ] {
        let md = format!("[**r**]({dest}) and <{dest}>");
        let out = conv(&md);
        assert!(!out.contains("<a"), "{md} -> {out}");
        assert!(out.starts_with("<p>[<strong>r</strong>]("), "{out}");
        assert!(
            out.contains(&escape(dest)),
            "the destination shows as text: {out}"
        );
    }
    assert_eq!(conv("<http://e/>"), "<p>http://e/</p>\n");
}

#[test]
fn plot_images_become_figures_other_images_their_markdown_text() {
    let plots = [plot("a.svg", PlotSection::CrossPerformance)];
    let conv = |md: &str| Converter::new(&plots, None).convert(md);
    assert_eq!(
        conv("![t](plots/a.svg)\n"),
        "<figure id=\"plot-a\">\n<svg><title>t</title></svg>\n\
         <figcaption>File: <code>plots/a.svg</code></figcaption>\n</figure>\n"
    );
    assert_eq!(
        conv("![a **b** ![c](x.png)](http://elsewhere/p.png)"),
        "<p>![a b c](http://elsewhere/p.png)</p>\n"
    );
    assert_eq!(conv("![](plots/b.svg)"), "<p>![](plots/b.svg)</p>\n");
    // A plot image inside other text is not a figure.
    assert_eq!(
        conv("see ![t](plots/a.svg)"),
        "<p>see ![t](plots/a.svg)</p>\n"
    );
}

#[test]
fn each_plot_follows_the_section_it_illustrates_and_the_plots_section_links_to_it() {
    let plots = [
        plot("drift-a-f32.svg", PlotSection::Drift(0)),
        plot("latency-a.svg", PlotSection::Performance(0)),
        plot("drift-b-f32.svg", PlotSection::Drift(1)),
        plot("latency-backends-decode.svg", PlotSection::CrossPerformance),
    ];
    let md = "# T\n\n## Backend: a\n\n### Comparison Results\n\nrows\n\n\
              ### Drift Characterization (kv_aligned=0)\n\ndrift a\n\n#### Sub\n\n\
              ### Performance Profiling\n\nperf a\n\n\
              ## Backend: b\n\n### Drift Characterization (kv_aligned=0)\n\ndrift b\n\n\
              ## Cross-backend Summary\n\n### Mean Wall Time per Backend\n\nmean\n\n\
              ## Plots\n\n![t](plots/drift-a-f32.svg)\n\n![t](plots/latency-a.svg)\n\n\
              ![t](plots/drift-b-f32.svg)\n\n![t](plots/latency-backends-decode.svg)\n";
    let out = Converter::new(&plots, None).convert(md);
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{out}"))
    };
    // Right after the section's own text, before its first subsection.
    assert!(at("drift a") < at("id=\"plot-drift-a-f32\""));
    assert!(
        at("id=\"plot-drift-a-f32\"")
            < at("id=\"backend-a-drift-characterization-kv-aligned-0-sub\"")
    );
    assert!(at("perf a") < at("id=\"plot-latency-a\""));
    assert!(at("id=\"plot-latency-a\"") < at("id=\"backend-b\""));
    assert!(at("drift b") < at("id=\"plot-drift-b-f32\""));
    assert!(at("id=\"plot-drift-b-f32\"") < at("id=\"cross-backend-summary\""));
    assert!(at("mean") < at("id=\"plot-latency-backends-decode\""));
    assert!(at("id=\"plot-latency-backends-decode\"") < at("id=\"plots\""));
    assert_eq!(out.matches("<figure").count(), plots.len(), "each once");
    // The Plots section links to each figure.
    let section = &out[at("id=\"plots\"")..];
    for p in &plots {
        let link = format!(
            "<p><a href=\"#{}\">t</a> (<code>plots/{}</code>)",
            plot_id(p),
            p.file
        );
        assert!(section.contains(&link), "{link}:\n{section}");
    }
}

#[test]
fn a_plot_whose_section_is_missing_stays_in_the_plots_section() {
    let plots = [plot("drift-a-f32.svg", PlotSection::Drift(3))];
    let out = Converter::new(&plots, None).convert("## Plots\n\n![t](plots/drift-a-f32.svg)\n");
    assert!(out.contains("<figure id=\"plot-drift-a-f32\">"), "{out}");
}

#[test]
fn nested_lists_and_block_quotes() {
    assert_eq!(
        html("- a\n  - b\n  - c\n- d\n\n1. x\n2. y\n"),
        "<ul>\n<li>a\n<ul>\n<li>b</li>\n<li>c</li>\n</ul>\n</li>\n<li>d</li>\n</ul>\n\
         <ol>\n<li>x</li>\n<li>y</li>\n</ol>\n"
    );
    assert_eq!(
        html("> quoted **text**\n>\n> - item\n>\n> > inner\n\nafter"),
        "<blockquote>\n<p>quoted <strong>text</strong></p>\n<ul>\n<li>item</li>\n</ul>\n\
         <blockquote>\n<p>inner</p>\n</blockquote>\n</blockquote>\n<p>after</p>\n"
    );
    assert_eq!(html("3. x\n"), "<ol start=\"3\">\n<li>x</li>\n</ol>\n");
}

#[test]
fn headings_get_readable_ids_and_a_table_of_contents() {
    assert_eq!(
        html("# T\n\nintro\n\n## A `b`\n\n### c\n\n## D\n\n## D\n"),
        format!(
            "{}<nav><ul>\n<li><a href=\"#a-b\">A <code>b</code></a></li>\n\
             <li><a href=\"#d\">D</a></li>\n<li><a href=\"#d-2\">D</a></li>\n</ul></nav>\n\
             <p>intro</p>\n{}{}{}{}",
            h(1, "t", "T"),
            h(2, "a-b", "A <code>b</code>"),
            h(3, "a-b-c", "c"),
            h(2, "d", "D"),
            h(2, "d-2", "D"),
        )
    );
}

#[test]
fn verdict_and_reason_columns_come_first_and_verdicts_carry_classes() {
    assert_eq!(
        html(
            "| span | max | verdict | reason |\n|---|---|---|---|\n\
             | 5 | NaN | **FAIL_EQUIV** | a\\|b |\n| 17 | 0 | PASS_EQUIV |  |\n"
        ),
        "<div class=\"scroll\"><table>\n<thead><tr><th>verdict</th><th>reason</th>\
         <th>span</th><th>max</th></tr></thead>\n<tbody>\n\
         <tr><td class=\"verdict-fail\"><strong>FAIL_EQUIV</strong></td>\
         <td class=\"reason\">a|b</td><td>5</td><td class=\"nonfinite\">NaN</td></tr>\n\
         <tr><td class=\"verdict-pass\">PASS_EQUIV</td><td class=\"reason\"></td>\
         <td>17</td><td>0</td></tr>\n</tbody></table></div>\n"
    );
    // Without a verdict column the order is the markdown's; verdict texts are coloured.
    assert_eq!(
        html("| a | b |\n|---|---|\n| INCOMPLETE | x |\n"),
        "<div class=\"scroll\"><table>\n<thead><tr><th>a</th><th>b</th></tr></thead>\n\
         <tbody>\n<tr><td class=\"verdict-incomplete\">INCOMPLETE</td><td>x</td></tr>\n\
         </tbody></table></div>\n"
    );
}

#[test]
fn a_bold_verdict_outside_tables_is_coloured() {
    assert_eq!(
        html("**FAIL**\n\n**EXPECTED_DRIFT** and **other**"),
        "<p><strong class=\"verdict-fail\">FAIL</strong></p>\n\
         <p><strong class=\"verdict-drift\">EXPECTED_DRIFT</strong> and \
         <strong>other</strong></p>\n"
    );
}

#[test]
fn fenced_code_keeps_its_lines() {
    assert_eq!(
        html("```\na <b>\n  c\n```\n"),
        "<pre><code>a &lt;b&gt;\n  c\n</code></pre>\n"
    );
}

/// The report of the golden journal (three backends; FAIL, INCOMPLETE and NaN pairs).
fn golden() -> Report {
    let recs: Vec<Record> = include_str!("../../../tests/golden/results.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Report::from_records(&recs)
}

#[test]
fn the_page_leads_with_the_verdict_grid() {
    let r = golden();
    let page = render_html(&r, &crate::render::plots::report_plots(&r));
    let body = &page[page.find("<body>").unwrap()..];
    let at = |needle: &str| body.find(needle).unwrap_or_else(|| panic!("{needle}"));
    // Title, then the summary, then the contents, then the first section.
    assert!(at("<h1 ") < at("id=\"verdict-summary\""));
    assert!(at("id=\"verdict-summary\"") < at("<nav>"));
    assert!(at("<nav>") < at("<h2 "));
    assert!(body.contains("Global verdict: <strong class=\"badge verdict-fail\">FAIL</strong>"));
    let grid = &body[at("<table class=\"grid\">")..];
    let grid = &grid[..grid.find("</table>").unwrap()];
    assert!(grid.contains("<th>backend</th><th>verdict</th><th>f32</th><th>f16</th></tr>"));
    // One row per backend, each linking to its section and comparison table.
    for b in &r.backends {
        let row = format!(
            "<tr><th><a href=\"#backend-{}\">{}</a></th>",
            b.name, b.name
        );
        assert!(grid.contains(&row), "{row}:\n{grid}");
        let cell = format!("<a href=\"#backend-{}-comparison-results\">", b.name);
        assert!(grid.contains(&cell), "{cell}");
    }
    // Each cell: the worst verdict of that backend's pairs of that dtype, with counts.
    let b = &r.backends[0];
    let c = summary::grid_cell(
        b.comparisons
            .iter()
            .filter(|c| c.dtype == driftbench_core::dtype::Dtype::F32)
            .map(|c| c.verdict),
    )
    .unwrap();
    let counts: Vec<String> = c.counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    let cell = format!(
        "<td class=\"{}\"><a href=\"#backend-{}-comparison-results\">{}</a>\
         <span class=\"counts\">{}</span></td>",
        classes::verdict_class(c.worst),
        b.name,
        c.worst,
        counts.join(" · ")
    );
    assert!(grid.contains(&cell), "{cell}\n{grid}");
    assert!(grid.contains("class=\"verdict-fail\""), "{grid}");
}

#[test]
fn the_page_has_section_anchors_fail_classes_and_plots_beside_their_sections() {
    let r = golden();
    let plots = crate::render::plots::report_plots(&r);
    let page = render_html(&r, &plots);
    for id in [
        "global-verdict",
        "backend-cpu",
        "backend-cpu-comparison-results",
        "backend-flex-drift-characterization-kv-aligned-0",
        "backend-testplugin-performance-profiling",
        "cross-backend-summary",
        "environment-backend-cpu",
        "plots",
    ] {
        assert!(page.contains(&format!(" id=\"{id}\"")), "no #{id}");
    }
    assert!(!page.contains("id=\"s1\""), "the old numbered ids are gone");
    // Every in-page link has its target, and every id is unique.
    let ids: Vec<&str> = page
        .split(" id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let unique: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate ids");
    for href in page.split("href=\"#").skip(1) {
        let target = &href[..href.find('"').unwrap()];
        assert!(ids.contains(&target), "#{target} has no target");
    }
    // Every FAIL cell is coloured.
    for v in ["FAIL_EQUIV", "FAIL_DRIFT"] {
        let cells = page.matches(&format!(">{v}</td>")).count();
        let coloured = page
            .matches(&format!("<td class=\"verdict-fail\">{v}</td>"))
            .count();
        assert!(cells > 0 && cells == coloured, "{v}: {coloured} of {cells}");
    }
    // The comparison tables lead with verdict and reason.
    let head = "<thead><tr><th>verdict</th><th>reason</th><th>span</th>";
    assert_eq!(page.matches(head).count(), r.backends.len());
    // Each figure comes after its section's heading and before the next heading.
    for p in &plots {
        let fig = page
            .find(&format!("<figure id=\"{}\">", plot_id(p)))
            .unwrap();
        let before = &page[..fig];
        let heading = &before[before.rfind("<h").unwrap()..];
        let want = match p.section {
            PlotSection::Drift(k) => format!(
                "backend-{}-drift-characterization-kv-aligned-0",
                r.backends[k].name
            ),
            PlotSection::Performance(k) => {
                format!("backend-{}-performance-profiling", r.backends[k].name)
            }
            PlotSection::CrossPerformance => {
                "cross-backend-summary-mean-wall-time-per-backend".to_string()
            }
        };
        assert!(
            heading.starts_with(&format!("<h3 id=\"{want}\">")),
            "{} follows {}",
            p.file,
            &heading[..60]
        );
    }
}
