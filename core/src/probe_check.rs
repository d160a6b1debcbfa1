//! The rules a [`Probe`] keeps beyond its JSON schema (`plugins/abi/schemas/probe.schema.json`),
//! which the type's serde form already enforces: what the host, `driftbench plugins` and the
//! report rely on when they read a probe. The plugin conformance kit checks a backend's probe
//! with [`problems`].

use crate::dtype::Dtype;
use crate::probe::{DeviceInfo, Probe};

/// Longest backend name: a backend's name is its instance name in configs and the `<name>` of
/// `libdriftbench_backend_<name>.so`, whose rule (the sweep config's and discovery's) this is.
pub const MAX_NAME_LEN: usize = 64;

/// Every rule `probe` breaks, one line each, for a backend whose [`crate::Backend::name`] is
/// `name`; empty when it keeps them all:
/// - `backend` is `name`, which is 1 to [`MAX_NAME_LEN`] ASCII letters, digits, `-`, `_` or
///   `.`, not starting with `.`; `version` is not empty;
/// - `unavailable`, when set, gives a reason; an available backend lists at least one device
///   (the host runs on the first);
/// - every device has a name and a kind; no dtype is listed twice in its `dtypes` or in its
///   `unsupported`, none is in both, and every unsupported dtype has a reason;
/// - `backend_dtypes` lists no dtype twice and, when it is not empty, every dtype a device
///   computes in (it is what the backend computes in at all);
/// - `kv_unsupported` lists no KV layout twice, each with a reason.
pub fn problems(probe: &Probe, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = name_problem(name) {
        out.push(format!("the backend's name {name:?} {why}"));
    }
    if probe.backend != name {
        out.push(format!(
            "the probe names backend {:?}, but the backend is {name:?}",
            probe.backend
        ));
    }
    if probe.version.trim().is_empty() {
        out.push("the probe gives no version".into());
    }
    match &probe.unavailable {
        Some(why) if why.trim().is_empty() => {
            out.push("the probe says the backend is unavailable but gives no reason".into())
        }
        None if probe.devices.is_empty() => {
            out.push("the probe says the backend is available but lists no device".into())
        }
        _ => {}
    }
    for (i, d) in probe.devices.iter().enumerate() {
        device_problems(i, d, &probe.backend_dtypes, &mut out);
    }
    if let Some(d) = repeated(probe.backend_dtypes.iter().copied()) {
        out.push(format!("backend_dtypes lists {d} twice"));
    }
    for (i, (kv, why)) in probe.kv_unsupported.iter().enumerate() {
        if probe.kv_unsupported[..i].iter().any(|(k, _)| k == kv) {
            out.push(format!("kv_unsupported lists kv_aligned={kv} twice"));
        }
        if why.trim().is_empty() {
            out.push(format!(
                "kv_unsupported gives no reason for kv_aligned={kv}"
            ));
        }
    }
    out
}

/// Why `name` cannot be a backend's name, if it cannot.
fn name_problem(name: &str) -> Option<&'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        Some("is not 1 to 64 characters long")
    } else if !name.chars().all(allowed) {
        Some("holds a character other than ASCII letters, digits, `-`, `_` and `.`")
    } else if name.starts_with('.') {
        Some("starts with `.`")
    } else {
        None
    }
}

/// The rules of device `i`, appended to `out`.
fn device_problems(i: usize, d: &DeviceInfo, backend_dtypes: &[Dtype], out: &mut Vec<String>) {
    let at = format!("device {i} ({:?})", d.name);
    if d.name.trim().is_empty() {
        out.push(format!("{at} has no name"));
    }
    if d.kind.trim().is_empty() {
        out.push(format!("{at} has no kind"));
    }
    if let Some(t) = repeated(d.dtypes.iter().copied()) {
        out.push(format!("{at} lists {t} twice in its dtypes"));
    }
    if let Some(t) = repeated(d.unsupported.iter().map(|(t, _)| *t)) {
        out.push(format!("{at} lists {t} twice in its unsupported dtypes"));
    }
    for (t, why) in &d.unsupported {
        if d.dtypes.contains(t) {
            out.push(format!("{at} lists {t} as both supported and unsupported"));
        }
        if why.trim().is_empty() {
            out.push(format!("{at} gives no reason why {t} is unsupported"));
        }
    }
    if !backend_dtypes.is_empty() {
        for t in d.dtypes.iter().filter(|t| !backend_dtypes.contains(t)) {
            out.push(format!(
                "{at} computes in {t}, which backend_dtypes does not list"
            ));
        }
    }
}

/// The first value of `items` seen twice.
fn repeated<T: PartialEq>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut seen = Vec::new();
    for t in items {
        if seen.contains(&t) {
            return Some(t);
        }
        seen.push(t);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::KvMode;

    fn good() -> Probe {
        Probe {
            backend: "mine".into(),
            version: "0.1.0".into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: "cpu".into(),
                kind: "cpu".into(),
                driver: None,
                dtypes: vec![Dtype::F32, Dtype::F64],
                unsupported: vec![(Dtype::F16, "no f16 here".into())],
                details: vec![],
            }],
            backend_dtypes: vec![Dtype::F32, Dtype::F64],
            kv_unsupported: vec![(KvMode::Aligned, "the cache always pads".into())],
            kv_padding: None,
            traces: false,
        }
    }

    #[test]
    fn a_good_probe_and_an_unavailable_one_have_no_problems() {
        assert_eq!(problems(&good(), "mine"), Vec::<String>::new());
        let absent = Probe {
            unavailable: Some("no driver".into()),
            devices: vec![],
            ..good()
        };
        assert_eq!(problems(&absent, "mine"), Vec::<String>::new());
    }

    #[test]
    fn each_rule_is_reported_with_what_broke_it() {
        let mut p = good();
        p.backend = "other".into();
        p.version = " ".into();
        let d = &mut p.devices[0];
        d.kind = String::new();
        d.dtypes.push(Dtype::F16);
        d.dtypes.push(Dtype::Bf16);
        d.unsupported.push((Dtype::Bf16, String::new()));
        p.backend_dtypes.push(Dtype::F32);
        p.kv_unsupported.push((KvMode::Aligned, " ".into()));
        assert_eq!(
            problems(&p, "mine"),
            [
                "the probe names backend \"other\", but the backend is \"mine\"",
                "the probe gives no version",
                "device 0 (\"cpu\") has no kind",
                "device 0 (\"cpu\") lists f16 as both supported and unsupported",
                "device 0 (\"cpu\") lists bf16 as both supported and unsupported",
                "device 0 (\"cpu\") gives no reason why bf16 is unsupported",
                "device 0 (\"cpu\") computes in f16, which backend_dtypes does not list",
                "device 0 (\"cpu\") computes in bf16, which backend_dtypes does not list",
                "backend_dtypes lists f32 twice",
                "kv_unsupported lists kv_aligned=1 twice",
                "kv_unsupported gives no reason for kv_aligned=1",
            ]
        );
    }

    #[test]
    fn names_reasons_and_devices_are_required() {
        let blank = Probe {
            backend: String::new(),
            unavailable: Some("".into()),
            ..good()
        };
        let got = problems(&blank, "");
        assert!(got[0].contains("is not 1 to 64 characters"), "{got:?}");
        assert!(got.iter().any(|p| p.contains("gives no reason")), "{got:?}");
        let spaced = Probe {
            backend: "my backend".into(),
            ..good()
        };
        assert!(problems(&spaced, "my backend")[0].contains("other than ASCII"));
        let dotted = Probe {
            backend: ".x".into(),
            ..good()
        };
        assert!(problems(&dotted, ".x")[0].contains("starts with `.`"));
        let empty = Probe {
            devices: vec![],
            ..good()
        };
        assert_eq!(
            problems(&empty, "mine"),
            ["the probe says the backend is available but lists no device"]
        );
        let mut twice = good();
        twice.devices[0].dtypes.push(Dtype::F32);
        twice.devices[0]
            .unsupported
            .push((Dtype::F16, "again".into()));
        assert_eq!(
            problems(&twice, "mine"),
            [
                "device 0 (\"cpu\") lists f32 twice in its dtypes",
                "device 0 (\"cpu\") lists f16 twice in its unsupported dtypes",
            ]
        );
    }
}
