//! PNG line charts for the benchmarks' reports (plotters, bitmap backend).
//!
//! Text is drawn with a TrueType font read at run time from [`FONT_PATH`] (Debian's
//! `fonts-dejavu-core`, installed by `scripts/deps.sh`) and registered with plotters'
//! `ab_glyph` backend, so no fontconfig or freetype is linked. A missing or unreadable font
//! never fails a benchmark: the chart is drawn without any text (no title, tick labels or
//! legend) and one warning goes to stderr.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// The font charts use for their text.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// (x, y) in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A chart's text and axes.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// A logarithmic x axis (e.g. worker counts 2, 4, ..., 64).
    pub log_x: bool,
    /// Which corner the legend takes: one the lines leave free.
    pub legend: Corner,
}

/// A corner of the plot area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Corner {
    #[default]
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// Writes `series` as a 900×600 PNG line chart to `path`.
pub fn line_chart(path: &Path, chart: &Chart, series: &[Series]) -> Result<()> {
    draw(path, chart, series, font_loaded())
}

/// Registers the font once; false (after one warning) if it cannot be had.
fn font_loaded() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let loaded = std::fs::read(FONT_PATH)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                    .map_err(|_| "not a font plotters can read".to_string())
            });
        if let Err(e) = &loaded {
            eprintln!(
                "warning: charts are drawn without text: `{FONT_PATH}`: {e} \
                 (install Debian's fonts-dejavu-core)"
            );
        }
        loaded.is_ok()
    })
}

fn draw(path: &Path, chart: &Chart, series: &[Series], text: bool) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("`{}`: {e}", path.display());
    // A log x axis is drawn as log2(x) on a linear axis, ticks labelled 2^k: plotters' own
    // log scale labels only decades, so 2..64 workers would get the ticks 10, 20, ... 60.
    let fx = |x: f64| if chart.log_x { x.log2() } else { x };
    let lines: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().map(|&(x, y)| (fx(x), y)).collect())
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in lines.iter().flatten() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let x_pad = ((x1 - x0) * 0.04).max(0.1);
    // Room above and below the lines; y starts at 0 unless the lines sit far above it.
    let y_pad = ((y1 - y0) * 0.08).max(0.02);
    let y_from = if y0 > 0.0 && y0 < 2.0 * (y1 - y0) {
        0.0
    } else {
        y0 - y_pad
    };
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder
            .caption(&chart.title, ("sans-serif", 24))
            .x_label_area_size(50)
            .y_label_area_size(70);
    } else {
        builder.x_label_area_size(10).y_label_area_size(10);
    }
    let mut ctx = builder
        .build_cartesian_2d((x0 - x_pad)..(x1 + x_pad), y_from..(y1 + y_pad))
        .map_err(|e| err(&e))?;
    let x_tick = |x: &f64| {
        if !chart.log_x {
            format!("{x}")
        } else if (x - x.round()).abs() < 1e-6 {
            format!("{}", x.round().exp2())
        } else {
            String::new()
        }
    };
    let mut mesh = ctx.configure_mesh();
    if text {
        mesh.x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .x_label_formatter(&x_tick)
            .label_style(("sans-serif", 15));
        if chart.log_x {
            mesh.x_labels((x1 - x0).round() as usize + 1);
        }
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.light_line_style(WHITE).draw().map_err(|e| err(&e))?;
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, (s, points)) in series.iter().zip(&lines).enumerate() {
        let color = colors[i % colors.len()];
        let line = LineSeries::new(points.iter().copied(), color.stroke_width(2));
        let drawn = ctx.draw_series(line).map_err(|e| err(&e))?;
        if text {
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        let dots = points.iter().map(|&p| Circle::new(p, 4, color.filled()));
        ctx.draw_series(dots).map_err(|e| err(&e))?;
    }
    if text && !series.is_empty() {
        ctx.configure_series_labels()
            .position(match chart.legend {
                Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                Corner::UpperRight => SeriesLabelPosition::UpperRight,
                Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                Corner::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Series> {
        vec![
            Series {
                name: "a".into(),
                points: vec![(2.0, 1.0), (4.0, 1.5), (64.0, 1.2)],
            },
            Series {
                name: "b".into(),
                points: vec![(2.0, 2.0), (64.0, 3.0)],
            },
        ]
    }

    fn is_png(path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
    }

    #[test]
    fn without_a_font_the_chart_is_still_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.png");
        let chart = Chart {
            log_x: true,
            ..Chart::default()
        };
        draw(&path, &chart, &sample(), false).unwrap();
        assert!(is_png(&path));
    }

    #[test]
    fn a_chart_with_text_is_written_when_the_font_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.png");
        let chart = Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: false,
            legend: Corner::LowerRight,
        };
        line_chart(&path, &chart, &sample()).unwrap();
        assert!(is_png(&path));
        assert_eq!(font_loaded(), Path::new(FONT_PATH).exists());
    }
}
