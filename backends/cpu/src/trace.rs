//! Layer traces on these kernels: the routes of [`CpuModel`] leave the hidden states they pass
//! at the trace points of `driftbench_core::trace` in a `Tap`, widened to f32 as they go by.
//! The traced and untraced routes are one code path: a tap that is off does nothing, so a
//! trace shows exactly what the measured route computes.

use crate::elem::Elem;
use crate::model::CpuModel;
use driftbench_core::route::Route;
use driftbench_core::trace::{point_names, LayerTrace};
use driftbench_core::KvLayout;

/// Where a route leaves its hidden states: `None` on the measured route, which then pays one
/// branch per point (no allocation, no copy, the same threading).
pub(crate) struct Tap<'a>(Option<&'a mut LayerTrace>);

impl<'a> Tap<'a> {
    /// The tap of the untraced routes.
    pub(crate) const OFF: Tap<'static> = Tap(None);

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

impl<T: Elem> CpuModel<T> {
    /// Run `route` on `tokens` (decode through a fresh KV cache in `layout`; prefill ignores
    /// it) as [`CpuModel::prefill`] or [`CpuModel::decode`] does, its logits into `out`
    /// (`[tokens.len(), vocab]`), and return the hidden state of every position at every
    /// trace point. Tokens must be in the vocabulary (the session checks them).
    pub fn trace(
        &self,
        route: Route,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [T],
    ) -> LayerTrace {
        let points = point_names(self.arch().layers);
        let (positions, hidden) = (tokens.len(), self.arch().hidden);
        let mut trace = LayerTrace {
            data: vec![0f32; points.len() * positions * hidden],
            points,
            positions,
            hidden,
        };
        let tap = Tap(Some(&mut trace));
        match route {
            Route::Prefill => self.prefill_with(tokens, out, tap),
            Route::Decode => self.decode_with(tokens, layout, out, |_| {}, tap),
        }
        trace
    }
}
