//! Machine labels: the machine part of a run's identity ([`crate::identity`]). A leaf
//! module: the config checks a label with it, and the identity builds on it.

/// The machine of a journal that does not record one (written before machine labels).
pub const UNKNOWN_MACHINE: &str = "unknown";

/// The machine of a merged journal from several machines: its backend instances name their
/// own (`cuda@h100`), see [`crate::merge`]. Not a valid label (a sweep cannot claim it).
pub const MERGED_MACHINES: &str = "@merged";

/// Longest machine label.
pub const MAX_MACHINE_LABEL: usize = 64;

/// Whether `label` is a machine label: 1 to [`MAX_MACHINE_LABEL`] ASCII letters, digits,
/// `-`, `_` or `.`, not starting with `.`.
pub fn valid_machine_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_MACHINE_LABEL
        && !label.starts_with('.')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The host's name: the kernel's, else `HOSTNAME`; `None` where neither gives one.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The default machine label: the host name, every character outside the label's set
/// replaced by `-` and cut to [`MAX_MACHINE_LABEL`]; `unknown` where the host has no name.
pub fn host_machine_label() -> String {
    let name = host_name().unwrap_or_default();
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_MACHINE_LABEL)
        .collect();
    let label = label.trim_start_matches('.').to_string();
    if valid_machine_label(&label) {
        label
    } else {
        UNKNOWN_MACHINE.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_and_the_host_name_made_one() {
        assert!(valid_machine_label("gpu-node-07.cluster"));
        for bad in ["", ".hidden", "a b", "a/b", "x\ny", &"a".repeat(65)] {
            assert!(!valid_machine_label(bad), "{bad:?}");
        }
        assert!(valid_machine_label(&host_machine_label()));
    }
}
