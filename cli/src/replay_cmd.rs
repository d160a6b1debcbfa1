//! `driftbench replay BUNDLE`: run the pair of a replay bundle again (same backend instance
//! and options, model, tokens, plan and noise-floor reference) and say whether it gives the
//! bundle's metrics. The tokens are the bundle's own, checked first against its prompt:
//! this driftbench's random ids for the seed, or the seed's window of a prompt file that
//! still has the sha256 the bundle records.
//!
//! The bundle is input: [`Bundle::read`] checks its values with the config's checks, and its
//! model goes through the sweep's model check (`model_check::check_model`) before any
//! backend starts. The exit code is the replayed pair's verdict, judged afresh; the bundle's
//! recorded verdict is only compared with it.

use crate::args::PluginArgs;
use crate::backends;
use crate::model_check;
use crate::text::terminal;
use anyhow::{anyhow, bail, Context, Result};
use driftbench_core::logits::{Logits, LogitsRef};
use driftbench_report::diff::pair_label;
use driftbench_sweep::audit;
use driftbench_sweep::config::BackendInstance;
use driftbench_sweep::noise_floor::FloorRef;
use driftbench_sweep::plan::PairPlan;
use driftbench_sweep::prompt::Prompt;
use driftbench_sweep::records::{PairRecord, Record};
use driftbench_sweep::replay::{Bundle, SavedFloor, BUNDLE_FILE};
use driftbench_sweep::runner::{run_pair, OpenSession, PlannedBackend};
use driftbench_sweep::verdict::global_verdict;
use driftbench_sweep::verdict::Verdict;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Metrics shown side by side, in this order (the rest are compared, not shown).
const SHOWN: [&str; 10] = [
    "max_abs_diff",
    "p99_abs_diff",
    "mean_abs_diff",
    "top1_agreement",
    "nonfinite_prefill",
    "nonfinite_decode",
    "kl_mean",
    "kl_max",
    "nmse",
    "first_flip",
];

/// Replay the bundle in `dir`; returns the exit code of the replayed verdict.
pub fn run(dir: &Path, plugins: &PluginArgs) -> Result<i32> {
    let bundle = Bundle::read(dir)?;
    check_bundle_model(dir, &bundle)?;
    let key = &bundle.pair;
    let read = |name: &Option<String>| bundle.read_logits(dir, name.as_deref());
    let saved = (read(&bundle.logits.prefill)?, read(&bundle.logits.decode)?);
    if let Some(why) = &bundle.logits.omitted {
        println!("note: {why}");
    }
    let floor = SavedReference::read(dir, &bundle)?;
    let b = start_backend(&bundle, plugins)?;
    let Some(probe) = &b.entry.probe else {
        bail!(
            "{}: {}",
            bundle.backend,
            b.entry.error.as_deref().unwrap_or("plugin not loaded")
        );
    };
    println!(
        "replaying {} from {} (written by driftbench {})",
        pair_label(key),
        dir.display(),
        bundle.driftbench_version
    );
    if let Some(why) = probe.dtype_unavailable(key.dtype) {
        println!("SKIPPED: {}: the pair cannot run here", terminal(&why));
        return Ok(global_verdict([Verdict::Skipped]).exit_code());
    }
    let (mut open, prompt) = open_session(dir, &bundle, &b)?;
    let plan = PairPlan {
        prompt,
        ..bundle.plan.pair_plan()
    };
    let outcome = run_pair(&plan, key, &mut open, floor.as_floor());
    let Some(new) = outcome.records.iter().find_map(|r| match r {
        Record::Pair(p) => Some(p),
        _ => None,
    }) else {
        bail!("the pair produced no verdict");
    };
    // The recorded verdict is evidence to check, not to trust.
    let (old, contradicted) =
        audit::rejudged(&bundle.record, &bundle.plan.tolerance, &bundle.plan.rule);
    if let Some(why) = contradicted {
        println!(
            "the bundle's recorded verdict is not what its metrics say: {}",
            terminal(&why)
        );
    }
    let old = &old;
    print_side_by_side(old, new)?;
    let bufs = &open.bufs;
    for (route, saved, ok, now) in [
        ("prefill", &saved.0, outcome.prefill_ok, &bufs.prefill),
        ("decode", &saved.1, outcome.decode_ok, &bufs.decode),
    ] {
        let saved = saved.as_ref().map(Logits::as_ref);
        if let Some(line) = logits_line(route, saved, ok.then(|| now.as_ref())) {
            println!("{line}");
        }
    }
    let diffs = differences(old, new).context("comparing metrics")?;
    if diffs.is_empty() {
        println!("reproduced (identical metrics)");
    } else {
        println!("not reproduced: {}", terminal(&diffs.join("; ")));
    }
    Ok(global_verdict([new.verdict]).exit_code())
}

/// The bundle's f64 noise-floor reference: its logits where the bundle keeps them, else
/// why there are none.
enum SavedReference {
    Off,
    Missing(String),
    Logits {
        label: String,
        prefill: Vec<f64>,
        decode: Vec<f64>,
    },
}

impl SavedReference {
    fn read(dir: &Path, bundle: &Bundle) -> Result<SavedReference> {
        let read = |name: &Option<String>| bundle.read_logits(dir, name.as_deref());
        Ok(match &bundle.floor {
            SavedFloor::Off => SavedReference::Off,
            SavedFloor::Missing { why } => SavedReference::Missing(why.clone()),
            SavedFloor::NotSaved { label } => {
                SavedReference::Missing(format!("the bundle does not keep the {label} reference"))
            }
            SavedFloor::Logits { label } => {
                let (Some(prefill), Some(decode)) = (
                    read(&bundle.logits.reference_prefill)?,
                    read(&bundle.logits.reference_decode)?,
                ) else {
                    bail!(
                        "{}: key `floor` names the {label} reference, but `logits` lists no reference files",
                        dir.join(BUNDLE_FILE).display()
                    );
                };
                // A format-1 bundle kept its f64 reference as f32: widened, as it was used.
                SavedReference::Logits {
                    label: label.clone(),
                    prefill: prefill.into_f64(),
                    decode: decode.into_f64(),
                }
            }
        })
    }

    fn as_floor(&self) -> Option<FloorRef<'_>> {
        match self {
            SavedReference::Off => None,
            SavedReference::Missing(why) => Some(FloorRef::Missing(why)),
            SavedReference::Logits {
                label,
                prefill,
                decode,
            } => Some(FloorRef::Logits {
                label,
                prefill,
                decode,
            }),
        }
    }
}

/// The bundle's model checked as a sweep checks its model before any run: a gguf file must
/// be a regular file with a valid GGUF header, and its context must hold the pair's span.
/// Errors name the bundle file and the key.
fn check_bundle_model(dir: &Path, bundle: &Bundle) -> Result<()> {
    let file = dir.join(BUNDLE_FILE);
    let limit = model_check::check_model(&bundle.model)
        .map_err(|e| anyhow!("{}: key `model.path`: {e:#}", file.display()))?;
    let span = bundle.pair.span;
    if let Some(limit) = limit.filter(|l| span as u64 > l.tokens) {
        bail!(
            "{}: key `pair.span`: span {span} exceeds the model's context length {} ({})",
            file.display(),
            limit.tokens,
            limit.source
        );
    }
    Ok(())
}

/// The bundle's backend instance (same plugin and options), started as a sweep would.
fn start_backend(bundle: &Bundle, plugins: &PluginArgs) -> Result<PlannedBackend> {
    let instances = BTreeMap::from([(
        bundle.backend.clone(),
        BackendInstance {
            plugin: bundle.plugin.clone(),
            options: bundle
                .configured
                .as_ref()
                .map(|c| c.options.clone())
                .unwrap_or_default(),
        },
    )]);
    let isolation = backends::Isolation::new(
        plugins.in_process,
        plugins.open_timeout.or(bundle.open_timeout_s),
        bundle.run_timeout_s,
    );
    let cache = plugins.cache()?;
    let mut planned = backends::select(
        backends::find(&plugins.plugins)?,
        &backends::Selection {
            names: std::slice::from_ref(&bundle.backend),
            instances: &instances,
            config: None,
            cache_dir: cache.path.clone(),
            isolation,
        },
    )?;
    Ok(planned.remove(0))
}

/// The bundle's model opened on `b` in the pair's dtype, checked to be the model the bundle
/// was made with (same vocabulary, same prompt for the seed), and the prompt to replay: the
/// bundle's tokens, once checked against its prompt source ([`Bundle::replay_prompt`]).
fn open_session(dir: &Path, bundle: &Bundle, b: &PlannedBackend) -> Result<(OpenSession, Prompt)> {
    let key = &bundle.pair;
    let session = b
        .backend
        .open(&bundle.model, key.dtype)
        .map_err(|e| anyhow!("{}: {e}", bundle.backend))?;
    let info = session.info();
    info.check()
        .map_err(|e| anyhow!("{}: {e}", bundle.backend))?;
    if info.vocab != bundle.vocab {
        bail!(
            "{}: the bundle's vocab is {}, the backend's model now has {}",
            dir.display(),
            bundle.vocab,
            info.vocab
        );
    }
    let (prompt, note) = bundle.replay_prompt(dir, info.vocab)?;
    if let Some(note) = note {
        println!("note: {}", terminal(&note));
    }
    if let Some(f) = &bundle.prompt {
        println!("prompt: {}", terminal(&f.describe()));
    }
    println!(
        "backend {} (plugin {}) on {}; model {}",
        bundle.backend,
        bundle.plugin,
        terminal(&info.device),
        terminal(&info.model)
    );
    Ok((OpenSession::new(session, info.vocab), prompt))
}

/// A metric's JSON value as a table cell.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .iter()
            .filter(|(_, v)| !v.is_array())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        Some(v) => v.to_string(),
    }
}

fn metrics_json(p: &PairRecord) -> Result<Value> {
    Ok(serde_json::to_value(&p.metrics)?)
}

fn print_side_by_side(old: &PairRecord, new: &PairRecord) -> Result<()> {
    let (a, b) = (metrics_json(old)?, metrics_json(new)?);
    println!("{:<18} {:<24} replay", "", "bundle");
    println!(
        "{:<18} {:<24} {}",
        "verdict",
        old.verdict.as_str(),
        new.verdict.as_str()
    );
    for m in SHOWN {
        println!("{m:<18} {:<24} {}", cell(a.get(m)), cell(b.get(m)));
    }
    for (label, r) in [("bundle", old), ("replay", new)] {
        if let Some(why) = &r.reason {
            println!("{label} reason: {}", terminal(why));
        }
    }
    Ok(())
}

/// What differs between the bundle's record and the replay's: verdict, reason, each metric
/// (the drift curve as a whole) and, when both have one, the noise floor.
fn differences(old: &PairRecord, new: &PairRecord) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if old.verdict != new.verdict {
        out.push(format!("verdict {} → {}", old.verdict, new.verdict));
    }
    if old.reason != new.reason {
        out.push("reason differs".into());
    }
    // JSON, so NaN equals NaN the way the journal writes it.
    let (a, b) = (metrics_json(old)?, metrics_json(new)?);
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (u, v) = (x.get(k), y.get(k));
                if u != v {
                    out.push(if k == "drift_curve" {
                        "drift_curve differs".to_string()
                    } else {
                        format!("{k} {} → {}", cell(u), cell(v))
                    });
                }
            }
        }
        _ if a != b => out.push(format!(
            "metrics {} → {}",
            if a.is_null() { "none" } else { "present" },
            if b.is_null() { "none" } else { "present" }
        )),
        _ => {}
    }
    if let (Some(x), Some(y)) = (&old.floor, &new.floor) {
        if serde_json::to_value(x)? != serde_json::to_value(y)? {
            out.push("noise floor differs".into());
        }
    }
    Ok(out)
}

/// How the replay's logits of `route` compare with the bundle's, bit for bit (in their own
/// width: f64 for an f64 pair of a format-2 bundle).
fn logits_line(
    route: &str,
    saved: Option<LogitsRef<'_>>,
    now: Option<LogitsRef<'_>>,
) -> Option<String> {
    let (saved, now) = (saved?, now?);
    if saved.len() != now.len() {
        return Some(format!(
            "{route} logits: {} values, the bundle has {}",
            now.len(),
            saved.len()
        ));
    }
    if saved.is_f64() != now.is_f64() {
        let width = |l: LogitsRef<'_>| if l.is_f64() { "f64" } else { "f32" };
        return Some(format!(
            "{route} logits: {} now, the bundle kept {}",
            width(now),
            width(saved)
        ));
    }
    let Some((differing, max)) = saved.bitwise_mismatch(now) else {
        return Some(format!("{route} logits: bitwise identical to the bundle's"));
    };
    Some(format!(
        "{route} logits: {differing} of {} values differ from the bundle's (max |Δ| {max})",
        now.len()
    ))
}
