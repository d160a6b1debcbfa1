//! The page's opening, the answer before the details: the global verdict, then a grid of
//! backends × dtypes whose cells give the worst verdict of those pairs and how many pairs
//! have each verdict, linking to the backend's comparison table.

use super::classes::{global_class, severity, verdict_class};
use super::sections::Sections;
use crate::model::Report;
use crate::render::svg::escape;
use driftbench_core::dtype::Dtype;
use driftbench_sweep::verdict::Verdict;
use std::fmt::Write as _;

/// The summary's id (reserved: no heading gets it).
pub(super) const SUMMARY_ID: &str = "verdict-summary";

/// The pairs of one backend and dtype.
#[derive(Debug, PartialEq)]
pub(super) struct GridCell {
    /// The worst of their verdicts.
    pub(super) worst: Verdict,
    /// Pairs per verdict, in report order; verdicts no pair has are left out.
    pub(super) counts: Vec<(Verdict, usize)>,
}

/// The grid cell of `verdicts`, or `None` when there is none.
pub(super) fn grid_cell(verdicts: impl Iterator<Item = Verdict>) -> Option<GridCell> {
    let mut counts = [0usize; Verdict::ALL.len()];
    for v in verdicts {
        if let Some(k) = Verdict::ALL.iter().position(|&w| w == v) {
            counts[k] += 1;
        }
    }
    let counts: Vec<(Verdict, usize)> = Verdict::ALL
        .into_iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .collect();
    let worst = counts
        .iter()
        .map(|&(v, _)| v)
        .max_by_key(|&v| severity(v))?;
    Some(GridCell { worst, counts })
}

/// The grid's dtypes: those any backend has a pair of, in report order.
pub(super) fn grid_dtypes(r: &Report) -> Vec<Dtype> {
    Dtype::ALL
        .into_iter()
        .filter(|&d| {
            r.backends
                .iter()
                .any(|b| b.comparisons.iter().any(|c| c.dtype == d))
        })
        .collect()
}

/// The summary of `r`, linking to the sections `at` names.
pub(super) fn summary(r: &Report, at: &Sections) -> String {
    let mut out = format!("<section id=\"{SUMMARY_ID}\" class=\"summary\">\n");
    let _ = write!(
        out,
        "<p class=\"global\">Global verdict: <strong class=\"badge {}\">{}</strong> \
         · {} backend(s), {} pair(s) classified, exit code {}",
        global_class(r.global),
        r.global.as_str(),
        r.backends.len(),
        r.sweep.pairs_classified,
        r.global.exit_code()
    );
    if let Some(id) = &at.global {
        let _ = write!(out, " · <a href=\"#{id}\">details</a>");
    }
    out.push_str("</p>\n");
    if !r.gaps.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong class=\"verdict-incomplete\">Not a whole sweep</strong>: {} gap(s), \
             listed under the global verdict.</p>",
            r.gaps.len()
        );
    }
    if r.backends.is_empty() {
        out.push_str("<p>No backend.</p>\n</section>\n");
        return out;
    }
    let dtypes = grid_dtypes(r);
    out.push_str("<div class=\"scroll\"><table class=\"grid\">\n<thead><tr><th>backend</th>");
    out.push_str("<th>verdict</th>");
    for d in &dtypes {
        let _ = write!(out, "<th>{d}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (k, b) in r.backends.iter().enumerate() {
        let name = escape(&b.name);
        match at.backends.get(k) {
            Some(id) => {
                let _ = write!(out, "<tr><th><a href=\"#{id}\">{name}</a></th>");
            }
            None => {
                let _ = write!(out, "<tr><th>{name}</th>");
            }
        }
        let _ = write!(
            out,
            "<td class=\"{}\">{}</td>",
            global_class(b.global),
            b.global.as_str()
        );
        let comparison = at.comparisons.get(k).and_then(Option::as_deref);
        for &d in &dtypes {
            let verdicts = b.comparisons.iter().filter(|c| c.dtype == d);
            cell(&mut out, grid_cell(verdicts.map(|c| c.verdict)), comparison);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

/// One grid cell: the worst verdict (a link to the comparison table `to`), then the counts.
fn cell(out: &mut String, c: Option<GridCell>, to: Option<&str>) {
    let Some(c) = c else {
        out.push_str("<td>—</td>");
        return;
    };
    let _ = write!(out, "<td class=\"{}\">", verdict_class(c.worst));
    match to {
        Some(id) => {
            let _ = write!(out, "<a href=\"#{id}\">{}</a>", c.worst);
        }
        None => out.push_str(c.worst.as_str()),
    }
    let counts: Vec<String> = c.counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    let _ = write!(
        out,
        "<span class=\"counts\">{}</span></td>",
        counts.join(" · ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    #[test]
    fn a_cell_is_its_worst_verdict_with_counts() {
        let c = grid_cell([PassEquiv, FailDrift, PassEquiv, ExpectedDrift].into_iter()).unwrap();
        assert_eq!(c.worst, FailDrift);
        assert_eq!(
            c.counts,
            [(PassEquiv, 2), (ExpectedDrift, 1), (FailDrift, 1)]
        );
        let worst = |v: &[Verdict]| grid_cell(v.iter().copied()).unwrap().worst;
        assert_eq!(worst(&[FailDrift, FailEquiv]), FailEquiv);
        assert_eq!(worst(&[Skipped, Incomplete, PassEquiv]), Incomplete);
        assert_eq!(worst(&[PassEquiv, Skipped]), Skipped);
        assert_eq!(worst(&[PassEquiv, ExpectedDrift]), ExpectedDrift);
        assert_eq!(grid_cell(std::iter::empty()), None);
    }
}
