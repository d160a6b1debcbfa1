//! Check 2: in every listed dtype, each decode layout the backend does not refuse agrees with
//! the prefill route within the author's tolerance, by core's metrics.

use crate::kit::{Kit, Tolerance};
use crate::report::{Check, Finding, Report};
use crate::sessions::{each_session, require_runs, Call, Ran};
use driftbench_core::metrics::{compare_logits, Metrics};
use driftbench_core::{Backend, Dtype, Logits};

/// Open a session in each of `kit`'s dtypes on its model, run the prefill route and the
/// decode route through both KV layouts (aligned, and padded to `kit.block`), and compare
/// each decode with the prefill by [`driftbench_core::metrics::compare_logits`]: every logit
/// must be finite, `max_abs_diff` at most the dtype's `max_abs` and `top1_agreement` at
/// least its `min_top1`. f64 sessions whose logits cross as f64 are compared in f64, as the
/// host does. A dtype or route answering `Unavailable` is skipped with its reason; with
/// `kit.require_runs`, a run where nothing was compared fails.
pub fn check_agreement(backend: &dyn Backend, kit: &Kit) -> Report {
    let mut report = Report::default();
    let mut compared = 0;
    each_session(backend, kit, Check::Agreement, &mut report, |s, report| {
        let dtype = s.dtype;
        let wide = s.dtype == Dtype::F64 && s.session.logits_f64();
        let prefill = Call::prefill();
        let reference = match s.run(prefill, wide) {
            Ran::Wrote(l) => l,
            other => {
                settle(report, dtype, prefill, other, "nothing to compare with");
                return;
            }
        };
        for call in Call::decodes(kit.block) {
            match s.run(call, wide) {
                Ran::Wrote(decode) => {
                    compared += 1;
                    let m = compare_logits(reference.as_ref(), decode.as_ref(), s.vocab);
                    let f = |msg| Finding::new(Check::Agreement, Some(dtype), call.describe(), msg);
                    match judge(&m, s.tolerance, &decode) {
                        Ok(msg) => report.pass(f(msg)),
                        Err(msg) => report.fail(f(msg)),
                    }
                }
                other => settle(report, dtype, call, other, "not compared"),
            }
        }
    });
    require_runs(kit, Check::Agreement, compared, &mut report);
    report
}

/// Record a route that wrote nothing to compare: refused (skipped), failed or left logits
/// unwritten (failures). `then` says what that means for the comparison.
fn settle(report: &mut Report, dtype: Dtype, call: Call, ran: Ran, then: &str) {
    let f = |msg: String| Finding::new(Check::Agreement, Some(dtype), call.describe(), msg);
    match ran {
        Ran::Wrote(_) => {}
        Ran::Refused(why) => report.skip(f(why)),
        Ran::Failed(e) => report.fail(f(format!("the route failed ({then}): {e}"))),
        Ran::Unwritten(what) => report.fail(f(format!("{what} ({then})"))),
    }
}

/// The verdict on one comparison: `Ok` with the figures, or `Err` saying which bound broke.
fn judge(m: &Metrics, tol: Tolerance, decode: &Logits) -> Result<String, String> {
    let width = if decode.is_f64() { "f64" } else { "f32" };
    if !m.all_finite() {
        return Err(format!(
            "non-finite logits: {} in prefill, {} in decode (every logit must be finite)",
            m.nonfinite_prefill, m.nonfinite_decode
        ));
    }
    if !at_most(m.max_abs_diff, tol.max_abs) {
        let worst = m
            .drift_curve
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(p, _)| p);
        return Err(format!(
            "max_abs_diff {} exceeds max_abs {} (largest at position {worst} of {})",
            num(m.max_abs_diff),
            num(tol.max_abs),
            m.positions
        ));
    }
    if !at_most(tol.min_top1, m.top1_agreement) {
        let flip = m.first_flip.as_ref().map_or(String::new(), |f| {
            format!(
                "; first flip at position {}: prefill token {}, decode token {}",
                f.position, f.prefill_token, f.decode_token
            )
        });
        return Err(format!(
            "top-1 agreement {} is below min_top1 {} ({} of {} positions flipped{flip})",
            m.top1_agreement,
            tol.min_top1,
            m.flips(),
            m.positions
        ));
    }
    Ok(format!(
        "max_abs_diff {} within max_abs {}, top-1 agreement {} at least {} over {} positions ({width} logits)",
        num(m.max_abs_diff),
        num(tol.max_abs),
        m.top1_agreement,
        tol.min_top1,
        m.positions
    ))
}

/// `x <= bound`, false when either is NaN: a NaN figure never passes a bound.
fn at_most(x: f64, bound: f64) -> bool {
    x <= bound
}

/// A figure in exponent form (`3.1e-2`), but `0` for zero (not `0e0`).
fn num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:e}")
    }
}
