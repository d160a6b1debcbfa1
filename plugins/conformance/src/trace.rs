//! Check 5: layer traces, where a session offers them, have the shape the host and the
//! report read: `points × positions × hidden` finite values, one position per prompt token,
//! the standard point names; and a backend traces exactly when its probe declares `traces`.

use crate::kit::Kit;
use crate::report::{Check, Finding, Report};
use crate::sessions::{each_session, Call};
use driftbench_core::trace::{point_names, LayerTrace};
use driftbench_core::{Backend, BackendError, ModelSpec};

/// In each of `kit`'s dtypes, trace the prefill route and the decode route through both KV
/// layouts. A session answering `Unavailable` is skipped with its reason (tracing is
/// optional) unless the probe declares `traces`, which makes it a failure; a trace from a
/// backend whose probe does not declare `traces` fails too (the host refuses
/// `--trace-layers` on it before anything runs). A trace it answers must pass [`LayerTrace::check`], have one position per
/// prompt token and a width of at least 1, survive its binary form (what crosses the ABI),
/// hold finite values only, and name its points as [`point_names`] does for the synthetic
/// model's layer count (on another model: at least one point, names non-empty and unique).
pub fn check_trace(backend: &dyn Backend, kit: &Kit) -> Report {
    let mut report = Report::default();
    let declared = backend.probe().traces;
    each_session(backend, kit, Check::Trace, &mut report, |s, report| {
        let dtype = s.dtype;
        let calls = [Call::prefill()]
            .into_iter()
            .chain(Call::decodes(kit.block));
        for call in calls {
            let f = |m: String| Finding::new(Check::Trace, Some(dtype), call.describe(), m);
            if let Some(why) = s.refused(call) {
                report.skip(f(format!("the probe rules this route out: {why}")));
                continue;
            }
            match s.session.trace(call.route, &s.tokens, call.layout) {
                Err(BackendError::Unavailable(why)) if declared => report.fail(f(format!(
                    "the probe declares `traces`, but the session does not trace: {why}"
                ))),
                Err(BackendError::Unavailable(why)) => {
                    report.skip(f(format!("the session does not trace: {why}")))
                }
                Err(e) => report.fail(f(format!("the trace failed: {e}"))),
                Ok(_) if !declared => report.fail(f(
                    "the session traces, but the probe does not declare `traces`: the host \
                     refuses --trace-layers on this backend"
                        .into(),
                )),
                Ok(t) => {
                    let found = problems(&t, s.tokens.len(), &kit.model);
                    if found.is_empty() {
                        report.pass(f(format!(
                            "{} points × {} positions × {} wide, all finite",
                            t.points.len(),
                            t.positions,
                            t.hidden
                        )));
                    }
                    for p in found {
                        report.fail(f(p));
                    }
                }
            }
        }
    });
    report
}

/// Every way `t`, a trace of a prompt of `tokens` tokens of `model`, breaks the rules.
fn problems(t: &LayerTrace, tokens: usize, model: &ModelSpec) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = t.check() {
        out.push(e);
    } else if let Err(e) = LayerTrace::from_bytes(&t.to_bytes()) {
        out.push(format!("the trace does not survive its binary form: {e}"));
    }
    if t.positions != tokens {
        out.push(format!(
            "the trace has {} positions, the prompt {tokens} tokens",
            t.positions
        ));
    }
    if t.hidden == 0 {
        out.push("the trace's hidden width is 0".into());
    }
    match model {
        ModelSpec::Synthetic(m) => {
            let want = point_names(m.layers);
            if t.points != want {
                out.push(format!(
                    "the trace names its points {:?}, expected {want:?} for {} layers",
                    t.points, m.layers
                ));
            }
            if t.hidden != m.hidden {
                out.push(format!(
                    "the trace is {} wide, the model's hidden width is {}",
                    t.hidden, m.hidden
                ));
            }
        }
        ModelSpec::Gguf { .. } => out.extend(name_problems(&t.points)),
    }
    if let Some(at) = t.data.iter().position(|v| !v.is_finite()) {
        let count = t.data.iter().filter(|v| !v.is_finite()).count();
        let per_point = (t.positions * t.hidden).max(1);
        let point = t.points.get(at / per_point).map_or("?", String::as_str);
        out.push(format!(
            "{count} non-finite value(s), the first at point {point:?}, position {}",
            at % per_point / t.hidden.max(1)
        ));
    }
    out
}

/// The rules for point names where the layer count is not known: at least one point, every
/// name non-empty and used once.
fn name_problems(points: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if points.is_empty() {
        out.push("the trace has no points".into());
    }
    for (i, p) in points.iter().enumerate() {
        if p.trim().is_empty() {
            out.push(format!("point {i} has no name"));
        } else if points[..i].contains(p) {
            out.push(format!("point name {p:?} is used twice"));
        }
    }
    out
}
