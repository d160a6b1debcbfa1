//! A tiny fake backend whose faults the tests switch on one at a time, to show each check
//! failing for the fault it is about (and the clean fake passing everything).
//!
//! Its "model": the logit of vocab entry `v` after the prompt's first `p + 1` tokens is a
//! smooth function of the prefix, so prefill and decode agree bit for bit unless a fault
//! says otherwise.

use driftbench_core::route::Route;
use driftbench_core::trace::{point_names, LayerTrace};
use driftbench_core::{
    Backend, BackendError, BackendSetup, Configured, DeviceInfo, Dtype, KvLayout, KvMode,
    ModelSpec, Probe, Session, SessionInfo,
};

/// How a layer trace answers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum TraceMode {
    /// `Unavailable` (the trait's default).
    #[default]
    Absent,
    /// The right shape, finite values.
    Good,
    /// One position short.
    ShortPositions,
    /// A NaN in the last value.
    NonFinite,
}

/// The faults of a fake; `Faults::default()` is a conforming backend.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The probe says `traces` is false whatever `trace` does.
    pub undeclared_trace: bool,
    /// The probe says `traces` is true whatever `trace` does.
    pub declared_trace: bool,
    /// The decode route leaves the last logit of its buffer unwritten.
    pub decode_unwritten: bool,
    /// The f64 decode route (`decode_f64`) leaves its first logit unwritten.
    pub decode_f64_unwritten: bool,
    /// `configure` accepts any option.
    pub accepts_options: bool,
    /// `configure` refuses options with `Invalid` but without naming the key.
    pub refuses_anonymously: bool,
    /// Added to vocab entry 0 of every decoded position.
    pub decode_bias: f32,
    /// The probe lists f32 as both supported and unsupported.
    pub dtype_both_ways: bool,
    /// The padded decode answers `Unavailable`.
    pub padded_unavailable: bool,
    /// The probe rules out the aligned layout; the session panics if it is used anyway.
    pub probe_refuses_aligned: bool,
    /// Every `open` answers `Unavailable`.
    pub nothing_opens: bool,
    /// How `trace` answers.
    pub trace: TraceMode,
}

/// A fake backend computing in f32 and f64.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    pub faults: Faults,
}

impl Fake {
    /// A fake with `faults`.
    pub fn with(faults: Faults) -> Fake {
        Fake { faults }
    }
}

impl Backend for Fake {
    fn name(&self) -> &str {
        "fake"
    }

    fn probe(&self) -> Probe {
        let mut unsupported = vec![
            (Dtype::F16, "no f16".into()),
            (Dtype::Bf16, "no bf16".into()),
        ];
        if self.faults.dtype_both_ways {
            unsupported.push((Dtype::F32, "no f32 after all".into()));
        }
        let kv_unsupported = if self.faults.probe_refuses_aligned {
            vec![(KvMode::Aligned, "the cache always pads".to_string())]
        } else {
            vec![]
        };
        Probe {
            backend: "fake".into(),
            version: "0.0.1".into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: "nowhere".into(),
                kind: "cpu".into(),
                driver: None,
                dtypes: vec![Dtype::F32, Dtype::F64],
                unsupported,
                details: vec![],
            }],
            backend_dtypes: vec![Dtype::F32, Dtype::F64],
            kv_unsupported,
            kv_padding: None,
            traces: self.faults.declared_trace
                || (self.faults.trace != TraceMode::Absent && !self.faults.undeclared_trace),
        }
    }

    fn configure(&mut self, setup: &BackendSetup) -> Result<Configured, BackendError> {
        match setup.options.keys().next() {
            None => Ok(Configured::default()),
            Some(_) if self.faults.accepts_options => Ok(Configured {
                options: setup.options.clone(),
                details: vec![],
            }),
            Some(_) if self.faults.refuses_anonymously => {
                Err(BackendError::Invalid("bad option".into()))
            }
            Some(key) => Err(BackendError::Invalid(format!("unknown option `{key}`"))),
        }
    }

    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        let ModelSpec::Synthetic(m) = model else {
            return Err(BackendError::Unavailable("synthetic models only".into()));
        };
        if self.faults.nothing_opens || !matches!(dtype, Dtype::F32 | Dtype::F64) {
            return Err(BackendError::Unavailable(format!("no {dtype} here")));
        }
        Ok(Box::new(FakeSession {
            faults: self.faults.clone(),
            info: SessionInfo {
                vocab: m.vocab,
                max_span: 64,
                device: "nowhere".into(),
                model: "fake".into(),
            },
            layers: m.layers,
            hidden: m.hidden,
            f64: dtype == Dtype::F64,
        }))
    }
}

struct FakeSession {
    faults: Faults,
    info: SessionInfo,
    layers: usize,
    hidden: usize,
    f64: bool,
}

/// The fake model's logits of `tokens`, row-major.
fn logits(tokens: &[u32], vocab: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(tokens.len() * vocab);
    let mut acc = 0.0f64;
    for (p, &t) in tokens.iter().enumerate() {
        acc += f64::from(t) * (p + 1) as f64 * 0.01;
        out.extend((0..vocab).map(|v| (acc + v as f64 * 0.37).sin() * 3.0));
    }
    out
}

impl FakeSession {
    fn route(&self, tokens: &[u32], layout: Option<KvLayout>) -> Vec<f64> {
        if let Some(l) = layout {
            if self.faults.probe_refuses_aligned && l == KvLayout::Aligned {
                panic!("the kit ran a layout the probe rules out");
            }
        }
        let mut l = logits(tokens, self.info.vocab);
        if layout.is_some() {
            for row in l.chunks_mut(self.info.vocab) {
                row[0] += f64::from(self.faults.decode_bias);
            }
        }
        l
    }

    fn decode_check(&self, layout: KvLayout) -> Result<(), BackendError> {
        layout.check()?;
        if self.faults.padded_unavailable && matches!(layout, KvLayout::Padded { .. }) {
            return Err(BackendError::Unavailable("no padded cache".into()));
        }
        Ok(())
    }
}

impl Session for FakeSession {
    fn info(&self) -> SessionInfo {
        self.info.clone()
    }

    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        for (o, l) in out.iter_mut().zip(self.route(tokens, None)) {
            *o = l as f32;
        }
        Ok(())
    }

    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        self.decode_check(layout)?;
        let n = out.len() - usize::from(self.faults.decode_unwritten);
        for (o, l) in out[..n].iter_mut().zip(self.route(tokens, Some(layout))) {
            *o = l as f32;
        }
        Ok(())
    }

    fn logits_f64(&self) -> bool {
        self.f64
    }

    fn prefill_f64(&mut self, tokens: &[u32], out: &mut [f64]) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        out.copy_from_slice(&self.route(tokens, None));
        Ok(())
    }

    fn decode_f64(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f64],
    ) -> Result<(), BackendError> {
        self.info.check_request(tokens, out.len())?;
        self.decode_check(layout)?;
        let skip = usize::from(self.faults.decode_f64_unwritten);
        out[skip..].copy_from_slice(&self.route(tokens, Some(layout))[skip..]);
        Ok(())
    }

    fn trace(
        &mut self,
        _route: Route,
        tokens: &[u32],
        _layout: KvLayout,
    ) -> Result<LayerTrace, BackendError> {
        let points = point_names(self.layers);
        let positions = match self.faults.trace {
            TraceMode::Absent => {
                return Err(BackendError::Unavailable("the fake does not trace".into()))
            }
            TraceMode::ShortPositions => tokens.len() - 1,
            TraceMode::Good | TraceMode::NonFinite => tokens.len(),
        };
        let mut data = vec![0.5f32; points.len() * positions * self.hidden];
        if self.faults.trace == TraceMode::NonFinite {
            *data.last_mut().unwrap() = f32::NAN;
        }
        Ok(LayerTrace {
            points,
            positions,
            hidden: self.hidden,
            data,
        })
    }
}
