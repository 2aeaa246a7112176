//! Simulation 3 figure, laid out like the paper's Fig. 4b–c. Top row: (a) the
//! network's RPE at each event of the trial (fixation, cue, saccade, outcome) in
//! four conditions — the last trial before a reversal, the first trial after it,
//! the next trial with the experienced cue and with the other (inferred) cue —
//! for cues that became rewarded and unrewarded at the reversal, mean ± 95% CI
//! over seeds, seeds as dots at the cue step; (b) the inferred-value effect beside
//! the experienced one; (c) following the reversal: cue-RPE sign and decoded
//! paying side by trials since the reversal. Bottom row: (d) PCA of one network's
//! LSTM state at each step type, reversal trials and the trials after them,
//! coloured by the paying side.

use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure_data::*;
use crate::plot;

const WIDTH: u32 = 2260;
const HEIGHT: u32 = 1340;
/// Panel header height (title, note, legend rows) so the plots of a row line up.
const HEADER: u32 = 128;
const TOP_ROW: u32 = 620;

/// Colours of the two cue kinds and of the two paying sides.
const REWARDED: RGBColor = plot::BLUE;
const UNREWARDED: RGBColor = plot::RED;
const LEFT_PAYS: RGBColor = plot::BLUE;
const RIGHT_PAYS: RGBColor = plot::ORANGE;

/// Writes `<stem>.png` and `<stem>.svg`.
pub fn render(data: &S3FigureData, stem: &Path) -> Result<()> {
    plot::render_png_and_svg(stem, WIDTH, HEIGHT, &S3Figure(data))
}

struct S3Figure<'a>(&'a S3FigureData);

impl plot::Figure for S3Figure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let d = self.0;
        let subtitle = format!(
            "n = {} seeds, mean \u{b1} 95% bootstrap CI over seeds, dots = seeds; weights frozen at test",
            d.n_seeds
        );
        let body = plot::draw_figure_title(root, &d.title, Some(&subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        let (top, bottom) = body.split_vertically(TOP_ROW);
        let (rpe, rest) = top.split_horizontally(1480);
        let (effect, follow) = rest.split_horizontally(360);
        draw_rpe_row(&rpe, d)?;
        draw_effect(&effect, d)?;
        draw_follow(&follow, d)?;
        draw_pca_row(&bottom, d)
    }
}

/// A shared y range for the RPE panels (means, CIs and the seeds at the cue step).
fn rpe_range(d: &S3FigureData) -> (f64, f64) {
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for p in &d.rpe {
        for e in p.rewarded.iter().chain(&p.unrewarded) {
            for v in [e.mean, e.ci_low, e.ci_high]
                .into_iter()
                .chain(e.per_seed.iter().copied())
                .filter(|v| v.is_finite())
            {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let pad = (hi - lo).max(0.1) * 0.06;
    (lo - pad, hi + pad)
}

fn draw_rpe_row<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S3FigureData) -> Result<()> {
    let y = rpe_range(d);
    let n = d.rpe.len().max(1);
    let w = area.dim_in_pixel().0 / n as u32;
    let mut rest = area.clone();
    for (i, p) in d.rpe.iter().enumerate() {
        let (cell, r) = rest.split_horizontally(w);
        rest = r;
        draw_rpe_panel(&cell, d, p, i == 0, y)?;
    }
    Ok(())
}

fn draw_rpe_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S3FigureData,
    p: &RpePanel,
    first: bool,
    (y0, y1): (f64, f64),
) -> Result<()> {
    let legend = [
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: REWARDED,
                filled: true,
            },
            "became rewarded",
        ),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: UNREWARDED,
                filled: false,
            },
            "became unrewarded",
        ),
    ];
    let trials: usize = p.n_rewarded.iter().chain(&p.n_unrewarded).sum();
    let note = format!("{} trials over seeds", trials);
    let plot_area = plot::draw_panel_header(
        area,
        if first { "a" } else { "" },
        &p.label,
        Some(&note),
        &legend,
        HEADER,
    )?;
    let n_ev = d.events.len();
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(10)
        .x_label_area_size(66)
        .y_label_area_size(if first { 78 } else { 56 })
        .build_cartesian_2d(-0.5..(n_ev as f64 - 0.5), y0..y1)
        .map_err(plot::plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .bold_line_style(plot::LIGHT_GREY)
        .axis_style(plot::DARK.stroke_width(1))
        .x_labels(0)
        .y_labels(6)
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .x_desc("event of the trial")
        .y_desc(if first { "network RPE (δ)" } else { "" })
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .map_err(plot::plot_err)?;
    // Event names as x tick labels.
    let (bx, by) = plot_area.get_base_pixel();
    let style = plot::font(plot::TICK_LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, ev) in d.events.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64, y0));
        plot_area
            .draw_text(ev, &style, (px - bx, py - by + 9))
            .map_err(plot::plot_err)?;
    }
    chart
        .draw_series(LineSeries::new(
            [(-0.5, 0.0), (n_ev as f64 - 0.5, 0.0)],
            plot::GREY.stroke_width(1),
        ))
        .map_err(plot::plot_err)?;
    for (k, (series, color, filled)) in [
        (&p.rewarded, REWARDED, true),
        (&p.unrewarded, UNREWARDED, false),
    ]
    .into_iter()
    .enumerate()
    {
        let shift = (k as f64 - 0.5) * 0.08;
        let line: Vec<(f64, f64)> = series
            .iter()
            .enumerate()
            .filter(|(_, e)| e.mean.is_finite())
            .map(|(i, e)| (i as f64 + shift, e.mean))
            .collect();
        if filled {
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(3)))
                .map_err(plot::plot_err)?;
        } else {
            chart
                .draw_series(DashedLineSeries::new(
                    line.clone(),
                    9,
                    6,
                    color.mix(0.8).stroke_width(2),
                ))
                .map_err(plot::plot_err)?;
        }
        // Seeds at the cue step, beside the mean.
        if let Some(cue) = series.get(1) {
            let x = 1.0 + shift * 2.5;
            chart
                .draw_series(
                    cue.per_seed
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, &v)| {
                            Circle::new(
                                (x + plot::jitter(i) * 0.08, v),
                                4,
                                color.mix(0.45).filled(),
                            )
                        }),
                )
                .map_err(plot::plot_err)?;
        }
        for (i, e) in series.iter().enumerate() {
            let x = i as f64 + shift;
            if e.ci_low.is_finite() && e.ci_high.is_finite() {
                chart
                    .draw_series([PathElement::new(
                        vec![(x, e.ci_low), (x, e.ci_high)],
                        plot::DARK.stroke_width(2),
                    )])
                    .map_err(plot::plot_err)?;
            }
        }
        chart
            .draw_series(line.iter().flat_map(|&at| plot::marker(at, color, filled)))
            .map_err(plot::plot_err)?;
    }
    Ok(())
}

fn draw_effect<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S3FigureData) -> Result<()> {
    let r = &d.ratio;
    plot::draw_bar_panel(
        area,
        &plot::BarPanel {
            letter: "b",
            title: "Inferred-value effect",
            header_height: HEADER,
            note: Some(format!(
                "ratio {:.2} [{:.2}, {:.2}]",
                r.mean, r.ci_low, r.ci_high
            )),
            x_label: "next trial's cue",
            y_label: "cue RPE, rewarded − unrewarded",
            y_range: (0.0, 0.5),
            groups: vec![
                plot::BarGroup {
                    label: "experienced",
                    bars: vec![plot::Bar {
                        label: "experienced cue",
                        estimate: &d.experienced_effect,
                        color: plot::GREY,
                        reference: None,
                    }],
                },
                plot::BarGroup {
                    label: "inferred",
                    bars: vec![plot::Bar {
                        label: "inferred cue",
                        estimate: &d.inferred_effect,
                        color: plot::GREEN,
                        reference: None,
                    }],
                },
            ],
            reference_label: "",
        },
    )
}

fn draw_follow<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S3FigureData) -> Result<()> {
    let pts = |v: &[crate::stats::Estimate]| -> Vec<(f64, f64, f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(k, e)| (k as f64, e.mean, e.ci_low, e.ci_high))
            .collect()
    };
    plot::draw_line_panel(
        area,
        &plot::LinePanel {
            letter: "c",
            title: "Following the reversal",
            header_height: HEADER,
            note: None,
            x_label: "trials since reversal",
            y_label: "share of trials",
            series: vec![
                plot::Series {
                    label: "cue RPE has the new sign",
                    color: plot::GREEN,
                    filled: true,
                    points: pts(&d.follow_rpe_sign),
                },
                plot::Series {
                    label: "decoded paying side",
                    color: plot::DARK,
                    filled: false,
                    points: pts(&d.follow_decoder),
                },
            ],
            dodge: 0.1,
        },
    )
}

fn draw_pca_row<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &S3FigureData) -> Result<()> {
    if d.pca.is_empty() {
        // The PCA's network (the run's first seed) failed in training.
        let (w, h) = area.dim_in_pixel();
        let style = plot::font(16.0).pos(Pos::new(HPos::Center, VPos::Center));
        area.draw_text(
            "no PCA: the network of the PCA condition failed in training",
            &style,
            (w as i32 / 2, h as i32 / 2),
        )
        .map_err(plot::plot_err)?;
        return Ok(());
    }
    let n = d.pca.len().max(1);
    let w = area.dim_in_pixel().0 / n as u32;
    let mut rest = area.clone();
    for (i, p) in d.pca.iter().enumerate() {
        let (cell, r) = rest.split_horizontally(w);
        rest = r;
        draw_pca_panel(&cell, d, p, i == 0)?;
    }
    Ok(())
}

fn draw_pca_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &S3FigureData,
    p: &PcaPanel,
    first: bool,
) -> Result<()> {
    let legend = [
        plot::LegendEntry::new(plot::LegendMark::Dot(LEFT_PAYS), "left pays"),
        plot::LegendEntry::new(plot::LegendMark::Dot(RIGHT_PAYS), "right pays"),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::DARK,
                filled: false,
            },
            "first trial after reversal (ring)",
        ),
        plot::LegendEntry::new(
            plot::LegendMark::Line {
                color: plot::DARK,
                filled: true,
            },
            "next trial (disc)",
        ),
    ];
    let title = format!("LSTM state at the {} step", p.step);
    let note = if first {
        format!(
            "one network (seed {}), PCA over {} test episodes; decoder at fixation {:.1}%",
            d.pca_seed,
            d.pca_episodes,
            100.0 * d.pca_decoder_accuracy
        )
    } else {
        String::new()
    };
    let legend: &[plot::LegendEntry] = if first { &legend } else { &[] };
    let plot_area = plot::draw_panel_header(
        area,
        if first { "d" } else { "" },
        &title,
        Some(&note),
        legend,
        HEADER,
    )?;
    let range = |f: &dyn Fn(&PcaPoint) -> f64| -> (f64, f64) {
        let (lo, hi) = p
            .points
            .iter()
            .map(f)
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo.is_finite() && hi > lo {
            let pad = (hi - lo) * 0.06;
            (lo - pad, hi + pad)
        } else {
            (-1.0, 1.0)
        }
    };
    let (x0, x1) = range(&|q| q.pc1);
    let (y0, y1) = range(&|q| q.pc2);
    let pct = |i: usize| 100.0 * p.explained.get(i).copied().unwrap_or(f64::NAN);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(16)
        .x_label_area_size(66)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot::plot_err)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(5)
        .disable_x_mesh()
        .disable_y_mesh()
        .axis_style(plot::DARK.stroke_width(1))
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
        .x_desc(format!("PC1 ({:.0}% of variance)", pct(0)))
        .y_desc(format!("PC2 ({:.0}%)", pct(1)))
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()
        .map_err(plot::plot_err)?;
    let color = |q: &PcaPoint| {
        if q.paying_side == 0 {
            LEFT_PAYS
        } else {
            RIGHT_PAYS
        }
    };
    // Reversal trials as rings, the trials after them as discs on top.
    chart
        .draw_series(
            p.points
                .iter()
                .filter(|q| !q.next_trial)
                .map(|q| Circle::new((q.pc1, q.pc2), 4, color(q).mix(0.6).stroke_width(1))),
        )
        .map_err(plot::plot_err)?;
    chart
        .draw_series(
            p.points
                .iter()
                .filter(|q| q.next_trial)
                .map(|q| Circle::new((q.pc1, q.pc2), 3, color(q).mix(0.45).filled())),
        )
        .map_err(plot::plot_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn est(m: f64) -> Estimate {
        Estimate {
            mean: m,
            ci_low: m - 0.03,
            ci_high: m + 0.03,
            per_seed: (0..8).map(|i| m + 0.01 * (i as f64 - 3.5)).collect(),
        }
    }

    #[test]
    fn renders_png_and_svg() {
        let labels = [
            "Last trial before reversal",
            "First trial after reversal",
            "Next trial, experienced cue",
            "Next trial, other cue (inferred)",
        ];
        let rpe = labels
            .iter()
            .enumerate()
            .map(|(c, l)| {
                let s = if c < 2 { -1.0 } else { 1.0 };
                RpePanel {
                    label: l.to_string(),
                    rewarded: vec![est(0.0), est(0.3 * s), est(0.0), est(0.5 * s)],
                    unrewarded: vec![est(0.0), est(-0.3 * s), est(0.0), est(-0.5 * s)],
                    n_rewarded: vec![100; 8],
                    n_unrewarded: vec![100; 8],
                }
            })
            .collect();
        let pca = ["fixation", "cue", "saccade", "outcome"]
            .iter()
            .map(|s| PcaPanel {
                step: s.to_string(),
                explained: vec![0.4, 0.2],
                points: (0..400)
                    .map(|i| {
                        let side = (i % 2) as u8;
                        PcaPoint {
                            pc1: if side == 0 { -1.0 } else { 1.0 } + 0.3 * plot::jitter(i),
                            pc2: plot::jitter(i + 7),
                            paying_side: side,
                            next_trial: i % 3 != 0,
                        }
                    })
                    .collect(),
            })
            .collect();
        let data = S3FigureData {
            title: "Simulation 3: RPEs reflect inferred values".into(),
            n_seeds: 8,
            events: ["fixation", "cue", "saccade", "outcome"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rpe,
            experienced_effect: est(0.6),
            inferred_effect: est(0.55),
            ratio: est(0.92),
            follow_rpe_sign: (0..6)
                .map(|k| est(if k == 0 { 0.02 } else { 0.97 }))
                .collect(),
            follow_decoder: (0..6)
                .map(|k| est(if k == 0 { 0.05 } else { 0.99 }))
                .collect(),
            decoder_accuracy: est(0.98),
            pca_seed: 1,
            pca_episodes: 1200,
            pca_decoder_accuracy: 0.985,
            pca,
        };
        // Removed when the test ends, also when it fails.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stem = dir.join("s3");
        render(&data, &stem).unwrap();
        for ext in ["png", "svg"] {
            let path = dir.join(format!("s3.{ext}"));
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 10_000, "{} is only {len} bytes", path.display());
        }
    }
}
