//! Simulation 5 figure: (a) the sample sheet (what the agent sees), (b) accuracy
//! by trial on held-out problems at each training stage, laid out like the
//! paper's Fig. 6c, (c) the final networks on held-out images, on training
//! images and in the symbolic control, (d) the training curve.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure_data::*;
use super::sheet;
use crate::plot;

const WIDTH: u32 = 1800;
const HEIGHT: u32 = 1320;
/// Panel header height (title, note, legend rows) so that plots side by side line up.
const HEADER: u32 = 150;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &S5FigureData, stem: &Path, sheet_columns: usize) -> Result<()> {
    plot::render_png_and_svg(
        stem,
        WIDTH,
        HEIGHT,
        &S5Figure {
            data,
            sheet_columns,
        },
    )
}

struct S5Figure<'a> {
    data: &'a S5FigureData,
    sheet_columns: usize,
}

/// Colour of stage k of n: from a light to a dark blue, as the paper's shading.
fn stage_color(k: usize, n: usize) -> RGBColor {
    let t = if n > 1 {
        k as f64 / (n - 1) as f64
    } else {
        1.0
    };
    let (a, b) = ((0xB4u8, 0xCC, 0xE6), (0x10u8, 0x2A, 0x6B));
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// "12,000"-style thousands.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn points(acc: &[crate::stats::Estimate]) -> Vec<(f64, f64, f64, f64)> {
    acc.iter()
        .enumerate()
        .map(|(k, e)| ((k + 1) as f64, e.mean, e.ci_low, e.ci_high))
        .collect()
}

impl plot::Figure for S5Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.data;
        let subtitle = format!(
            "weights frozen at test; n = {} seeds, mean \u{b1} 95% bootstrap CI over seeds",
            d.n_seeds
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let (top, bottom) = body.split_vertically(690);
        let (a, b) = top.split_horizontally(800);
        let (c, dd) = bottom.split_horizontally(890);
        draw_sheet_panel(&a, d, self.sheet_columns)?;
        draw_stages(&b, d)?;
        draw_comparisons(&c, d)?;
        draw_training(&dd, d)
    }
}

fn draw_sheet_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S5FigureData,
    cols: usize,
) -> Result<()> {
    let s = &d.sheet;
    let note = format!(
        "{0}×{0} greyscale, procedural; the test pool is never trained on",
        s.side
    );
    let body = plot::draw_panel_header(area, "a", "What the agent sees", Some(&note), &[], 90)?;
    sheet::draw_sheet(&body, s, cols)
}

fn draw_stages<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S5FigureData) -> Result<()> {
    let n = d.stages.len();
    let labels: Vec<String> = d
        .stages
        .iter()
        .map(|s| format!("{} ep.", thousands(s.episodes)))
        .collect();
    let mut series: Vec<plot::Series> = d
        .stages
        .iter()
        .enumerate()
        .map(|(k, s)| plot::Series {
            label: &labels[k],
            color: stage_color(k, n),
            filled: true,
            points: points(&s.accuracy),
        })
        .collect();
    let trials = d.stages.first().map_or(6, |s| s.accuracy.len());
    series.push(plot::Series {
        label: "chance",
        color: plot::GREY,
        filled: false,
        points: (1..=trials).map(|t| (t as f64, 0.5, 0.5, 0.5)).collect(),
    });
    plot::draw_line_panel(
        area,
        &plot::LinePanel {
            letter: "b",
            title: "Held-out problems, by training stage (paper Fig. 6c)",
            header_height: 90,
            note: Some("each line: the network frozen after that many training episodes".into()),
            x_label: "trial",
            y_label: "accuracy (chose the rewarded image)",
            series,
            dodge: 0.03,
        },
    )
}

fn draw_comparisons<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S5FigureData,
) -> Result<()> {
    let colors = [plot::BLUE, plot::GREEN, plot::ORANGE, plot::RED];
    let mut series: Vec<plot::Series> = d
        .comparisons
        .iter()
        .enumerate()
        .map(|(k, c)| plot::Series {
            label: &c.label,
            color: colors[k % colors.len()],
            filled: k == 0,
            points: points(&c.accuracy),
        })
        .collect();
    let trials = d.comparisons.first().map_or(6, |c| c.accuracy.len());
    series.push(plot::Series {
        label: "chance",
        color: plot::GREY,
        filled: false,
        points: (1..=trials).map(|t| (t as f64, 0.5, 0.5, 0.5)).collect(),
    });
    let m = &d.maximal;
    let reached = m.per_seed.iter().filter(|&&v| v > 0.5).count();
    let note = format!(
        "maximal: {reached} of {} seeds ({})",
        m.per_seed.len(),
        d.maximal_criterion
    );
    plot::draw_line_panel(
        area,
        &plot::LinePanel {
            letter: "c",
            title: "Final networks: new images, training images, symbols",
            header_height: HEADER,
            note: Some(note),
            x_label: "trial",
            y_label: "accuracy",
            series,
            dodge: 0.05,
        },
    )
}

fn draw_training<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S5FigureData,
) -> Result<()> {
    let colors = [plot::BLUE, plot::ORANGE, plot::GREEN, plot::RED];
    let labels: Vec<String> = d
        .training
        .iter()
        .map(|c| {
            if c.label.is_empty() {
                "training".to_string()
            } else {
                c.label.clone()
            }
        })
        .collect();
    let series = d
        .training
        .iter()
        .enumerate()
        .map(|(k, c)| plot::Series {
            label: &labels[k],
            color: colors[k % colors.len()],
            filled: k == 0,
            points: c
                .episodes
                .iter()
                .zip(&c.reward)
                .map(|(&x, e)| (x.round(), e.mean, e.ci_low, e.ci_high))
                .collect(),
        })
        .collect();
    plot::draw_line_panel(
        area,
        &plot::LinePanel {
            letter: "d",
            title: "Training curve",
            header_height: HEADER,
            note: Some(
                "mean reward per training episode (6 trials, ±1 each; one-shot learner ≈ 5)".into(),
            ),
            x_label: "training episodes",
            y_label: "reward per episode",
            series,
            dodge: 0.0,
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
            ci_low: m - 0.02,
            ci_high: m + 0.02,
            per_seed: (0..8).map(|i| m + 0.005 * (i as f64 - 3.5)).collect(),
        }
    }

    #[test]
    fn renders_png_and_svg() {
        let sheet = super::super::sheet::SampleSheet {
            side: 12,
            n_train_pool: 1000,
            n_test_pool: 500,
            train: (0..16).map(|i| vec![(i as f32) / 16.0; 144]).collect(),
            test: (0..16)
                .map(|i| vec![1.0 - (i as f32) / 16.0; 144])
                .collect(),
            symbols: (0..8)
                .map(|i| (0..144).map(|p| ((p + i) % 2) as f32).collect())
                .collect(),
        };
        let data = S5FigureData {
            title: "Simulation 5: Harlow task".into(),
            n_seeds: 8,
            stages: (0..7)
                .map(|k| StageCurve {
                    episodes: k * 5000,
                    accuracy: (0..6)
                        .map(|t| est(if t == 0 { 0.5 } else { 0.5 + 0.07 * k as f64 }))
                        .collect(),
                })
                .collect(),
            comparisons: vec![
                Comparison {
                    label: "images, held-out pool".into(),
                    accuracy: (0..6)
                        .map(|t| est(if t == 0 { 0.5 } else { 0.95 }))
                        .collect(),
                },
                Comparison {
                    label: "symbolic control".into(),
                    accuracy: (0..6)
                        .map(|t| est(if t == 0 { 0.5 } else { 0.97 }))
                        .collect(),
                },
            ],
            training: vec![TrainingCurve {
                label: "images".into(),
                episodes: (1..=20).map(|i| i as f64 * 1000.0).collect(),
                reward: (1..=20).map(|i| est(i as f64 / 4.0)).collect(),
            }],
            maximal: est(0.75),
            maximal_criterion: "trial 1 within 40–60% …".into(),
            sheet,
        };
        // Removed when the test ends, also when it fails.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stem = dir.join("s5");
        render(&data, &stem, 8).unwrap();
        for ext in ["png", "svg"] {
            let path = dir.join(format!("s5.{ext}"));
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 10_000, "{} is only {len} bytes", path.display());
        }
    }
}
