//! The report's plots as SVG: the global attribution summary (mean |attribution| per feature),
//! reliability diagrams, and learning curves.
//! SVG needs no system libraries and renders in any browser and in the docs.
//! Text layout uses plotters' `ab_glyph` backend with an embedded DejaVu Sans,
//! so no system font is required either.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

fn register_font() {
    static FONT: std::sync::Once = std::sync::Once::new();
    FONT.call_once(|| {
        // Registration only fails for an invalid font file, which would be a build defect.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One line of a line chart: its legend label and its points.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed and without markers (references such as the diagonal or a ceiling).
    pub reference: bool,
}

/// Line chart of `series` over the given ranges, markers at the points, the legend at `legend`
/// (where the data are not). With `log_x`, x is drawn on a log scale (training-set sizes).
#[allow(clippy::too_many_arguments)]
pub fn line_chart_svg(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    log_x: bool,
    legend: SeriesLabelPosition,
    series: &[Series],
) -> Result<()> {
    register_font();
    let root = SVGBackend::new(path, (760, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60);
    // plotters' log and linear axes are different coordinate types, so the drawing is generic.
    fn draw<'a, 'b: 'a, X: Ranged<ValueType = f64> + ValueFormatter<f64>>(
        mut chart: ChartContext<
            'a,
            SVGBackend<'b>,
            Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
        >,
        x_desc: &str,
        y_desc: &str,
        legend: SeriesLabelPosition,
        series: &[Series],
    ) -> Result<()> {
        chart
            .configure_mesh()
            .x_labels(12)
            .x_label_formatter(&|x: &f64| {
                if *x >= 100.0 {
                    format!("{x:.0}")
                } else {
                    format!("{x:.1}")
                }
            })
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        let mut references = 0;
        for (k, s) in series.iter().enumerate() {
            let color = if s.reference {
                references += 1;
                // The first reference black, the next ones grey, so two ceilings can be told apart.
                if references == 1 {
                    BLACK.mix(0.8)
                } else {
                    RGBColor(150, 150, 150).mix(1.0)
                }
            } else {
                PALETTE[k % PALETTE.len()].mix(1.0)
            };
            let style = color.stroke_width(2);
            let pts = s.points.clone();
            if s.reference {
                chart
                    .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                    .map_err(err)?
                    .label(s.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            } else {
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(err)?
                    .label(s.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                chart
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled())))
                    .map_err(err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(err)?;
        Ok(())
    }
    if log_x {
        draw(
            builder.build_cartesian_2d(x.log_scale(), y).map_err(err)?,
            x_desc,
            y_desc,
            legend,
            series,
        )?;
    } else {
        draw(
            builder.build_cartesian_2d(x, y).map_err(err)?,
            x_desc,
            y_desc,
            legend,
            series,
        )?;
    }
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reliability diagram: each curve's bins (mean predicted probability, observed frequency) over
/// the diagonal a calibrated model follows.
pub fn reliability_svg(
    path: &Path,
    title: &str,
    curves: &[(&str, &[crate::metrics::ReliabilityBin])],
) -> Result<()> {
    let mut series = vec![Series {
        label: "perfectly calibrated",
        points: vec![(0.0, 0.0), (1.0, 1.0)],
        reference: true,
    }];
    series.extend(curves.iter().map(|(label, bins)| Series {
        label,
        points: bins.iter().map(|b| (b.predicted, b.observed)).collect(),
        reference: false,
    }));
    line_chart_svg(
        path,
        title,
        "mean predicted probability",
        "observed frequency",
        0.0..1.0,
        0.0..1.0,
        false,
        // Above the diagonal: where an under-confident model's bins would be, rare here.
        SeriesLabelPosition::UpperLeft,
        &series,
    )
}

/// Horizontal bar chart of the `top` largest `values`, largest at the top.
pub fn bar_chart_svg(
    path: &Path,
    title: &str,
    names: &[String],
    values: &[f64],
    top: usize,
) -> Result<()> {
    register_font();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        values[b]
            .partial_cmp(&values[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    order.truncate(top.min(values.len()));
    order.reverse(); // plotters' y axis grows upwards
    let k = order.len();
    let vmax = order
        .iter()
        .map(|&i| values[i])
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.1;
    let labels: Vec<String> = order.iter().map(|&i| names[i].clone()).collect();
    let height = 120 + 28 * k as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(260)
        .build_cartesian_2d(0.0..vmax, -0.5..(k as f64 - 0.5))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(k.max(1))
        .y_label_formatter(&|y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("mean |attribution| (logit units)")
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .draw_series(order.iter().enumerate().map(|(row, &i)| {
            Rectangle::new(
                [(0.0, row as f64 - 0.35), (values[i], row as f64 + 0.35)],
                BLUE.mix(0.7).filled(),
            )
        }))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_an_svg_with_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bars.svg");
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        super::bar_chart_svg(&p, "title", &names, &[0.3, 0.1, 0.2], 2).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        // plotters writes each label on its own line inside <text>.
        let has = |t: &str| svg.lines().any(|l| l.trim() == t);
        assert!(
            has("a") && has("c") && !has("b"),
            "only the top-2 labels are drawn"
        );
    }

    #[test]
    fn reliability_diagram_has_its_legend() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rel.svg");
        let bins = crate::metrics::reliability(&[0.1, 0.2, 0.8, 0.9], &[0.0, 0.0, 1.0, 1.0], 10);
        super::reliability_svg(&p, "title", &[("hybrid", &bins), ("calibrated", &bins)]).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        let has = |t: &str| svg.lines().any(|l| l.trim() == t);
        assert!(has("hybrid") && has("calibrated") && has("perfectly calibrated"));
    }
}
