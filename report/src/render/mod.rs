//! Rendering a [`crate::model::Report`]: `report.md` (markdown), `report.html` (from that
//! markdown), the CSV tables, the SVG plots, the terminal's summary table and Bencher's metric format. Nothing here
//! writes a file; [`crate::write`] does.

pub mod bmf;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod plots;
pub mod svg;
pub mod table;
