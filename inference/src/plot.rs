//! Global attribution summary plot (mean |attribution| per feature) as SVG.
//! SVG needs no system libraries and renders in any browser and in the docs.
//! Text layout uses plotters' `ab_glyph` backend with an embedded DejaVu Sans,
//! so no system font is required either.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

/// Horizontal bar chart of the `top` largest `values`, largest at the top.
pub fn bar_chart_svg(
    path: &Path,
    title: &str,
    names: &[String],
    values: &[f64],
    top: usize,
) -> Result<()> {
    static FONT: std::sync::Once = std::sync::Once::new();
    FONT.call_once(|| {
        // Registration only fails for an invalid font file, which would be a build defect.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
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
}
