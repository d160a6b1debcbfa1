//! Opening the kit's sessions (one per listed dtype) and running a route into a buffer
//! poisoned with the unwritten-logit sentinel, as the host does before every call.

use crate::kit::{Kit, Tolerance};
use crate::report::{Check, Finding, Report};
use driftbench_core::rng::prompt_tokens;
use driftbench_core::route::Route;
use driftbench_core::{
    Backend, BackendError, Dtype, KvLayout, KvMode, Logits, ModelSpec, Probe, Session,
};

/// One call of a route: prefill, or decode through a KV cache laid out as `layout`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Call {
    pub route: Route,
    pub layout: KvLayout,
}

impl Call {
    /// The prefill route (the layout is ignored by it).
    pub fn prefill() -> Call {
        Call {
            route: Route::Prefill,
            layout: KvLayout::Aligned,
        }
    }

    /// The decode route through `layout`.
    pub fn decode(layout: KvLayout) -> Call {
        Call {
            route: Route::Decode,
            layout,
        }
    }

    /// The decode route through both layouts, aligned first.
    pub fn decodes(block: usize) -> [Call; 2] {
        [
            Call::decode(KvLayout::Aligned),
            Call::decode(KvLayout::Padded { block }),
        ]
    }

    /// `prefill`, `decode, kv_aligned=1`, `decode, kv_aligned=0 (block 8)`.
    pub fn describe(&self) -> String {
        self.describe_as(false)
    }

    /// [`Call::describe`], naming the f64 route (`decode_f64, kv_aligned=1`) when `wide`.
    pub fn describe_as(&self, wide: bool) -> String {
        let suffix = if wide { "_f64" } else { "" };
        let route = self.route.as_str();
        match (self.route, self.layout) {
            (Route::Prefill, _) => format!("{route}{suffix}"),
            (Route::Decode, KvLayout::Aligned) => format!("{route}{suffix}, kv_aligned=1"),
            (Route::Decode, KvLayout::Padded { block }) => {
                format!("{route}{suffix}, kv_aligned=0 (block {block})")
            }
        }
    }
}

/// What a route did with a poisoned buffer.
pub(crate) enum Ran {
    /// It wrote every logit.
    Wrote(Logits),
    /// It answered `Unavailable`, or the probe rules it out: why.
    Refused(String),
    /// It failed otherwise.
    Failed(BackendError),
    /// It reported success but left logits unwritten; the message says how many and where.
    Unwritten(String),
}

/// Run `call` on `tokens` into a buffer of `tokens.len() × vocab` logits (f64 when `wide`)
/// filled with the unwritten-logit sentinel of its width first.
fn run_poisoned(
    session: &mut dyn Session,
    call: Call,
    tokens: &[u32],
    vocab: usize,
    wide: bool,
) -> Ran {
    let n = tokens.len() * vocab;
    let mut out = Logits::empty(wide);
    if let Err(e) = out.resize(n, wide) {
        return Ran::Failed(BackendError::Run(e));
    }
    out.fill_unwritten();
    let r = match (call.route, &mut out) {
        (Route::Prefill, Logits::F32(o)) => session.prefill(tokens, o),
        (Route::Decode, Logits::F32(o)) => session.decode(tokens, call.layout, o),
        (Route::Prefill, Logits::F64(o)) => session.prefill_f64(tokens, o),
        (Route::Decode, Logits::F64(o)) => session.decode_f64(tokens, call.layout, o),
    };
    match r {
        Err(BackendError::Unavailable(why)) => {
            Ran::Refused(format!("the backend refuses this route: {why}"))
        }
        Err(e) => Ran::Failed(e),
        Ok(()) => match out.find_unwritten() {
            Some(u) => Ran::Unwritten(u.describe(n, vocab)),
            None => Ran::Wrote(out),
        },
    }
}

/// A listed dtype, open on the kit's model, with the prompt for it.
pub(crate) struct Opened {
    pub dtype: Dtype,
    pub tolerance: Tolerance,
    pub session: Box<dyn Session>,
    pub tokens: Vec<u32>,
    pub vocab: usize,
    /// The backend's probe, for the KV layouts it rules out.
    probe: Probe,
}

impl Opened {
    /// Why the probe rules `call` out (a decode through a KV layout the backend lists in
    /// `kv_unsupported`): the host never runs it, so neither does the kit.
    pub fn refused(&self, call: Call) -> Option<String> {
        match call.route {
            Route::Prefill => None,
            Route::Decode => self.probe.layout_unavailable(KvMode::from(call.layout)),
        }
    }

    /// Run `call` into a poisoned buffer (f64 when `wide`), unless the probe rules it out.
    pub fn run(&mut self, call: Call, wide: bool) -> Ran {
        if let Some(why) = self.refused(call) {
            return Ran::Refused(format!("the probe rules it out: {why}"));
        }
        run_poisoned(&mut *self.session, call, &self.tokens, self.vocab, wide)
    }
}

/// Open every dtype of `kit` on `backend` and hand each session to `f`. A dtype the backend
/// answers `Unavailable` for is skipped in `report` (for `check`); any other refusal, and a
/// session whose info breaks the contract, is a failure. A kit listing no dtype fails.
pub(crate) fn each_session(
    backend: &dyn Backend,
    kit: &Kit,
    check: Check,
    report: &mut Report,
    mut f: impl FnMut(&mut Opened, &mut Report),
) {
    if kit.dtypes.is_empty() {
        report.fail(Finding::new(
            check,
            None,
            "",
            "the kit lists no dtype to open sessions in (add one with Kit::dtype)",
        ));
    }
    let probe = backend.probe();
    for &(dtype, tolerance) in &kit.dtypes {
        let at = |m: String| Finding::new(check, Some(dtype), "open", m);
        let session = match backend.open(&kit.model, dtype) {
            Ok(s) => s,
            Err(BackendError::Unavailable(why)) => {
                report.skip(at(format!("the backend cannot open this dtype: {why}")));
                continue;
            }
            Err(e) => {
                report.fail(at(format!("open failed: {e}")));
                continue;
            }
        };
        let info = session.info();
        if let Err(why) = info.check() {
            report.fail(at(why));
            continue;
        }
        if let ModelSpec::Synthetic(m) = &kit.model {
            if info.vocab != m.vocab {
                report.fail(at(format!(
                    "the session reports vocab {}, the synthetic model has {}",
                    info.vocab, m.vocab
                )));
                continue;
            }
        }
        let span = kit.span.min(info.max_span);
        if span == 0 {
            report.fail(at("the kit's span is 0: there is no prompt to run".into()));
            continue;
        }
        let mut opened = Opened {
            dtype,
            tolerance,
            session,
            tokens: prompt_tokens(kit.prompt_seed, span, info.vocab),
            vocab: info.vocab,
            probe: probe.clone(),
        };
        f(&mut opened, report);
    }
}

/// With `kit.require_runs`, fail `check` when `ran` (routes checked) is 0 and nothing failed:
/// every dtype or route was skipped, so nothing was checked. The skips already in `report`
/// say why. (A report with a failure cannot pass anyway.)
pub(crate) fn require_runs(kit: &Kit, check: Check, ran: usize, report: &mut Report) {
    if ran == 0 && kit.require_runs && report.failed.is_empty() {
        report.fail(Finding::new(
            check,
            None,
            "",
            "no route ran: every listed dtype or route was skipped (see the skips), so \
             nothing was checked; set Kit::require_runs to false where that is expected",
        ));
    }
}
