//! Every record of the parts in one canonical order, each identity kept once.
//!
//! Order: by machine, then record kind, then identity, then the record's own JSON, so the
//! first record of an identity is the same whatever order the journals were named in. Then:
//! - a run of an identity already kept collapses when its logits digest is the same; with
//!   another digest it stays beside the first (the backend is not reproducible run to run:
//!   the audit reports it and the pair is not PASS);
//! - a pair collapses when its verdict, reason and metrics are the same; otherwise it stays
//!   and the audit reports the pair as journaled twice with different results;
//! - a cross-backend comparison or an f64 reference of an identity kept collapses (its
//!   runs carry the evidence);
//! - model loads, warm-ups and time summaries are timing evidence of their own sweep: only
//!   an identical copy (the same journal read twice) collapses.

use super::parts::Part;
use crate::records::Record;

/// The records kept, each with its machine, in canonical order.
pub struct Kept {
    /// (machine, record).
    pub records: Vec<(String, Record)>,
    /// Records dropped as duplicates.
    pub collapsed: usize,
}

/// Dedupe the records of `parts`.
pub fn dedupe(parts: &[Part]) -> Kept {
    let mut all: Vec<(SortKey, &str, &Record)> = parts
        .iter()
        .flat_map(|p| p.records.iter().map(move |r| (p.machine.as_str(), r)))
        .map(|(m, r)| (sort_key(m, r), m, r))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Kept {
        records: Vec::new(),
        collapsed: 0,
    };
    // The kept records of the identity being walked: its key and their sameness keys.
    let mut current: Option<&SortKey> = None;
    let mut same_as: Vec<String> = Vec::new();
    for (key, machine, rec) in &all {
        if current.is_none_or(|c| !c.same_identity(key)) {
            current = Some(key);
            same_as.clear();
        }
        let sameness = sameness(rec, &key.json);
        if same_as.contains(&sameness) {
            out.collapsed += 1;
            continue;
        }
        same_as.push(sameness);
        out.records.push((machine.to_string(), (*rec).clone()));
    }
    out
}

/// Where a record sorts.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    machine: String,
    rank: u8,
    identity: String,
    json: String,
}

impl SortKey {
    fn same_identity(&self, other: &SortKey) -> bool {
        self.machine == other.machine && self.rank == other.rank && self.identity == other.identity
    }
}

fn sort_key(machine: &str, rec: &Record) -> SortKey {
    let (rank, identity) = match rec {
        Record::Sweep(_) => (0, String::new()),
        Record::Session(s) => (1, j(&(&s.backend, s.dtype))),
        Record::Warmup(w) => (2, j(&(&w.backend, w.dtype, w.span, w.kv_aligned, w.route))),
        Record::Reference(r) => (3, j(&(&r.backend, r.span, r.seed))),
        Record::Run(r) => (4, j(&(&r.key, r.route, r.rep))),
        Record::Pair(p) => (5, j(&p.key)),
        Record::Cross(c) => (6, j(&(&c.key, &c.reference, c.route))),
        Record::Summary(_) => (7, String::new()),
    };
    SortKey {
        machine: machine.to_string(),
        rank,
        identity,
        json: j(rec),
    }
}

/// What two records of one identity must share to collapse (see the module docs).
fn sameness(rec: &Record, json: &str) -> String {
    match rec {
        Record::Run(r) => match &r.fingerprint {
            Some(f) => format!("logits {}", f.sha256),
            None => format!("status {:?}", r.status),
        },
        Record::Pair(p) => j(&(p.verdict, &p.reason, &p.metrics, &p.floor)),
        Record::Cross(_) | Record::Reference(_) => String::new(),
        _ => json.to_string(),
    }
}

/// A value as JSON.
fn j<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
