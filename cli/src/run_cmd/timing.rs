//! What `run` says of its times: the load, each route's measured wall time, and whether that
//! time is warm (a warm-up ran first and the measured call compiled nothing) or cold (the
//! first call, with whatever it compiled), judged from the backend's compile counters where
//! it reports them.

use driftbench_core::options::Counters;
use driftbench_core::route::Route;
use driftbench_report::format::{secs, thousands};
use driftbench_sweep::records::Record;

/// One route's call: its wall time and the backend's counters for it.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// Wall seconds; NaN when the call did not succeed.
    pub wall_s: f64,
    /// The backend's counters of the call (empty where it reports none).
    pub counters: Counters,
}

impl Call {
    /// Kernels compiled plus autotune keys tuned, or `None` where the backend reports neither.
    pub fn compiled(&self) -> Option<u64> {
        driftbench_core::options::compiled(&self.counters)
    }
}

/// The load and the pair's calls: each route's warm-up (when one ran) and measured call.
#[derive(Debug, Clone, Default)]
pub struct Walls {
    /// Model load, seconds.
    pub load_s: f64,
    /// Prefill's warm-up call, when one ran.
    pub prefill_warmup: Option<Call>,
    /// Decode's warm-up call, when one ran.
    pub decode_warmup: Option<Call>,
    /// Prefill's measured call.
    pub prefill: Call,
    /// Decode's measured call.
    pub decode: Call,
}

impl Walls {
    /// The calls of a pair's records.
    pub fn of(records: &[Record], load_s: f64) -> Walls {
        let measured = |route: Route| {
            records
                .iter()
                .find_map(|r| match r {
                    Record::Run(r) if r.route == route && r.rep == 0 => Some(Call {
                        wall_s: r.wall_s.unwrap_or(f64::NAN),
                        counters: r.counters.clone(),
                    }),
                    _ => None,
                })
                .unwrap_or(Call {
                    wall_s: f64::NAN,
                    counters: Counters::new(),
                })
        };
        let warmup = |route: Route| {
            records.iter().find_map(|r| match r {
                Record::Warmup(w) if w.route == route => Some(Call {
                    wall_s: w.wall_s.unwrap_or(f64::NAN),
                    counters: w.counters.clone(),
                }),
                _ => None,
            })
        };
        Walls {
            load_s,
            prefill_warmup: warmup(Route::Prefill),
            decode_warmup: warmup(Route::Decode),
            prefill: measured(Route::Prefill),
            decode: measured(Route::Decode),
        }
    }

    /// Whether the measured times are warm or cold, and why, in a few words.
    pub fn temperature(&self) -> String {
        let compiled = match (self.prefill.compiled(), self.decode.compiled()) {
            (None, None) => None,
            (p, d) => Some(p.unwrap_or(0) + d.unwrap_or(0)),
        };
        let warmed = self.prefill_warmup.is_some() || self.decode_warmup.is_some();
        match (warmed, compiled) {
            (true, Some(0)) => "warm: after a warm-up; the measured calls compiled nothing".into(),
            (true, None) => "warm: after a warm-up call of each route".into(),
            (true, Some(n)) => format!(
                "not fully warm: the measured calls still compiled or tuned {} kernels after the warm-up",
                thousands(n as f64)
            ),
            (false, Some(0)) => {
                "first calls (--cold), yet warm: they compiled nothing, the kernel caches held everything".into()
            }
            (false, Some(n)) => format!(
                "cold: first calls (--cold), {} kernels compiled or tuned during them; not the routes' speed",
                thousands(n as f64)
            ),
            (false, None) => {
                "cold: first calls (--cold); this backend reports no compile counters".into()
            }
        }
    }

    /// The warm-up line, when a warm-up ran: the first call of each route, shown apart.
    pub fn warmup_line(&self) -> Option<String> {
        if self.prefill_warmup.is_none() && self.decode_warmup.is_none() {
            return None;
        }
        let part = |name: &str, c: &Option<Call>| {
            c.as_ref().map(|c| {
                let compiled = c
                    .compiled()
                    .map(|n| format!(", {} kernels compiled or tuned", thousands(n as f64)))
                    .unwrap_or_default();
                format!("{name} {}{compiled}", secs(c.wall_s))
            })
        };
        let parts: Vec<String> = [
            part("prefill", &self.prefill_warmup),
            part("decode", &self.decode_warmup),
        ]
        .into_iter()
        .flatten()
        .collect();
        Some(format!(
            "first calls (warm-up, not measured): {}",
            parts.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(wall_s: f64, compiled: Option<u64>) -> Call {
        let mut counters = Counters::new();
        if let Some(n) = compiled {
            counters.insert("kernels_compiled".into(), n);
        }
        Call { wall_s, counters }
    }

    #[test]
    fn the_counters_say_warm_or_cold() {
        let warm = Walls {
            load_s: 1.0,
            prefill_warmup: Some(call(53.7, Some(120))),
            decode_warmup: Some(call(64.5, Some(80))),
            prefill: call(2.8, Some(0)),
            decode: call(19.5, Some(0)),
        };
        assert!(
            warm.temperature().starts_with("warm:"),
            "{}",
            warm.temperature()
        );
        let line = warm.warmup_line().unwrap();
        assert!(line.contains("prefill 53.70s, 120 kernels"), "{line}");
        let still = Walls {
            prefill: call(2.8, Some(3)),
            ..warm.clone()
        };
        assert!(still.temperature().starts_with("not fully warm"));
        let cold = Walls {
            prefill_warmup: None,
            decode_warmup: None,
            prefill: call(53.7, Some(120)),
            decode: call(64.5, Some(80)),
            ..warm.clone()
        };
        assert!(
            cold.temperature().contains("200 kernels"),
            "{}",
            cold.temperature()
        );
        assert!(cold.warmup_line().is_none());
        let cached = Walls {
            prefill: call(2.8, Some(0)),
            decode: call(19.5, None),
            ..cold.clone()
        };
        assert!(cached.temperature().contains("yet warm"));
        let uncounted = Walls {
            prefill: call(2.8, None),
            decode: call(19.5, None),
            ..cold
        };
        assert!(uncounted.temperature().contains("no compile counters"));
    }
}
