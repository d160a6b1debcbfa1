//! Where a running sweep's records go: appended to the journal as soon as they exist, kept
//! for the caller, and the sweep's time accounted as it goes.

use super::pair::PairTimes;
use crate::journal::Journal;
use crate::records::{Record, SummaryRecord};
use std::time::Instant;

/// The journal being written, the records written so far and where the time went.
pub(crate) struct Sink<'a> {
    journal: &'a mut Journal,
    /// Records journaled by this sweep, in order.
    pub(crate) records: Vec<Record>,
    /// Where the sweep's time went so far (journal writes are counted here).
    pub(crate) time: SummaryRecord,
}

impl<'a> Sink<'a> {
    /// A sink into `journal`, with nothing written yet.
    pub(crate) fn new(journal: &'a mut Journal) -> Self {
        Sink {
            journal,
            records: Vec::new(),
            time: SummaryRecord::default(),
        }
    }

    /// Journal `r`.
    pub(crate) fn push(&mut self, r: Record) -> std::io::Result<()> {
        let t0 = Instant::now();
        self.journal.append(&r)?;
        self.time.harness.journal_s += t0.elapsed().as_secs_f64();
        self.records.push(r);
        Ok(())
    }

    /// Journal every record of `rs`, in order.
    pub(crate) fn extend(&mut self, rs: Vec<Record>) -> std::io::Result<()> {
        rs.into_iter().try_for_each(|r| self.push(r))
    }

    /// Count a pair's time.
    pub(crate) fn add(&mut self, t: &PairTimes) {
        let s = &mut self.time;
        s.warmup_s += t.warmup_s;
        s.runs_s += t.runs_s;
        s.harness.compare_s += t.compare_s;
        s.harness.floor_compare_s += t.floor_compare_s;
        s.harness.checks_s += t.checks_s;
    }
}
