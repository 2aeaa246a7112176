//! Simulation 2 figure, laid out like the paper's Fig. 3b–d: (b) one test
//! episode — the true reward probability of arm 0, the network's probability of
//! choosing it, its choices and rewards, the volatile blocks shaded — and under
//! it the volatility decoded from the LSTM state (held out); (c) volatility in
//! the LSTM state: the share of volatility units (paper: 37%) and the decoder's
//! held-out accuracy, each beside shuffled block labels; (d) the fitted
//! learning rate α per block, with the Bayesian volatility learner's and the
//! fixed-hazard reversal learner's (no volatility inference); (e) reward
//! per trial of the network beside the reference learners.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure_data::*;
use crate::plot;

const WIDTH: u32 = 1860;
const HEIGHT: u32 = 1240;
/// Panel header height of the bottom row, so that its three plots line up.
const HEADER: u32 = 128;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &S2FigureData, stem: &Path) -> Result<()> {
    plot::render_png_and_svg(stem, WIDTH, HEIGHT, &S2Figure(data))
}

struct S2Figure<'a>(&'a S2FigureData);

impl plot::Figure for S2Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.0;
        let subtitle = format!(
            "n = {} seeds, mean \u{b1} 95% bootstrap CI over seeds, dots = seeds; weights frozen at test",
            d.n_seeds
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let (top, bottom) = body.split_vertically(560);
        draw_episode(&top, d)?;
        let (c, rest) = bottom.split_horizontally(560);
        let (dd, e) = rest.split_horizontally(740);
        draw_state(&c, d)?;
        draw_alpha(&dd, d)?;
        draw_reward(&e, d)
    }
}

/// x ranges [start, end) of the volatile stretches of an episode.
fn volatile_spans(v: &[bool]) -> Vec<(f64, f64)> {
    let mut out = vec![];
    let mut start = None;
    for (t, &x) in v.iter().chain([&false]).enumerate() {
        match (x, start) {
            (true, None) => start = Some(t),
            (false, Some(s)) => {
                out.push((s as f64 - 0.5, t as f64 - 0.5));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn draw_episode<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S2FigureData) -> Result<()> {
    let ex = &d.example;
    let n = ex.p_arm0.len();
    let legend = [
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::DARK,
                filled: true,
            },
            "true p(arm 0 pays)",
        ),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::BLUE,
                filled: true,
            },
            "network P(choose arm 0)",
        ),
        plot::LegendEntry::new(plot::LegendMark::Dot(plot::GREEN), "choice, rewarded"),
        plot::LegendEntry::new(plot::LegendMark::Dot(plot::RED), "choice, unrewarded"),
        plot::LegendEntry::new(plot::LegendMark::Swatch(plot::LIGHT_GREY), "volatile block"),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::ORANGE,
                filled: true,
            },
            "decoded volatility (held out)",
        ),
    ];
    let note = format!(
        "seed {}, test episode {} (first condition); choices at the top = arm 0, at the bottom = arm 1",
        ex.seed, ex.episode
    );
    let plot_area =
        plot::draw_panel_header(area, "b", "Example test episode", Some(&note), &legend, 0)?;
    let (upper, lower) = plot_area.split_vertically(plot_area.dim_in_pixel().1 * 62 / 100);
    let spans = volatile_spans(&ex.volatile);
    let x_range = -0.5..(n as f64 - 0.5);

    let mut chart = ChartBuilder::on(&upper)
        .margin_top(6)
        .margin_right(20)
        .x_label_area_size(10)
        .y_label_area_size(78)
        .build_cartesian_2d(x_range.clone(), -0.12..1.3)
        .map_err(plot::plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_labels(0)
        .y_labels(3)
        .axis_style(plot::DARK.stroke_width(1))
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .y_desc("probability")
        .y_label_formatter(&|v| {
            if *v > 1.05 {
                String::new()
            } else {
                format!("{v:.1}")
            }
        })
        .draw()
        .map_err(plot::plot_err)?;
    chart
        .draw_series(
            spans
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, -0.12), (b, 1.3)], plot::LIGHT_GREY.filled())),
        )
        .map_err(plot::plot_err)?;
    // Block names at the top of each block.
    let per_block = n / ex.block_labels.len().max(1);
    for (i, name) in ex.block_labels.iter().enumerate() {
        let x = (i * per_block) as f64 + per_block as f64 / 2.0;
        chart
            .draw_series([Text::new(
                name.clone(),
                (x, 1.28),
                plot::font(plot::NOTE_SIZE).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                )),
            )])
            .map_err(plot::plot_err)?;
    }
    let steps: Vec<(f64, f64)> = ex
        .p_arm0
        .iter()
        .enumerate()
        .flat_map(|(t, &p)| [(t as f64 - 0.5, p), (t as f64 + 0.5, p)])
        .collect();
    chart
        .draw_series(LineSeries::new(steps, plot::DARK.stroke_width(3)))
        .map_err(plot::plot_err)?;
    chart
        .draw_series(LineSeries::new(
            ex.policy_arm0
                .iter()
                .enumerate()
                .map(|(t, &p)| (t as f64, p)),
            plot::BLUE.stroke_width(2),
        ))
        .map_err(plot::plot_err)?;
    chart
        .draw_series(
            ex.choice
                .iter()
                .zip(&ex.rewarded)
                .enumerate()
                .map(|(t, (&c, &r))| {
                    let y = if c == 0 { 1.05 } else { -0.05 };
                    let color = if r { plot::GREEN } else { plot::RED };
                    Circle::new((t as f64, y), 3, color.filled())
                }),
        )
        .map_err(plot::plot_err)?;

    let mut chart = ChartBuilder::on(&lower)
        .margin_top(4)
        .margin_right(20)
        .x_label_area_size(56)
        .y_label_area_size(78)
        .build_cartesian_2d(x_range, -0.4..1.4)
        .map_err(plot::plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_labels(11)
        .y_labels(3)
        .axis_style(plot::DARK.stroke_width(1))
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .x_desc("trial")
        .y_desc("volatility")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()
        .map_err(plot::plot_err)?;
    chart
        .draw_series(
            spans
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, -0.4), (b, 1.4)], plot::LIGHT_GREY.filled())),
        )
        .map_err(plot::plot_err)?;
    let truth: Vec<(f64, f64)> = ex
        .volatile
        .iter()
        .enumerate()
        .flat_map(|(t, &v)| {
            let y = v as u8 as f64;
            [(t as f64 - 0.5, y), (t as f64 + 0.5, y)]
        })
        .collect();
    chart
        .draw_series(DashedLineSeries::new(
            truth,
            8,
            6,
            plot::GREY.stroke_width(2),
        ))
        .map_err(plot::plot_err)?;
    chart
        .draw_series(LineSeries::new(
            ex.decoded_volatility
                .iter()
                .enumerate()
                .map(|(t, &v)| (t as f64, v.clamp(-0.4, 1.4))),
            plot::ORANGE.stroke_width(2),
        ))
        .map_err(plot::plot_err)?;
    Ok(())
}

fn draw_state<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S2FigureData) -> Result<()> {
    let note = format!(
        "units: {:.0}% (null {:.0}%); decoding {:.2} (null {:.2})",
        100.0 * d.unit_share.mean,
        100.0 * d.unit_share_null.mean,
        d.decoding_accuracy.mean,
        d.decoding_accuracy_null.mean
    );
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "c",
            title: "Volatility in the LSTM state",
            header_height: HEADER,
            note: Some(note),
            x_label: "",
            y_label: "share of units / held-out accuracy",
            y_range: (0.0, 1.0),
            groups: vec![
                plot::BarGroup {
                    label: "Volatility units",
                    bars: vec![
                        plot::Bar {
                            label: "network",
                            estimate: &d.unit_share,
                            color: plot::BLUE,
                            reference: d.paper_unit_share,
                        },
                        plot::Bar {
                            label: "shuffled block labels",
                            estimate: &d.unit_share_null,
                            color: plot::GREY,
                            reference: None,
                        },
                    ],
                },
                plot::BarGroup {
                    label: "Decoding accuracy",
                    bars: vec![
                        plot::Bar {
                            label: "network",
                            estimate: &d.decoding_accuracy,
                            color: plot::BLUE,
                            reference: None,
                        },
                        plot::Bar {
                            label: "shuffled block labels",
                            estimate: &d.decoding_accuracy_null,
                            color: plot::GREY,
                            reference: None,
                        },
                    ],
                },
            ],
            reference_label: "paper (37%)",
        },
    )
}

fn draw_alpha<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S2FigureData) -> Result<()> {
    let note = format!(
        "volatile − stable: network {:.3} [{:.3}, {:.3}], Bayes {:.3}, fixed hazard {:.3}",
        d.alpha_difference.mean,
        d.alpha_difference.ci_low,
        d.alpha_difference.ci_high,
        d.bayes_alpha_difference.mean,
        d.fixed_hazard_alpha_difference.mean
    );
    let groups = d
        .alpha_blocks
        .iter()
        .map(|b| plot::BarGroup {
            label: &b.label,
            bars: vec![
                plot::Bar {
                    label: "network",
                    estimate: &b.network,
                    color: plot::BLUE,
                    reference: None,
                },
                plot::Bar {
                    label: "Bayesian volatility learner",
                    estimate: &b.bayes,
                    color: plot::GREY,
                    reference: None,
                },
                plot::Bar {
                    label: "fixed-hazard learner",
                    estimate: &b.fixed_hazard,
                    color: plot::RED,
                    reference: None,
                },
            ],
        })
        .collect();
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "d",
            title: "Learning rate per block (delta-rule fit)",
            header_height: HEADER,
            note: Some(note),
            x_label: "block (humans, Behrens et al. 2007: higher α when volatile)",
            y_label: "fitted learning rate α",
            y_range: (0.0, 0.3),
            groups,
            reference_label: "",
        },
    )
}

fn draw_reward<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S2FigureData) -> Result<()> {
    let bars = vec![
        plot::Bar {
            label: "network",
            estimate: &d.reward,
            color: plot::BLUE,
            reference: None,
        },
        plot::Bar {
            label: "best fixed α",
            estimate: &d.best_fixed_reward,
            color: plot::ORANGE,
            reference: None,
        },
        plot::Bar {
            label: "Bayesian",
            estimate: &d.bayes_reward,
            color: plot::GREY,
            reference: None,
        },
        plot::Bar {
            label: "knows p",
            estimate: &d.oracle_reward,
            color: plot::GREEN,
            reference: None,
        },
    ];
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "e",
            title: "Reward per trial",
            header_height: HEADER,
            note: Some("on the same test episodes".into()),
            x_label: "",
            y_label: "reward per trial",
            y_range: (0.5, 0.8),
            groups: vec![plot::BarGroup { label: "", bars }],
            reference_label: "",
        },
    )
}
