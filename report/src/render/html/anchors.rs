//! The page's section anchors: readable ids made from the headings' text, a subsection's
//! prefixed with its parent's (`## Backend: cpu` → `backend-cpu`, its `### Comparison
//! Results` → `backend-cpu-comparison-results`), unique within the page. They depend on the
//! headings only, so a link to a section stays valid from one report to the next.

use std::collections::BTreeSet;

/// Most characters one heading adds to an id: a long name (a backend's, from a plugin) still
/// makes a usable one.
const MAX_PART: usize = 48;

/// `text` as an id part: lower-case ASCII letters and digits, every run of other characters
/// one `-`, none at either end; `section` when nothing is left.
pub(super) fn slug(text: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in text.chars() {
        if !c.is_ascii_alphanumeric() {
            gap = true;
            continue;
        }
        if out.len() >= MAX_PART {
            break;
        }
        if gap && !out.is_empty() {
            out.push('-');
        }
        gap = false;
        out.push(c.to_ascii_lowercase());
    }
    if out.is_empty() {
        out.push_str("section");
    }
    out
}

/// Ids handed out so far, and the open headings a new one is nested in.
#[derive(Default)]
pub(super) struct Anchors {
    taken: BTreeSet<String>,
    /// (level, id) of the open headings of level 2 and deeper, outermost first.
    open: Vec<(usize, String)>,
}

impl Anchors {
    /// Keep `id` for something else on the page (a figure, the summary): no heading gets it.
    pub(super) fn reserve(&mut self, id: &str) {
        self.taken.insert(id.to_string());
    }

    /// The id of the next heading, of `level` and plain `text`: its slug after its parent's
    /// id (the title, level 1, is no one's parent), with `-2`, `-3`... when taken.
    pub(super) fn heading(&mut self, level: usize, text: &str) -> String {
        while self.open.last().is_some_and(|(l, _)| *l >= level) {
            self.open.pop();
        }
        let own = slug(text);
        let base = match self.open.last() {
            Some((_, parent)) => format!("{parent}-{own}"),
            None => own,
        };
        let mut id = base.clone();
        let mut k = 2;
        while self.taken.contains(&id) {
            id = format!("{base}-{k}");
            k += 1;
        }
        self.taken.insert(id.clone());
        if level >= 2 {
            self.open.push((level, id.clone()));
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_dashes() {
        assert_eq!(slug("Backend: cpu"), "backend-cpu");
        assert_eq!(
            slug("Drift Characterization (kv_aligned=0)"),
            "drift-characterization-kv-aligned-0"
        );
        assert_eq!(
            slug("Decode/Prefill Wall-time Ratio"),
            "decode-prefill-wall-time-ratio"
        );
        assert_eq!(slug("  <svg onload=x> \"é\" "), "svg-onload-x");
        assert_eq!(slug("ünïcode…"), "n-code");
        assert_eq!(slug("— ✓ —"), "section");
        assert_eq!(slug(&"a".repeat(100)).len(), MAX_PART);
    }

    #[test]
    fn ids_nest_under_their_parent_heading_and_are_unique() {
        let mut a = Anchors::default();
        a.reserve("plot-x");
        let ids: Vec<String> = [
            (1, "Sweep Report: ci"),
            (2, "Global Verdict"),
            (2, "Backend: cpu"),
            (3, "Global Verdict"),
            (3, "Comparison Results"),
            (4, "f32"),
            (3, "Performance Profiling"),
            (4, "Model Load"),
            (2, "Backend: cpu"),
            (3, "Comparison Results"),
            (2, "Plot x"),
            (4, "deep"),
        ]
        .into_iter()
        .map(|(l, t)| a.heading(l, t))
        .collect();
        assert_eq!(
            ids,
            [
                "sweep-report-ci",
                "global-verdict",
                "backend-cpu",
                "backend-cpu-global-verdict",
                "backend-cpu-comparison-results",
                "backend-cpu-comparison-results-f32",
                "backend-cpu-performance-profiling",
                "backend-cpu-performance-profiling-model-load",
                "backend-cpu-2",
                "backend-cpu-2-comparison-results",
                "plot-x-2",
                "plot-x-2-deep",
            ]
        );
    }
}
