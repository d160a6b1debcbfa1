//! Series that coincide: a series with exactly an earlier series' points would be drawn under
//! or over it as one line, so it gets open circles on its points (and its legend entry says
//! which series it repeats).

use super::legend::open_circle;
use super::{escape, Series, XAxis, YAxis};
use std::fmt::Write as _;

/// Per series, the first earlier series with exactly the same points (NaN matching NaN),
/// whose line would hide this one's.
pub(super) fn twins(series: &[Series]) -> Vec<Option<usize>> {
    let same = |a: &[(f64, f64)], b: &[(f64, f64)]| {
        let eq = |u: f64, v: f64| u == v || (u.is_nan() && v.is_nan());
        a.len() == b.len() && a.iter().zip(b).all(|(p, q)| eq(p.0, q.0) && eq(p.1, q.1))
    };
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (!s.points.is_empty())
                .then(|| (0..i).find(|&j| same(&series[j].points, &s.points)))
                .flatten()
        })
        .collect()
}

/// Open circles on the finite points of `s` (at most about 40 of them, evenly spread), so a
/// series drawn over an identical one shows.
pub(super) fn series_markers(out: &mut String, s: &Series, c: &str, xa: &XAxis, ax: &YAxis) {
    let finite: Vec<&(f64, f64)> = s
        .points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let every = finite.len().div_ceil(40).max(1);
    let _ = write!(out, "<g><title>{}</title>", escape(&s.label));
    for &&(x, y) in finite.iter().step_by(every) {
        open_circle(out, xa.x(x), ax.y(y), c);
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::{line_plot, LinePlot, YScale};

    fn series(label: &str, ys: &[f64], dashed: bool) -> Series {
        Series {
            label: label.to_string(),
            points: ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect(),
            dashed,
        }
    }

    #[test]
    fn a_series_repeating_an_earlier_one_is_its_twin() {
        let s = [
            series("a", &[0.0, 1e-3, f64::NAN], false),
            series("b", &[0.0, 1e-3, f64::NAN], true),
            series("c", &[0.0, 1e-3], false),
            series("d", &[0.0, 1e-3, f64::NAN], false),
            series("e", &[], false),
            series("f", &[], false),
        ];
        assert_eq!(twins(&s), [None, Some(0), None, Some(0), None, None]);
    }

    #[test]
    fn identical_curves_are_marked_and_labelled() {
        let plot = |second: &[f64]| {
            line_plot(&LinePlot {
                title: "t".to_string(),
                x_label: "x".to_string(),
                y_label: "y".to_string(),
                y_scale: YScale::Log,
                x_names: None,
                series: vec![
                    series("span 5, kv_aligned=0", &[0.0, 1e-3, 2e-3], false),
                    series("span 5, kv_aligned=1", second, true),
                ],
            })
        };
        let svg = plot(&[0.0, 1e-3, 2e-3]);
        assert!(
            svg.contains(">span 5, kv_aligned=1 (identical to span 5, kv_aligned=0)</text>"),
            "{svg}"
        );
        // Three open circles on the twin's points and one in its legend entry.
        assert_eq!(svg.matches("r=\"3.5\" fill=\"none\"").count(), 4, "{svg}");
        let svg = plot(&[0.0, 1e-3, 3e-3]);
        assert!(!svg.contains("identical") && !svg.contains("r=\"3.5\" fill=\"none\""));
    }
}
