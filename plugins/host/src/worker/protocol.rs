//! The worker protocol, version [`PROTOCOL_VERSION`]: frames of a little-endian `u32` length
//! and that many bytes. Requests and replies are JSON frames; a `Logits` reply is followed by
//! one binary frame of little-endian `f32` values (`f64` ones when the route was asked with
//! `f64`), a `Trace` reply by one binary frame holding a layer trace in its binary form
//! (`driftbench_core::trace::LayerTrace::to_bytes`).

use driftbench_core::route::Route;
use driftbench_core::{
    BackendError, BackendSetup, Configured, Counters, Dtype, KvLayout, ModelCost, ModelSpec, Peaks,
    Probe, RunProfile, SessionInfo,
};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// Version of this protocol; the worker announces it first and the host checks it.
/// 3 added `trace`; 4 added `peaks`, the session's cost in `opened` and the run's profile
/// (decode steps, read-back, the worker's peak memory) in `logits`; 5 added f64 logits
/// (`logits` in `opened`, `f64` in `prefill`, `decode` and the `logits` reply).
pub const PROTOCOL_VERSION: u32 = 5;

/// Largest JSON message frame either side accepts. Logits travel in their own binary frame,
/// bounded by the size the session declared.
pub const MAX_MESSAGE: usize = 16 << 20;

/// Largest layer trace (its binary form) either side accepts: 256 MiB, e.g. SmolLM2-135M
/// (62 points × 576 wide) up to 1,800 positions. The host sizes nothing by a worker's word
/// beyond it; a worker refuses a larger trace with an error that says so.
pub const MAX_TRACE_BYTES: usize = 256 << 20;

/// Host → worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Ask for the plugin's probe.
    Probe,
    /// Hand the backend its options and cache folder (before `Open`).
    Configure {
        /// The setup.
        setup: BackendSetup,
    },
    /// Load a model.
    Open {
        /// The model.
        model: ModelSpec,
        /// The dtype.
        dtype: Dtype,
    },
    /// Prefill route.
    Prefill {
        /// Prompt.
        tokens: Vec<u32>,
        /// Answer f64 logits (`Session::prefill_f64`), not f32.
        #[serde(default, skip_serializing_if = "is_false")]
        f64: bool,
    },
    /// Decode route.
    Decode {
        /// Prompt.
        tokens: Vec<u32>,
        /// KV layout.
        layout: KvLayout,
        /// Answer f64 logits (`Session::decode_f64`), not f32.
        #[serde(default, skip_serializing_if = "is_false")]
        f64: bool,
    },
    /// Trace the hidden states of a route (see `driftbench_core::trace`).
    Trace {
        /// Which route.
        route: Route,
        /// Prompt.
        tokens: Vec<u32>,
        /// KV layout of the decode route (ignored by prefill).
        layout: KvLayout,
    },
    /// Measure the open session's device peaks (see `driftbench_core::Session::peaks`).
    Peaks,
    /// Exit cleanly.
    Shutdown,
}

/// Kind of a failure, mirroring `BackendError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not available here.
    Unavailable,
    /// Invalid request.
    Invalid,
    /// Model load failed.
    Load,
    /// Run failed.
    Run,
    /// The plugin panicked.
    Panic,
}

/// Worker → host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// First frame of every worker.
    Hello {
        /// [`PROTOCOL_VERSION`] of the worker.
        protocol: u32,
        /// Backend name of the loaded plugin.
        backend: String,
        /// Plugin version.
        #[serde(default)]
        version: String,
        /// ABI version the plugin speaks, `major.minor`.
        #[serde(default)]
        abi: String,
    },
    /// Answer to [`Request::Probe`].
    Probe {
        /// The probe.
        probe: Probe,
    },
    /// Answer to [`Request::Configure`].
    Configured {
        /// Options in force.
        configured: Configured,
    },
    /// Answer to [`Request::Open`].
    Opened {
        /// What was loaded.
        info: SessionInfo,
        /// What the model costs to run, when the session says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost: Option<ModelCost>,
        /// `f64` when the session's f64 routes hand over f64 logits
        /// (`Session::logits_f64`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logits: Option<Dtype>,
    },
    /// Answer to a route; a binary frame of `count` f32 (f64 when `f64`) values follows.
    Logits {
        /// Number of values in the next frame.
        count: usize,
        /// The values are f64 (the route was asked with `f64`).
        #[serde(default, skip_serializing_if = "is_false")]
        f64: bool,
        /// Seconds the plugin call took inside the worker (logits read back from the device
        /// included, frame transport excluded). Absent from older workers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall_s: Option<f64>,
        /// The plugin's counters of this call (kernels compiled...). Absent when empty.
        #[serde(default, skip_serializing_if = "Counters::is_empty")]
        counters: Counters,
        /// The session's profile of this call, with the worker's peak memory after it.
        /// Absent when empty.
        #[serde(default, skip_serializing_if = "RunProfile::is_empty")]
        profile: RunProfile,
    },
    /// Answer to [`Request::Peaks`].
    Peaks {
        /// The device's peaks.
        peaks: Peaks,
    },
    /// Answer to [`Request::Trace`]; a binary frame of `bytes` bytes follows (at most
    /// [`MAX_TRACE_BYTES`]), the trace's binary form.
    Trace {
        /// Length of the next frame.
        bytes: usize,
    },
    /// A failure.
    Error {
        /// Kind.
        kind: ErrorKind,
        /// Message.
        message: String,
    },
}

impl From<&BackendError> for Reply {
    fn from(e: &BackendError) -> Reply {
        let (kind, message) = match e {
            BackendError::Unavailable(m) => (ErrorKind::Unavailable, m),
            BackendError::Invalid(m) => (ErrorKind::Invalid, m),
            BackendError::Load(m) => (ErrorKind::Load, m),
            BackendError::Run(m) => (ErrorKind::Run, m),
            BackendError::Panic(m) => (ErrorKind::Panic, m),
        };
        Reply::Error {
            kind,
            message: message.clone(),
        }
    }
}

/// The error a [`Reply::Error`] stands for.
pub fn to_backend_error(kind: ErrorKind, message: String) -> BackendError {
    match kind {
        ErrorKind::Unavailable => BackendError::Unavailable(message),
        ErrorKind::Invalid => BackendError::Invalid(message),
        ErrorKind::Load => BackendError::Load(message),
        ErrorKind::Run => BackendError::Run(message),
        ErrorKind::Panic => BackendError::Panic(message),
    }
}

/// Write one frame.
pub fn write_frame(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

/// Read one frame of at most `max` bytes; `Ok(None)` at a clean end of stream. A longer
/// frame is refused (`InvalidData`) before anything is allocated for it, so a garbage header
/// cannot make the reader allocate or wait for gigabytes.
pub fn read_frame(r: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame header announces {len} bytes, at most {max} expected here"),
        ));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Write a JSON message frame.
pub fn write_json<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    write_frame(w, &bytes)
}

/// Decode a worker's reply frame.
pub fn decode_reply(frame: &[u8]) -> Result<Reply, serde_json::Error> {
    serde_json::from_slice(frame)
}

/// Decode a host's request frame.
pub fn decode_request(frame: &[u8]) -> Result<Request, serde_json::Error> {
    serde_json::from_slice(frame)
}

/// f32 values as a little-endian byte frame.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// f64 values as a little-endian byte frame.
pub fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Request {
    /// Bytes of one logit in the answer to this request: 8 for a route asked with `f64`,
    /// else 4.
    pub fn logit_bytes(&self) -> usize {
        match self {
            Request::Prefill { f64: true, .. } | Request::Decode { f64: true, .. } => 8,
            _ => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logits_reply_carries_the_profile_and_peaks_travel() {
        let profile = RunProfile {
            step_s: vec![1e-3, f64::NAN, 3e-3],
            readback_s: Some(5e-4),
            peak_rss_bytes: Some(1 << 30),
        };
        let reply = Reply::Logits {
            count: 3,
            f64: false,
            wall_s: Some(0.5),
            counters: Counters::new(),
            profile: profile.clone(),
        };
        let mut frame = Vec::new();
        write_json(&mut frame, &reply).unwrap();
        let body = read_frame(&mut &frame[..], MAX_MESSAGE).unwrap().unwrap();
        match decode_reply(&body).unwrap() {
            Reply::Logits { profile: p, .. } => {
                assert_eq!(p.step_s.len(), 3);
                assert!(p.step_s[1].is_nan());
                assert_eq!((p.step_s[0], p.step_s[2]), (1e-3, 3e-3));
                assert_eq!(p.readback_s, profile.readback_s);
                assert_eq!(p.peak_rss_bytes, profile.peak_rss_bytes);
            }
            other => panic!("{other:?}"),
        }
        // A v3 worker's logits reply (no profile) still decodes, with an empty one.
        let old = br#"{"reply":"logits","count":3,"wall_s":0.5}"#;
        match decode_reply(old).unwrap() {
            Reply::Logits { profile, .. } => assert!(profile.is_empty()),
            other => panic!("{other:?}"),
        }
        let req = serde_json::to_vec(&Request::Peaks).unwrap();
        assert!(matches!(decode_request(&req).unwrap(), Request::Peaks));
    }

    #[test]
    fn f64_routes_say_so_and_f32_ones_read_as_before() {
        let req = Request::Prefill {
            tokens: vec![1, 2],
            f64: true,
        };
        assert_eq!(req.logit_bytes(), 8);
        let json = serde_json::to_string(&req).unwrap();
        assert!(json.contains(r#""f64":true"#), "{json}");
        let old = br#"{"op":"decode","tokens":[1],"layout":"Aligned"}"#;
        let back = decode_request(old).unwrap();
        assert!(
            matches!(back, Request::Decode { f64: false, .. }),
            "{back:?}"
        );
        assert_eq!(back.logit_bytes(), 4);
        let f32_json = serde_json::to_string(&Request::Prefill {
            tokens: vec![],
            f64: false,
        })
        .unwrap();
        assert!(!f32_json.contains("f64"), "{f32_json}");
        let opened = br#"{"reply":"opened","info":{"vocab":3,"max_span":4,"device":"d","model":"m"},"logits":"f64"}"#;
        match decode_reply(opened).unwrap() {
            Reply::Opened { logits, .. } => assert_eq!(logits, Some(Dtype::F64)),
            other => panic!("{other:?}"),
        }
        assert_eq!(f64_bytes(&[1.0, -0.5]).len(), 16);
    }
}
