//! One (backend, model, dtype) under bench: its session, opened on first use.
//!
//! Opening is lazy so that a criterion filter (`-- prefill/flex/synthetic`) never pays for
//! loading models it does not run, and `--list` loads none.

use crate::models::BenchModel;
use crate::plugins::BenchBackend;
use driftbench_core::rng::prompt_tokens;
use driftbench_core::{Backend, Dtype, Session};

/// Seed of the prompt tokens: the sweep's first seed.
pub const PROMPT_SEED: u64 = 0;

/// A session to be opened on first use, with its inputs and output buffer.
pub struct Target<'a> {
    backend: &'a BenchBackend,
    model: &'a BenchModel,
    dtype: Dtype,
    open: Option<Open>,
}

/// An open session and the buffers its routes use.
struct Open {
    session: Box<dyn Session>,
    vocab: usize,
    tokens: Vec<u32>,
    /// Room for the longest span's logits, written once at open so that no page of it is
    /// first touched (and faulted in) inside a timed iteration.
    out: Vec<f32>,
}

impl<'a> Target<'a> {
    /// `model` in `dtype` on `backend`, not opened yet.
    pub fn new(backend: &'a BenchBackend, model: &'a BenchModel, dtype: Dtype) -> Self {
        Target {
            backend,
            model,
            dtype,
            open: None,
        }
    }

    /// Whether each benchmark runs its route once, untimed, first (see
    /// [`crate::pace::compiles_kernels`]).
    pub fn primes(&self) -> bool {
        crate::pace::compiles_kernels(self.backend)
    }

    /// `backend model dtype`, for messages.
    pub fn label(&self) -> String {
        format!("{} {} {}", self.backend.name, self.model.name, self.dtype)
    }

    /// Open the session and its output buffer.
    fn open_now(&self) -> Open {
        let label = self.label();
        let session = self
            .backend
            .backend
            .open(&self.model.spec, self.dtype)
            .unwrap_or_else(|e| panic!("opening {label} failed: {e}"));
        let vocab = session.info().vocab;
        Open {
            session,
            vocab,
            tokens: Vec::new(),
            out: vec![f32::NAN; self.model.max_span() * vocab],
        }
    }

    /// The session, its prompt of `span` tokens and an output buffer of `span × vocab`,
    /// opening the session first if needed. The probe said this dtype runs here, so a
    /// failure to open is a real failure and panics (criterion has no way to skip a
    /// benchmark from inside it).
    pub fn parts(&mut self, span: usize) -> (&mut dyn Session, &[u32], &mut [f32]) {
        let o = match self.open.take() {
            Some(o) => o,
            None => self.open_now(),
        };
        let o = self.open.insert(o);
        if o.tokens.len() != span {
            o.tokens = prompt_tokens(PROMPT_SEED, span, o.vocab);
        }
        let out = &mut o.out[..span * o.vocab];
        (o.session.as_mut(), &o.tokens, out)
    }
}
