//! Tables on the page, held a row at a time: a table with a `verdict` column is written with
//! that column and its `reason` first, so the answer shows without scrolling a wide table
//! sideways, and every cell gets its class from its text and its column. `report.md` keeps
//! its own column order.

use super::classes::{text_class, worst_class};
use std::fmt::Write as _;

/// The columns written first, in this order, when a table has a `verdict` column.
const LEAD: [&str; 2] = ["verdict", "reason"];

/// A table being written.
#[derive(Default)]
pub(super) struct Table {
    /// The header's texts.
    columns: Vec<String>,
    /// The order the columns are written in: indices into the markdown's.
    order: Vec<usize>,
    /// The row being read: each cell's HTML and plain text.
    row: Vec<(String, String)>,
}

impl Table {
    /// A cell of the row being read.
    pub(super) fn cell(&mut self, html: String, text: String) {
        self.row.push((html, text));
    }

    /// The header row is read: write it, with the columns in their page order.
    pub(super) fn end_head(&mut self, out: &mut String) {
        let row = std::mem::take(&mut self.row);
        self.columns = row.iter().map(|(_, t)| t.trim().to_string()).collect();
        self.order = column_order(&self.columns);
        out.push_str("<thead><tr>");
        for i in self.order(row.len()) {
            let _ = write!(out, "<th>{}</th>", row[i].0);
        }
        out.push_str("</tr></thead>\n<tbody>\n");
    }

    /// A body row is read: write it, cells in the header's order, each with its class.
    pub(super) fn end_row(&mut self, out: &mut String) {
        let row = std::mem::take(&mut self.row);
        out.push_str("<tr>");
        for i in self.order(row.len()) {
            let (html, text) = &row[i];
            match self.class(i, text) {
                Some(c) => {
                    let _ = write!(out, "<td class=\"{c}\">{html}</td>");
                }
                None => {
                    let _ = write!(out, "<td>{html}</td>");
                }
            }
        }
        out.push_str("</tr>\n");
    }

    /// The order to write a row of `len` cells in: the header's, then any cells past it.
    fn order(&self, len: usize) -> Vec<usize> {
        let known = self.order.iter().copied().filter(|&i| i < len);
        known.chain(self.order.len()..len).collect()
    }

    /// The class of body cell `i` with `text`: a reason wraps; a verdict column's cell is
    /// coloured by the worst verdict it names; any other cell by what it is (a verdict, NaN).
    fn class(&self, i: usize, text: &str) -> Option<&'static str> {
        match self.columns.get(i).map(String::as_str) {
            Some("reason") => Some("reason"),
            Some(c) if c.starts_with("verdict") => worst_class(text).or_else(|| text_class(text)),
            _ => text_class(text),
        }
    }
}

/// The page order of `columns`: the [`LEAD`] columns first when there is a `verdict` column,
/// the others as they are.
fn column_order(columns: &[String]) -> Vec<usize> {
    let find = |name: &str| columns.iter().position(|c| c == name);
    let lead: Vec<usize> = match find(LEAD[0]) {
        Some(_) => LEAD.iter().filter_map(|n| find(n)).collect(),
        None => Vec::new(),
    };
    let rest = (0..columns.len()).filter(|i| !lead.contains(i));
    lead.iter().copied().chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn verdict_and_reason_lead_when_there_is_a_verdict_column() {
        let c = cols(&["span", "max", "verdict", "reason"]);
        assert_eq!(column_order(&c), [2, 3, 0, 1]);
        assert_eq!(column_order(&cols(&["a", "verdict"])), [1, 0]);
        assert_eq!(column_order(&cols(&["verdict", "x"])), [0, 1]);
        // A reason alone is not moved.
        assert_eq!(column_order(&cols(&["a", "reason"])), [0, 1]);
        assert_eq!(column_order(&cols(&["a", "verdict per seed"])), [0, 1]);
    }

    #[test]
    fn rows_follow_the_header_order_with_classes() {
        let mut t = Table::default();
        for h in ["span", "verdict", "reason"] {
            t.cell(h.to_string(), h.to_string());
        }
        let mut out = String::new();
        t.end_head(&mut out);
        for (html, text) in [("5", "5"), ("<strong>FAIL_DRIFT</strong>", "FAIL_DRIFT")] {
            t.cell(html.to_string(), text.to_string());
        }
        t.cell("why".to_string(), "why".to_string());
        t.cell("extra".to_string(), "extra".to_string());
        t.end_row(&mut out);
        assert_eq!(
            out,
            "<thead><tr><th>verdict</th><th>reason</th><th>span</th></tr></thead>\n<tbody>\n\
             <tr><td class=\"verdict-fail\"><strong>FAIL_DRIFT</strong></td>\
             <td class=\"reason\">why</td><td>5</td><td>extra</td></tr>\n"
        );
    }
}
