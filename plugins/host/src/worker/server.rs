//! The worker side: load one plugin, answer requests until told to stop or stdin closes.

use super::protocol::{
    decode_request, f32_bytes, f64_bytes, read_frame, write_frame, write_json, Reply, Request,
    MAX_MESSAGE, MAX_TRACE_BYTES, PROTOCOL_VERSION,
};
use crate::{LoadedPlugin, PluginBackend};
use driftbench_core::trace::LayerTrace;
use driftbench_core::{Backend, BackendError, Dtype, Session, UNWRITTEN, UNWRITTEN64};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

/// Keep the protocol channel private: plugins and the libraries under them may print to
/// stdout, which would corrupt the frames. The original stdout becomes the protocol channel
/// and fd 1 is pointed at stderr.
#[cfg(unix)]
fn protocol_channel() -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain descriptor duplication on descriptors this process owns.
    unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(fd))
    }
}

#[cfg(not(unix))]
fn protocol_channel() -> io::Result<File> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "worker processes need a unix host; use --in-process",
    ))
}

/// Serve `plugin` over stdin/stdout until shutdown or end of input.
pub fn serve(plugin: &Path) -> io::Result<()> {
    super::lifeline::die_with_host();
    let mut out = BufWriter::new(protocol_channel()?);
    let mut input = BufReader::new(io::stdin().lock());
    let mut backend = match LoadedPlugin::load(plugin) {
        Ok(p) => PluginBackend::new(p),
        Err(e) => {
            let err = BackendError::Load(e.to_string());
            write_json(&mut out, &Reply::from(&err))?;
            return Ok(());
        }
    };
    write_json(
        &mut out,
        &Reply::Hello {
            protocol: PROTOCOL_VERSION,
            backend: backend.name().to_string(),
            version: backend.plugin().version.clone(),
            abi: backend.plugin().abi.clone(),
        },
    )?;
    let mut session: Option<Box<dyn Session>> = None;
    let mut logits: Vec<f32> = Vec::new();
    let mut logits64: Vec<f64> = Vec::new();
    while let Some(frame) = read_frame(&mut input, MAX_MESSAGE)? {
        let req: Request = decode_request(&frame)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad request: {e}")))?;
        match req {
            Request::Probe => match backend.try_probe() {
                Ok(probe) => write_json(&mut out, &Reply::Probe { probe })?,
                Err(e) => write_json(&mut out, &Reply::from(&e))?,
            },
            Request::Configure { setup } => match backend.configure(&setup) {
                Ok(configured) => write_json(&mut out, &Reply::Configured { configured })?,
                Err(e) => write_json(&mut out, &Reply::from(&e))?,
            },
            Request::Open { model, dtype } => {
                session = None;
                match backend.open(&model, dtype) {
                    Ok(s) => {
                        let reply = Reply::Opened {
                            info: s.info(),
                            cost: s.cost(),
                            logits: s.logits_f64().then_some(Dtype::F64),
                        };
                        write_json(&mut out, &reply)?;
                        session = Some(s);
                    }
                    Err(e) => write_json(&mut out, &Reply::from(&e))?,
                }
            }
            Request::Prefill { tokens, f64: false } => run_route(
                &mut out,
                session.as_mut(),
                &mut logits,
                tokens.len(),
                |s, l| s.prefill(&tokens, l),
            )?,
            Request::Prefill { tokens, f64: true } => run_route(
                &mut out,
                session.as_mut(),
                &mut logits64,
                tokens.len(),
                |s, l| s.prefill_f64(&tokens, l),
            )?,
            Request::Decode {
                tokens,
                layout,
                f64: false,
            } => run_route(
                &mut out,
                session.as_mut(),
                &mut logits,
                tokens.len(),
                |s, l| s.decode(&tokens, layout, l),
            )?,
            Request::Decode {
                tokens,
                layout,
                f64: true,
            } => run_route(
                &mut out,
                session.as_mut(),
                &mut logits64,
                tokens.len(),
                |s, l| s.decode_f64(&tokens, layout, l),
            )?,
            Request::Trace {
                route,
                tokens,
                layout,
            } => run_trace(&mut out, session.as_mut(), |s| {
                s.trace(route, &tokens, layout)
            })?,
            Request::Peaks => {
                let r = match session.as_mut() {
                    None => Err(BackendError::Invalid("no model loaded".into())),
                    Some(s) => s.peaks(),
                };
                match r {
                    Ok(peaks) => write_json(&mut out, &Reply::Peaks { peaks })?,
                    Err(e) => write_json(&mut out, &Reply::from(&e))?,
                }
            }
            Request::Shutdown => break,
        }
    }
    out.flush()
}

/// A logit type the worker sends: its unwritten sentinel and its frame.
trait Sent: Copy {
    /// The unwritten-logit sentinel of this width.
    const UNWRITTEN: Self;
    /// The values as a little-endian frame.
    fn frame(values: &[Self]) -> Vec<u8>;
    /// f64 values (the reply says so).
    const F64: bool;
}

impl Sent for f32 {
    const UNWRITTEN: f32 = UNWRITTEN;
    fn frame(values: &[f32]) -> Vec<u8> {
        f32_bytes(values)
    }
    const F64: bool = false;
}

impl Sent for f64 {
    const UNWRITTEN: f64 = UNWRITTEN64;
    fn frame(values: &[f64]) -> Vec<u8> {
        f64_bytes(values)
    }
    const F64: bool = true;
}

/// Run one route on the open session and send its logits (or its error).
fn run_route<T: Sent>(
    out: &mut impl Write,
    session: Option<&mut Box<dyn Session>>,
    logits: &mut Vec<T>,
    n: usize,
    f: impl FnOnce(&mut dyn Session, &mut [T]) -> Result<(), BackendError>,
) -> io::Result<()> {
    let Some(s) = session else {
        return write_json(
            out,
            &Reply::from(&BackendError::Invalid("no model loaded".into())),
        );
    };
    let Some(len) = n.checked_mul(s.info().vocab) else {
        return write_json(
            out,
            &Reply::from(&BackendError::Invalid("span × vocab overflows".into())),
        );
    };
    // Filled with the unwritten-logit sentinel before every call: a plugin that reports
    // success without writing every row leaves sentinels the host detects, never the previous
    // call's logits.
    logits.clear();
    logits.resize(len, T::UNWRITTEN);
    let t0 = std::time::Instant::now();
    let result = f(s.as_mut(), logits);
    let wall_s = t0.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            write_json(
                out,
                &Reply::Logits {
                    count: logits.len(),
                    f64: T::F64,
                    wall_s: Some(wall_s),
                    counters: s.last_counters(),
                    profile: s.last_profile(),
                },
            )?;
            write_frame(out, &T::frame(logits))
        }
        Err(e) => write_json(out, &Reply::from(&e)),
    }
}

/// Trace a route on the open session and send the trace's binary form (or the error). A
/// trace beyond [`MAX_TRACE_BYTES`] is refused here, with the reason, rather than by the
/// host's frame limit.
fn run_trace(
    out: &mut impl Write,
    session: Option<&mut Box<dyn Session>>,
    f: impl FnOnce(&mut dyn Session) -> Result<LayerTrace, BackendError>,
) -> io::Result<()> {
    let Some(s) = session else {
        return write_json(
            out,
            &Reply::from(&BackendError::Invalid("no model loaded".into())),
        );
    };
    let trace = match f(s.as_mut()).and_then(|t| {
        t.check().map_err(BackendError::Run)?;
        Ok(t)
    }) {
        Ok(t) => t,
        Err(e) => return write_json(out, &Reply::from(&e)),
    };
    let len = trace.byte_len();
    if len > MAX_TRACE_BYTES {
        let e = BackendError::Invalid(format!(
            "a trace of {} points × {} positions × {} is {len} bytes, more than the {} MiB \
             a trace may have: trace a shorter span",
            trace.points.len(),
            trace.positions,
            trace.hidden,
            MAX_TRACE_BYTES >> 20
        ));
        return write_json(out, &Reply::from(&e));
    }
    let bytes = trace.to_bytes();
    write_json(out, &Reply::Trace { bytes: bytes.len() })?;
    write_frame(out, &bytes)
}
