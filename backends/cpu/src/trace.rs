//! Layer traces on these kernels: the model's routes leave the hidden states they pass at the
//! trace points of `driftbench_core::trace` in a `Tap`, widened to f32 as they go by.
//! The traced and untraced routes are one code path: a tap that is off does nothing, so a
//! trace shows exactly what the measured route computes.

use crate::elem::Elem;
use driftbench_core::trace::{point_names, LayerTrace};

/// Where a route leaves its hidden states: `None` on the measured route, which then pays one
/// branch per point (no allocation, no copy, the same threading).
pub(crate) struct Tap<'a>(Option<&'a mut LayerTrace>);

impl<'a> Tap<'a> {
    /// The tap of the untraced routes.
    pub(crate) const OFF: Tap<'static> = Tap(None);

    /// A tap that fills `trace` (from [`blank`]).
    pub(crate) fn into(trace: &'a mut LayerTrace) -> Tap<'a> {
        Tap(Some(trace))
    }

    /// Copy `rows` (one or more positions, `hidden` wide, starting at position `pos`) into
    /// point `point`, widened (or, from f64, rounded) to f32. Only reads `rows`: the route's
    /// values are left as they are.
    fn put<T: Elem>(&mut self, point: usize, pos: usize, rows: &[T]) {
        if let Some(t) = self.0.as_deref_mut() {
            let at = (point * t.positions + pos) * t.hidden;
            t.data[at..at + rows.len()]
                .iter_mut()
                .zip(rows)
                .for_each(|(o, &v)| *o = v.to_f32());
        }
    }

    /// After the embedding lookup.
    pub(crate) fn embed<T: Elem>(&mut self, pos: usize, rows: &[T]) {
        self.put(0, pos, rows);
    }

    /// After layer `layer`'s attention residual add.
    pub(crate) fn attn<T: Elem>(&mut self, layer: usize, pos: usize, rows: &[T]) {
        self.put(1 + 2 * layer, pos, rows);
    }

    /// After layer `layer`'s MLP residual add.
    pub(crate) fn mlp<T: Elem>(&mut self, layer: usize, pos: usize, rows: &[T]) {
        self.put(2 + 2 * layer, pos, rows);
    }

    /// After the final RMSNorm (the last point).
    pub(crate) fn final_norm<T: Elem>(&mut self, pos: usize, rows: &[T]) {
        let last = self.0.as_ref().map_or(0, |t| t.points.len() - 1);
        self.put(last, pos, rows);
    }
}

/// A zeroed trace of a model of `layers` layers: every point, `positions` × `hidden`.
pub(crate) fn blank(layers: usize, positions: usize, hidden: usize) -> LayerTrace {
    let points = point_names(layers);
    LayerTrace {
        data: vec![0f32; points.len() * positions * hidden],
        points,
        positions,
        hidden,
    }
}
