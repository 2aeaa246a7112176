//! The introductory-bandits figure, laid out after the paper's Fig. 1c–f:
//! (a, b) cumulative regret on random independent and correlated bandits for
//! the two networks and the reference agents, with 95% bands over seeds;
//! (c, d) probability of choosing the better arm by trial on the fixed
//! problems 0.25/0.75 and 0.6/0.4; (e, f) PCA of the correlated-trained
//! network's LSTM state on random correlated bandits, coloured by p_L.

use std::path::Path;

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure_data::*;
use crate::plot::{self, plot_err, LegendEntry, LegendMark};

const WIDTH: u32 = 1950;
const HEIGHT: u32 = 1320;
/// Panel header height (title, note, legend rows) so that panels side by side line up.
const HEADER: u32 = 150;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &F1FigureData, stem: &Path) -> Result<()> {
    plot::render_png_and_svg(stem, WIDTH, HEIGHT, &F1Figure(data))
}

struct F1Figure<'a>(&'a F1FigureData);

impl plot::Figure for F1Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.0;
        let subtitle = format!(
            "n = {} seeds per network, {} test episodes of {} trials per seed and problem; \
             mean and 95% bootstrap band over seeds; Gittins discount {}",
            d.n_seeds, d.episodes, d.trials, d.gittins_discount
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let (top, bottom) = body.split_vertically(body.dim_in_pixel().1 / 2);
        let w = top.dim_in_pixel().0 / 3;
        let (a, rest) = top.split_horizontally(w);
        let (b, c) = rest.split_horizontally(w);
        let (dd, rest) = bottom.split_horizontally(w);
        let (e, f) = rest.split_horizontally(w);
        for (area, panel, letter) in [(&a, 0, "a"), (&b, 1, "b")] {
            if let Some(p) = d.regret.get(panel) {
                draw_regret(area, p, letter, d)?;
            }
        }
        for (area, panel, letter) in [(&c, 0, "c"), (&dd, 1, "d")] {
            if let Some(p) = d.better.get(panel) {
                draw_better(area, p, letter, d)?;
            }
        }
        if d.pca.trajectories.is_empty() {
            // No replay of a frozen network (the plastic test, or the reference
            // agents' tables): say so, draw no axes.
            let note = "not computed: the PCA replays the frozen network from its checkpoint, \
                        and this run has none (plastic test, or reference agents)";
            plot::draw_panel_header(&e, "e", "LSTM state: no PCA", Some(note), &[], HEADER)?;
            return Ok(());
        }
        draw_pca_trajectories(&e, &d.pca)?;
        draw_pca_last(&f, &d.pca)
    }
}

/// Colour, solid line (else dashed) and line width of an agent.
fn style(agent: &str) -> (RGBColor, bool, u32) {
    match agent {
        "network_independent" => (plot::BLUE, true, 4),
        "network_correlated" => (plot::ORANGE, true, 4),
        "network_independent_greedy" => (plot::BLUE, false, 3),
        "network_correlated_greedy" => (plot::ORANGE, false, 3),
        "bayes_independent" | "bayes_correlated" => (plot::DARK, false, 2),
        "gittins" => (plot::GREEN, true, 2),
        "thompson" => (plot::RED, true, 2),
        _ => (plot::GREY, true, 2),
    }
}

fn condition_title(condition: &str, d: &F1FigureData) -> String {
    match d.fixed_problems.iter().find(|f| f.condition == condition) {
        Some(f) if f.random_sides => format!("p = {} / {}, random sides", f.p[0], f.p[1]),
        Some(f) => format!("p_L = {}, p_R = {}", f.p[0], f.p[1]),
        None => format!("{condition} bandits"),
    }
}

struct Band<'a> {
    curve: &'a Curve,
    label: String,
}

#[allow(clippy::too_many_arguments)]
fn draw_bands<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    letter: &str,
    title: &str,
    note: Option<&str>,
    x_label: &str,
    y_label: &str,
    bands: &[Band<'_>],
    y_range: Option<(f64, f64)>,
) -> Result<()> {
    plot::ensure_fonts();
    let legend: Vec<LegendEntry> = bands
        .iter()
        .map(|b| {
            let (color, filled, _) = style(&b.curve.agent);
            LegendEntry::new(LegendMark::Line { color, filled }, b.label.clone())
        })
        .collect();
    let plot_area = plot::draw_panel_header(area, letter, title, note, &legend, HEADER)?;
    let n = bands.first().map_or(1, |b| b.curve.mean.len());
    let (y0, y1) = y_range.unwrap_or_else(|| {
        let hi = bands
            .iter()
            .flat_map(|b| b.curve.ci_high.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        (0.0, (hi * 1.05).max(1e-6))
    });
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(24)
        .x_label_area_size(66)
        .y_label_area_size(78)
        .build_cartesian_2d(0.0..(n as f64 + 1.0), y0..y1)
        .map_err(plot_err)?;
    let y_step = (y1 - y0) / 6.0;
    let decimals = if y_step >= 1.0 {
        0
    } else {
        1 + (-y_step.log10()).floor() as usize
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .bold_line_style(plot::LIGHT_GREY)
        .axis_style(plot::DARK.stroke_width(1))
        .x_labels(6)
        .y_labels(6)
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .draw()
        .map_err(plot_err)?;
    let xs = |k: usize| (k + 1) as f64;
    for b in bands {
        let (color, _, _) = style(&b.curve.agent);
        let c = b.curve;
        let mut poly: Vec<(f64, f64)> = (0..c.mean.len())
            .filter(|&k| c.ci_low[k].is_finite())
            .map(|k| (xs(k), c.ci_low[k].clamp(y0, y1)))
            .collect();
        poly.extend(
            (0..c.mean.len())
                .rev()
                .filter(|&k| c.ci_high[k].is_finite())
                .map(|k| (xs(k), c.ci_high[k].clamp(y0, y1))),
        );
        chart
            .draw_series(std::iter::once(Polygon::new(
                poly,
                color.mix(0.16).filled(),
            )))
            .map_err(plot_err)?;
    }
    for b in bands {
        let (color, solid, width) = style(&b.curve.agent);
        let c = b.curve;
        let line: Vec<(f64, f64)> = (0..c.mean.len())
            .filter(|&k| c.mean[k].is_finite())
            .map(|k| (xs(k), c.mean[k].clamp(y0, y1)))
            .collect();
        if solid {
            chart
                .draw_series(segments(&line, color.stroke_width(width)))
                .map_err(plot_err)?;
        } else {
            chart
                .draw_series(DashedLineSeries::new(
                    line,
                    10,
                    6,
                    color.stroke_width(width),
                ))
                .map_err(plot_err)?;
        }
    }
    Ok(())
}

fn draw_regret<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &CurvePanel,
    letter: &str,
    d: &F1FigureData,
) -> Result<()> {
    let bands: Vec<Band> = p
        .curves
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let fin = p.final_estimates.get(k).map(|e| e.mean);
            let ratio = p.ratios.get(k).copied().flatten();
            let label = match (fin, ratio) {
                (Some(f), Some(r)) => format!("{} {f:.2} (\u{d7}{r:.2})", short(&c.agent)),
                (Some(f), None) => format!("{} {f:.2}", short(&c.agent)),
                _ => short(&c.agent).to_string(),
            };
            Band { curve: c, label }
        })
        .collect();
    let title = format!("Cumulative regret, {}", condition_title(&p.condition, d));
    let note = "legend: regret at trial 100 (\u{d7} Bayes-optimal); greedy = post-hoc readout";
    draw_bands(
        area,
        letter,
        &title,
        Some(note),
        "trial",
        "cumulative regret",
        &bands,
        None,
    )
}

fn draw_better<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &CurvePanel,
    letter: &str,
    d: &F1FigureData,
) -> Result<()> {
    let bands: Vec<Band> = p
        .curves
        .iter()
        .map(|c| Band {
            curve: c,
            label: short(&c.agent).to_string(),
        })
        .collect();
    let title = format!("P(better arm), {}", condition_title(&p.condition, d));
    draw_bands(
        area,
        letter,
        &title,
        None,
        "trial",
        "P(choose the better arm)",
        &bands,
        Some((0.4, 1.0)),
    )
}

/// A polyline as separate two-point segments: plotters joins the segments of
/// a thick polyline with mitres, which shoot far out of the frame where a
/// noisy curve turns back sharply.
fn segments(line: &[(f64, f64)], style: ShapeStyle) -> Vec<PathElement<(f64, f64)>> {
    line.windows(2)
        .map(|w| PathElement::new(vec![w[0], w[1]], style))
        .collect()
}

/// Short legend names of the agents.
fn short(agent: &str) -> &str {
    match agent {
        "network_independent" => "net (indep.-trained)",
        "network_correlated" => "net (corr.-trained)",
        "network_independent_greedy" => "indep. net, greedy",
        "network_correlated_greedy" => "corr. net, greedy",
        "bayes_independent" => "Bayes-opt. (indep.)",
        "bayes_correlated" => "Bayes-opt. (corr.)",
        "gittins" => "Gittins",
        "thompson" => "Thompson",
        "ucb1" => "UCB1",
        other => other,
    }
}

/// p_L from 0 (blue) through grey (0.5) to 1 (red).
fn p_color(p: f64) -> RGBColor {
    let mid = RGBColor(0xB4, 0xB4, 0xB4);
    let (a, b, w) = if p < 0.5 {
        (plot::BLUE, mid, p / 0.5)
    } else {
        (mid, plot::RED, (p - 0.5) / 0.5)
    };
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * w.clamp(0.0, 1.0)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn p_legend() -> Vec<LegendEntry> {
    [0.05, 0.25, 0.5, 0.75, 0.95]
        .iter()
        .map(|&p| LegendEntry::new(LegendMark::Dot(p_color(p)), format!("p_L {p}")))
        .collect()
}

fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo.is_finite() && hi > lo {
        let pad = 0.06 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (-1.0, 1.0)
    }
}

fn pca_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_label: &str,
    y_label: &str,
) -> Result<()> {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .axis_style(plot::DARK.stroke_width(1))
        .x_labels(6)
        .y_labels(6)
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()
        .map_err(plot_err)
}

fn draw_pca_trajectories<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &PcaPanel,
) -> Result<()> {
    let note = format!(
        "seed {}, correlated bandits; mean per p_L bin; \u{25cb} trial 1, \u{25cf} trial {}",
        p.seed,
        p.trajectories.first().map_or(0, |t| t.pc.len())
    );
    let title = format!(
        "LSTM state, PC1 ({:.0}%) \u{d7} PC2 ({:.0}%)",
        100.0 * p.explained[0],
        100.0 * p.explained[1]
    );
    let plot_area = plot::draw_panel_header(area, "e", &title, Some(&note), &p_legend(), HEADER)?;
    let pts = || p.trajectories.iter().flat_map(|t| t.pc.iter());
    let (x0, x1) = range_of(pts().map(|c| c[0]));
    let (y0, y1) = range_of(pts().map(|c| c[1]));
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(24)
        .x_label_area_size(66)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    pca_mesh(&mut chart, "PC1", "PC2")?;
    for t in &p.trajectories {
        let color = p_color(0.5 * (t.p_left_low + t.p_left_high));
        let line: Vec<(f64, f64)> = t.pc.iter().map(|c| (c[0], c[1])).collect();
        chart
            .draw_series(segments(&line, color.stroke_width(3)))
            .map_err(plot_err)?;
        if let (Some(&first), Some(&last)) = (line.first(), line.last()) {
            chart
                .draw_series([
                    Circle::new(first, 6, WHITE.filled()),
                    Circle::new(first, 6, color.stroke_width(2)),
                    Circle::new(last, 7, color.filled()),
                ])
                .map_err(plot_err)?;
        }
    }
    Ok(())
}

fn draw_pca_last<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &PcaPanel) -> Result<()> {
    let note = format!(
        "seed {}, one dot per episode; |r|(PC1, p_L) = {:.2}",
        p.seed, p.abs_r
    );
    let plot_area = plot::draw_panel_header(
        area,
        "f",
        "State at the last trial against p_L",
        Some(&note),
        &p_legend(),
        HEADER,
    )?;
    let (y0, y1) = range_of(p.last_trial.iter().map(|r| r[1]));
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(24)
        .x_label_area_size(66)
        .y_label_area_size(78)
        .build_cartesian_2d(-0.02..1.02, y0..y1)
        .map_err(plot_err)?;
    pca_mesh(&mut chart, "p_L", "PC1 at the last trial")?;
    chart
        .draw_series(
            p.last_trial
                .iter()
                .filter(|r| r[0].is_finite() && r[1].is_finite())
                .map(|r| Circle::new((r[0], r[1]), 4, p_color(r[0]).mix(0.8).filled())),
        )
        .map_err(plot_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn curve(agent: &str, scale: f64) -> Curve {
        let mean: Vec<f64> = (1..=100).map(|t| scale * (t as f64).ln()).collect();
        Curve {
            agent: agent.into(),
            label: agent.into(),
            ci_low: mean.iter().map(|m| m * 0.9).collect(),
            ci_high: mean.iter().map(|m| m * 1.1).collect(),
            mean,
        }
    }

    fn est(m: f64) -> Estimate {
        Estimate {
            mean: m,
            ci_low: m * 0.9,
            ci_high: m * 1.1,
            per_seed: vec![m; 8],
        }
    }

    fn synthetic() -> F1FigureData {
        let agents = [
            "network_independent",
            "network_correlated",
            "bayes_independent",
            "gittins",
            "thompson",
            "ucb1",
        ];
        let panel = |cond: &str| CurvePanel {
            condition: cond.into(),
            curves: agents
                .iter()
                .enumerate()
                .map(|(k, a)| curve(a, 0.3 + 0.1 * k as f64))
                .collect(),
            final_estimates: agents.iter().map(|_| est(2.0)).collect(),
            ratios: agents.iter().map(|_| Some(1.2)).collect(),
        };
        let better = |cond: &str| CurvePanel {
            condition: cond.into(),
            curves: agents
                .iter()
                .map(|a| {
                    let mean: Vec<f64> = (1..=100).map(|t| 1.0 - 0.5 / t as f64).collect();
                    Curve {
                        agent: a.to_string(),
                        label: a.to_string(),
                        ci_low: mean.iter().map(|m| m - 0.03).collect(),
                        ci_high: mean.iter().map(|m| (m + 0.03f64).min(1.0)).collect(),
                        mean,
                    }
                })
                .collect(),
            final_estimates: vec![],
            ratios: vec![],
        };
        F1FigureData {
            title: "Introductory bandits".into(),
            n_seeds: 8,
            episodes: 300,
            trials: 100,
            gittins_discount: 0.98,
            better_arm_threshold: 0.75,
            fixed_problems: vec![
                FixedProblem {
                    condition: "fixed_25_75".into(),
                    p: [0.25, 0.75],
                    random_sides: true,
                },
                FixedProblem {
                    condition: "fixed_60_40".into(),
                    p: [0.6, 0.4],
                    random_sides: false,
                },
            ],
            expected_regret_under_prior: ExpectedRegret {
                bayes_independent: 1.75,
                bayes_correlated: 1.22,
            },
            regret: vec![panel("independent"), panel("correlated")],
            better: vec![better("fixed_25_75"), better("fixed_60_40")],
            pca: PcaPanel {
                seed: 1,
                variant: "correlated".into(),
                explained: [0.6, 0.2],
                abs_r: 0.9,
                max_policy_difference: 1e-7,
                trajectories: (0..8)
                    .map(|b| PcaTrajectory {
                        p_left_low: b as f64 / 8.0,
                        p_left_high: (b + 1) as f64 / 8.0,
                        episodes: 30,
                        pc: (0..100)
                            .map(|t| {
                                let s = t as f64 / 100.0;
                                [(b as f64 - 3.5) * s, s * s]
                            })
                            .collect(),
                    })
                    .collect(),
                last_trial: (0..300)
                    .map(|e| {
                        let p = e as f64 / 300.0;
                        [p, 2.0 * p - 1.0, 0.0]
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn renders_png_and_svg() {
        // Removed when the test ends, also when it fails.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stem = dir.join("f1");
        render(&synthetic(), &stem).unwrap();
        for ext in ["png", "svg"] {
            let path = dir.join(format!("f1.{ext}"));
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 10_000, "{} is only {len} bytes", path.display());
        }
    }

    #[test]
    fn colours_run_from_blue_to_red() {
        assert_eq!(p_color(0.0), plot::BLUE);
        assert_eq!(p_color(1.0), plot::RED);
    }
}
