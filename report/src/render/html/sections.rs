//! Where in the report the page is, known by the headings `report.md` writes: which plots
//! belong right after the section just opened ([`PlotSection`]), and the ids of the
//! sections the summary links to.

use crate::render::plots::PlotSection;

/// `## Backend: NAME`, one per backend in report order.
const BACKEND: &str = "Backend: ";
/// The report's own `## Global Verdict` (a backend's is a `###`).
const GLOBAL: &str = "Global Verdict";
/// `## Cross-backend Summary`.
const CROSS: &str = "Cross-backend Summary";
/// A backend's `### Comparison Results`.
const COMPARISON: &str = "Comparison Results";
/// A backend's `### Drift Characterization (kv_aligned=0)`.
const DRIFT: &str = "Drift Characterization";
/// A backend's `### Performance Profiling`.
const PERFORMANCE: &str = "Performance Profiling";
/// The cross-backend summary's `### Mean Wall Time per Backend`.
const CROSS_PERFORMANCE: &str = "Mean Wall Time per Backend";

/// The sections seen so far.
#[derive(Default)]
pub(super) struct Sections {
    /// The backend (index in report order) whose `##` section is open.
    backend: Option<usize>,
    /// Whether the cross-backend summary is open.
    cross: bool,
    /// The id of the report's `## Global Verdict`.
    pub(super) global: Option<String>,
    /// Per backend in report order, the id of its section.
    pub(super) backends: Vec<String>,
    /// Per backend in report order, the id of its comparison table's section.
    pub(super) comparisons: Vec<Option<String>>,
}

impl Sections {
    /// A heading of `level` with plain `text` was written with `id`: the plot section it
    /// opens, if any.
    pub(super) fn heading(&mut self, level: usize, text: &str, id: &str) -> Option<PlotSection> {
        let text = text.trim();
        if level == 2 {
            self.cross = text == CROSS;
            self.backend = text.starts_with(BACKEND).then_some(self.backends.len());
            if self.backend.is_some() {
                self.backends.push(id.to_string());
                self.comparisons.push(None);
            }
            if text == GLOBAL && self.global.is_none() {
                self.global = Some(id.to_string());
            }
            return None;
        }
        if level != 3 {
            return None;
        }
        match self.backend {
            Some(b) if text == COMPARISON => {
                self.comparisons[b] = Some(id.to_string());
                None
            }
            Some(b) if text.starts_with(DRIFT) => Some(PlotSection::Drift(b)),
            Some(b) if text == PERFORMANCE => Some(PlotSection::Performance(b)),
            None if self.cross && text == CROSS_PERFORMANCE => Some(PlotSection::CrossPerformance),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_sections_and_link_targets_come_from_the_headings() {
        let mut s = Sections::default();
        let mut h = |level, text: &str, id: &str| s.heading(level, text, id);
        assert_eq!(h(2, "Global Verdict", "g"), None);
        assert_eq!(h(2, "Backend: a", "ba"), None);
        assert_eq!(h(3, "Global Verdict", "ba-g"), None);
        assert_eq!(h(3, "Comparison Results", "ba-c"), None);
        assert_eq!(
            h(3, "Drift Characterization (kv_aligned=0)", "ba-d"),
            Some(PlotSection::Drift(0))
        );
        assert_eq!(
            h(3, "Performance Profiling", "ba-p"),
            Some(PlotSection::Performance(0))
        );
        assert_eq!(h(4, "Performance Profiling", "x"), None);
        assert_eq!(h(2, "Backend: b", "bb"), None);
        assert_eq!(
            h(3, "Performance Profiling", "bb-p"),
            Some(PlotSection::Performance(1))
        );
        // Not in the cross-backend summary: no plot.
        assert_eq!(h(3, "Mean Wall Time per Backend", "x"), None);
        assert_eq!(h(2, "Cross-backend Summary", "c"), None);
        assert_eq!(h(3, "Drift Characterization", "x"), None);
        assert_eq!(
            h(3, "Mean Wall Time per Backend", "c-m"),
            Some(PlotSection::CrossPerformance)
        );
        // The environment's backends are `###`: not counted.
        assert_eq!(h(2, "Environment", "e"), None);
        assert_eq!(h(3, "Backend: a", "e-a"), None);
        assert_eq!(s.global.as_deref(), Some("g"));
        assert_eq!(s.backends, ["ba", "bb"]);
        assert_eq!(s.comparisons, [Some("ba-c".to_string()), None]);
    }
}
