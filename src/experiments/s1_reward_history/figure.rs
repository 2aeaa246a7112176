//! Simulation 1 figure, laid out like the paper's Fig. 2d–f: (d) matching —
//! log2 choice ratio against log2 reward ratio per test episode, held-out
//! episodes in a second colour, the identity line and the fitted line;
//! (e) unit coding — mean |partial r| of the units with previous action,
//! previous reward, their interaction and the value of the upcoming choice,
//! beside the trial-shuffled null; (f) logistic-regression weights of past
//! rewards and choices by lag, with the monkeys' lag-1 reward weight marked.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure_data::*;
use crate::plot;

const WIDTH: u32 = 1860;
const HEIGHT: u32 = 660;
/// Panel header height (title, note, legend rows) so the three plots line up.
const HEADER: u32 = 128;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &S1FigureData, stem: &Path) -> Result<()> {
    plot::render_png_and_svg(stem, WIDTH, HEIGHT, &S1Figure(data))
}

struct S1Figure<'a>(&'a S1FigureData);

impl plot::Figure for S1Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.0;
        let subtitle = format!(
            "n = {} seeds, mean \u{b1} 95% bootstrap CI over seeds, dots = seeds; weights frozen at test",
            d.n_seeds
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let (a, rest) = body.split_horizontally(600);
        let (b, c) = rest.split_horizontally(620);
        draw_matching(&a, d)?;
        draw_coding(&b, d)?;
        draw_lags(&c, d)
    }
}

fn draw_matching<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S1FigureData,
) -> Result<()> {
    let m = &d.matching;
    let note = format!(
        "slope {:.2} [{:.2}, {:.2}], r = {:.2}; {} of {} episodes",
        m.slope.mean,
        m.slope.ci_low,
        m.slope.ci_high,
        m.correlation.mean,
        m.total_episodes - m.skipped_episodes,
        m.total_episodes
    );
    let legend = [
        plot::LegendEntry::new(plot::LegendMark::Dot(plot::BLUE), "trained p0 bands"),
        plot::LegendEntry::new(plot::LegendMark::Dot(plot::ORANGE), "held-out p0 bands"),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::DARK,
                filled: true,
            },
            "fit",
        ),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::GREY,
                filled: false,
            },
            "identity (matching)",
        ),
    ];
    let plot_area = plot::draw_panel_header(area, "d", "Matching", Some(&note), &legend, HEADER)?;
    let vals = m
        .points
        .iter()
        .flat_map(|p| [p.log_reward_ratio, p.log_choice_ratio])
        .filter(|v| v.is_finite());
    let lim = vals.fold(1.0f64, |a, v| a.max(v.abs())).ceil();
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(20)
        .x_label_area_size(66)
        .y_label_area_size(70)
        .build_cartesian_2d(-lim..lim, -lim..lim)
        .map_err(plot::plot_err)?;
    chart
        .configure_mesh()
        .x_labels(9)
        .y_labels(9)
        .disable_x_mesh()
        .disable_y_mesh()
        .axis_style(plot::DARK.stroke_width(1))
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .x_desc("log2(rewards R / rewards L)")
        .y_desc("log2(choices R / choices L)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(plot::plot_err)?;
    chart
        .draw_series(DashedLineSeries::new(
            [(-lim, -lim), (lim, lim)],
            8,
            6,
            plot::GREY.stroke_width(2),
        ))
        .map_err(plot::plot_err)?;
    // In-band first, held-out on top so the second colour stays visible.
    for (held, color) in [(false, plot::BLUE), (true, plot::ORANGE)] {
        chart
            .draw_series(m.points.iter().filter(|p| p.heldout == held).map(|p| {
                Circle::new(
                    (p.log_reward_ratio, p.log_choice_ratio),
                    3,
                    color.mix(0.45).filled(),
                )
            }))
            .map_err(plot::plot_err)?;
    }
    let (s, b) = (m.slope.mean, m.intercept.mean);
    if s.is_finite() && b.is_finite() {
        let mut line = vec![];
        for x in [-lim, lim] {
            line.push((x, (s * x + b).clamp(-lim, lim)));
        }
        // Recompute x at the clamped ends so the segment keeps its slope.
        let line: Vec<(f64, f64)> = line
            .into_iter()
            .map(|(x, y)| if s != 0.0 { ((y - b) / s, y) } else { (x, y) })
            .collect();
        chart
            .draw_series(LineSeries::new(line, plot::DARK.stroke_width(3)))
            .map_err(plot::plot_err)?;
    }
    let text = format!(
        "slope in-band {:.2}, held-out {:.2}",
        m.slope_inband.mean, m.slope_heldout.mean
    );
    let pixels = chart.plotting_area().strip_coord_spec();
    pixels
        .draw_text(&text, &plot::font(plot::NOTE_SIZE), (10, 8))
        .map_err(plot::plot_err)?;
    Ok(())
}

fn draw_coding<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S1FigureData) -> Result<()> {
    let groups = d
        .coding
        .iter()
        .map(|c| plot::BarGroup {
            label: &c.label,
            bars: vec![
                plot::Bar {
                    label: "network units",
                    estimate: &c.real,
                    color: plot::BLUE,
                    reference: None,
                },
                plot::Bar {
                    label: "shuffled trials (null)",
                    estimate: &c.null,
                    color: plot::GREY,
                    reference: None,
                },
            ],
        })
        .collect();
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "e",
            title: "Unit coding at trial start",
            header_height: HEADER,
            note: Some("each factor's partial r, controlling for the others".into()),
            x_label: "factor",
            y_label: "mean |partial r| over units",
            y_range: (0.0, 0.1),
            groups,
            reference_label: "",
        },
    )
}

fn draw_lags<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S1FigureData) -> Result<()> {
    let pts = |w: &[crate::stats::Estimate]| -> Vec<(f64, f64, f64, f64)> {
        w.iter()
            .enumerate()
            .map(|(k, e)| ((k + 1) as f64, e.mean, e.ci_low, e.ci_high))
            .collect()
    };
    let mut series = vec![
        plot::Series {
            label: "reward",
            color: plot::BLUE,
            filled: true,
            points: pts(&d.reward_weights),
        },
        plot::Series {
            label: "choice",
            color: plot::RED,
            filled: false,
            points: pts(&d.choice_weights),
        },
    ];
    if let Some(r) = d.reference_lag1_reward {
        series.push(plot::Series {
            label: "monkeys, lag-1 reward (Tsutsui et al.)",
            color: plot::DARK,
            filled: false,
            points: vec![(1.0, r, r, r)],
        });
    }
    plot::draw_line_panel(
        area,
        &plot::LinePanel {
            letter: "f",
            title: "Regression on reward and choice history",
            header_height: HEADER,
            note: None,
            x_label: "trials ago (lag)",
            y_label: "regression weight (towards R)",
            series,
            dodge: 0.12,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn est(m: f64) -> Estimate {
        Estimate {
            mean: m,
            ci_low: m - 0.05,
            ci_high: m + 0.05,
            per_seed: (0..8).map(|i| m + 0.01 * (i as f64 - 3.5)).collect(),
        }
    }

    #[test]
    fn renders_png_and_svg() {
        let points = (0..400)
            .map(|i| {
                let x = ((i * 37 % 101) as f64 / 25.0) - 2.0;
                MatchingPoint {
                    seed: 1,
                    log_reward_ratio: x,
                    log_choice_ratio: 0.8 * x + 0.1 * ((i % 7) as f64 - 3.0) / 3.0,
                    heldout: i % 3 == 0,
                }
            })
            .collect();
        let data = S1FigureData {
            title: "Simulation 1: reward and choice history".into(),
            n_seeds: 8,
            matching: MatchingPanel {
                points,
                skipped_episodes: 12,
                total_episodes: 412,
                slope: est(0.8),
                intercept: est(0.0),
                correlation: est(0.95),
                slope_inband: est(0.8),
                slope_heldout: est(0.78),
            },
            coding: super::super::FACTORS
                .iter()
                .map(|(_, l)| CodingBar {
                    label: l.to_string(),
                    real: est(0.3),
                    null: est(0.01),
                })
                .collect(),
            reward_weights: (1..=15).map(|k| est(1.5 / k as f64)).collect(),
            choice_weights: (1..=15).map(|k| est(-0.5 / k as f64)).collect(),
            reference_lag1_reward: Some(1.25),
        };
        // Removed when the test ends, also when it fails.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stem = dir.join("s1");
        render(&data, &stem).unwrap();
        for ext in ["png", "svg"] {
            let path = dir.join(format!("s1.{ext}"));
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 10_000, "{} is only {len} bytes", path.display());
        }
    }
}
