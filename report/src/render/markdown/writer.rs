//! The markdown writer every section renderer of `report.md` shares.

use crate::format::cell;

/// A markdown document being written; the section renderers of sibling modules share it.
#[derive(Default)]
pub(crate) struct Md(pub(crate) String);

/// A cell of a [`Md::table`] row. A `String` is text, escaped as it is written (see
/// [`crate::format::cell`]); [`Strong`] is text shown bold.
pub(crate) trait TableCell {
    /// The cell as markdown, appended to `out`.
    fn write(&self, out: &mut String);
}

impl TableCell for String {
    fn write(&self, out: &mut String) {
        out.push_str(&cell(self));
    }
}

/// A table cell shown bold: its text escaped like any other cell's, between `**`.
pub(crate) struct Strong(pub(crate) String);

/// A cell that is either text or bold text (rows mixing both).
pub(crate) enum Text {
    Plain(String),
    Strong(Strong),
}

impl TableCell for Strong {
    fn write(&self, out: &mut String) {
        out.push_str("**");
        out.push_str(&cell(&self.0));
        out.push_str("**");
    }
}

impl TableCell for Text {
    fn write(&self, out: &mut String) {
        match self {
            Text::Plain(s) => s.write(out),
            Text::Strong(s) => s.write(out),
        }
    }
}

impl Md {
    pub(crate) fn line(&mut self, s: &str) {
        // Last guard: whatever text reached a line unescaped, no escape sequence or carriage
        // return goes into the file (line breaks inside `s` are the report's own).
        self.0.extend(
            s.chars()
                .map(|c| if c.is_control() && c != '\n' { ' ' } else { c }),
        );
        self.0.push('\n');
    }
    pub(crate) fn blank(&mut self) {
        self.0.push('\n');
    }
    pub(crate) fn heading(&mut self, level: usize, title: &str) {
        self.line(&format!("{} {title}", "#".repeat(level)));
        self.blank();
    }
    /// A table: header row, separator, rows; then a blank line. Every header and cell is
    /// text, escaped here (a backend's or a counter's name heads some columns).
    pub(crate) fn table<C: TableCell>(&mut self, header: &[&str], rows: &[Vec<C>]) {
        let header: Vec<String> = header.iter().map(|h| cell(h)).collect();
        self.line(&format!("| {} |", header.join(" | ")));
        let sep: Vec<String> = header
            .iter()
            .map(|h| "-".repeat(h.chars().count().max(3)))
            .collect();
        self.line(&format!("|{}|", sep.join("|")));
        let mut row = String::new();
        for r in rows {
            row.clear();
            row.push('|');
            for c in r {
                row.push(' ');
                c.write(&mut row);
                row.push_str(" |");
            }
            self.line(&row);
        }
        self.blank();
    }
}
