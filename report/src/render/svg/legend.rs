//! The legend below a plot: one entry per series (or bar colour), then notes.

use super::{escape, n, LEFT, LEGEND_ROW, RIGHT, WIDTH};
use std::fmt::Write as _;

/// One legend entry: a line sample (with a circle for a series drawn with markers) and text.
pub(super) struct Entry {
    pub(super) label: String,
    pub(super) color: &'static str,
    pub(super) dashed: bool,
    pub(super) marker: bool,
}

/// Average width of a legend character (12px sans-serif), for fitting labels in columns.
const CHAR_W: f64 = 6.5;

/// Legend columns: as many as the longest label fits in (at most 2, or 3 past 8 entries).
fn legend_cols(entries: &[Entry]) -> usize {
    let longest = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let most = if entries.len() > 8 { 3 } else { 2 };
    let fits = |cols: usize| longest * CHAR_W + 34.0 <= (WIDTH - LEFT - RIGHT) / cols as f64;
    (1..=most).rev().find(|&c| fits(c)).unwrap_or(1)
}

/// Height of the legend [`legend`] lays out for `entries` and `notes` notes.
pub(super) fn legend_height(entries: &[Entry], notes: usize) -> f64 {
    entries.len().div_ceil(legend_cols(entries)) as f64 * LEGEND_ROW
        + notes as f64 * (LEGEND_ROW - 2.0)
}

/// Legend entries laid out in rows below the plot; returns the height used.
pub(super) fn legend(out: &mut String, top: f64, entries: &[Entry], notes: &[String]) -> f64 {
    let cols = legend_cols(entries);
    let col_w = (WIDTH - LEFT - RIGHT) / cols as f64;
    for (i, e) in entries.iter().enumerate() {
        let x = LEFT + (i % cols) as f64 * col_w;
        let y = top + (i / cols) as f64 * LEGEND_ROW;
        let dash = if e.dashed {
            " stroke-dasharray=\"6 3\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"{ly}\" x2=\"{x2}\" y2=\"{ly}\" stroke=\"{color}\" \
             stroke-width=\"2.5\"{dash}/>",
            color = e.color,
            x = n(x),
            x2 = n(x + 24.0),
            ly = n(y + 5.0),
        );
        if e.marker {
            open_circle(out, x + 12.0, y + 5.0, e.color);
        }
        let _ = writeln!(
            out,
            "<text x=\"{tx}\" y=\"{ty}\">{}</text>",
            escape(&e.label),
            tx = n(x + 30.0),
            ty = n(y + 9.0),
        );
    }
    let mut h = entries.len().div_ceil(cols) as f64 * LEGEND_ROW;
    for note in notes {
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"{y}\" font-size=\"11\" fill=\"#444444\">{}</text>",
            escape(note),
            x = n(LEFT),
            y = n(top + h + 10.0),
        );
        h += LEGEND_ROW - 2.0;
    }
    h
}

/// The open circle that marks the points of a series identical to an earlier one.
pub(super) fn open_circle(out: &mut String, x: f64, y: f64, color: &str) {
    let _ = write!(
        out,
        "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"none\" stroke=\"{color}\" \
         stroke-width=\"1.5\"/>",
        n(x),
        n(y)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(labels: &[usize], n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                label: "x".repeat(labels[i % labels.len()]),
                color: "#000000",
                dashed: false,
                marker: false,
            })
            .collect()
    }

    #[test]
    fn long_labels_get_fewer_columns() {
        assert_eq!(legend_cols(&entries(&[20], 4)), 2);
        assert_eq!(legend_cols(&entries(&[20], 9)), 3);
        assert_eq!(legend_cols(&entries(&[20, 60], 4)), 1);
        assert_eq!(legend_cols(&entries(&[40], 9)), 2);
        assert_eq!(
            legend_height(&entries(&[60], 3), 1),
            3.0 * LEGEND_ROW + LEGEND_ROW - 2.0
        );
    }
}
