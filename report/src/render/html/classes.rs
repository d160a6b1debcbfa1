//! Classes that colour verdicts on the page. The page adds them; `report.md` has none.

use driftbench_sweep::verdict::{GlobalVerdict, Verdict};

/// The class of a pair verdict.
pub(super) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::PassEquiv => "verdict-pass",
        Verdict::ExpectedDrift => "verdict-drift",
        Verdict::FailEquiv | Verdict::FailDrift => "verdict-fail",
        Verdict::Incomplete => "verdict-incomplete",
        Verdict::Skipped => "verdict-skipped",
    }
}

/// The class of a global verdict (of the sweep, or of a backend).
pub(super) fn global_class(v: GlobalVerdict) -> &'static str {
    match v {
        GlobalVerdict::Pass => "verdict-pass",
        GlobalVerdict::Fail => "verdict-fail",
        GlobalVerdict::Incomplete => "verdict-incomplete",
    }
}

/// How bad a verdict is, for the worst of several: a failure over an incomplete pair over a
/// skipped one (nothing was checked) over a pass.
pub(super) fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::PassEquiv => 0,
        Verdict::ExpectedDrift => 1,
        Verdict::Skipped => 2,
        Verdict::Incomplete => 3,
        Verdict::FailDrift => 4,
        Verdict::FailEquiv => 5,
    }
}

/// The class of a text that is exactly a verdict (bold or not), or a non-finite value.
pub(super) fn text_class(text: &str) -> Option<&'static str> {
    let t = text.trim().trim_matches('*').trim();
    if let Some(v) = Verdict::ALL.into_iter().find(|v| v.as_str() == t) {
        return Some(verdict_class(v));
    }
    let globals = [
        GlobalVerdict::Pass,
        GlobalVerdict::Fail,
        GlobalVerdict::Incomplete,
    ];
    if let Some(g) = globals.into_iter().find(|g| g.as_str() == t) {
        return Some(global_class(g));
    }
    matches!(t, "NaN" | "inf" | "-inf" | "+inf").then_some("nonfinite")
}

/// The class of the worst verdict named anywhere in `text` (a verdict column's cell such as
/// `0: PASS_EQUIV, 1: FAIL_DRIFT`).
pub(super) fn worst_class(text: &str) -> Option<&'static str> {
    text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter_map(|w| Verdict::ALL.into_iter().find(|v| v.as_str() == w))
        .max_by_key(|v| severity(*v))
        .map(verdict_class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_texts_get_their_class() {
        assert_eq!(text_class("FAIL_DRIFT"), Some("verdict-fail"));
        assert_eq!(text_class("**FAIL**"), Some("verdict-fail"));
        assert_eq!(text_class(" PASS_EQUIV "), Some("verdict-pass"));
        assert_eq!(text_class("EXPECTED_DRIFT"), Some("verdict-drift"));
        assert_eq!(text_class("INCOMPLETE"), Some("verdict-incomplete"));
        assert_eq!(text_class("SKIPPED"), Some("verdict-skipped"));
        assert_eq!(text_class("NaN"), Some("nonfinite"));
        assert_eq!(text_class("FAIL_DRIFT: max_abs_diff 3"), None);
        assert_eq!(text_class("failed"), None);
    }

    #[test]
    fn a_list_of_verdicts_gets_the_worst() {
        assert_eq!(
            worst_class("0: PASS_EQUIV, 1: FAIL_DRIFT, 2: SKIPPED"),
            Some("verdict-fail")
        );
        assert_eq!(
            worst_class("0: PASS_EQUIV, 1: EXPECTED_DRIFT"),
            Some("verdict-drift")
        );
        assert_eq!(
            worst_class("0: SKIPPED, 1: INCOMPLETE"),
            Some("verdict-incomplete")
        );
        assert_eq!(worst_class("no verdict"), None);
    }
}
