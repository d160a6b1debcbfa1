//! Check 3: every route writes every logit. The host fills each output buffer with the
//! unwritten-logit sentinel ([`driftbench_core::unwritten`]) before a call and fails a run
//! that reports success with any sentinel left; this check does the same, route by route.

use crate::kit::Kit;
use crate::report::{Check, Finding, Report};
use crate::sessions::{each_session, require_runs, Call, Ran};
use driftbench_core::{Backend, Dtype};

/// In each of `kit`'s dtypes, run the prefill route and the decode route through both KV
/// layouts into buffers filled with the unwritten-logit sentinel, and check that a call
/// reporting success wrote every value. f32 routes always; in f64 sessions the f64 routes
/// too (`prefill_f64`, `decode_f64`, with their own sentinel), since the host calls those.
/// A route answering `Unavailable` is skipped; one failing otherwise cannot be checked and
/// fails. With `kit.require_runs`, a run where no route wrote anything fails.
pub fn check_unwritten(backend: &dyn Backend, kit: &Kit) -> Report {
    let mut report = Report::default();
    let mut ran = 0;
    each_session(backend, kit, Check::Unwritten, &mut report, |s, report| {
        let dtype = s.dtype;
        let widths: &[bool] = if s.dtype == Dtype::F64 {
            &[false, true]
        } else {
            &[false]
        };
        for &wide in widths {
            let calls = [Call::prefill()]
                .into_iter()
                .chain(Call::decodes(kit.block));
            for call in calls {
                let width = if wide { "f64" } else { "f32" };
                let at = call.describe_as(wide);
                let f = |m: String| Finding::new(Check::Unwritten, Some(dtype), at.clone(), m);
                match s.run(call, wide) {
                    Ran::Wrote(l) => {
                        ran += 1;
                        report.pass(f(format!("all {} {width} logits written", l.len())));
                    }
                    Ran::Refused(why) => report.skip(f(why)),
                    Ran::Failed(e) => report.fail(f(format!(
                        "the route failed, so whether it writes every logit is unknown: {e}"
                    ))),
                    Ran::Unwritten(what) => report.fail(f(what)),
                }
            }
        }
    });
    require_runs(kit, Check::Unwritten, ran, &mut report);
    report
}
