//! Simulation 6 figure, laid out like the paper's Fig. 7b: three panels, one
//! per manipulation of the RPE input, each with the risky choice at p_high and
//! p_low, control beside the manipulation (mean, 95% CI, per-seed dots).

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure_data::*;
use crate::plot;

const WIDTH: u32 = 1800;
const HEIGHT: u32 = 640;
/// Panel header height (title, note, legend) so the three plots line up.
const HEADER: u32 = 118;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &S6FigureData, stem: &Path) -> Result<()> {
    plot::render_png_and_svg(stem, WIDTH, HEIGHT, &S6Figure(data))
}

struct S6Figure<'a>(&'a S6FigureData);

/// Blocking (lowering the RPE input) in blue, stimulating (raising it) in red.
fn manipulation_color(p: &ManipulationPanel) -> RGBColor {
    if p.add < 0.0 {
        plot::BLUE
    } else {
        plot::RED
    }
}

fn fmt_p(p: f64) -> String {
    format!("p = {}", p)
}

impl plot::Figure for S6Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.0;
        let c = &d.control_high_minus_low;
        let subtitle = format!(
            "RPE-input agent, weights frozen; n = {} seeds, mean \u{b1} 95% bootstrap CI, dots = seeds; \
             control {} − {}: {:+.3} [{:+.3}, {:+.3}]",
            d.n_seeds,
            fmt_p(d.p_high),
            fmt_p(d.p_low),
            c.mean,
            c.ci_low,
            c.ci_high
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let w = body.dim_in_pixel().0 / 3;
        let (a, rest) = body.split_horizontally(w);
        let (b, c) = rest.split_horizontally(w);
        let letters = ["a", "b", "c"];
        for ((area, panel), letter) in [a, b, c].iter().zip(&d.panels).zip(letters) {
            draw_panel(area, d, panel, letter)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S6FigureData,
    p: &ManipulationPanel,
    letter: &str,
) -> Result<()> {
    let (high, low) = (fmt_p(d.p_high), fmt_p(d.p_low));
    let label = format!("{} ({:+})", p.label, p.add);
    let color = manipulation_color(p);
    let groups = vec![
        plot::BarGroup {
            label: &high,
            bars: vec![
                plot::Bar {
                    label: "control",
                    estimate: &d.control_high,
                    color: plot::GREY,
                    reference: None,
                },
                plot::Bar {
                    label: &label,
                    estimate: &p.risky_high,
                    color,
                    reference: None,
                },
            ],
        },
        plot::BarGroup {
            label: &low,
            bars: vec![
                plot::Bar {
                    label: "control",
                    estimate: &d.control_low,
                    color: plot::GREY,
                    reference: None,
                },
                plot::Bar {
                    label: &label,
                    estimate: &p.risky_low,
                    color,
                    reference: None,
                },
            ],
        },
    ];
    let e = &p.effect;
    let rats = if p.rats_direction > 0.0 {
        "rats: more risky"
    } else {
        "rats: less risky"
    };
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter,
            title: &p.label,
            header_height: HEADER,
            note: Some(format!(
                "effect {:+.3} [{:+.3}, {:+.3}] ({rats})",
                e.mean, e.ci_low, e.ci_high
            )),
            x_label: "risky lever's payout probability",
            y_label: "P(risky choice)",
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

    #[test]
    fn renders_png_and_svg() {
        let panel = |name: &str, add: f64, dir: f64, shift: f64| ManipulationPanel {
            condition: name.into(),
            label: name.into(),
            rats_direction: dir,
            add,
            risky_high: est(0.6 + shift),
            risky_low: est(0.2 + shift),
            effect_high: est(shift),
            effect_low: est(shift),
            effect: est(shift),
        };
        let data = S6FigureData {
            title: "Simulation 6: the two roles of dopamine".into(),
            n_seeds: 8,
            p_high: 0.5,
            p_low: 0.125,
            control_high: est(0.6),
            control_low: est(0.2),
            control_high_minus_low: est(0.4),
            panels: vec![
                panel("Block DA at risky win", -4.0, -1.0, -0.1),
                panel("Block DA at safe win", -1.0, 1.0, 0.1),
                panel("Stimulate DA at risky loss", 4.0, 1.0, 0.2),
            ],
            curves: vec![],
        };
        // Removed when the test ends, also when it fails.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stem = dir.join("s6");
        render(&data, &stem).unwrap();
        for ext in ["png", "svg"] {
            let path = dir.join(format!("s6.{ext}"));
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 10_000, "{} is only {len} bytes", path.display());
        }
    }
}
