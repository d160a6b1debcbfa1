//! Checks every session runs on a request before computing: one wording of each refusal for
//! every backend.

use crate::error::BackendError;
use crate::kv::KvLayout;
use crate::session_info::SessionInfo;

impl SessionInfo {
    /// Refuse an empty prompt, a prompt longer than the context, a token outside the
    /// vocabulary, or an output buffer that is not `tokens.len() × vocab` values.
    pub fn check_request(&self, tokens: &[u32], out_len: usize) -> Result<(), BackendError> {
        self.check_tokens(tokens)?;
        if out_len != tokens.len() * self.vocab {
            return Err(BackendError::Invalid(format!(
                "output buffer holds {out_len} values, expected {} × {}",
                tokens.len(),
                self.vocab
            )));
        }
        Ok(())
    }

    /// The prompt checks of [`SessionInfo::check_request`] alone (for calls without an
    /// output buffer, such as a trace).
    pub fn check_tokens(&self, tokens: &[u32]) -> Result<(), BackendError> {
        if tokens.is_empty() {
            return Err(BackendError::Invalid("empty prompt".into()));
        }
        if tokens.len() > self.max_span {
            return Err(BackendError::Invalid(format!(
                "span {} exceeds the model's context of {} tokens",
                tokens.len(),
                self.max_span
            )));
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= self.vocab) {
            return Err(BackendError::Invalid(format!(
                "token id {t} is outside the vocabulary of {}",
                self.vocab
            )));
        }
        Ok(())
    }
}

impl KvLayout {
    /// Refuse a padded layout with a block size of 0.
    pub fn check(&self) -> Result<(), BackendError> {
        match self {
            KvLayout::Padded { block: 0 } => Err(BackendError::Invalid(
                "KV block size must be at least 1".into(),
            )),
            _ => Ok(()),
        }
    }
}
