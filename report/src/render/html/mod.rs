//! `report.html`: `report.md` turned into one self-contained page, with the plots inlined.
//!
//! The page is built from the markdown rather than from the [`Report`] fields, so every
//! section `report.md` has (tables, observations, sections added later) is in the HTML
//! too, worded and formatted the same. The markdown is parsed by `pulldown-cmark`
//! (CommonMark with GitHub tables) and the HTML is written here, event by event: headings,
//! paragraphs, nested lists, block quotes, code, tables, emphasis. What the page adds to the
//! markdown it adds here, rewriting the events, never in `report.md`:
//!
//! - the answer first: the global verdict and a backend × dtype grid of worst verdicts
//!   (`summary`), then a table of contents;
//! - readable, stable anchors from the headings (`#backend-cpu-comparison-results`, see
//!   `anchors`), each heading with a link to itself;
//! - verdicts coloured by class (`verdict-fail`...), and a table's `verdict` and `reason`
//!   columns written first (`table`);
//! - each plot right after the section it illustrates (`sections`); the `Plots` section
//!   links to them.
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

mod anchors;
mod classes;
mod sections;
mod style;
mod summary;
mod table;
#[cfg(test)]
mod tests;

use crate::model::Report;
use crate::render::csv::{PAIRS_CSV, PERFORMANCE_CSV};
use crate::render::markdown::markdown_with_plots;
use crate::render::plots::{Plot, PlotSection};
use crate::render::svg::{escape, escape_into};
use anchors::Anchors;
use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream};
use sections::Sections;
use std::fmt::Write as _;
use table::Table;

/// Render the report as one self-contained HTML page, with `plots` inlined beside the
/// sections they illustrate.
pub fn render_html(r: &Report, plots: &[Plot]) -> String {
    html_from_markdown(r, &markdown_with_plots(r, plots), plots)
}

/// [`render_html`] from `md`, the report's markdown already rendered with `plots`.
pub(crate) fn html_from_markdown(r: &Report, md: &str, plots: &[Plot]) -> String {
    let body = Converter::new(plots, Some(r)).convert(md);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Sweep Report: {}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
        escape(&r.sweep.name),
        style::STYLE
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

/// The id of a plot's figure: `plot-` and its file name's stem.
fn plot_id(p: &Plot) -> String {
    let stem = p.file.strip_suffix(".svg").unwrap_or(&p.file);
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let stem: String = stem
        .chars()
        .map(|c| if safe(c) { c } else { '-' })
        .collect();
    format!("plot-{stem}")
}

/// An element whose HTML is written aside (a heading, a table cell, bold text) until its
/// end, when its plain text decides its id or class.
struct Capture {
    /// What was written before it.
    outer: String,
    /// Its plain text.
    text: String,
}

/// The report's markdown to HTML: pulldown-cmark's events, written out here.
struct Converter<'a> {
    plots: &'a [Plot],
    /// The report, for the summary at the top (none in tests of plain markdown).
    report: Option<&'a Report>,
    out: String,
    /// Open captures, outermost first.
    captures: Vec<Capture>,
    /// Second-level headings seen (id, HTML), for the table of contents.
    toc: Vec<(String, String)>,
    anchors: Anchors,
    sections: Sections,
    /// Where the summary and the table of contents go: right after the first (title) heading.
    toc_at: Option<usize>,
    /// The table being written.
    table: Option<Table>,
    /// Per plot, whether its figure is written.
    placed: Vec<bool>,
    /// The section whose plots are written when it ends (at the next heading).
    plots_after: Option<PlotSection>,
    /// Per open link, how it ends.
    links: Vec<OpenLink>,
    /// Open images (not plots): their content is alt text, written as plain text.
    alt: usize,
    /// The destination of the outermost open image, written after its alt text.
    image_dest: String,
}

impl<'a> Converter<'a> {
    fn new(plots: &'a [Plot], report: Option<&'a Report>) -> Self {
        let mut anchors = Anchors::default();
        anchors.reserve(summary::SUMMARY_ID);
        for p in plots {
            anchors.reserve(&plot_id(p));
        }
        Converter {
            plots,
            report,
            out: String::new(),
            captures: Vec::new(),
            toc: Vec::new(),
            anchors,
            sections: Sections::default(),
            toc_at: None,
            table: None,
            placed: vec![false; plots.len()],
            plots_after: None,
            links: Vec::new(),
            alt: 0,
            image_dest: String::new(),
        }
    }

    /// One pass over the parser's events, as they come: nothing but the page being written
    /// (and a plot image's few events, a table row) is held, so time and memory grow with
    /// the text.
    fn convert(mut self, md: &str) -> String {
        let mut events =
            TextMergeStream::new(Parser::new_ext(md, Options::ENABLE_TABLES)).peekable();
        while let Some(ev) = events.next() {
            if matches!(ev, Event::Start(Tag::Paragraph)) && self.alt == 0 {
                let plot = match events.peek() {
                    Some(Event::Start(Tag::Image { dest_url, .. })) => self.plot(dest_url),
                    _ => None,
                };
                if let Some(k) = plot {
                    self.figure(ev, k, &mut events);
                    continue;
                }
            }
            self.event(&ev);
        }
        self.place_plots();
        let mut head = String::new();
        if let Some(r) = self.report {
            head.push_str(&summary::summary(r, &self.sections));
        }
        if !self.toc.is_empty() {
            head.push_str("<nav><ul>\n");
            for (id, text) in &self.toc {
                let _ = writeln!(head, "<li><a href=\"#{id}\">{text}</a></li>");
            }
            head.push_str("</ul></nav>\n");
        }
        self.out.insert_str(self.toc_at.unwrap_or(0), &head);
        self.out
    }

    /// The index of the plot `dest` (`plots/NAME`) shows, if it is one of this report's.
    fn plot(&self, dest: &str) -> Option<usize> {
        let file = dest.strip_prefix("plots/")?;
        self.plots.iter().position(|p| p.file == file)
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

    /// The figures of the section that just ended, in report order.
    fn place_plots(&mut self) {
        let Some(section) = self.plots_after.take() else {
            return;
        };
        for k in 0..self.plots.len() {
            if self.plots[k].section == section && !self.placed[k] {
                self.write_figure(k);
            }
        }
    }

    /// Plot `k` inlined in a figure the page can link to.
    fn write_figure(&mut self, k: usize) {
        let plot = &self.plots[k];
        self.placed[k] = true;
        // The SVG carries the title; the caption names the file.
        let _ = write!(
            self.out,
            "<figure id=\"{}\">\n{}<figcaption>File: <code>plots/{}</code></figcaption>\n\
             </figure>\n",
            plot_id(plot),
            plot.svg,
            escape(&plot.file)
        );
    }

    /// `paragraph` (its start) followed in `events` by an image of plot `k`: when the
    /// paragraph is exactly that image, the plot's figure, or a link to it where it is
    /// already shown; otherwise the events, written as they are.
    fn figure<'e>(
        &mut self,
        paragraph: Event<'e>,
        k: usize,
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
            if !self.placed[k] {
                self.write_figure(k);
                return;
            }
            let p = &self.plots[k];
            let _ = writeln!(
                self.out,
                "<p><a href=\"#{}\">{}</a> (<code>plots/{}</code>), shown after its section.</p>",
                plot_id(p),
                escape(&p.title),
                escape(&p.file)
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
        for c in &mut self.captures {
            c.text.push_str(s);
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

    /// Start writing an element aside (see [`Capture`]).
    fn capture(&mut self) {
        let outer = std::mem::take(&mut self.out);
        self.captures.push(Capture {
            outer,
            text: String::new(),
        });
    }

    /// The captured element's HTML and plain text; what was written before it is back.
    fn release(&mut self) -> (String, String) {
        let c = self.captures.pop().unwrap_or(Capture {
            outer: String::new(),
            text: String::new(),
        });
        (std::mem::replace(&mut self.out, c.outer), c.text)
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
                // A section ends where the next heading starts: its plots go there.
                self.place_plots();
                self.capture();
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
                self.table = Some(Table::default());
            }
            // A table's rows are written when they end (see `table`).
            Tag::TableHead | Tag::TableRow => {}
            Tag::TableCell | Tag::Strong => self.capture(),
            Tag::Emphasis => out.push_str("<em>"),
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
        match tag {
            TagEnd::Heading(level) => self.heading(level as usize),
            TagEnd::TableCell => {
                let (html, text) = self.release();
                if let Some(t) = &mut self.table {
                    t.cell(html, text);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(t) = &mut self.table {
                    if tag == TagEnd::TableHead {
                        t.end_head(&mut self.out);
                    } else {
                        t.end_row(&mut self.out);
                    }
                }
            }
            TagEnd::Table => {
                self.table = None;
                self.out.push_str("</tbody></table></div>\n");
            }
            TagEnd::Strong => {
                let (html, text) = self.release();
                // In a table the cell carries the class.
                match classes::text_class(&text).filter(|_| self.table.is_none()) {
                    Some(c) => {
                        let _ = write!(self.out, "<strong class=\"{c}\">{html}</strong>");
                    }
                    None => {
                        let _ = write!(self.out, "<strong>{html}</strong>");
                    }
                }
            }
            TagEnd::HtmlBlock => {
                let out = &mut self.out;
                out.truncate(out.trim_end_matches('\n').len());
                out.push_str("</p>\n");
            }
            TagEnd::Link => match self.links.pop() {
                Some(OpenLink::Live) => self.out.push_str("</a>"),
                Some(OpenLink::Dead(rest)) => self.text(&rest),
                _ => {}
            },
            _ => self.out.push_str(closing(tag)),
        }
    }

    /// A heading ends: written with its id and a link to itself; it may open a section
    /// whose plots follow it.
    fn heading(&mut self, level: usize) {
        let (html, text) = self.release();
        let id = self.anchors.heading(level, &text);
        // The title is the page: no link to itself.
        let link = if level == 1 {
            String::new()
        } else {
            format!("<a class=\"self\" href=\"#{id}\" aria-label=\"Link to this section\">#</a>")
        };
        let _ = writeln!(self.out, "<h{level} id=\"{id}\">{html}{link}</h{level}>");
        if level == 1 && self.toc_at.is_none() {
            self.toc_at = Some(self.out.len());
        }
        if level == 2 {
            self.toc.push((id.clone(), html));
        }
        self.plots_after = self.sections.heading(level, &text, &id);
    }
}

/// The closing markup of an element written as it comes (the others are handled in
/// `Converter::end`).
fn closing(tag: TagEnd) -> &'static str {
    match tag {
        TagEnd::Paragraph => "</p>\n",
        TagEnd::BlockQuote(_) => "</blockquote>\n",
        TagEnd::CodeBlock => "</code></pre>\n",
        TagEnd::List(true) => "</ol>\n",
        TagEnd::List(false) => "</ul>\n",
        TagEnd::Item => "</li>\n",
        TagEnd::Emphasis => "</em>",
        TagEnd::Strikethrough => "</del>",
        TagEnd::Superscript => "</sup>",
        TagEnd::Subscript => "</sub>",
        _ => "",
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
