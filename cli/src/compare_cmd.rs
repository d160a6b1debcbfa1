//! `driftbench compare A [B]`: the report's metrics between two `run --save-logits` folders
//! (A the reference), or between one folder's prefill and decode. Both manifests are read
//! and checked to describe the same prompt through the same model before any matrix is read;
//! every bad input is one `error:` line naming the file (exit 2). A comparison exits 0: it
//! measures, it does not judge.

mod folder;

use crate::args::{CompareArgs, SavedRoute};
use crate::text::one_line;
use anyhow::Result;
use driftbench_core::metrics::{compare_logits, Metrics};
use driftbench_report::format::{first_flip, metrics_line, opt_sci, sci};
use folder::{check_same, file_name, Folder};
use serde_json::json;

/// Compare; returns 0 (errors are bad input, exit 2 in `main`).
pub fn run(a: &CompareArgs) -> Result<i32> {
    let fa = Folder::open(&a.a)?;
    let fb = match &a.b {
        Some(b) => {
            let fb = Folder::open(b)?;
            check_same(&fa, &fb)?;
            Some(fb)
        }
        None => None,
    };
    // One folder: its own pair (prefill against decode) unless a route is named.
    let (ra, rb) = (
        a.route_a.or(a.route).unwrap_or(SavedRoute::Prefill),
        a.route_b.or(a.route).unwrap_or(match fb {
            Some(_) => SavedRoute::Prefill,
            None => SavedRoute::Decode,
        }),
    );
    let fb = fb.as_ref().unwrap_or(&fa);
    let (ma, mb) = (fa.matrix(ra)?, fb.matrix(rb)?);
    // The sweep's own comparison; an f32 side against an f64 one is widened exactly.
    let m = compare_logits(ma.data.as_ref(), mb.data.as_ref(), fa.vocab);
    let sides = [
        Side {
            folder: &fa,
            route: ra,
            dtype: ma.dtype_name(),
        },
        Side {
            folder: fb,
            route: rb,
            dtype: mb.dtype_name(),
        },
    ];
    if a.json {
        let doc = json!({
            "a": sides[0].json(),
            "b": sides[1].json(),
            "flips": m.flips(),
            "metrics": m,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for (name, side) in ["A", "B"].iter().zip(&sides) {
            println!("{name}: {}", side.line());
        }
        say_metrics(&m);
    }
    Ok(0)
}

/// One side of a comparison: a folder's matrix.
struct Side<'a> {
    folder: &'a Folder,
    route: SavedRoute,
    dtype: &'static str,
}

impl Side<'_> {
    /// `DIR/prefill.npy (float32 [9, 128]; run: backend cpu, dtype f16, kv_aligned 1, seed 0)`.
    fn line(&self) -> String {
        let f = self.folder;
        one_line(&format!(
            "{} ({} [{}, {}]; run: backend {}, dtype {}, kv_aligned {}, seed {})",
            f.file(self.route).display(),
            self.dtype,
            f.tokens.len(),
            f.vocab,
            f.shown("backend"),
            f.shown("dtype"),
            f.shown("kv_aligned"),
            f.shown("seed"),
        ))
    }

    /// The side in `--json`: its file, route, storage dtype and shape, and the run's
    /// backend, dtype, kv_aligned and seed as its manifest says them.
    fn json(&self) -> serde_json::Value {
        let f = self.folder;
        let get = |k: &str| {
            f.manifest
                .get(k)
                .cloned()
                .unwrap_or(serde_json::Value::Null)
        };
        json!({
            "folder": f.dir.display().to_string(),
            "file": file_name(self.route),
            "route": match self.route {
                SavedRoute::Prefill => "prefill",
                SavedRoute::Decode => "decode",
            },
            "npy_dtype": self.dtype,
            "shape": [f.tokens.len(), f.vocab],
            "backend": get("backend"),
            "dtype": get("dtype"),
            "kv_aligned": get("kv_aligned"),
            "seed": get("seed"),
        })
    }
}

/// The metrics as `run` prints a pair's (the report's formatter: differences with 6
/// decimals, KL and NMSE in 3 significant digits), then the differences again in 3
/// significant digits, which 6 decimals round to zero below 5e-7 (an f64 comparison).
fn say_metrics(m: &Metrics) {
    println!("{}", metrics_line(m));
    println!(
        "to 3 significant digits: max_abs_diff {} p99_abs_diff {} mean_abs_diff {} KL p99 {}",
        sci(m.max_abs_diff),
        sci(m.p99_abs_diff),
        sci(m.mean_abs_diff),
        opt_sci(m.kl_p99)
    );
    match &m.first_flip {
        None => println!("first flip: {}", first_flip(m, "A", "B")),
        Some(_) => println!(
            "first flip: {}; {} of {} positions flip",
            first_flip(m, "A", "B"),
            m.flips(),
            m.positions
        ),
    }
    if !m.all_finite() {
        println!(
            "non-finite values: {} in A, {} in B (of {} each): data, which make the distances \
             they enter NaN or inf",
            m.nonfinite_prefill,
            m.nonfinite_decode,
            m.positions * m.vocab
        );
    }
}
