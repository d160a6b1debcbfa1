//! `report.html`: `report.md` turned into one self-contained page, with the plots inlined.
//!
//! The page is built from the markdown rather than from the [`Report`] fields, so every
//! section `report.md` has (tables, observations, sections added later) is in the HTML
//! too, worded and formatted the same. The markdown is parsed by `pulldown-cmark`
//! (CommonMark with GitHub tables) and the HTML is written here, event by event: headings
//! (numbered ids, a table of contents of the second-level ones), paragraphs, nested lists,
//! block quotes, code, tables (scrolling, verdict cells coloured), emphasis. An image of a
//! known plot (`![title](plots/NAME.svg)`) becomes the SVG itself.
//!
//! Self-contained and inert: one inline stylesheet, no script, no external resource, and a
//! Content-Security-Policy that forbids loading any. Plugin text reaches this page through
//! the markdown, so nothing in it is trusted: `report.md` already escapes it (see
//! `format::inline`), and here again every text is escaped, raw HTML is shown as text, a
//! link becomes an `<a>` only when it points into this page or at a file of the report, and
//! any other image is its alt text.
//!
//! The events are converted as the parser yields them (adjacent texts merged), never all
//! held at once: time and memory grow with the markdown's length.

use crate::model::Report;
use crate::render::csv::{PAIRS_CSV, PERFORMANCE_CSV};
use crate::render::markdown::markdown_with_plots;
use crate::render::plots::Plot;
use crate::render::svg::{escape, escape_into};
use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream};
use std::fmt::Write as _;

/// The page's stylesheet: readable tables, wide tables scroll instead of overflowing.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1a1a1a;\
background:#fafafa;line-height:1.45}\
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px;background:#fff}\
h1{font-size:1.7em;border-bottom:2px solid #333;padding-bottom:6px}\
h2{font-size:1.35em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.8em}\
h3{font-size:1.12em;margin-top:1.4em}h4{font-size:1em;margin-top:1.2em}\
nav ul{columns:2;font-size:.92em}\
.scroll{overflow-x:auto;margin:.6em 0}\
table{border-collapse:collapse;font-size:.88em}\
th,td{border:1px solid #d0d0d0;padding:3px 8px;text-align:left;white-space:nowrap}\
th{background:#f0f0f0}tr:nth-child(even) td{background:#fafafa}\
td.bad{color:#a00000;font-weight:bold}td.ok{color:#106010}\
code{background:#f3f3f3;padding:0 3px;border-radius:3px;font-size:.92em}\
pre{background:#f3f3f3;padding:8px;overflow-x:auto}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #e0e0e0}\
figcaption{font-size:.85em;color:#555}";

/// Render the report as one self-contained HTML page, with `plots` inlined where
/// `report.md` shows them.
pub fn render_html(r: &Report, plots: &[Plot]) -> String {
    html_from_markdown(r, &markdown_with_plots(r, plots), plots)
}

/// [`render_html`] from `md`, the report's markdown already rendered with `plots`.
pub(crate) fn html_from_markdown(r: &Report, md: &str, plots: &[Plot]) -> String {
    let body = Converter::new(plots).convert(md);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Sweep Report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&r.sweep.name)
    );
    out.push_str(&body);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Files of the report folder a link may point at, besides the `plots/` of this report.
const REPORT_FILES: [&str; 5] = [
    "report.md",
    "report.html",
    "report.json",
    PAIRS_CSV,
    PERFORMANCE_CSV,
];

/// The report's markdown to HTML: pulldown-cmark's events, written out here.
struct Converter<'a> {
    plots: &'a [Plot],
    out: String,
    /// What was written before the heading or table cell now being written to `out`.
    outer: Vec<String>,
    /// Second-level headings seen (id, HTML), for the table of contents.
    toc: Vec<(String, String)>,
    headings: usize,
    /// Where the table of contents goes: right after the first (title) heading.
    toc_at: Option<usize>,
    /// Whether the table cells being written are the header's.
    in_head: bool,
    /// The plain text of the table cell being written, for its class.
    cell: Option<String>,
    /// Per open link, how it ends.
    links: Vec<OpenLink>,
    /// Open images (not plots): their content is alt text, written as plain text.
    alt: usize,
    /// The destination of the outermost open image, written after its alt text.
    image_dest: String,
}

impl<'a> Converter<'a> {
    fn new(plots: &'a [Plot]) -> Self {
        Converter {
            plots,
            out: String::new(),
            outer: Vec::new(),
            toc: Vec::new(),
            headings: 0,
            toc_at: None,
            in_head: false,
            cell: None,
            links: Vec::new(),
            alt: 0,
            image_dest: String::new(),
        }
    }

    /// One pass over the parser's events, as they come: nothing but the page being written
    /// (and a plot image's few events) is held, so time and memory grow with the text.
    fn convert(mut self, md: &str) -> String {
        let mut events =
            TextMergeStream::new(Parser::new_ext(md, Options::ENABLE_TABLES)).peekable();
        while let Some(ev) = events.next() {
            if matches!(ev, Event::Start(Tag::Paragraph)) && self.alt == 0 {
                let plot = match events.peek() {
                    Some(Event::Start(Tag::Image { dest_url, .. })) => self.plot(dest_url),
                    _ => None,
                };
                if let Some(plot) = plot {
                    self.figure(ev, plot, &mut events);
                    continue;
                }
            }
            self.event(&ev);
        }
        if let (Some(at), false) = (self.toc_at, self.toc.is_empty()) {
            let mut nav = String::from("<nav><ul>\n");
            for (id, text) in &self.toc {
                let _ = writeln!(nav, "<li><a href=\"#{id}\">{text}</a></li>");
            }
            nav.push_str("</ul></nav>\n");
            self.out.insert_str(at, &nav);
        }
        self.out
    }

    /// The plot `dest` (`plots/NAME`) shows, if it is one of this report's.
    fn plot(&self, dest: &str) -> Option<&'a Plot> {
        let file = dest.strip_prefix("plots/")?;
        self.plots.iter().find(|p| p.file == file)
    }

    /// Whether a link to `dest` may be live: a fragment of this page, or a file the report
    /// writes beside it. Anything else (a scheme, `//host`, another path) is text only.
    fn link_allowed(&self, dest: &str) -> bool {
        if let Some(fragment) = dest.strip_prefix('#') {
            return !fragment.is_empty()
                && fragment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        }
        REPORT_FILES.contains(&dest) || self.plot(dest).is_some()
    }

    /// `paragraph` (its start) followed in `events` by an image of `plot`: when the
    /// paragraph is exactly that image, the SVG inlined in a figure; otherwise the events,
    /// written as they are.
    fn figure<'e>(
        &mut self,
        paragraph: Event<'e>,
        plot: &Plot,
        events: &mut std::iter::Peekable<impl Iterator<Item = Event<'e>>>,
    ) {
        // The image's end (its alt text may hold images too), then the paragraph's.
        let mut held = vec![paragraph];
        let mut depth = 0usize;
        for ev in events.by_ref() {
            match ev {
                Event::Start(Tag::Image { .. }) => depth += 1,
                Event::End(TagEnd::Image) => depth -= 1,
                _ => {}
            }
            held.push(ev);
            if depth == 0 {
                break;
            }
        }
        if depth == 0 && matches!(events.peek(), Some(Event::End(TagEnd::Paragraph))) {
            events.next();
            // The SVG carries the title; the caption names the file.
            let _ = write!(
                self.out,
                "<figure>\n{}<figcaption>File: <code>plots/{}</code></figcaption>\n</figure>\n",
                plot.svg,
                escape(&plot.file)
            );
            return;
        }
        for ev in &held {
            self.event(ev);
        }
    }

    fn event(&mut self, ev: &Event) {
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(*tag),
            Event::Text(t) => self.text(t),
            Event::Code(t) if self.alt == 0 => {
                self.out.push_str("<code>");
                self.text(t);
                self.out.push_str("</code>");
            }
            // Raw HTML is shown as what it is: text.
            Event::Code(t)
            | Event::Html(t)
            | Event::InlineHtml(t)
            | Event::InlineMath(t)
            | Event::DisplayMath(t) => self.text(t),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]")),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak if self.alt == 0 => self.out.push_str("<br>\n"),
            Event::HardBreak => self.text(" "),
            Event::Rule => {
                self.block_break();
                self.out.push_str("<hr>\n");
            }
            Event::TaskListMarker(done) => self.text(if *done { "[x] " } else { "[ ] " }),
        }
    }

    /// Text, escaped; its line breaks (code blocks) kept.
    fn text(&mut self, s: &str) {
        if let Some(cell) = &mut self.cell {
            cell.push_str(s);
        }
        for (k, line) in s.split('\n').enumerate() {
            if k > 0 {
                self.out.push('\n');
            }
            escape_into(&mut self.out, line);
        }
    }

    /// A block inside a list item starts on its own line.
    fn block_break(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn start(&mut self, tag: &Tag) {
        if self.alt > 0 {
            // Inside alt text: no markup, only the text.
            match tag {
                Tag::Image { .. } => self.alt += 1,
                Tag::Link { .. } => self.links.push(OpenLink::Quiet),
                _ => {}
            }
            return;
        }
        let out = &mut self.out;
        match tag {
            Tag::Paragraph => out.push_str("<p>"),
            Tag::Heading { .. } => {
                self.headings += 1;
                self.outer.push(std::mem::take(out));
            }
            Tag::BlockQuote(_) => {
                self.block_break();
                self.out.push_str("<blockquote>\n");
            }
            Tag::CodeBlock(_) => {
                self.block_break();
                self.out.push_str("<pre><code>");
            }
            Tag::HtmlBlock => {
                self.block_break();
                self.out.push_str("<p>");
            }
            Tag::List(start) => {
                self.block_break();
                match start {
                    None => self.out.push_str("<ul>\n"),
                    Some(1) => self.out.push_str("<ol>\n"),
                    Some(n) => {
                        let _ = writeln!(self.out, "<ol start=\"{n}\">");
                    }
                }
            }
            Tag::Item => out.push_str("<li>"),
            Tag::Table(_) => {
                self.block_break();
                self.out.push_str("<div class=\"scroll\"><table>\n");
            }
            Tag::TableHead => {
                self.in_head = true;
                out.push_str("<thead><tr>");
            }
            Tag::TableRow => out.push_str("<tr>"),
            Tag::TableCell => {
                self.outer.push(std::mem::take(out));
                self.cell = Some(String::new());
            }
            Tag::Emphasis => out.push_str("<em>"),
            Tag::Strong => out.push_str("<strong>"),
            Tag::Strikethrough => out.push_str("<del>"),
            Tag::Superscript => out.push_str("<sup>"),
            Tag::Subscript => out.push_str("<sub>"),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                if self.link_allowed(dest_url) {
                    let _ = write!(self.out, "<a href=\"{}\">", escape(dest_url));
                    self.links.push(OpenLink::Live);
                } else if matches!(link_type, LinkType::Autolink | LinkType::Email) {
                    // Its text is the address: shown as text.
                    self.links.push(OpenLink::Quiet);
                } else {
                    // Shown as the markdown it was written as, never followed.
                    self.text("[");
                    self.links.push(OpenLink::Dead(format!("]({dest_url})")));
                }
            }
            // An image that is not a known plot: shown as the markdown it was written as,
            // with its alt text; nothing is loaded.
            Tag::Image { dest_url, .. } => {
                self.text("![");
                self.image_dest = format!("]({dest_url})");
                self.alt = 1;
            }
            // Not enabled (footnotes, definition lists, metadata): the content, unmarked.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        if self.alt > 0 {
            match tag {
                TagEnd::Image => {
                    self.alt -= 1;
                    if self.alt == 0 {
                        let dest = std::mem::take(&mut self.image_dest);
                        self.text(&dest);
                    }
                }
                TagEnd::Link => {
                    self.links.pop();
                }
                _ => {}
            }
            return;
        }
        let out = &mut self.out;
        match tag {
            TagEnd::Paragraph => out.push_str("</p>\n"),
            TagEnd::Heading(level) => {
                let html = std::mem::replace(out, self.outer.pop().unwrap_or_default());
                let level = level as usize;
                let id = format!("s{}", self.headings);
                let _ = writeln!(out, "<h{level} id=\"{id}\">{html}</h{level}>");
                if level == 1 && self.toc_at.is_none() {
                    self.toc_at = Some(out.len());
                }
                if level == 2 {
                    self.toc.push((id, html));
                }
            }
            TagEnd::BlockQuote(_) => out.push_str("</blockquote>\n"),
            TagEnd::CodeBlock => out.push_str("</code></pre>\n"),
            TagEnd::HtmlBlock => {
                out.truncate(out.trim_end_matches('\n').len());
                out.push_str("</p>\n");
            }
            TagEnd::List(true) => out.push_str("</ol>\n"),
            TagEnd::List(false) => out.push_str("</ul>\n"),
            TagEnd::Item => out.push_str("</li>\n"),
            TagEnd::Table => out.push_str("</tbody></table></div>\n"),
            TagEnd::TableHead => {
                self.in_head = false;
                out.push_str("</tr></thead>\n<tbody>\n");
            }
            TagEnd::TableRow => out.push_str("</tr>\n"),
            TagEnd::TableCell => {
                let html = std::mem::replace(out, self.outer.pop().unwrap_or_default());
                let text = self.cell.take().unwrap_or_default();
                if self.in_head {
                    let _ = write!(out, "<th>{html}</th>");
                } else {
                    let _ = write!(out, "<td{}>{html}</td>", cell_class(&text));
                }
            }
            TagEnd::Emphasis => out.push_str("</em>"),
            TagEnd::Strong => out.push_str("</strong>"),
            TagEnd::Strikethrough => out.push_str("</del>"),
            TagEnd::Superscript => out.push_str("</sup>"),
            TagEnd::Subscript => out.push_str("</sub>"),
            TagEnd::Link => match self.links.pop() {
                Some(OpenLink::Live) => out.push_str("</a>"),
                Some(OpenLink::Dead(rest)) => self.text(&rest),
                _ => {}
            },
            TagEnd::Image
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => {}
        }
    }
}

/// How an open link ends.
enum OpenLink {
    /// Written as an `<a>`: closed by `</a>`.
    Live,
    /// Written as text: its destination follows as text (`](dest)`).
    Dead(String),
    /// Nothing to close (an address shown as text, a link inside alt text).
    Quiet,
}

/// A class that colours verdict-like cells, from the cell's text.
fn cell_class(text: &str) -> &'static str {
    let c = text.trim().trim_matches('*');
    if c.starts_with("FAIL") || c == "NaN" || c == "inf" || c == "-inf" {
        " class=\"bad\""
    } else if c.starts_with("PASS") || c == "EXPECTED_DRIFT" {
        " class=\"ok\""
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(md: &str) -> String {
        Converter::new(&[]).convert(md)
    }

    fn plot(file: &str) -> Plot {
        Plot {
            file: file.to_string(),
            title: "t".to_string(),
            svg: "<svg><title>t</title></svg>\n".to_string(),
        }
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
        let plots = [plot("a.svg")];
        let conv = |md: &str| Converter::new(&plots).convert(md);
        assert_eq!(
            conv("[r](plots/a.svg) [s](#s2) [t](pairs.csv)"),
            "<p><a href=\"plots/a.svg\">r</a> <a href=\"#s2\">s</a> \
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
        let plots = [plot("a.svg")];
        let conv = |md: &str| Converter::new(&plots).convert(md);
        assert_eq!(
            conv("![t](plots/a.svg)\n"),
            "<figure>\n<svg><title>t</title></svg>\n\
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
    fn headings_get_ids_and_a_table_of_contents() {
        assert_eq!(
            html("# T\n\nintro\n\n## A `b`\n\n### c\n\n## D\n"),
            "<h1 id=\"s1\">T</h1>\n<nav><ul>\n<li><a href=\"#s2\">A <code>b</code></a></li>\n\
             <li><a href=\"#s4\">D</a></li>\n</ul></nav>\n<p>intro</p>\n\
             <h2 id=\"s2\">A <code>b</code></h2>\n<h3 id=\"s3\">c</h3>\n<h2 id=\"s4\">D</h2>\n"
        );
    }

    #[test]
    fn tables_scroll_and_colour_verdicts() {
        assert_eq!(
            html("| v | r |\n|---|---|\n| **FAIL_EQUIV** | a\\|b |\n| PASS_EQUIV | NaN |\n| x |  |\n"),
            "<div class=\"scroll\"><table>\n<thead><tr><th>v</th><th>r</th></tr></thead>\n\
             <tbody>\n<tr><td class=\"bad\"><strong>FAIL_EQUIV</strong></td><td>a|b</td></tr>\n\
             <tr><td class=\"ok\">PASS_EQUIV</td><td class=\"bad\">NaN</td></tr>\n\
             <tr><td>x</td><td></td></tr>\n</tbody></table></div>\n"
        );
    }

    #[test]
    fn fenced_code_keeps_its_lines() {
        assert_eq!(
            html("```\na <b>\n  c\n```\n"),
            "<pre><code>a &lt;b&gt;\n  c\n</code></pre>\n"
        );
    }
}
