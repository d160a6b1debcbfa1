//! A journal as the merge sees it: one [`Part`] per machine, records under plain backend
//! names. A sweep's journal is one part; a merged journal of several machines splits back
//! into them by the `@machine` of its instance names.

use super::{Input, MergeError};
use crate::identity::machine_of;
use crate::identity::{instance, split_instance};
use crate::plan::SweepPlan;
use crate::records::{Record, SourceInfo, SweepHeader, SCHEMA_VERSION};
use std::path::PathBuf;

/// The records of one machine from one journal.
#[derive(Debug, Clone)]
pub struct Part {
    /// The journal it came from.
    pub path: PathBuf,
    /// Its machine label.
    pub machine: String,
    /// The journal's header, instances under plain names.
    pub header: SweepHeader,
    /// The plan, without a shard, under plain names.
    pub plan: SweepPlan,
    /// Every record but the header, under plain names.
    pub records: Vec<Record>,
    /// The sweep journals behind it.
    pub sources: Vec<SourceInfo>,
}

impl Part {
    /// The order parts are merged in: by machine, then by what their sources are, so the
    /// result never depends on the order the inputs were named in.
    pub fn sort_key(&self) -> (String, String) {
        (
            self.machine.clone(),
            serde_json::to_string(&self.sources).unwrap_or_default(),
        )
    }
}

/// The parts of one journal.
pub fn split(input: &Input) -> Result<Vec<Part>, MergeError> {
    let path = input.path.clone();
    let header = match input.records.first() {
        Some(Record::Sweep(h)) => h.as_ref().clone(),
        _ => return Err(MergeError::NoHeader(path)),
    };
    if header.schema_version != SCHEMA_VERSION {
        return Err(MergeError::Schema {
            path,
            found: header.schema_version,
        });
    }
    let plan = header
        .plan
        .clone()
        .ok_or(MergeError::NoPlan(path.clone()))?;
    let records = input.records[1..].to_vec();
    match header.merged.as_deref().cloned() {
        None => {
            let machine = machine_of(Some(&header)).to_string();
            let source = SourceInfo {
                machine: machine.clone(),
                shard: plan.shard,
                started_unix: header.started_unix,
                environment: header.environment.clone(),
                origin: header.origin.clone(),
            };
            Ok(vec![Part {
                path,
                machine,
                plan: SweepPlan {
                    shard: None,
                    ..plan
                },
                header,
                records,
                sources: vec![source],
            }])
        }
        Some(info) if info.machines.len() <= 1 => Ok(vec![Part {
            path,
            machine: info.machines.first().cloned().unwrap_or_default(),
            plan: info.plan.clone(),
            header,
            records,
            sources: info.sources,
        }]),
        Some(info) => split_machines(path, header, records, info),
    }
}

/// A merged journal of several machines, one part per machine. Records without a backend
/// (the time summaries) go with the first machine's.
fn split_machines(
    path: PathBuf,
    header: SweepHeader,
    records: Vec<Record>,
    info: crate::records::MergeInfo,
) -> Result<Vec<Part>, MergeError> {
    let mut parts: Vec<Part> = info
        .machines
        .iter()
        .map(|m| {
            let mut h = header.clone();
            h.backends
                .retain(|b| split_instance(&b.name).1 == Some(m.as_str()));
            for b in &mut h.backends {
                b.name = split_instance(&b.name).0.to_string();
            }
            Part {
                path: path.clone(),
                machine: m.clone(),
                header: h,
                plan: info.plan.clone(),
                records: Vec::new(),
                sources: info
                    .sources
                    .iter()
                    .filter(|s| &s.machine == m)
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    for mut rec in records {
        let machine = record_machine(&rec);
        let at = match machine {
            None => 0,
            Some(m) => info.machines.iter().position(|x| x == &m).ok_or_else(|| {
                MergeError::UnknownMachine {
                    path: path.clone(),
                    instance: backend_names(&rec).join(", "),
                    machines: info.machines.join(", "),
                }
            })?,
        };
        map_backends(&mut rec, &|n| split_instance(n).0.to_string());
        parts[at].records.push(rec);
    }
    Ok(parts)
}

/// The machine a merged record's instance names carry.
fn record_machine(rec: &Record) -> Option<String> {
    backend_names(rec)
        .first()
        .map(|n| split_instance(n).1.unwrap_or_default().to_string())
}

/// `rec` with every backend instance it names put on `machine`.
pub fn suffixed(mut rec: Record, machine: &str) -> Record {
    map_backends(&mut rec, &|n| instance(n, machine));
    rec
}

/// `plan` run on every one of `machines`: each instance once per machine, machine by
/// machine.
pub fn suffixed_plan(plan: &SweepPlan, machines: &[String]) -> SweepPlan {
    let on_each = |names: &[String]| -> Vec<String> {
        machines
            .iter()
            .flat_map(|m| names.iter().map(move |n| instance(n, m)))
            .collect()
    };
    SweepPlan {
        backends: machines
            .iter()
            .flat_map(|m| {
                plan.backends
                    .iter()
                    .map(move |(n, p, o)| (instance(n, m), p.clone(), o.clone()))
            })
            .collect(),
        required: on_each(&plan.required),
        optional: on_each(&plan.optional),
        ..plan.clone()
    }
}

/// The backend instance names a record holds.
fn backend_names(rec: &Record) -> Vec<&str> {
    match rec {
        Record::Sweep(_) | Record::Summary(_) => Vec::new(),
        Record::Session(s) => vec![&s.backend],
        Record::Warmup(w) => vec![&w.backend],
        Record::Run(r) => vec![&r.key.backend],
        Record::Pair(p) => vec![&p.key.backend],
        Record::Cross(c) => vec![&c.key.backend, &c.reference],
        Record::Reference(r) => vec![&r.backend],
    }
}

/// Apply `f` to every backend instance name in `rec`.
fn map_backends(rec: &mut Record, f: &dyn Fn(&str) -> String) {
    match rec {
        Record::Sweep(_) | Record::Summary(_) => {}
        Record::Session(s) => s.backend = f(&s.backend),
        Record::Warmup(w) => w.backend = f(&w.backend),
        Record::Run(r) => r.key.backend = f(&r.key.backend),
        Record::Pair(p) => p.key.backend = f(&p.key.backend),
        Record::Cross(c) => {
            c.key.backend = f(&c.key.backend);
            c.reference = f(&c.reference);
        }
        Record::Reference(r) => r.backend = f(&r.backend),
    }
}
