//! `sweep --resume`: what a journal already holds, and whether it belongs to this sweep.
//!
//! Work is resumed by cell — one (dtype, span, kv_aligned, seed) on every backend — because
//! the cross-backend comparison of a cell needs every backend's logits of it in memory at
//! once. A cell is done when every backend has its pair verdict; the records of cells cut
//! short are dropped and the cells run again, so a resumed sweep journals each pair once.

use crate::audit::audit;
use crate::grid::Cell;
use crate::plan::SweepPlan;
use crate::records::{PairKey, Record, SweepHeader, SCHEMA_VERSION};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use std::collections::{BTreeMap, HashSet};

/// Why a journal cannot be resumed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResumeError {
    /// No header: nothing says what the journal was.
    #[error("the journal has no sweep header")]
    NoHeader,
    /// Written by another schema.
    #[error(
        "the journal was written with schema version {0}, this driftbench writes {SCHEMA_VERSION}"
    )]
    Schema(u32),
    /// Written by a driftbench that did not record its plan.
    #[error("the journal does not record its sweep plan (written by an older driftbench)")]
    NoPlan,
    /// Another sweep.
    #[error("the journal belongs to another sweep: {}", .0.join("; "))]
    Changed(Vec<String>),
}

/// What a journal holds for a resumed sweep.
#[derive(Debug)]
pub struct Resumed {
    /// The journal's header (its start time and environment stay those of the first start).
    pub header: SweepHeader,
    /// Records to keep, header first: every record but those of unfinished cells.
    pub kept: Vec<Record>,
    /// Cells every backend finished.
    pub done: HashSet<Cell>,
    /// What the audit found in the journal (each such pair's cell runs again).
    pub notes: Vec<String>,
}

/// Check `records` against `plan` and find the finished cells.
pub fn resume(records: Vec<Record>, plan: &SweepPlan) -> Result<Resumed, ResumeError> {
    let header = match records.first() {
        Some(Record::Sweep(h)) => h.as_ref().clone(),
        _ => return Err(ResumeError::NoHeader),
    };
    if header.schema_version != SCHEMA_VERSION {
        return Err(ResumeError::Schema(header.schema_version));
    }
    let old = header.plan.as_ref().ok_or(ResumeError::NoPlan)?;
    let changes = old.changes(plan);
    if !changes.is_empty() {
        return Err(ResumeError::Changed(changes));
    }
    let backends: Vec<&str> = plan.backends.iter().map(|b| b.0.as_str()).collect();
    // Only what the evidence supports counts as done: a pair outside the plan, one its
    // metrics contradict, or one journaled twice with different results is run again.
    let audited = audit(&records);
    let mut notes = audited.findings.clone();
    if !notes.is_empty() {
        notes.push("the cells of those pairs run again".into());
    }
    let mut finished: BTreeMap<(Dtype, usize, KvMode, u64), HashSet<&str>> = BTreeMap::new();
    for p in audited
        .pairs
        .iter()
        .filter(|p| !audited.distrusted.contains(&p.key))
    {
        let k = &p.key;
        finished
            .entry((k.dtype, k.span, k.kv_aligned, k.seed))
            .or_default()
            .insert(p.key.backend.as_str());
    }
    let done: HashSet<Cell> = finished
        .iter()
        .filter(|(_, b)| backends.iter().all(|n| b.contains(n)))
        .map(|(&(dtype, span, kv_aligned, seed), _)| Cell {
            dtype,
            span,
            kv_aligned,
            seed,
        })
        .collect();
    let keep =
        |key: &PairKey| done.contains(&Cell::of(key)) && backends.contains(&key.backend.as_str());
    let kept = records
        .into_iter()
        .filter(|r| match r {
            Record::Run(r) => keep(&r.key),
            Record::Pair(p) => keep(&p.key),
            Record::Cross(c) => keep(&c.key),
            Record::Sweep(_)
            | Record::Session(_)
            | Record::Warmup(_)
            | Record::Reference(_)
            | Record::Summary(_) => true,
        })
        .collect();
    Ok(Resumed {
        header,
        kept,
        done,
        notes,
    })
}
