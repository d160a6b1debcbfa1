//! The prompt a bundle's pair is replayed with: the bundle's own tokens, once they are what
//! this driftbench makes of the bundle's prompt source for the pair's seed.

use crate::digest::sha256_hex;
use crate::input_file::{self, FileError, Size};
use crate::prompt::{Prompt, PromptKind, PromptSource, MAX_PROMPT_FILE_BYTES};
use crate::replay::{Bundle, BundleError, BUNDLE_FILE};
use driftbench_core::rng::prompt_tokens;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl Bundle {
    /// The prompt to replay the pair of the bundle in `dir` with, on a model of `vocab`
    /// tokens: exactly the bundle's tokens ([`Prompt::Fixed`]), and a note to print where
    /// they could not be checked.
    ///
    /// Random ids must be this driftbench's for the seed. A prompt file must still hash to
    /// the bundle's sha256 (a file changed since the sweep is an error naming both hashes),
    /// and the seed's window of it must be the bundle's tokens; a file that is gone (a bundle
    /// moved to another machine) is only a note, as the tokens travel in the bundle.
    pub fn replay_prompt(
        &self,
        dir: &Path,
        vocab: usize,
    ) -> Result<(Prompt, Option<String>), BundleError> {
        let invalid = |message: String| BundleError::Invalid {
            path: dir.join(BUNDLE_FILE).display().to_string(),
            message,
        };
        let key = &self.pair;
        let fixed = Prompt::Fixed(Arc::from(self.tokens.as_slice()));
        let Some(file) = &self.prompt else {
            if prompt_tokens(key.seed, key.span, vocab) != self.tokens {
                return Err(invalid(format!(
                    "key `tokens`: this driftbench's prompt for seed {} differs from the \
                     bundle's tokens, so it cannot replay the pair",
                    key.seed
                )));
            }
            return Ok((fixed, None));
        };
        let path = PathBuf::from(&file.path);
        let bytes = match input_file::read_bytes(&path, Size::AtMost(MAX_PROMPT_FILE_BYTES)) {
            Err(FileError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
                let note = format!(
                    "prompt file {} not found: replaying the bundle's own tokens",
                    file.path
                );
                return Ok((fixed, Some(note)));
            }
            read => read.map_err(|e| invalid(format!("key `prompt.path`: {e}")))?,
        };
        let now = sha256_hex(&bytes);
        if now != file.sha256 {
            return Err(invalid(format!(
                "key `prompt.sha256`: {} has changed since the sweep: sha256 {now} now, {} \
                 in the bundle; restore the file the pair ran with to replay it",
                file.path, file.sha256
            )));
        }
        let source = match file.kind {
            PromptKind::Text => PromptSource::Text(path),
            PromptKind::Tokens => PromptSource::Tokens(path),
        };
        let window = Prompt::load(&source, &self.model, key.span)
            .and_then(|p| p.tokens(key.seed, key.span, vocab))
            .map_err(|e| invalid(format!("key `prompt`: {e}")))?;
        if window != self.tokens {
            return Err(invalid(format!(
                "key `tokens`: this driftbench's window of {} for seed {} differs from the \
                 bundle's tokens, so it cannot replay the pair",
                file.path, key.seed
            )));
        }
        Ok((fixed, None))
    }
}
