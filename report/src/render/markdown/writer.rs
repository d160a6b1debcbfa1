//! The markdown writer every section renderer of `report.md` shares.

use crate::format::cell;

/// A markdown document being written; the section renderers of sibling modules share it.
#[derive(Default)]
pub(crate) struct Md(pub(crate) String);

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
    /// A table: header row, separator, rows; then a blank line.
    pub(crate) fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.line(&format!("| {} |", header.join(" | ")));
        let sep: Vec<String> = header
            .iter()
            .map(|h| "-".repeat(h.chars().count().max(3)))
            .collect();
        self.line(&format!("|{}|", sep.join("|")));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
            self.line(&format!("| {} |", cells.join(" | ")));
        }
        self.blank();
    }
}
