//! The training curves of a run (from training.parquet): reward per episode and
//! policy entropy over training, one line per seed (and variant). This is the
//! picture to look at first when a result looks off: a seed on a plateau at
//! chance, a collapse of the entropy, a divergence.

use crate::plot;
use crate::record::{col_f64, col_str, col_u64, read_parquet};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Ten distinguishable colours (seeds are many; the shared palette has five).
fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 10] = [
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0xff, 0x7f, 0x0e),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0x8c, 0x56, 0x4b),
        RGBColor(0xe3, 0x77, 0xc2),
        RGBColor(0x7f, 0x7f, 0x7f),
        RGBColor(0xbc, 0xbd, 0x22),
        RGBColor(0x17, 0xbe, 0xcf),
    ];
    C[i % C.len()]
}

/// One line: label, (episodes, value) points.
type Curve = (String, Vec<(f64, f64)>);

struct CurvesFigure {
    title: String,
    reward: Vec<Curve>,
    entropy: Vec<Curve>,
    /// Colour index of each line (by variant when there are variants, else by seed).
    colors: Vec<usize>,
}

/// Moving average over `w` points (centred where possible), to make a noisy
/// per-update curve readable; the raw values are in training.parquet.
fn smooth(v: &[(f64, f64)], w: usize) -> Vec<(f64, f64)> {
    if w <= 1 || v.len() <= w {
        return v.to_vec();
    }
    let mut out = Vec::with_capacity(v.len() / w + 1);
    for chunk in v.chunks(w) {
        let x = chunk[chunk.len() / 2].0;
        let y = chunk.iter().map(|p| p.1).sum::<f64>() / chunk.len() as f64;
        out.push((x, y));
    }
    out
}

/// Render `<stem>.png` and `.svg` from a run's training.parquet.
pub fn render(run_dir: &Path, title: &str, stem: &Path) -> Result<()> {
    let df = read_parquet(&run_dir.join("training.parquet"))?;
    let seeds = col_u64(&df, "seed")?;
    let variants = if df.column("variant").is_ok() {
        Some(col_str(&df, "variant")?)
    } else {
        None
    };
    let episodes = col_u64(&df, "episodes")?;
    let reward = col_f64(&df, "mean_episode_reward")?;
    let entropy = col_f64(&df, "entropy")?;
    // Lines in table order: one per (variant, seed).
    let mut keys: Vec<(Option<String>, u64)> = vec![];
    let mut index = vec![];
    for i in 0..seeds.len() {
        let key = (variants.as_ref().map(|v| v[i].clone()), seeds[i]);
        let k = match keys.iter().position(|x| *x == key) {
            Some(k) => k,
            None => {
                keys.push(key);
                keys.len() - 1
            }
        };
        index.push(k);
    }
    let mut r: Vec<Vec<(f64, f64)>> = vec![vec![]; keys.len()];
    let mut e: Vec<Vec<(f64, f64)>> = vec![vec![]; keys.len()];
    for i in 0..seeds.len() {
        r[index[i]].push((episodes[i] as f64, reward[i]));
        e[index[i]].push((episodes[i] as f64, entropy[i]));
    }
    let mut variant_names: Vec<String> = vec![];
    let mut colors = vec![];
    let mut labels = vec![];
    for (k, (v, s)) in keys.iter().enumerate() {
        match v {
            Some(v) => {
                if !variant_names.contains(v) {
                    variant_names.push(v.clone());
                }
                colors.push(variant_names.iter().position(|x| x == v).unwrap());
                labels.push(format!("{v}/{s}"));
            }
            None => {
                colors.push(k);
                labels.push(format!("seed {s}"));
            }
        }
    }
    let w = (r.first().map_or(0, |c| c.len()) / 100).max(1);
    let fig = CurvesFigure {
        title: format!("{title}: training curves"),
        reward: labels
            .iter()
            .zip(&r)
            .map(|(l, c)| (l.clone(), smooth(c, w)))
            .collect(),
        entropy: labels
            .iter()
            .zip(&e)
            .map(|(l, c)| (l.clone(), smooth(c, w)))
            .collect(),
        colors,
    };
    plot::render_png_and_svg(stem, 1400, 520, &fig)
}

impl plot::Figure for CurvesFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = plot::draw_figure_title(
            root,
            &self.title,
            Some("one line per seed, averaged over 1% of the updates; raw values in training.parquet"),
        )?;
        let (a, b) = body.margin(0, 10, 10, 10).split_horizontally(690);
        self.panel(&a, "a", "Reward per training episode", &self.reward)?;
        self.panel(
            &b,
            "b",
            "Policy entropy per episode (nats, summed over its steps)",
            &self.entropy,
        )
    }
}

impl CurvesFigure {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        letter: &str,
        title: &str,
        curves: &[Curve],
    ) -> Result<()> {
        let legend: Vec<plot::LegendEntry> = if curves.len() <= 16 {
            curves
                .iter()
                .zip(&self.colors)
                .map(|((l, _), c)| {
                    plot::LegendEntry::new(plot::LegendMark::Dot(color(*c)), l.clone())
                })
                .collect()
        } else {
            vec![]
        };
        let plot_area = plot::draw_panel_header(area, letter, title, None, &legend, 90)?;
        let pts = || curves.iter().flat_map(|(_, c)| c.iter());
        let (x1, mut y0, mut y1) = pts().fold(
            (1.0f64, f64::INFINITY, f64::NEG_INFINITY),
            |(x, lo, hi), p| (x.max(p.0), lo.min(p.1), hi.max(p.1)),
        );
        if !y0.is_finite() || !y1.is_finite() {
            (y0, y1) = (0.0, 1.0);
        }
        let pad = ((y1 - y0) * 0.05).max(1e-6);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(10)
            .margin_right(20)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..x1, (y0 - pad)..(y1 + pad))
            .map_err(plot::plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .bold_line_style(plot::LIGHT_GREY)
            .label_style(plot::font(plot::TICK_LABEL_SIZE))
            .axis_desc_style(plot::font(plot::AXIS_LABEL_SIZE))
            .x_desc("training episodes")
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .draw()
            .map_err(plot::plot_err)?;
        for ((_, c), k) in curves.iter().zip(&self.colors) {
            chart
                .draw_series(LineSeries::new(
                    c.iter().copied(),
                    color(*k).stroke_width(2),
                ))
                .map_err(plot::plot_err)?;
        }
        Ok(())
    }
}
