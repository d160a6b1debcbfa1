//! A bundle's values, checked by the config's own checks before anything runs.
//!
//! `bundle.json` holds what a pair was run and judged with: its model, its timeouts, its
//! plan (block size, tolerance, noise-floor rule) and its prompt file. Each value goes
//! through the function the config loader uses for the same setting ([`crate::config`]), so
//! a bundle cannot ask for what no config may: a timeout that panics the host, a synthetic
//! model that exhausts memory, or a tolerance under which any FAIL replays as a PASS. The
//! error names the bundle file and the key as the bundle spells it
//! (`plan.tolerance.equiv.max_abs`).
//!
//! The recorded pair (`record`) is not checked here: it is evidence of what happened, which
//! `replay` compares the new run with, never a verdict it passes on.

use crate::config::checker::Checker;
use crate::config::error::ConfigError;
use crate::config::{
    check_block_size_at, check_floor_k, check_model_spec, check_seconds, check_span,
    check_tolerance,
};
use crate::prompt::PromptFile;
use crate::replay::{Bundle, BundleError};
use std::path::Path;

/// Every value of `b` the config would check, as the config checks it; `file` is the
/// bundle's `bundle.json`, named by the error.
pub(super) fn check_bundle(b: &Bundle, file: &Path) -> Result<(), BundleError> {
    let file = file.display().to_string();
    let c = Checker { file: &file };
    check_model_spec(&c, &b.model)?;
    check_span(&c, "pair.span", b.pair.span as i128, &b.model)?;
    for (key, t) in [
        ("open_timeout_s", b.open_timeout_s),
        ("run_timeout_s", b.run_timeout_s),
    ] {
        if let Some(t) = t {
            check_seconds(&c, key, t)?;
        }
    }
    check_block_size_at(&c, "plan.block_size", b.plan.block_size as i128)?;
    check_tolerance(&c, "plan.tolerance", &b.plan.tolerance)?;
    check_floor_k(&c, "plan.rule.k", b.plan.rule.k)?;
    if let Some(p) = &b.prompt {
        check_prompt_file(&c, p, b.pair.span)?;
    }
    Ok(())
}

/// A bundle's prompt file: a path, a sha256 (64 lowercase hex digits), and at least the
/// pair's span of tokens.
fn check_prompt_file(c: &Checker<'_>, p: &PromptFile, span: usize) -> Result<(), ConfigError> {
    if p.path.is_empty() {
        return Err(c.invalid("prompt.path", "", "the path of the prompt file"));
    }
    let hex = |ch: char| ch.is_ascii_digit() || ('a'..='f').contains(&ch);
    if p.sha256.len() != 64 || !p.sha256.chars().all(hex) {
        return Err(c.invalid(
            "prompt.sha256",
            p.sha256.as_str(),
            "a sha256: 64 lowercase hex digits",
        ));
    }
    if p.tokens < span {
        return Err(c.invalid(
            "prompt.tokens",
            i64::try_from(p.tokens).unwrap_or(i64::MAX),
            format!("at least the pair's span, {span} tokens"),
        ));
    }
    Ok(())
}

impl From<ConfigError> for BundleError {
    /// The config's error for a bundle file: the same one line, `<file>: key `…`: invalid
    /// value …: expected …`.
    fn from(e: ConfigError) -> BundleError {
        let path = e.file().to_string();
        let whole = e.to_string();
        let message = whole
            .strip_prefix(&format!("{path}: "))
            .unwrap_or(&whole)
            .to_string();
        BundleError::Invalid { path, message }
    }
}
