//! What the checks found: each finding names its check, the dtype and route it is about, and
//! what was seen against what was expected.

use driftbench_core::Dtype;
use std::fmt;

/// The checks of the kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Check {
    /// The probe keeps the contract ([`crate::check_probe`]).
    Probe,
    /// Prefill and decode agree within the kit's tolerances ([`crate::check_agreement`]).
    Agreement,
    /// Every route writes every logit ([`crate::check_unwritten`]).
    Unwritten,
    /// Unknown options are refused by name, an empty set accepted ([`crate::check_options`]).
    Options,
    /// Layer traces have the right shape and finite values ([`crate::check_trace`]).
    Trace,
}

impl Check {
    /// Lower-case name, as findings print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Probe => "probe",
            Check::Agreement => "agreement",
            Check::Unwritten => "unwritten",
            Check::Options => "options",
            Check::Trace => "trace",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a check saw: passed, skipped or failed, depending on the list of the
/// [`Report`] it is in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// The session's dtype, when the finding is about one session.
    pub dtype: Option<Dtype>,
    /// The route and KV layout (`decode, kv_aligned=0 (block 8)`), or another place
    /// (`configure`); empty when the finding is about the whole check.
    pub at: String,
    /// What was seen, against what was expected (`max_abs_diff 3.1e-2 exceeds max_abs
    /// 1e-4`), or why it was skipped.
    pub message: String,
}

impl Finding {
    /// A finding of `check` about `dtype` (if any) at `at`.
    pub(crate) fn new(
        check: Check,
        dtype: Option<Dtype>,
        at: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            check,
            dtype,
            at: at.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    /// `agreement [f32, decode, kv_aligned=1]: max_abs_diff 2e-2 exceeds max_abs 1e-4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.check)?;
        match (self.dtype, self.at.is_empty()) {
            (Some(d), false) => write!(f, " [{d}, {}]", self.at)?,
            (Some(d), true) => write!(f, " [{d}]")?,
            (None, false) => write!(f, " [{}]", self.at)?,
            (None, true) => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything a check (or [`crate::run`]) found, by outcome.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// What passed, with the figures seen.
    pub passed: Vec<Finding>,
    /// What could not be checked here, with the backend's reason (a dtype or route answering
    /// `Unavailable`, a session that cannot trace).
    pub skipped: Vec<Finding>,
    /// What broke the contract.
    pub failed: Vec<Finding>,
}

impl Report {
    /// No failure.
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// Append `other`'s findings to this report's.
    pub fn merge(&mut self, other: Report) {
        self.passed.extend(other.passed);
        self.skipped.extend(other.skipped);
        self.failed.extend(other.failed);
    }

    /// `Ok(self)` without failures, else `Err` with every finding.
    pub fn into_result(self) -> Result<Report, Failures> {
        if self.is_ok() {
            Ok(self)
        } else {
            Err(Failures { report: self })
        }
    }

    /// The findings of `check`, passed, skipped and failed.
    pub fn of(&self, check: Check) -> Report {
        let pick = |v: &[Finding]| v.iter().filter(|f| f.check == check).cloned().collect();
        Report {
            passed: pick(&self.passed),
            skipped: pick(&self.skipped),
            failed: pick(&self.failed),
        }
    }

    pub(crate) fn pass(&mut self, f: Finding) {
        self.passed.push(f);
    }

    pub(crate) fn skip(&mut self, f: Finding) {
        self.skipped.push(f);
    }

    pub(crate) fn fail(&mut self, f: Finding) {
        self.failed.push(f);
    }
}

impl fmt::Display for Report {
    /// One line per finding, failures first: `FAIL`, `SKIP` or `PASS`, then the finding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (tag, list) in [
            ("FAIL", &self.failed),
            ("SKIP", &self.skipped),
            ("PASS", &self.passed),
        ] {
            for x in list {
                writeln!(f, "{tag} {x}")?;
            }
        }
        Ok(())
    }
}

/// A report with at least one failure: what [`crate::run`] returns when the backend broke
/// the contract. Its `Debug` form is the readable report, so `run(..).unwrap()` in a test
/// prints every failure (and what passed and was skipped) on its own line.
#[derive(Clone, PartialEq)]
pub struct Failures {
    /// The whole report; its `failed` list is not empty.
    pub report: Report,
}

impl Failures {
    /// The failures.
    pub fn failed(&self) -> &[Finding] {
        &self.report.failed
    }
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        writeln!(
            f,
            "the backend failed {} conformance check(s) ({} passed, {} skipped):",
            r.failed.len(),
            r.passed.len(),
            r.skipped.len()
        )?;
        write!(f, "{r}")
    }
}

impl fmt::Debug for Failures {
    // `unwrap` and `assert!` print `Debug`: the struct dump would hide the failures in one
    // long line, so it is the report, one finding per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failures {}
