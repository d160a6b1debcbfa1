//! The merge's part of a report, from the merged header and the runs' fingerprints.

use crate::aggregate::date::format_utc;
use crate::model::merge::{AcrossMachines, MachineRun, MachineSummary, MergeView, SourceRow};
use crate::stats::{max_nan, min_nan};
use driftbench_core::compact::{compare_compact, CompactMetrics};
use driftbench_core::dtype::Dtype;
use driftbench_core::route::Route;
use driftbench_sweep::identity::split_instance;
use driftbench_sweep::records::{
    Fingerprint, MergeInfo, PairKey, RunRecord, SourceInfo, SweepHeader,
};
use std::collections::BTreeMap;

/// The merge view of a merged journal; `None` for a sweep's own.
pub fn merge_view(header: Option<&SweepHeader>, runs: &[&RunRecord]) -> Option<MergeView> {
    let info = header?.merged.as_deref()?;
    Some(MergeView {
        sources: info.sources.iter().map(source_row).collect(),
        plugin_differences: plugin_differences(&info.sources),
        across: (info.machines.len() > 1).then(|| across(info, runs)),
    })
}

fn source_row(s: &SourceInfo) -> SourceRow {
    let origin = s.origin.clone().unwrap_or_default();
    let gpus: Vec<String> = origin
        .gpus
        .iter()
        .map(|g| match &g.driver {
            Some(d) => format!("{} ({d})", g.name),
            None => g.name.clone(),
        })
        .collect();
    SourceRow {
        machine: s.machine.clone(),
        shard: shard_name(s),
        started_utc: format_utc(s.started_unix),
        host: origin.host.clone(),
        cpu: s.environment.cpu.clone(),
        gpus: gpus.join("; "),
        driftbench: match &s.environment.commit {
            Some(c) => format!("{} ({c})", s.environment.driftbench_version),
            None => s.environment.driftbench_version.clone(),
        },
    }
}

fn shard_name(s: &SourceInfo) -> String {
    s.shard.map_or_else(
        || "whole".to_string(),
        |sh| format!("{}/{}", sh.index, sh.count),
    )
}

/// Instances whose plugin file's sha256 is not the same in every source.
fn plugin_differences(sources: &[SourceInfo]) -> Vec<String> {
    // instance → sha256 → (file, sources)
    let mut seen: BTreeMap<&str, BTreeMap<&str, (&str, Vec<String>)>> = BTreeMap::new();
    for s in sources {
        let Some(origin) = &s.origin else { continue };
        for (instance, file) in &origin.plugins {
            seen.entry(instance)
                .or_default()
                .entry(&file.sha256)
                .or_insert((&file.file, Vec::new()))
                .1
                .push(format!("{} shard {}", s.machine, shard_name(s)));
        }
    }
    seen.into_iter()
        .filter(|(_, by_hash)| by_hash.len() > 1)
        .map(|(instance, by_hash)| {
            let builds: Vec<String> = by_hash
                .into_iter()
                .map(|(sha, (file, from))| {
                    format!(
                        "{file} sha256 {}… ({})",
                        &sha[..sha.len().min(12)],
                        from.join(", ")
                    )
                })
                .collect();
            format!(
                "{instance}: the plugin file differs between sources: {}",
                builds.join(" against ")
            )
        })
        .collect()
}

/// (plain backend, dtype, span, kv, seed, route) → fingerprint, per machine.
type Prints<'a> = BTreeMap<(String, PairKey, Route), &'a Fingerprint>;

/// One summary row's runs: (plain backend, machine, dtype, route).
type Group = (String, String, Dtype, Route);

/// Every machine's fingerprinted first runs against the reference machine's.
fn across(info: &MergeInfo, runs: &[&RunRecord]) -> AcrossMachines {
    let reference = info.machines[0].clone();
    let mut by_machine: BTreeMap<&str, Prints<'_>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.rep == 0) {
        let (plain, Some(machine)) = split_instance(&r.key.backend) else {
            continue;
        };
        let Some(f) = r.fingerprint.as_deref() else {
            continue;
        };
        let mut key = r.key.clone();
        key.backend = plain.to_string();
        by_machine
            .entry(machine)
            .or_default()
            .insert((plain.to_string(), key, r.route), f);
    }
    let empty = Prints::new();
    let base = by_machine.get(reference.as_str()).unwrap_or(&empty);
    let mut out = AcrossMachines {
        reference: reference.clone(),
        summary: Vec::new(),
        differing: Vec::new(),
        unmatched: 0,
    };
    let mut groups: BTreeMap<Group, Vec<(bool, CompactMetrics)>> = BTreeMap::new();
    for machine in &info.machines[1..] {
        let Some(prints) = by_machine.get(machine.as_str()) else {
            continue;
        };
        for ((backend, key, route), f) in prints {
            let compared = base
                .get(&(backend.clone(), key.clone(), *route))
                .and_then(|b| Some((b.sha256 == f.sha256, compare_compact(&b.top_k, &f.top_k)?)));
            let Some((identical, m)) = compared else {
                out.unmatched += 1;
                continue;
            };
            groups
                .entry((backend.clone(), machine.clone(), key.dtype, *route))
                .or_default()
                .push((identical, m));
            if !identical {
                out.differing.push(MachineRun {
                    backend: backend.clone(),
                    machine: machine.clone(),
                    reference: reference.clone(),
                    dtype: key.dtype,
                    span: key.span,
                    kv_aligned: key.kv_aligned,
                    seed: key.seed,
                    route: *route,
                    metrics: m,
                });
            }
        }
    }
    out.summary = groups
        .into_iter()
        .map(|((backend, machine, dtype, route), rows)| {
            summary(backend, machine, &reference, dtype, route, &rows)
        })
        .collect();
    out
}

/// One summary row over `rows` (identical?, metrics); NaN wins every max and min.
fn summary(
    backend: String,
    machine: String,
    reference: &str,
    dtype: Dtype,
    route: Route,
    rows: &[(bool, CompactMetrics)],
) -> MachineSummary {
    let column = |f: fn(&CompactMetrics) -> f64| rows.iter().map(|(_, m)| f(m)).collect::<Vec<_>>();
    MachineSummary {
        backend,
        machine,
        reference: reference.to_string(),
        dtype,
        route,
        runs: rows.len(),
        identical: rows.iter().filter(|(i, _)| *i).count(),
        top1_min: min_nan(&column(|m| m.top1_agreement)),
        max_abs_topk: max_nan(&column(|m| m.max_abs_topk)),
        kl_mean_approx_max: max_nan(&column(|m| m.kl_mean_approx)),
    }
}
