//! Concentration–time plots (PNG and SVG) with the therapeutic window and
//! population percentile bands.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{invalid, Result, SimError};

/// What to draw.
#[derive(Debug, Clone, Default)]
pub struct PlotData<'a> {
    /// Title.
    pub title: String,
    /// Time points (h).
    pub times: &'a [f64],
    /// Individual (personalised) profile (mg/L), if any.
    pub individual: Option<&'a [f64]>,
    /// Population 5th/50th/95th percentiles, if any.
    pub band: Option<(&'a [f64], &'a [f64], &'a [f64])>,
    /// Therapeutic window (mg/L).
    pub window: Option<(f64, f64)>,
    /// Toxic threshold (mg/L).
    pub toxic: Option<f64>,
    /// Measured levels `(time h, mg/L)`, drawn as points.
    pub observed: Option<&'a [(f64, f64)]>,
    /// A second individual profile (e.g. under a recommended regimen), drawn dashed.
    pub comparison: Option<&'a [f64]>,
    /// Legend labels for `individual`, `band` and `comparison` (defaults: a patient's typical
    /// profile and the population percentiles).
    pub labels: PlotLabels<'a>,
}

/// Legend labels; `None` keeps the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlotLabels<'a> {
    /// Label of `individual`.
    pub individual: Option<&'a str>,
    /// Label of `band`'s area (its median is labelled "… median").
    pub band: Option<&'a str>,
    /// Label of `comparison`.
    pub comparison: Option<&'a str>,
}

static FONT: Once = Once::new();

// plotters' ab_glyph backend has no system-font lookup, so a font is embedded
// to keep the crate pure Rust (DejaVu Sans, Bitstream Vera licence).
fn ensure_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // A failure only loses text rendering; the curves are still drawn.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

fn perr<E: std::fmt::Display>(e: E) -> SimError {
    SimError::Plot(e.to_string())
}

/// Writes a plot; the format is chosen by the extension (`.png` or `.svg`).
pub fn plot_profile(path: &Path, data: &PlotData<'_>) -> Result<()> {
    ensure_font();
    if data.times.len() < 2 {
        return Err(invalid("plot.times", "need at least two time points"));
    }
    let size = (1000, 600);
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => draw(BitMapBackend::new(path, size).into_drawing_area(), data),
        Some("svg") => draw(SVGBackend::new(path, size).into_drawing_area(), data),
        _ => Err(invalid(
            "output",
            format!(
                "unsupported plot extension for {}; use .png or .svg",
                path.display()
            ),
        )),
    }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, d: &PlotData<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(perr)?;
    let t0 = d.times[0];
    let t1 = *d.times.last().unwrap_or(&t0);
    let mut ymax = 0.0_f64;
    for s in d
        .individual
        .into_iter()
        .chain(d.band.map(|b| b.2))
        .chain(d.comparison)
    {
        ymax = s
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .fold(ymax, f64::max);
    }
    for &(_, c) in d.observed.unwrap_or(&[]) {
        ymax = ymax.max(c);
    }
    if let Some((_, hi)) = d.window {
        ymax = ymax.max(hi);
    }
    if let Some(t) = d.toxic {
        ymax = ymax.max(t);
    }
    let ymax = if ymax > 0.0 { ymax * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(&d.title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(t0..t1, 0.0..ymax)
        .map_err(perr)?;
    chart
        .configure_mesh()
        .x_desc("time (h)")
        .y_desc("concentration (mg/L)")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(perr)?;
    if let Some((lo, hi)) = d.window {
        let green = RGBColor(46, 160, 67);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(t0, lo), (t1, hi)],
                green.mix(0.15).filled(),
            )))
            .map_err(perr)?
            .label(format!("therapeutic window {lo}–{hi} mg/L"))
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], green.mix(0.3).filled())
            });
    }
    if let Some(tox) = d.toxic {
        chart
            .draw_series(LineSeries::new([(t0, tox), (t1, tox)], RED.stroke_width(2)))
            .map_err(perr)?
            .label(format!("toxic threshold {tox} mg/L"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    }
    if let Some((p05, p50, p95)) = d.band {
        let blue = RGBColor(31, 119, 180);
        let poly: Vec<(f64, f64)> = d
            .times
            .iter()
            .zip(p95)
            .map(|(&t, &c)| (t, c))
            .chain(d.times.iter().zip(p05).rev().map(|(&t, &c)| (t, c)))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(poly, blue.mix(0.25).filled())))
            .map_err(perr)?
            .label(format!(
                "{} 5th–95th percentile",
                d.labels.band.unwrap_or("population")
            ))
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], blue.mix(0.25).filled())
            });
        chart
            .draw_series(LineSeries::new(
                d.times.iter().zip(p50).map(|(&t, &c)| (t, c)),
                blue.stroke_width(2),
            ))
            .map_err(perr)?
            .label(format!("{} median", d.labels.band.unwrap_or("population")))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue.stroke_width(2)));
    }
    if let Some(ind) = d.individual {
        chart
            .draw_series(LineSeries::new(
                d.times.iter().zip(ind).map(|(&t, &c)| (t, c)),
                BLACK.stroke_width(2),
            ))
            .map_err(perr)?
            .label(d.labels.individual.unwrap_or("this patient (typical)"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    if let Some(cmp) = d.comparison {
        let orange = RGBColor(230, 120, 20);
        chart
            .draw_series(DashedLineSeries::new(
                d.times.iter().zip(cmp).map(|(&t, &c)| (t, c)),
                8,
                5,
                orange.stroke_width(2),
            ))
            .map_err(perr)?
            .label(d.labels.comparison.unwrap_or("comparison"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], orange.stroke_width(2)));
    }
    if let Some(obs) = d.observed {
        chart
            .draw_series(
                obs.iter()
                    .map(|&(t, c)| Circle::new((t, c), 5, BLACK.filled())),
            )
            .map_err(perr)?
            .label("measured levels")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(perr)?;
    root.present().map_err(perr)?;
    Ok(())
}
