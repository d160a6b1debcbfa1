//! Backend options: the settings of one backend instance, from the config's
//! `[backends.<name>]` table, handed to the backend before any session opens.
//!
//! The host knows nothing of their meaning: the backend reads them with an [`OptionReader`],
//! which rejects unknown keys and wrong types with the option's name, and answers with the
//! options in force (defaults filled in) plus facts worth reporting ([`Configured`]). The
//! report records both, so two instances of one plugin with different options (cuda with and
//! without fusion) can be compared in one report.

use crate::error::BackendError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

/// One option value, as TOML and JSON can both write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Text(String),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Int(i) => write!(f, "{i}"),
            OptionValue::Float(x) => write!(f, "{x}"),
            OptionValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// Options by name, in a stable order.
pub type BackendOptions = BTreeMap<String, OptionValue>;

/// Counters a backend reports about one call (kernels compiled, autotune keys tuned...), by
/// name. Names are the backend's own; the report shows the ones it knows and keeps the rest.
pub type Counters = BTreeMap<String, u64>;

/// Counters that count compilation work: a call that reports any of them above zero was not
/// warm. A backend that compiles kernels reports them under these names (cubecl's backends
/// do); one that reports none of them says nothing either way.
pub const COMPILE_COUNTERS: [&str; 2] = ["kernels_compiled", "autotune_keys_tuned"];

/// The compilation work `counters` report ([`COMPILE_COUNTERS`] summed), or `None` when they
/// report none of those counters.
pub fn compiled(counters: &Counters) -> Option<u64> {
    let known: Vec<u64> = COMPILE_COUNTERS
        .iter()
        .filter_map(|k| counters.get(*k).copied())
        .collect();
    (!known.is_empty()).then(|| known.iter().sum())
}

/// What the host hands a backend before its first session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackendSetup {
    /// The user's options for this backend instance.
    #[serde(default)]
    pub options: BackendOptions,
    /// A folder the backend may keep persistent caches in (compiled kernels, autotune
    /// results), shared by every sweep on this machine; `None`: keep no caches on disk.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
}

/// A backend's answer to [`BackendSetup`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Configured {
    /// Every option in force, defaults included.
    #[serde(default)]
    pub options: BackendOptions,
    /// Facts about how the backend will run that are not options (cache folders, numeric
    /// modes the hardware imposes...), as (name, value).
    #[serde(default)]
    pub details: Vec<(String, String)>,
}

/// Reads a backend's options one by one; [`OptionReader::finish`] rejects the keys nobody
/// read. Every value read (or defaulted) is recorded as in force.
pub struct OptionReader<'a> {
    options: &'a BackendOptions,
    known: BTreeSet<&'static str>,
    in_force: BackendOptions,
}

fn invalid(key: &str, value: &OptionValue, expected: &str) -> BackendError {
    BackendError::Invalid(format!(
        "option `{key}`: invalid value {value}: expected {expected}"
    ))
}

impl<'a> OptionReader<'a> {
    /// Read `options`.
    pub fn new(options: &'a BackendOptions) -> Self {
        OptionReader {
            options,
            known: BTreeSet::new(),
            in_force: BackendOptions::new(),
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a OptionValue> {
        self.known.insert(key);
        self.options.get(key)
    }

    /// A `true`/`false` option.
    pub fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, BackendError> {
        let v = match self.get(key) {
            None => default,
            Some(OptionValue::Bool(b)) => *b,
            Some(other) => return Err(invalid(key, other, "true or false")),
        };
        self.in_force.insert(key.into(), OptionValue::Bool(v));
        Ok(v)
    }

    /// One of `choices` (text).
    pub fn choice(
        &mut self,
        key: &'static str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, BackendError> {
        let v = match self.get(key) {
            None => default,
            Some(OptionValue::Text(s)) => match choices.iter().find(|c| **c == s.as_str()) {
                Some(c) => c,
                None => {
                    return Err(invalid(
                        key,
                        &OptionValue::Text(s.clone()),
                        &format!("one of {}", choices.join(", ")),
                    ))
                }
            },
            Some(other) => {
                return Err(invalid(
                    key,
                    other,
                    &format!("one of {} (as text)", choices.join(", ")),
                ))
            }
        };
        self.in_force
            .insert(key.into(), OptionValue::Text(v.into()));
        Ok(v)
    }

    /// An integer in `0..=max`.
    pub fn index(
        &mut self,
        key: &'static str,
        default: usize,
        max: usize,
    ) -> Result<usize, BackendError> {
        let v = match self.get(key) {
            None => default,
            Some(OptionValue::Int(i)) if *i >= 0 && (*i as u64) <= max as u64 => *i as usize,
            Some(other) => return Err(invalid(key, other, &format!("an integer from 0 to {max}"))),
        };
        self.in_force.insert(key.into(), OptionValue::Int(v as i64));
        Ok(v)
    }

    /// A finite number (integer or float).
    pub fn number(&mut self, key: &'static str, default: f64) -> Result<f64, BackendError> {
        let v = match self.get(key) {
            None => default,
            Some(OptionValue::Float(x)) if x.is_finite() => *x,
            Some(OptionValue::Int(i)) => *i as f64,
            Some(other) => return Err(invalid(key, other, "a finite number")),
        };
        self.in_force.insert(key.into(), OptionValue::Float(v));
        Ok(v)
    }

    /// Reject unread keys (naming the known ones) and return the options in force.
    pub fn finish(self) -> Result<BackendOptions, BackendError> {
        if let Some(key) = self
            .options
            .keys()
            .find(|k| !self.known.contains(k.as_str()))
        {
            let known: Vec<&str> = self.known.iter().copied().collect();
            return Err(BackendError::Invalid(format!(
                "unknown option `{key}`; this backend takes: {}",
                if known.is_empty() {
                    "no options".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        Ok(self.in_force)
    }
}

/// Options written for a report: `key = value, ...`, or `defaults` when there are none.
pub fn describe(options: &BackendOptions) -> String {
    if options.is_empty() {
        return "defaults".into();
    }
    options
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
