//! What the environment asks the benches to run: which backends and which dtypes.

use driftbench_core::Dtype;

/// Comma-separated backend names to bench (`flex,cpu`); unset or empty: every plugin found.
pub const BACKENDS_ENV: &str = "DRIFTBENCH_BENCH_BACKENDS";
/// Comma-separated dtypes to bench (`f32,bf16`); unset or empty: [`DEFAULT_DTYPES`].
pub const DTYPES_ENV: &str = "DRIFTBENCH_BENCH_DTYPES";
/// Dtypes benched by default. f64 is a reference dtype for accuracy, not a speed target, so it
/// runs only when asked for.
pub const DEFAULT_DTYPES: [Dtype; 3] = [Dtype::F32, Dtype::F16, Dtype::Bf16];

/// Backends and dtypes to bench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Backend names asked for, in the order given; `None`: every plugin found.
    pub backends: Option<Vec<String>>,
    /// Dtypes to bench, in the order given, without repeats.
    pub dtypes: Vec<Dtype>,
}

/// The non-empty, trimmed items of a comma-separated list; `None` when there are none.
fn items(value: Option<&str>) -> Option<Vec<&str>> {
    let list: Vec<&str> = value?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!list.is_empty()).then_some(list)
}

impl Selection {
    /// Read [`BACKENDS_ENV`] and [`DTYPES_ENV`].
    pub fn from_env() -> Result<Selection, String> {
        let backends = std::env::var(BACKENDS_ENV).ok();
        let dtypes = std::env::var(DTYPES_ENV).ok();
        Selection::parse(backends.as_deref(), dtypes.as_deref())
    }

    /// Build a selection from the two variables' values; an unknown dtype is an error, so a
    /// typo cannot silently bench nothing.
    pub fn parse(backends: Option<&str>, dtypes: Option<&str>) -> Result<Selection, String> {
        let backends = items(backends).map(|names| {
            let mut out: Vec<String> = Vec::new();
            for n in names {
                if !out.iter().any(|o| o == n) {
                    out.push(n.to_string());
                }
            }
            out
        });
        let dtypes = match items(dtypes) {
            None => DEFAULT_DTYPES.to_vec(),
            Some(names) => {
                let mut out: Vec<Dtype> = Vec::new();
                for n in names {
                    let d: Dtype = n.parse().map_err(|_| {
                        format!(
                            "{DTYPES_ENV}: unknown dtype `{n}` (expected f32, f16, bf16 or f64)"
                        )
                    })?;
                    if !out.contains(&d) {
                        out.push(d);
                    }
                }
                out
            }
        };
        Ok(Selection { backends, dtypes })
    }

    /// Whether backend `name` is to be benched.
    pub fn wants(&self, name: &str) -> bool {
        self.backends
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_empty_means_everything_with_the_default_dtypes() {
        for (b, d) in [(None, None), (Some(""), Some(" , "))] {
            let s = Selection::parse(b, d).unwrap();
            assert_eq!(s.backends, None);
            assert_eq!(s.dtypes, DEFAULT_DTYPES.to_vec());
            assert!(s.wants("anything"));
        }
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated_in_order() {
        let s = Selection::parse(Some(" cpu, flex,cpu"), Some("bf16, f32,bf16")).unwrap();
        assert_eq!(
            s.backends,
            Some(vec!["cpu".to_string(), "flex".to_string()])
        );
        assert_eq!(s.dtypes, vec![Dtype::Bf16, Dtype::F32]);
        assert!(s.wants("flex") && !s.wants("wgpu"));
    }

    #[test]
    fn an_unknown_dtype_is_an_error_naming_the_variable() {
        let e = Selection::parse(None, Some("f32,f8")).unwrap_err();
        assert!(e.contains(DTYPES_ENV) && e.contains("`f8`"), "{e}");
    }
}
