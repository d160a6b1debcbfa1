//! Which shard a sweep runs: index `K` of `N`, from `--shard K/N` or, with `auto/N`, from
//! the engine that runs the job. The split itself is [`crate::shard`]'s.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Environment variables an engine sets to a job's index, read by `--shard auto/N`: Slurm job
/// arrays, then Kubernetes Indexed Jobs.
pub const INDEX_VARIABLES: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

/// Which slice of the grid a sweep runs: shard `index` of `count`, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0 ≤ index < count.
    pub index: usize,
    /// At least 1; 1 is the whole sweep.
    pub count: usize,
}

impl Shard {
    /// The whole sweep as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// `K/N` (both decimal, `K < N`, `N ≥ 1`), or what was expected.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let expected = || format!("`{s}`: expected K/N, a shard index K from 0 to N-1 of N shards");
        let (k, n) = s.split_once('/').ok_or_else(expected)?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| expected())?,
            n.trim().parse().map_err(|_| expected())?,
        );
        if count == 0 || index >= count {
            return Err(expected());
        }
        Ok(Shard { index, count })
    }

    /// `--shard`'s value: `K/N`, or `auto/N` with the index from the first of
    /// [`INDEX_VARIABLES`] that `env` gives (so resubmitting one array index reruns exactly
    /// that shard).
    pub fn from_flag(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let Some(count) = s.strip_prefix("auto/") else {
            return Shard::parse(s);
        };
        let Some((var, index)) = INDEX_VARIABLES.iter().find_map(|v| env(v).map(|i| (*v, i)))
        else {
            return Err(format!(
                "`{s}`: no shard index in the environment: {} is set by a Slurm job array, {} \
                 by a Kubernetes Indexed Job; elsewhere give the index as K/{}",
                INDEX_VARIABLES[0],
                INDEX_VARIABLES[1],
                count.trim()
            ));
        };
        Shard::parse(&format!("{}/{count}", index.trim()))
            .map_err(|e| format!("`{s}` with {var}={index}: {e}"))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_flags_parse_or_say_what_was_expected() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse("0/1"), Ok(Shard::WHOLE));
        for bad in ["4/4", "1/0", "-1/4", "a/4", "2", "2/4/8", ""] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(e.contains("expected K/N"), "{bad}: {e}");
        }
        assert_eq!(Shard { index: 3, count: 8 }.to_string(), "3/8");
    }

    #[test]
    fn auto_takes_the_index_from_the_engine_or_says_what_is_missing() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "2")]);
        assert_eq!(
            Shard::from_flag("auto/4", slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(
            Shard::from_flag("auto/4", k8s),
            Ok(Shard { index: 3, count: 4 })
        );
        let none = env(&[]);
        let e = Shard::from_flag("auto/4", none).unwrap_err();
        assert!(
            e.contains("SLURM_ARRAY_TASK_ID") && e.contains("K/4"),
            "{e}"
        );
        let beyond = env(&[("SLURM_ARRAY_TASK_ID", "4")]);
        let e = Shard::from_flag("auto/4", beyond).unwrap_err();
        assert!(e.contains("SLURM_ARRAY_TASK_ID=4"), "{e}");
        assert_eq!(
            Shard::from_flag("1/2", env(&[])),
            Ok(Shard { index: 1, count: 2 })
        );
    }
}
