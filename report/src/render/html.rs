//! `report.html`: `report.md` turned into one self-contained page, with the plots inlined.
//!
//! The page is built from the markdown rather than from the [`Report`] fields, so every
//! section `report.md` has (tables, observations, sections added later) is in the HTML
//! too, worded and formatted the same. The converter knows the markdown subset the report
//! uses: headings, pipe tables, `-` and `1.` lists, paragraphs, fenced code, `**strong**`,
//! `_em_`, `` `code` ``, backslash escapes, links and images. An image of a known plot
//! (`![title](plots/NAME.svg)`) becomes the SVG itself.
//!
//! Self-contained and inert: one inline stylesheet, no script, no external resource, and a
//! Content-Security-Policy that forbids loading any. All text is escaped; the only entities
//! passed through are well-formed ones, which the markdown escaping itself produces.

use crate::model::Report;
use crate::render::markdown::markdown_with_plots;
use crate::render::plots::Plot;
use crate::render::svg::escape;
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

/// Markdown-subset to HTML, block by block.
struct Converter<'a> {
    plots: &'a [Plot],
    out: String,
    /// Second-level headings seen (id, text), for the table of contents.
    toc: Vec<(String, String)>,
    headings: usize,
}

impl<'a> Converter<'a> {
    fn new(plots: &'a [Plot]) -> Self {
        Converter {
            plots,
            out: String::new(),
            toc: Vec::new(),
            headings: 0,
        }
    }

    fn convert(mut self, md: &str) -> String {
        let lines: Vec<&str> = md.lines().collect();
        let mut i = 0;
        // Where the table of contents goes: right after the first (title) heading.
        let mut toc_at = None;
        while i < lines.len() {
            let line = lines[i];
            let t = line.trim_start();
            if t.is_empty() {
                i += 1;
            } else if let Some((level, text)) = heading(t) {
                self.heading(level, text);
                if level == 1 && toc_at.is_none() {
                    toc_at = Some(self.out.len());
                }
                i += 1;
            } else if t.starts_with("```") {
                i = self.fence(&lines, i);
            } else if t.starts_with('|') {
                i = self.table(&lines, i);
            } else if list_item(t).is_some() {
                i = self.list(&lines, i);
            } else {
                i = self.paragraph(&lines, i);
            }
        }
        if let (Some(at), false) = (toc_at, self.toc.is_empty()) {
            let mut nav = String::from("<nav><ul>\n");
            for (id, text) in &self.toc {
                let _ = writeln!(nav, "<li><a href=\"#{id}\">{text}</a></li>");
            }
            nav.push_str("</ul></nav>\n");
            self.out.insert_str(at, &nav);
        }
        self.out
    }

    fn heading(&mut self, level: usize, text: &str) {
        self.headings += 1;
        let id = format!("s{}", self.headings);
        let html = inline(text);
        let _ = writeln!(self.out, "<h{level} id=\"{id}\">{html}</h{level}>");
        if level == 2 {
            self.toc.push((id, html));
        }
    }

    /// A fenced code block from `lines[i]`; returns the index after it.
    fn fence(&mut self, lines: &[&str], i: usize) -> usize {
        let mut j = i + 1;
        self.out.push_str("<pre><code>");
        while j < lines.len() && !lines[j].trim_start().starts_with("```") {
            self.out.push_str(&escape(lines[j]));
            self.out.push('\n');
            j += 1;
        }
        self.out.push_str("</code></pre>\n");
        j + 1
    }

    /// A pipe table from `lines[i]`; returns the index after it.
    fn table(&mut self, lines: &[&str], i: usize) -> usize {
        let mut j = i;
        let mut rows = Vec::new();
        while j < lines.len() && lines[j].trim_start().starts_with('|') {
            rows.push(split_row(lines[j].trim()));
            j += 1;
        }
        let is_sep = |r: &Vec<String>| {
            !r.is_empty()
                && r.iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
        };
        let has_header = rows.len() >= 2 && is_sep(&rows[1]);
        self.out.push_str("<div class=\"scroll\"><table>\n");
        let mut body = &rows[..];
        if has_header {
            self.out.push_str("<thead><tr>");
            for c in &rows[0] {
                let _ = write!(self.out, "<th>{}</th>", inline(c));
            }
            self.out.push_str("</tr></thead>\n");
            body = &rows[2..];
        }
        self.out.push_str("<tbody>\n");
        for r in body {
            self.out.push_str("<tr>");
            for c in r {
                let class = cell_class(c);
                let _ = write!(self.out, "<td{class}>{}</td>", inline(c));
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody></table></div>\n");
        j
    }

    /// A flat list from `lines[i]` (`-` or numbered); returns the index after it.
    fn list(&mut self, lines: &[&str], i: usize) -> usize {
        let ordered = list_item(lines[i].trim_start()).is_some_and(|(o, _)| o);
        let tag = if ordered { "ol" } else { "ul" };
        let _ = writeln!(self.out, "<{tag}>");
        let mut j = i;
        let mut items: Vec<String> = Vec::new();
        while j < lines.len() {
            let t = lines[j].trim_start();
            if t.is_empty() || heading(t).is_some() || t.starts_with('|') {
                break;
            }
            match list_item(t) {
                Some((_, text)) => items.push(text.to_string()),
                // A continuation line of the previous item.
                None => match items.last_mut() {
                    Some(last) => {
                        last.push(' ');
                        last.push_str(t);
                    }
                    None => break,
                },
            }
            j += 1;
        }
        for it in items {
            let _ = writeln!(self.out, "<li>{}</li>", inline(&it));
        }
        let _ = writeln!(self.out, "</{tag}>");
        j
    }

    /// A paragraph from `lines[i]`; returns the index after it.
    fn paragraph(&mut self, lines: &[&str], i: usize) -> usize {
        let mut j = i;
        let mut text = Vec::new();
        while j < lines.len() {
            let t = lines[j].trim();
            if t.is_empty()
                || heading(t).is_some()
                || t.starts_with('|')
                || t.starts_with("```")
                || (j > i && list_item(t).is_some())
            {
                break;
            }
            text.push(t);
            j += 1;
        }
        let text = text.join(" ");
        if let Some(fig) = self.figure(&text) {
            self.out.push_str(&fig);
        } else {
            let _ = writeln!(self.out, "<p>{}</p>", inline(&text));
        }
        j
    }

    /// A paragraph that is exactly one image of a known plot: the SVG inlined in a figure.
    fn figure(&self, text: &str) -> Option<String> {
        let (_alt, src, rest) = link_at(text.strip_prefix('!')?)?;
        if !rest.trim().is_empty() {
            return None;
        }
        let file = src.strip_prefix("plots/")?;
        let plot = self.plots.iter().find(|p| p.file == file)?;
        // The SVG carries the title; the caption names the file.
        Some(format!(
            "<figure>\n{}<figcaption>File: <code>{}</code></figcaption>\n</figure>\n",
            plot.svg,
            escape(src)
        ))
    }
}

/// `(level, text)` of an ATX heading.
fn heading(t: &str) -> Option<(usize, &str)> {
    let level = t.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    t[level..].strip_prefix(' ').map(|s| (level, s.trim()))
}

/// `(ordered, text)` of a list item line (`- x`, `* x`, `12. x`).
fn list_item(t: &str) -> Option<(bool, &str)> {
    if let Some(s) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
        return Some((false, s));
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 10 {
        return t[digits..].strip_prefix(". ").map(|s| (true, s));
    }
    None
}

/// The cells of a table row, split on unescaped pipes; `\|` stays escaped for [`inline`].
fn split_row(line: &str) -> Vec<String> {
    let inner = line.strip_prefix('|').unwrap_or(line);
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push('\\');
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    // Text after the last pipe is a cell only when the row lacks its closing pipe.
    if !cur.trim().is_empty() {
        cells.push(cur.trim().to_string());
    }
    cells
}

/// A class that colours verdict-like cells.
fn cell_class(c: &str) -> &'static str {
    let c = c.trim_matches('*');
    if c.starts_with("FAIL") || c == "NaN" || c == "inf" || c == "-inf" {
        " class=\"bad\""
    } else if c.starts_with("PASS") || c == "EXPECTED_DRIFT" {
        " class=\"ok\""
    } else {
        ""
    }
}

/// `[text](url)` at the start of `s`: `(text, url, rest)`.
fn link_at(s: &str) -> Option<(&str, &str, &str)> {
    let s = s.strip_prefix('[')?;
    // The closing bracket: the first one not escaped.
    let mut close = None;
    let mut esc = false;
    for (k, c) in s.char_indices() {
        match c {
            _ if esc => esc = false,
            '\\' => esc = true,
            ']' => {
                close = Some(k);
                break;
            }
            _ => {}
        }
    }
    let close = close?;
    let rest = s[close + 1..].strip_prefix('(')?;
    let end = rest.find(')')?;
    let url = &rest[..end];
    if url.contains(char::is_whitespace) {
        return None;
    }
    Some((&s[..close], url, &rest[end + 1..]))
}

/// An entity at the start of `s` (`&lt;`, `&#124;`, `&#x7c;`): its length.
fn entity_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix('&')?;
    let end = body.find(';')?;
    let name = &body[..end];
    let ok = if let Some(num) = name.strip_prefix('#') {
        let hex = num.strip_prefix(['x', 'X']);
        match hex {
            Some(h) => !h.is_empty() && h.len() <= 6 && h.chars().all(|c| c.is_ascii_hexdigit()),
            None => !num.is_empty() && num.len() <= 7 && num.chars().all(|c| c.is_ascii_digit()),
        }
    } else {
        !name.is_empty() && name.len() <= 10 && name.chars().all(|c| c.is_ascii_alphanumeric())
    };
    ok.then_some(end + 2)
}

/// Markdown inline markup of one block's text, as escaped HTML.
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next().unwrap_or(' ');
        let prev = s[..i].chars().next_back();
        match c {
            '\\' => {
                // A backslash escape of ASCII punctuation is the character itself.
                match rest[1..].chars().next() {
                    Some(n) if n.is_ascii_punctuation() => {
                        out.push_str(&escape(&n.to_string()));
                        i += 2;
                    }
                    _ => {
                        out.push('\\');
                        i += 1;
                    }
                }
            }
            '`' => match rest[1..].find('`') {
                Some(end) => {
                    let _ = write!(out, "<code>{}</code>", escape(&rest[1..1 + end]));
                    i += end + 2;
                }
                None => {
                    out.push('`');
                    i += 1;
                }
            },
            '*' if rest.starts_with("**") => match rest[2..].find("**") {
                Some(end) if end > 0 => {
                    let _ = write!(out, "<strong>{}</strong>", inline(&rest[2..2 + end]));
                    i += end + 4;
                }
                _ => {
                    out.push_str("**");
                    i += 2;
                }
            },
            '_' | '*'
                if !prev.is_some_and(char::is_alphanumeric)
                    && rest[1..].chars().next().is_some_and(|n| !n.is_whitespace()) =>
            {
                // Emphasis closes at the same marker not followed by a word character, so
                // `kv_aligned` or `a*b` stay literal.
                let close = rest[1..].char_indices().find(|&(k, ch)| {
                    ch == c
                        && k > 0
                        && !rest[1 + k + 1..]
                            .chars()
                            .next()
                            .is_some_and(char::is_alphanumeric)
                });
                match close {
                    Some((k, _)) => {
                        let _ = write!(out, "<em>{}</em>", inline(&rest[1..1 + k]));
                        i += k + 2;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            '!' if rest[1..].starts_with('[') => match link_at(&rest[1..]) {
                // An image that is not a known plot: its alt text (nothing is loaded).
                Some((alt, _, after)) => {
                    let _ = write!(out, "<em>[{}]</em>", inline(alt));
                    i = s.len() - after.len();
                }
                None => {
                    out.push('!');
                    i += 1;
                }
            },
            '[' => match link_at(rest) {
                // Relative links only; anything with a scheme prints as text.
                Some((text, url, after)) => {
                    if url.contains(':') {
                        let _ = write!(out, "{} ({})", inline(text), escape(url));
                    } else {
                        let _ = write!(out, "<a href=\"{}\">{}</a>", escape(url), inline(text));
                    }
                    i = s.len() - after.len();
                }
                None => {
                    out.push('[');
                    i += 1;
                }
            },
            '&' => match entity_len(rest) {
                Some(len) => {
                    out.push_str(&rest[..len]);
                    i += len;
                }
                None => {
                    out.push_str("&amp;");
                    i += 1;
                }
            },
            _ => {
                out.push_str(&escape(&rest[..c.len_utf8()]));
                i += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup() {
        assert_eq!(inline("**a** and _b_"), "<strong>a</strong> and <em>b</em>");
        assert_eq!(inline("kv_aligned=0 x_y"), "kv_aligned=0 x_y");
        assert_eq!(inline("`<x>` a\\|b"), "<code>&lt;x&gt;</code> a|b");
        assert_eq!(inline("&lt;b&gt; & c"), "&lt;b&gt; &amp; c");
        assert_eq!(inline("<script>"), "&lt;script&gt;");
        assert_eq!(inline("[r](plots/a.svg)"), "<a href=\"plots/a.svg\">r</a>");
        assert_eq!(inline("[r](javascript:x)"), "r (javascript:x)");
        assert_eq!(inline("a * b"), "a * b");
    }

    #[test]
    fn table_rows_split_on_unescaped_pipes() {
        assert_eq!(split_row("| a | b\\|c |"), ["a", "b\\|c"]);
        assert_eq!(split_row("| a |  |"), ["a", ""]);
    }
}
