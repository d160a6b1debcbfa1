//! What changed between two runs besides their results, said before any verdict: the config
//! (its hash), the tolerances and the floor rule, the plan (the grid), the backend instances
//! and their plugin files (hashes), the driftbench version and the machine. A verdict that
//! changed because a tolerance moved is then told apart from one whose metrics moved, and a
//! pair missing because the plan changed is not a regression.
//!
//! Read from the header a `report.json` carries; every part may be absent in an older report
//! ("not recorded").

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::records::PairKey;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How many characters of a sha256 the diff shows.
const HASH_CHARS: usize = 12;

/// What the diff reads of a report's header; every part may be absent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HeaderView {
    /// Tolerances per dtype, as the header writes them.
    #[serde(default)]
    pub tolerances: BTreeMap<Dtype, Value>,
    /// The `[reference]` settings (floor rule, floor backend).
    #[serde(default)]
    pub reference: Option<Value>,
    /// The plan.
    #[serde(default)]
    pub plan: Option<PlanView>,
    /// The build and host.
    #[serde(default)]
    pub environment: Option<EnvironmentView>,
    /// Machine label and hashes.
    #[serde(default)]
    pub origin: Option<OriginView>,
    /// Model description.
    #[serde(default)]
    pub model: Option<String>,
}

/// What the diff reads of a plan.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlanView {
    /// Spans.
    #[serde(default)]
    pub spans: Vec<usize>,
    /// Dtypes.
    #[serde(default)]
    pub dtypes: Vec<Dtype>,
    /// KV layouts.
    #[serde(default)]
    pub kv_aligned: Vec<KvMode>,
    /// Seeds.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Repetitions.
    #[serde(default)]
    pub repetitions: Option<usize>,
    /// The prompt file (kind, path, sha256, tokens); absent: seeded random ids.
    #[serde(default)]
    pub prompt: Option<Value>,
    /// (instance, plugin, options) in run order.
    #[serde(default)]
    pub backends: Vec<(String, String, Value)>,
}

/// What the diff reads of the environment.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvironmentView {
    /// driftbench's version.
    #[serde(default)]
    pub driftbench_version: Option<String>,
}

/// What the diff reads of the origin.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OriginView {
    /// Machine label.
    #[serde(default)]
    pub machine: Option<String>,
    /// Config file hash.
    #[serde(default)]
    pub config_sha256: Option<String>,
    /// Plugin file and hash per instance.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginView>,
}

/// A plugin file as the origin records it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PluginView {
    /// File name.
    #[serde(default)]
    pub file: String,
    /// sha256, hex.
    #[serde(default)]
    pub sha256: String,
}

impl PlanView {
    /// Whether the plan puts `key` on its grid.
    pub fn contains(&self, key: &PairKey) -> bool {
        self.backends.iter().any(|b| b.0 == key.backend)
            && self.spans.contains(&key.span)
            && self.dtypes.contains(&key.dtype)
            && self.kv_aligned.contains(&key.kv_aligned)
            && self.seeds.contains(&key.seed)
    }
}

/// Whether the tolerance (or the floor rule) that judges pairs of `dtype` differs.
pub fn tolerance_moved(old: Option<&HeaderView>, new: Option<&HeaderView>, dtype: Dtype) -> bool {
    let (Some(o), Some(n)) = (old, new) else {
        return false;
    };
    o.tolerances.get(&dtype) != n.tolerances.get(&dtype) || rule(o) != rule(n)
}

fn rule(h: &HeaderView) -> Option<&Value> {
    h.reference.as_ref().and_then(|r| r.get("rule"))
}

/// One line per thing that changed between the runs, in the order a reader needs them.
pub fn changes(old: Option<&HeaderView>, new: Option<&HeaderView>) -> Vec<String> {
    let (Some(o), Some(n)) = (old, new) else {
        return vec!["run details: not recorded (a report without its header)".into()];
    };
    let mut out = Vec::new();
    config(o, n, &mut out);
    tolerances(o, n, &mut out);
    plan(o, n, &mut out);
    backends(o, n, &mut out);
    let version = |h: &HeaderView| {
        h.environment
            .as_ref()
            .and_then(|e| e.driftbench_version.clone())
    };
    if version(o) != version(n) {
        out.push(format!(
            "driftbench version: {} → {}",
            shown(version(o)),
            shown(version(n))
        ));
    }
    let machine = |h: &HeaderView| h.origin.as_ref().and_then(|x| x.machine.clone());
    if machine(o) != machine(n) {
        out.push(format!(
            "machine: {} → {}",
            shown(machine(o)),
            shown(machine(n))
        ));
    }
    out
}

fn config(o: &HeaderView, n: &HeaderView, out: &mut Vec<String>) {
    let hash = |h: &HeaderView| h.origin.as_ref().and_then(|x| x.config_sha256.clone());
    match (hash(o), hash(n)) {
        (Some(a), Some(b)) if a == b => {}
        // Neither recorded it: nothing is known to have changed.
        (None, None) => {}
        (Some(a), Some(b)) => out.push(format!("config: sha256 {} → {}", short(&a), short(&b))),
        (a, b) => out.push(format!(
            "config: sha256 {} → {}",
            a.as_deref().map_or("not recorded".to_string(), short),
            b.as_deref().map_or("not recorded".to_string(), short)
        )),
    }
}

fn tolerances(o: &HeaderView, n: &HeaderView, out: &mut Vec<String>) {
    let dtypes: BTreeSet<&Dtype> = o.tolerances.keys().chain(n.tolerances.keys()).collect();
    for d in dtypes {
        leaves(
            &format!("tolerance {d}"),
            o.tolerances.get(d),
            n.tolerances.get(d),
            out,
        );
    }
    leaves("floor rule", rule(o), rule(n), out);
}

/// One line per leaf of two JSON values that differs (`tolerance f32 equiv.max_abs: 0.01 →
/// 0.0001`), or one line for the whole value when either side is absent.
fn leaves(what: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    let (Some(a), Some(b)) = (a, b) else {
        out.push(format!("{what}: {} → {}", compact(a), compact(b)));
        return;
    };
    let (fa, fb) = (flatten(a), flatten(b));
    let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for k in keys {
        let (x, y) = (fa.get(k), fb.get(k));
        if x != y {
            out.push(format!("{what} {k}: {} → {}", compact(x), compact(y)));
        }
    }
}

/// `{"equiv": {"max_abs": 1}}` as `equiv.max_abs → 1`.
fn flatten(v: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v.as_object() {
            Some(map) => {
                for (k, x) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, x, out);
                }
            }
            None => {
                out.insert(prefix.to_string(), v.clone());
            }
        }
    }
    walk("", v, &mut out);
    out
}

fn plan(o: &HeaderView, n: &HeaderView, out: &mut Vec<String>) {
    let (Some(a), Some(b)) = (&o.plan, &n.plan) else {
        if o.plan.is_some() != n.plan.is_some() {
            out.push("plan: not recorded in one report".into());
        }
        return;
    };
    let mut differs = Vec::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            differs.push(format!("{name} {x} → {y}"));
        }
    };
    field("spans", json(&a.spans), json(&b.spans));
    field("dtypes", json(&a.dtypes), json(&b.dtypes));
    field("kv_aligned", json(&a.kv_aligned), json(&b.kv_aligned));
    field("seeds", json(&a.seeds), json(&b.seeds));
    field("repetitions", json(&a.repetitions), json(&b.repetitions));
    field("model", json(&o.model), json(&n.model));
    // Two prompt sources are two workloads: drift on text is not drift on random ids.
    let prompt = |p: &Option<Value>| match p {
        None => "seeded random ids".to_string(),
        Some(v) => format!(
            "{} {} (sha256 {})",
            v["kind"].as_str().unwrap_or("?"),
            v["path"].as_str().unwrap_or("?"),
            v["sha256"].as_str().unwrap_or("?")
        ),
    };
    field("prompt", prompt(&a.prompt), prompt(&b.prompt));
    if !differs.is_empty() {
        out.push(format!("the plans differ: {}", differs.join("; ")));
    }
}

fn backends(o: &HeaderView, n: &HeaderView, out: &mut Vec<String>) {
    let names = |h: &HeaderView| -> Vec<String> {
        h.plan
            .as_ref()
            .map(|p| p.backends.iter().map(|b| b.0.clone()).collect())
            .unwrap_or_default()
    };
    if names(o) != names(n) {
        out.push(format!(
            "backends: {} → {}",
            names(o).join(", "),
            names(n).join(", ")
        ));
    }
    let instance = |h: &HeaderView, name: &str| {
        h.plan
            .as_ref()
            .and_then(|p| p.backends.iter().find(|b| b.0 == name))
            .map(|b| (b.1.clone(), b.2.clone()))
    };
    let plugin =
        |h: &HeaderView, name: &str| h.origin.as_ref().and_then(|x| x.plugins.get(name).cloned());
    for name in names(o).iter().filter(|x| names(n).contains(x)) {
        if let (Some(a), Some(b)) = (instance(o, name), instance(n, name)) {
            if a != b {
                out.push(format!(
                    "backend {name}: plugin {} options {} → plugin {} options {}",
                    a.0,
                    compact(Some(&a.1)),
                    b.0,
                    compact(Some(&b.1))
                ));
            }
        }
        match (plugin(o, name), plugin(n, name)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => out.push(format!(
                "backend {name}: plugin file {} sha256 {} → {} sha256 {}",
                a.file,
                short(&a.sha256),
                b.file,
                short(&b.sha256)
            )),
            (a, b) => out.push(format!(
                "backend {name}: plugin file {} → {}",
                a.map_or("not recorded".to_string(), |p| p.file),
                b.map_or("not recorded".to_string(), |p| p.file)
            )),
        }
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(HASH_CHARS).collect()
}

fn shown(v: Option<String>) -> String {
    v.unwrap_or_else(|| "not recorded".to_string())
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn compact(v: Option<&Value>) -> String {
    v.map_or_else(|| "not recorded".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(prompt: Option<Value>) -> HeaderView {
        HeaderView {
            plan: Some(PlanView {
                prompt,
                ..PlanView::default()
            }),
            ..HeaderView::default()
        }
    }

    #[test]
    fn a_changed_prompt_source_is_said_before_any_verdict() {
        let text =
            serde_json::json!({"kind": "text", "path": "p.txt", "sha256": "ab12", "tokens": 9});
        let said = changes(Some(&header(None)), Some(&header(Some(text.clone()))));
        assert_eq!(
            said,
            ["the plans differ: prompt seeded random ids → text p.txt (sha256 ab12)"]
        );
        let same = changes(Some(&header(Some(text.clone()))), Some(&header(Some(text))));
        assert!(same.is_empty(), "{same:?}");
    }
}
