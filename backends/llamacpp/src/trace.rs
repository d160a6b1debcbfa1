//! Layer traces through llama.cpp's eval callback: the graph nodes that hold the residual
//! stream at driftbench's trace points, copied out as llama.cpp computes them.
//!
//! llama.cpp names them in its LLaMA graph: `embd` (the embedding lookup), `ffn_inp-{i}`
//! (layer `i`'s attention output plus its input: the residual after attention), `l_out-{i}`
//! (after the MLP's residual add) and `result_norm` (after the final RMSNorm).

use crate::ffi::EvalHook;
use driftbench_core::trace::{point_names, LayerTrace};

/// The driftbench point a llama.cpp node name stands for, by index in `point_names`.
fn point_of(name: &str, layers: usize) -> Option<usize> {
    if name == "embd" {
        return Some(0);
    }
    if name == "result_norm" {
        return Some(2 * layers + 1);
    }
    let layer = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|i| *i < layers)
    };
    if let Some(i) = layer("ffn_inp-") {
        return Some(1 + 2 * i);
    }
    layer("l_out-").map(|i| 2 + 2 * i)
}

/// Collects every trace point's rows, in the order llama.cpp computes them (prompt order:
/// one batch's rows after the other, one decode step after the other).
pub struct Collector {
    layers: usize,
    hidden: usize,
    rows: Vec<Vec<f32>>,
    /// A node whose shape is not `[hidden, rows]` f32: the trace cannot be trusted.
    misfit: Option<String>,
}

impl Collector {
    /// For a model of `layers` layers and hidden width `hidden`.
    pub fn new(layers: usize, hidden: usize) -> Collector {
        Collector {
            layers,
            hidden,
            rows: vec![Vec::new(); 2 * layers + 2],
            misfit: None,
        }
    }

    /// The trace of `positions` positions, or why the nodes seen do not make one.
    pub fn finish(self, positions: usize) -> Result<LayerTrace, String> {
        if let Some(why) = self.misfit {
            return Err(why);
        }
        let names = point_names(self.layers);
        let want = positions * self.hidden;
        let mut data = Vec::with_capacity(want * names.len());
        for (name, rows) in names.iter().zip(self.rows) {
            if rows.len() != want {
                return Err(format!(
                    "llama.cpp's graph gave {} values for trace point {name}, {positions} \
                     positions × {} need {want}",
                    rows.len(),
                    self.hidden
                ));
            }
            data.extend(rows);
        }
        Ok(LayerTrace {
            points: names,
            positions,
            hidden: self.hidden,
            data,
        })
    }
}

impl EvalHook for Collector {
    fn wants(&mut self, name: &str) -> bool {
        point_of(name, self.layers).is_some()
    }

    fn take(&mut self, name: &str, ne0: usize, rows: usize, values: Vec<f32>) {
        let Some(p) = point_of(name, self.layers) else {
            return;
        };
        if ne0 != self.hidden {
            self.misfit = Some(format!(
                "llama.cpp node {name} is {ne0} wide × {rows} rows, not {} wide",
                self.hidden
            ));
            return;
        }
        self.rows[p].extend(values);
    }

    fn unreadable(&mut self, name: &str, why: &str) {
        if point_of(name, self.layers).is_some() {
            self.misfit = Some(format!("llama.cpp node {name} cannot be read: {why}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_map_to_trace_points() {
        let names = point_names(3);
        let at = |n: &str| point_of(n, 3).map(|i| names[i].as_str());
        assert_eq!(at("embd"), Some("embed"));
        assert_eq!(
            at("inp_embd"),
            None,
            "the raw lookup, before llama.cpp's select"
        );
        assert_eq!(at("ffn_inp-0"), Some("L0.attn"));
        assert_eq!(at("l_out-2"), Some("L2.mlp"));
        assert_eq!(at("result_norm"), Some("final_norm"));
        assert_eq!(at("l_out-3"), None, "layer out of range");
        assert_eq!(at("attn_norm-0"), None);
    }

    #[test]
    fn a_missing_point_or_a_misshapen_node_is_an_error() {
        let mut c = Collector::new(1, 2);
        for n in ["embd", "ffn_inp-0", "l_out-0"] {
            c.take(n, 2, 1, vec![1.0, 2.0]);
        }
        let err = c.finish(1).unwrap_err();
        assert!(err.contains("final_norm"), "{err}");

        let mut c = Collector::new(1, 2);
        c.unreadable("l_out-0", "f16");
        assert!(c.finish(1).unwrap_err().contains("cannot be read"));

        let mut c = Collector::new(1, 2);
        c.take("embd", 3, 1, vec![0.0; 3]);
        assert!(c.finish(1).unwrap_err().contains("not 2 wide"));

        let mut c = Collector::new(1, 2);
        for n in ["embd", "ffn_inp-0", "l_out-0", "result_norm"] {
            c.take(n, 2, 1, vec![1.0, 2.0]);
        }
        let t = c.finish(1).unwrap();
        t.check().unwrap();
        assert_eq!(t.points.len(), 4);
    }
}
