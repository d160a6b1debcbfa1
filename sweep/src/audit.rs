//! A verdict is derived, never trusted. Every reader of a journal — `report`, `--resume`,
//! `replay` (and, later, a merge of journals) — goes through [`audit`]: each pair's verdict is
//! computed again from its metrics and the rules in the header (the fixed tolerances and the
//! noise-floor rule), the pairs are checked against the plan's keys, and every pair identity
//! ([`crate::identity`]) is kept once.
//!
//! What the evidence does not bear out is a finding, named in the report, and it never counts
//! as a pass: a PASS whose metrics say otherwise, a classified pair without its runs, a record
//! outside the plan, the same identity twice with different content (metrics, verdict,
//! reason; never timings). The same identity twice with identical content collapses into one.

use crate::coverage::missing_shards;
use crate::grid::cells_of;
use crate::identity::PairId;
use crate::noise_floor::{classify_transported, FloorRule};
use crate::plan::SweepPlan;
use crate::records::{PairKey, PairRecord, Record, RunStatus, SweepHeader};
use crate::shard::shard_cells;
use crate::verdict::{DtypeTolerance, Verdict};
use driftbench_core::route::Route;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// How many keys a finding lists before it says "and N more".
const LIST_AT_MOST: usize = 5;

/// A journal's pairs as its evidence supports them.
#[derive(Debug, Default)]
pub struct Audit {
    /// One record per pair identity, in journal order, each with its derived verdict (a
    /// contradicted or irreproducible pair is INCOMPLETE, with why).
    pub pairs: Vec<PairRecord>,
    /// What the journal claims that its evidence does not bear out, one line each: each
    /// makes the sweep INCOMPLETE.
    pub findings: Vec<String>,
    /// Planned pairs without a record.
    pub missing: Vec<PairKey>,
    /// Pairs planned, when the journal records its plan (completeness is then checked by
    /// keys; older journals are checked by counts).
    pub planned: Option<usize>,
    /// Said, but not a finding: e.g. an older journal checked by counts only.
    pub warnings: Vec<String>,
    /// Pairs whose records are not trusted: contradicted by their evidence, journaled twice
    /// with different content, or outside the plan. `--resume` runs their cells again.
    pub distrusted: HashSet<PairKey>,
}

/// Audit `records`, a whole journal in order.
pub fn audit(records: &[Record]) -> Audit {
    let headers: Vec<&SweepHeader> = records
        .iter()
        .filter_map(|r| match r {
            Record::Sweep(h) => Some(h.as_ref()),
            _ => None,
        })
        .collect();
    let header = headers.first().copied();
    let mut out = Audit::default();
    if headers.len() > 1 {
        out.findings.push(format!(
            "the journal holds {} sweep headers: more than one sweep wrote into it",
            headers.len()
        ));
    }
    let plan = header.and_then(|h| h.plan.as_ref());
    let expected: Option<BTreeSet<PairKey>> = plan.map(planned_keys);
    let runs = ok_runs(records);
    let mut seen: BTreeMap<PairId, usize> = BTreeMap::new();
    let mut outside: Vec<String> = Vec::new();
    for r in records {
        let Record::Pair(p) = r else { continue };
        if expected.as_ref().is_some_and(|e| !e.contains(&p.key)) {
            outside.push(PairId::of(header, &p.key).to_string());
            out.distrusted.insert(p.key.clone());
            continue;
        }
        let id = PairId::of(header, &p.key);
        match seen.get(&id) {
            Some(&i) => collapse(&mut out, i, p, &id),
            None => {
                let derived = derive(p, header, plan.is_some().then_some(&runs), &mut out);
                seen.insert(id, out.pairs.len());
                out.pairs.push(derived);
            }
        }
    }
    not_reproducible(records, header, &mut out);
    if !outside.is_empty() {
        out.findings.push(format!(
            "{} pair record(s) outside the sweep's plan: {}",
            outside.len(),
            list(&outside)
        ));
    }
    match expected {
        Some(e) => {
            let present: HashSet<&PairKey> = out.pairs.iter().map(|p| &p.key).collect();
            out.missing = e.iter().filter(|k| !present.contains(k)).cloned().collect();
            out.planned = Some(e.len());
        }
        None if header.is_some() => out.warnings.push(
            "the journal does not record its plan (written by an older driftbench): its completeness is checked by counts only".into(),
        ),
        None => {}
    }
    out
}

/// Every pair the plan's grid (its shard's slice, for a shard) puts on its backends.
pub fn planned_keys(plan: &SweepPlan) -> BTreeSet<PairKey> {
    let cells = cells_of(&plan.dtypes, &plan.spans, &plan.kv_aligned, &plan.seeds);
    let cells = match plan.shard {
        Some(s) => shard_cells(&cells, s),
        None => cells,
    };
    plan.backends
        .iter()
        .flat_map(|(backend, _, _)| cells.iter().map(|c| c.pair(backend)))
        .collect()
}

/// The routes that ran to the end (status ok) for each pair, first repetition.
fn ok_runs(records: &[Record]) -> HashSet<(PairKey, Route)> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Run(r) if r.rep == 0 && r.status == RunStatus::Ok => {
                Some((r.key.clone(), r.route))
            }
            _ => None,
        })
        .collect()
}

/// A second record of an identity already kept at `i`: identical content collapses; other
/// content makes the pair irreproducible, INCOMPLETE.
fn collapse(out: &mut Audit, i: usize, again: &PairRecord, id: &PairId) {
    let kept = &out.pairs[i];
    if content(kept) == content(again) || kept.verdict == Verdict::Incomplete {
        return;
    }
    out.findings.push(format!(
        "pair {id} is journaled twice with different results ({} and {}): the run is not reproducible",
        describe(kept),
        describe(again)
    ));
    out.distrusted.insert(again.key.clone());
    let kept = &mut out.pairs[i];
    kept.reason = Some(format!(
        "journaled twice with different results ({} and {})",
        describe(kept),
        describe(again)
    ));
    kept.verdict = Verdict::Incomplete;
}

/// What two records of one identity must share: the verdict, its reason and the metrics
/// (as JSON, so that NaN equals NaN); timings are not part of it.
fn content(p: &PairRecord) -> String {
    serde_json::to_string(&(p.verdict, &p.reason, &p.metrics, &p.floor)).unwrap_or_default()
}

fn describe(p: &PairRecord) -> String {
    match &p.metrics {
        Some(m) => format!("{} with max_abs_diff {:e}", p.verdict, m.max_abs_diff),
        None => p.verdict.to_string(),
    }
}

/// `p` with the verdict its evidence supports. `runs`: the routes that ran, when the journal
/// is one whose runs are known to be journaled (it records its plan).
fn derive(
    p: &PairRecord,
    header: Option<&SweepHeader>,
    runs: Option<&HashSet<(PairKey, Route)>>,
    out: &mut Audit,
) -> PairRecord {
    let mut derived = p.clone();
    // SKIPPED and INCOMPLETE claim nothing about agreement.
    if matches!(p.verdict, Verdict::Skipped | Verdict::Incomplete) {
        return derived;
    }
    let id = PairId::of(header, &p.key);
    let mut contradict = |why: String| {
        out.findings.push(format!("pair {id}: {why}"));
        out.distrusted.insert(p.key.clone());
        derived.verdict = Verdict::Incomplete;
        derived.reason = Some(why);
    };
    let Some(metrics) = &p.metrics else {
        contradict(format!("{} journaled without its metrics", p.verdict));
        return derived;
    };
    if let Some(runs) = runs {
        let missing: Vec<&str> = [Route::Prefill, Route::Decode]
            .into_iter()
            .filter(|r| !runs.contains(&(p.key.clone(), *r)))
            .map(Route::as_str)
            .collect();
        if !missing.is_empty() {
            contradict(format!(
                "{} journaled without its {} run",
                p.verdict,
                missing.join(" and ")
            ));
            return derived;
        }
    }
    let tol = header
        .and_then(|h| h.tolerances.get(&p.key.dtype).copied())
        .unwrap_or_else(|| DtypeTolerance::default_for(p.key.dtype));
    let rule = header
        .and_then(|h| h.reference.as_ref())
        .map_or_else(FloorRule::default, |r| r.rule);
    if let Err(why) = check_verdict(p, metrics, &tol, &rule) {
        contradict(format!("the journal says {why}"));
    }
    derived
}

/// Judge `p`'s metrics again by `tol` and `rule`; `Err` says what the record claims and what
/// its metrics say instead (`PASS_EQUIV, its metrics … say FAIL_EQUIV (…)`).
pub fn check_verdict(
    p: &PairRecord,
    metrics: &driftbench_core::metrics::Metrics,
    tol: &DtypeTolerance,
    rule: &FloorRule,
) -> Result<(), String> {
    let floor = p.floor.as_deref().ok_or("not journaled with the pair");
    // An f64 pair whose logits crossed as f32 is judged at f32-transport precision.
    let transport = p.transport.and_then(|t| t.judgement(p.key.dtype));
    let (verdict, reason) = classify_transported(
        p.key.kv_aligned,
        p.key.dtype,
        metrics,
        tol,
        rule,
        floor,
        transport.as_ref(),
    );
    if verdict == p.verdict {
        return Ok(());
    }
    Err(format!(
        "{}, its metrics and the rules in force say {verdict}{}",
        p.verdict,
        reason.map(|r| format!(" ({r})")).unwrap_or_default()
    ))
}

/// `p` as its own evidence supports it, judged by `tol` and `rule` (a replay bundle's
/// plan): unchanged when it agrees or claims no agreement; otherwise INCOMPLETE, and why.
pub fn rejudged(
    p: &PairRecord,
    tol: &DtypeTolerance,
    rule: &FloorRule,
) -> (PairRecord, Option<String>) {
    let mut out = p.clone();
    if matches!(p.verdict, Verdict::Skipped | Verdict::Incomplete) {
        return (out, None);
    }
    let why = match &p.metrics {
        None => format!("{} recorded without its metrics", p.verdict),
        Some(m) => match check_verdict(p, m, tol, rule) {
            Ok(()) => return (out, None),
            Err(why) => why,
        },
    };
    out.verdict = Verdict::Incomplete;
    out.reason = Some(format!(
        "the recorded verdict is not what its evidence says: {why}"
    ));
    (out, Some(why))
}

/// The first few of `items`, then how many more.
fn list(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(LIST_AT_MOST)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST_AT_MOST {
        s.push_str(&format!(" and {} more", items.len() - LIST_AT_MOST));
    }
    s
}

/// The missing keys as text, for a gap line; in a merged journal, led by the shards they
/// belong to (what to run again).
pub fn describe_missing(header: Option<&SweepHeader>, missing: &[PairKey]) -> String {
    let ids: Vec<String> = missing
        .iter()
        .map(|k| PairId::of(header, k).to_string())
        .collect();
    match header.and_then(|h| h.merged.as_deref()) {
        Some(info) => format!(
            "{}; pairs: {}",
            missing_shards(info, missing).join(", "),
            list(&ids)
        ),
        None => list(&ids),
    }
}

/// Runs of one identity journaled with different logits (two journals of the same plan
/// merged): the backend is not reproducible run to run. Each is a finding, and its pair is
/// INCOMPLETE, whatever its verdict said.
fn not_reproducible(records: &[Record], header: Option<&SweepHeader>, out: &mut Audit) {
    let mut digests: BTreeMap<(&PairKey, Route, u32), BTreeSet<&str>> = BTreeMap::new();
    for r in records {
        if let Record::Run(r) = r {
            if let Some(f) = &r.fingerprint {
                digests
                    .entry((&r.key, r.route, r.rep))
                    .or_default()
                    .insert(f.sha256.as_str());
            }
        }
    }
    for ((key, route, rep), shas) in digests.into_iter().filter(|(_, s)| s.len() > 1) {
        let shas: Vec<String> = shas
            .iter()
            .map(|s| s[..s.len().min(12)].to_string())
            .collect();
        let why = format!(
            "not reproducible: the {} run (repetition {rep}) gave different logits in two runs of the same plan on the same machine (sha256 {})",
            route.as_str(),
            shas.join(", ")
        );
        out.findings
            .push(format!("pair {}: {why}", PairId::of(header, key)));
        out.distrusted.insert(key.clone());
        for p in out.pairs.iter_mut().filter(|p| &p.key == key) {
            p.verdict = Verdict::Incomplete;
            p.reason = Some(why.clone());
        }
    }
}
