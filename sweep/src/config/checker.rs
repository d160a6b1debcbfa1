//! [`Checker`]: builds the one-line [`ConfigError::Invalid`] of a value that has the right
//! type but is not acceptable, for one config file.

use crate::config::error::ConfigError;

/// Builds [`ConfigError::Invalid`] for one file.
pub(crate) struct Checker<'a> {
    /// The config file, as given.
    pub(crate) file: &'a str,
}

impl Checker<'_> {
    /// The error for `value` at dotted `key`, which should have been `expected`.
    pub(crate) fn invalid(
        &self,
        key: impl Into<String>,
        value: impl Into<toml::Value>,
        expected: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            key: key.into(),
            value: one_line_value(value.into()),
            expected: expected.into(),
        }
    }

    /// An error unless `list` (at dotted `key`) holds at least one item.
    pub(super) fn non_empty<T>(&self, key: &str, list: &[T]) -> Result<(), ConfigError> {
        if list.is_empty() {
            return Err(self.invalid(key, toml::Value::Array(vec![]), "a non-empty list"));
        }
        Ok(())
    }
}

/// A value written as in TOML, on one line: toml writes a string holding a newline as a
/// multi-line string, and a huge float with all its digits.
fn one_line_value(value: toml::Value) -> String {
    match value {
        toml::Value::String(s) if s.chars().any(char::is_control) => format!("{s:?}"),
        toml::Value::Float(f) if f.is_finite() && f.abs() >= 1e15 => format!("{f:e}"),
        other => other.to_string(),
    }
}
