//! What a backend's probe says: its devices and the dtypes each can compute in, or why the
//! backend is not available here.

use crate::dtype::Dtype;
use crate::kv::KvMode;
use serde::{Deserialize, Serialize};

/// One device a backend can run on, as its probe reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Device or adapter name (e.g. `NVIDIA H100`, `llvmpipe`, `cpu`).
    pub name: String,
    /// Kind: `cpu`, `discrete`, `integrated`, `virtual`, `software`, ...
    pub kind: String,
    /// Driver name and version, where known.
    #[serde(default)]
    pub driver: Option<String>,
    /// Dtypes this device can compute in.
    pub dtypes: Vec<Dtype>,
    /// Dtypes this device cannot compute in, each with the reason.
    #[serde(default)]
    pub unsupported: Vec<(Dtype, String)>,
    /// Free-form details (compute capability, memory, threads...).
    #[serde(default)]
    pub details: Vec<(String, String)>,
}

/// What a backend's probe says, without side effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Backend name (`flex`, `wgpu`, `cuda`, ...).
    pub backend: String,
    /// Version of the backend implementation (the plugin crate).
    pub version: String,
    /// Version of the burn stack it was built with, if any.
    #[serde(default)]
    pub burn_version: Option<String>,
    /// `None` when available; otherwise why not (`no CUDA driver`).
    #[serde(default)]
    pub unavailable: Option<String>,
    /// Devices found.
    pub devices: Vec<DeviceInfo>,
    /// Dtypes the backend can compute in at all, on a device that allows them: what a user
    /// would get on suitable hardware, listed even when nothing is available here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_dtypes: Vec<Dtype>,
    /// KV layouts (`kv_aligned` values) the backend's decode cannot express, each with the
    /// reason: their pairs are SKIPPED with it, never run on another layout. An engine whose
    /// cache always pads and masks (llama.cpp) cannot give an exact-length cache.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kv_unsupported: Vec<(KvMode, String)>,
    /// How the backend lays out a `kv_aligned=0` cache when it does not follow the sweep's
    /// block size (llama.cpp pads to 256 cells whatever the sweep says); `None`: it does.
    /// Reports say this instead of the sweep's block size for the backend's pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_padding: Option<String>,
    /// Whether the backend's sessions give layer traces (`Session::trace`): what
    /// `--trace-layers` needs. Declared, not inferred from the plugin's table, so `plugins`
    /// can say which backends trace before anything runs. Absent (older plugins): `false`.
    #[serde(default)]
    pub traces: bool,
}

impl Probe {
    /// Why pairs of `kv` cannot run on this backend, or `None` when they can.
    pub fn layout_unavailable(&self, kv: KvMode) -> Option<String> {
        self.kv_unsupported
            .iter()
            .find(|(k, _)| *k == kv)
            .map(|(k, why)| {
                format!(
                    "{}: kv_aligned={} unsupported: {why}",
                    self.backend,
                    k.flag()
                )
            })
    }

    /// Why `dtype` cannot run on the first device, or `None` when it can.
    pub fn dtype_unavailable(&self, dtype: Dtype) -> Option<String> {
        if let Some(why) = &self.unavailable {
            return Some(format!("{}: {why}", self.backend));
        }
        let Some(dev) = self.devices.first() else {
            return Some(format!("{}: no device", self.backend));
        };
        if dev.dtypes.contains(&dtype) {
            return None;
        }
        let why = dev
            .unsupported
            .iter()
            .find(|(d, _)| *d == dtype)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| format!("{} has no {dtype}", dev.name));
        Some(format!("{}: {why}", self.backend))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(kv_unsupported: Vec<(KvMode, String)>) -> Probe {
        Probe {
            backend: "b".into(),
            version: "0".into(),
            burn_version: None,
            unavailable: None,
            devices: vec![],
            backend_dtypes: vec![],
            kv_unsupported,
            kv_padding: None,
            traces: false,
        }
    }

    #[test]
    fn a_layout_the_probe_rules_out_says_why_and_the_other_runs() {
        let p = probe(vec![(KvMode::Aligned, "always pads".into())]);
        assert_eq!(
            p.layout_unavailable(KvMode::Aligned).as_deref(),
            Some("b: kv_aligned=1 unsupported: always pads")
        );
        assert_eq!(p.layout_unavailable(KvMode::Padded), None);
        assert_eq!(probe(vec![]).layout_unavailable(KvMode::Aligned), None);
    }

    #[test]
    fn kv_unsupported_and_kv_padding_are_optional_in_json_and_round_trip() {
        let old = r#"{"backend":"b","version":"0","devices":[]}"#;
        let read = serde_json::from_str::<Probe>(old).unwrap();
        assert!(read.kv_unsupported.is_empty());
        assert_eq!(read.kv_padding, None);
        let p = probe(vec![(KvMode::Aligned, "always pads".into())]);
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            json.contains(r#""kv_unsupported":[[1,"always pads"]]"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Probe>(&json).unwrap(), p);
    }
}
