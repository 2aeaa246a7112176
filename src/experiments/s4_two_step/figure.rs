//! Simulation 4 figure, laid out like the paper's Fig. 5: (a) stay
//! probabilities, (b) logistic-regression weights by lag, (c) network RPE
//! against the RPEs of model-based and model-free learners; and (d) the r² of
//! the network's RPE on learners fitted to its choices, step by step (Daw et
//! al. 2011's analysis).

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure_data::*;
use crate::plot;

const WIDTH: u32 = 2350;
const HEIGHT: u32 = 640;
/// Panel header height (title, note, two legend rows) so the three plots line up.
const HEADER: u32 = 118;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &S4FigureData, stem: &Path) -> Result<()> {
    plot::render_png_and_svg(stem, WIDTH, HEIGHT, &S4Figure(data))
}

struct S4Figure<'a>(&'a S4FigureData);

impl plot::Figure for S4Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.0;
        let subtitle = format!(
            "n = {} seeds, mean \u{b1} 95% bootstrap CI, dots = seeds",
            d.n_seeds
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let (a, rest) = body.split_horizontally(560);
        let (b, rest) = rest.split_horizontally(600);
        let (c, e) = rest.split_horizontally(640);
        draw_stay(&a, d)?;
        draw_lags(&b, d)?;
        draw_rpe(&c, d)?;
        match &d.daw {
            Some(daw) => draw_daw(&e, daw),
            None => Ok(()),
        }
    }
}

/// Common trials in blue, uncommon in red, as in the paper.
fn transition_color(label: &str) -> RGBColor {
    if label.to_lowercase().contains("uncommon") {
        plot::RED
    } else {
        plot::BLUE
    }
}

fn draw_stay<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S4FigureData) -> Result<()> {
    // Group the four bars by reward ("Rewarded, common" -> "Rewarded" / "common").
    let mut groups: Vec<plot::BarGroup> = Vec::new();
    for bar in &d.stay {
        let (group, kind) = bar.label.split_once(", ").unwrap_or(("", &bar.label));
        let item = plot::Bar {
            label: kind,
            estimate: &bar.estimate,
            color: transition_color(kind),
            reference: bar.paper,
        };
        match groups.iter_mut().find(|g| g.label == group) {
            Some(g) => g.bars.push(item),
            None => groups.push(plot::BarGroup {
                label: group,
                bars: vec![item],
            }),
        }
    }
    let mb = &d.model_based_index;
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "a",
            title: "Stay probability",
            header_height: HEADER,
            note: Some(format!(
                "MB index = {:.3} [{:.3}, {:.3}]",
                mb.mean, mb.ci_low, mb.ci_high
            )),
            x_label: "previous trial",
            y_label: "stay probability",
            y_range: (0.5, 1.0),
            groups,
            reference_label: "paper (approx.)",
        },
    )
}

fn draw_lags<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S4FigureData) -> Result<()> {
    let series = d
        .lag_weights
        .iter()
        .map(|s| plot::Series {
            label: &s.label,
            color: transition_color(&s.label),
            // Rewarded: filled markers, solid line; unrewarded: hollow, dashed.
            filled: !s.label.to_lowercase().contains("unrewarded"),
            points: s
                .weights
                .iter()
                .enumerate()
                .map(|(k, e)| ((k + 1) as f64, e.mean, e.ci_low, e.ci_high))
                .collect(),
        })
        .collect();
    plot::draw_line_panel(
        area,
        &plot::LinePanel {
            letter: "b",
            title: "Regression on past trials",
            header_height: HEADER,
            note: None,
            x_label: "trials ago (lag)",
            y_label: "regression weight (stay)",
            series,
            dodge: 0.07,
        },
    )
}

fn draw_rpe<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S4FigureData) -> Result<()> {
    let r = &d.rpe;
    let note = format!(
        "one network (seed {}), {} episodes, {} steps",
        r.seed,
        r.n_episodes,
        r.network.len()
    );
    // Stage-2 steps (where the two learners differ) in orange, reward steps in blue.
    let legend = [
        plot::LegendEntry::new(plot::LegendMark::Dot(plot::ORANGE), "stage-2 step"),
        plot::LegendEntry::new(plot::LegendMark::Dot(plot::BLUE), "reward step"),
    ];
    let colors = |base: RGBColor| -> Vec<RGBColor> {
        r.step
            .iter()
            .map(|&s| if s == 0 { plot::ORANGE } else { base })
            .collect()
    };
    let (mb_colors, mf_colors) = (colors(plot::BLUE), colors(plot::BLUE));
    let stage2 = |v: f64| (!r.step.is_empty()).then(|| format!("stage-2 step {v:.2}"));
    let body = plot::draw_panel_header(area, "c", "Network RPE", Some(&note), &legend, HEADER)?;
    let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
    plot::draw_scatter_panel(
        &left,
        &plot::ScatterPanel {
            letter: "",
            title: "",
            header_height: 0,
            x_label: "model-based learner RPE",
            y_label: "network RPE",
            x: &r.model_based,
            y: &r.network,
            color: plot::BLUE,
            point_colors: Some(&mb_colors),
            r2: Some(r.r2_model_based),
            note: stage2(r.r2_stage2_model_based),
        },
    )?;
    plot::draw_scatter_panel(
        &right,
        &plot::ScatterPanel {
            letter: "",
            title: "",
            header_height: 0,
            x_label: "model-free learner RPE",
            y_label: "network RPE",
            x: &r.model_free,
            y: &r.network,
            color: plot::GREY,
            point_colors: Some(&mf_colors),
            r2: Some(r.r2_model_free),
            note: stage2(r.r2_stage2_model_free),
        },
    )
}

fn draw_daw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, daw: &DawPanel) -> Result<()> {
    let groups = daw
        .steps
        .iter()
        .map(|s| plot::BarGroup {
            label: &s.label,
            bars: vec![
                plot::Bar {
                    label: "model-based",
                    estimate: &s.model_based,
                    color: plot::BLUE,
                    reference: None,
                },
                plot::Bar {
                    label: "model-free",
                    estimate: &s.model_free,
                    color: plot::GREY,
                    reference: None,
                },
                plot::Bar {
                    label: "hybrid",
                    estimate: &s.hybrid,
                    color: plot::GREEN,
                    reference: None,
                },
            ],
        })
        .collect();
    let w = &daw.hybrid_w;
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "d",
            title: "RPE r², learners fitted to the choices",
            header_height: HEADER,
            note: Some(format!(
                "Daw et al. 2011 fit; hybrid w = {:.2} [{:.2}, {:.2}]",
                w.mean, w.ci_low, w.ci_high
            )),
            x_label: "step of the trial",
            y_label: "r² (network RPE ~ learner RPE)",
            y_range: (0.0, 1.0),
            groups,
            reference_label: "",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn est(m: f64) -> Estimate {
        let per_seed: Vec<f64> = (0..8).map(|i| m + 0.01 * (i as f64 - 3.5)).collect();
        Estimate {
            mean: m,
            ci_low: m - 0.02,
            ci_high: m + 0.02,
            per_seed,
        }
    }

    fn synthetic() -> S4FigureData {
        let labels = [
            "Rewarded, common",
            "Rewarded, uncommon",
            "Unrewarded, common",
            "Unrewarded, uncommon",
        ];
        let lag_labels = [
            "Common, rewarded",
            "Uncommon, rewarded",
            "Common, unrewarded",
            "Uncommon, unrewarded",
        ];
        let stay = [0.97, 0.7, 0.6, 0.95];
        let x: Vec<f64> = (0..500)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect();
        let y: Vec<f64> = x.iter().map(|v| 0.8 * v).collect();
        S4FigureData {
            title: "Simulation 4: two-step task".into(),
            n_seeds: 8,
            model_based_index: est(0.6),
            stay: labels
                .iter()
                .zip(stay)
                .map(|(l, s)| StayBar {
                    label: l.to_string(),
                    estimate: est(s),
                    paper: Some(s - 0.02),
                })
                .collect(),
            lag_weights: lag_labels
                .iter()
                .enumerate()
                .map(|(k, l)| LagSeries {
                    label: l.to_string(),
                    weights: (1..=5)
                        .map(|lag| est((1.0 - k as f64 * 0.5) / lag as f64))
                        .collect(),
                })
                .collect(),
            rpe: RpeScatter {
                seed: 0,
                n_episodes: 100,
                step: (0..y.len()).map(|i| (i % 2) as u8).collect(),
                network: y,
                model_based: x.clone(),
                model_free: x.iter().rev().copied().collect(),
                r2_model_based: 1.0,
                r2_model_free: 0.0,
                r2_stage2_model_based: 1.0,
                r2_stage2_model_free: 0.0,
            },
            daw: Some(DawPanel {
                steps: ["stage-2 step", "reward step"]
                    .iter()
                    .map(|l| DawStep {
                        label: l.to_string(),
                        model_based: est(0.85),
                        model_free: est(0.6),
                        hybrid: est(0.83),
                    })
                    .collect(),
                hybrid_w: est(0.76),
            }),
        }
    }

    #[test]
    fn renders_png_and_svg() {
        // Removed when the test ends, also when it fails.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stem = dir.join("s4");
        render(&synthetic(), &stem).unwrap();
        for ext in ["png", "svg"] {
            let path = dir.join(format!("s4.{ext}"));
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 10_000, "{} is only {len} bytes", path.display());
        }
        assert!(!dir.join("s4.tmp.png").exists() && !dir.join("s4.svg.tmp").exists());
    }
}
