//! `driftbench merge`: many journals of one plan — shards, from one machine or many — joined
//! into one journal the report reads as any other.
//!
//! The steps, each a function below:
//! 1. every journal is split into [`parts`]: one per machine, with its header, its plan
//!    (without its shard) and its records under their plain backend names (a merged journal
//!    splits back into its machines, so a merge can be merged again);
//! 2. the plans must be one plan, and the `[reference]` settings one setting; what differs is
//!    named, as `--resume` names it;
//! 3. the records are put in one canonical order and every identity kept once ([`dedupe`]):
//!    an identical duplicate collapses, a run of the same identity with other logits stays
//!    beside the first as evidence, and the audit reports it as not reproducible;
//! 4. with more than one machine, every backend instance is renamed `backend@machine`: the
//!    same backend on two machines is two rows;
//! 5. one header says what was merged ([`MergeInfo`]): the shared plan, the machines and
//!    every source journal (its shard, machine identity, environment and plugin hashes).
//!
//! Nothing is copied from a shard's report: the report recomputes every aggregate from the
//! merged records. The output depends only on the set of inputs, not on their order, and
//! merging a merged journal with one of its sources gives the same journal.

mod dedupe;
mod parts;

use crate::plan::Sides;
use crate::records::{MergeInfo, Record, ReferenceInfo, SourceInfo, SweepHeader, SCHEMA_VERSION};
use parts::Part;
use std::path::PathBuf;

/// A journal to merge: where it was read from (for messages) and its records.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file, as the user named it.
    pub path: PathBuf,
    /// Its records, in journal order.
    pub records: Vec<Record>,
}

/// Why journals cannot be merged. Every variant names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("nothing to merge: name at least one sweep folder or journal")]
    Empty,
    /// No header first: nothing says what the journal is.
    #[error("{0}: the journal has no sweep header")]
    NoHeader(PathBuf),
    /// Another schema.
    #[error("{path}: written with journal schema version {found}, this driftbench reads version {SCHEMA_VERSION}")]
    Schema {
        /// The journal.
        path: PathBuf,
        /// Its schema version.
        found: u32,
    },
    /// Written by a driftbench that did not record its plan.
    #[error("{0}: the journal does not record its sweep plan (written by an older driftbench): it cannot be checked against the others")]
    NoPlan(PathBuf),
    /// A merged journal whose records name a machine it does not list.
    #[error("{path}: record of backend instance `{instance}` names no machine of the merge ({machines})")]
    UnknownMachine {
        /// The journal.
        path: PathBuf,
        /// The instance name found.
        instance: String,
        /// The machines its header lists.
        machines: String,
    },
    /// Another plan, or other `[reference]` settings.
    #[error("{other}: another sweep than {first}: {}", .changes.join("; "))]
    Differs {
        /// The journal whose plan is the yardstick (the first in canonical order).
        first: PathBuf,
        /// The journal that differs.
        other: PathBuf,
        /// What differs.
        changes: Vec<String>,
    },
}

/// The merged journal, header first.
#[derive(Debug, Clone)]
pub struct Merged {
    /// Header, then every kept record in canonical order.
    pub records: Vec<Record>,
    /// Records dropped as identical duplicates.
    pub collapsed: usize,
}

/// Merge `inputs` ([module docs](self)).
pub fn merge(inputs: &[Input]) -> Result<Merged, MergeError> {
    let mut parts = Vec::new();
    for input in inputs {
        parts.extend(parts::split(input)?);
    }
    parts.sort_by_cached_key(|p| p.sort_key());
    let first = parts.first().ok_or(MergeError::Empty)?;
    check_same_sweep(first, &parts)?;
    let mut machines: Vec<String> = parts.iter().map(|p| p.machine.clone()).collect();
    machines.sort();
    machines.dedup();
    let kept = dedupe::dedupe(&parts);
    let rename = machines.len() > 1;
    let info = MergeInfo {
        plan: first.plan.clone(),
        machines: machines.clone(),
        sources: sources(&parts),
    };
    let header = header(first, &parts, info, rename);
    let mut records = vec![Record::Sweep(Box::new(header))];
    records.extend(kept.records.into_iter().map(|(machine, rec)| {
        if rename {
            parts::suffixed(rec, &machine)
        } else {
            rec
        }
    }));
    Ok(Merged {
        records,
        collapsed: kept.collapsed,
    })
}

/// Every part must have `first`'s plan and `[reference]` settings.
fn check_same_sweep(first: &Part, parts: &[Part]) -> Result<(), MergeError> {
    for p in parts {
        let (this, that) = (
            format!("in {}", first.path.display()),
            format!("in {}", p.path.display()),
        );
        let sides = Sides {
            this: &this,
            that: &that,
            this_hash: &this,
            that_hash: &that,
            rewritten: "has other bytes under the same path",
        };
        let mut changes = first.plan.differences(&p.plan, &sides);
        if first.header.reference != p.header.reference {
            changes.push(format!(
                "reference: {} {this}, {} {that}",
                reference(first.header.reference.as_ref()),
                reference(p.header.reference.as_ref()),
            ));
        }
        if !changes.is_empty() {
            return Err(MergeError::Differs {
                first: first.path.clone(),
                other: p.path.clone(),
                changes,
            });
        }
    }
    Ok(())
}

fn reference(r: Option<&ReferenceInfo>) -> String {
    r.map_or_else(
        || "none recorded".to_string(),
        |r| serde_json::to_string(r).unwrap_or_default(),
    )
}

/// Every source of every part, each once, sorted.
fn sources(parts: &[Part]) -> Vec<SourceInfo> {
    let mut all: Vec<(String, SourceInfo)> = parts
        .iter()
        .flat_map(|p| p.sources.iter().cloned())
        .map(|s| (serde_json::to_string(&s).unwrap_or_default(), s))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.dedup_by(|a, b| a.0 == b.0);
    all.into_iter().map(|(_, s)| s).collect()
}

/// The merged journal's header: the shared plan (instances renamed when `rename`), the
/// earliest start, the first part's descriptive fields, and `info`.
fn header(first: &Part, parts: &[Part], info: MergeInfo, rename: bool) -> SweepHeader {
    let plan = if rename {
        parts::suffixed_plan(&info.plan, &info.machines)
    } else {
        info.plan.clone()
    };
    let mut backends = Vec::new();
    for machine in &info.machines {
        let part = parts
            .iter()
            .find(|p| &p.machine == machine)
            .unwrap_or(first);
        for b in &part.header.backends {
            let mut b = b.clone();
            if rename {
                b.name = crate::identity::instance(&b.name, machine);
            }
            backends.push(b);
        }
    }
    let mut origin = first.header.origin.clone().unwrap_or_default();
    origin.machine = if rename {
        crate::machine_label::MERGED_MACHINES.to_string()
    } else {
        first.machine.clone()
    };
    // A hash that differs between sources is not the merge's: each source says its own.
    let origin_of = |p: &Part| p.header.origin.clone().unwrap_or_default();
    if parts
        .iter()
        .any(|p| origin_of(p).config_sha256 != origin.config_sha256)
    {
        origin.config_sha256 = None;
    }
    if parts.iter().any(|p| origin_of(p).plugins != origin.plugins) {
        origin.plugins.clear();
    }
    SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: first.header.name.clone(),
        config_path: first.header.config_path.clone(),
        started_unix: parts
            .iter()
            .map(|p| p.header.started_unix)
            .min()
            .unwrap_or(0),
        model: first.header.model.clone(),
        block_size: first.header.block_size,
        tolerances: first.header.tolerances.clone(),
        pairs_planned: crate::audit::planned_keys(&plan).len(),
        environment: first.header.environment.clone(),
        backends,
        plan: Some(plan),
        reference: first.header.reference.clone(),
        origin: Some(origin),
        merged: Some(Box::new(info)),
    }
}
