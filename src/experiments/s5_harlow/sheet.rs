//! The sample sheet of Simulation 5: what the agent sees. A grid of images from
//! the training pool, one from the held-out test pool, and a row of the random
//! codes that replace the images in the symbolic control. Drawn pixel by pixel
//! (grey squares), so that the PNG and the SVG show the exact pixel values.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::plot;
use crate::tasks::harlow::HarlowConfig;
use crate::tasks::images::{self, Stimuli};

/// Images shown on the sheet (grey levels in [0, 1], row-major, side × side each).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleSheet {
    pub side: usize,
    pub n_train_pool: usize,
    pub n_test_pool: usize,
    pub train: Vec<Vec<f32>>,
    pub test: Vec<Vec<f32>>,
    /// Codes of the symbolic control (empty if not shown).
    pub symbols: Vec<Vec<f32>>,
}

impl SampleSheet {
    /// The first `n` images of each pool of `task` (and, with `symbols`, the first
    /// `n_symbols` random codes that replace them in the symbolic control).
    pub fn from_task(task: &HarlowConfig, n: usize, n_symbols: usize) -> Self {
        let mut spec = task.pool_spec();
        spec.stimuli = Stimuli::Images;
        let pools = images::pools(&spec);
        let take = |test: bool, n: usize, pools: &images::Pools| -> Vec<Vec<f32>> {
            let count = if test {
                pools.n_test()
            } else {
                pools.n_train()
            };
            (0..n.min(count))
                .map(|i| pools.image(test, i).to_vec())
                .collect()
        };
        let symbols = if n_symbols > 0 {
            spec.stimuli = Stimuli::Symbols;
            take(false, n_symbols, &images::pools(&spec))
        } else {
            vec![]
        };
        SampleSheet {
            side: pools.side,
            n_train_pool: pools.n_train(),
            n_test_pool: pools.n_test(),
            train: take(false, n, &pools),
            test: take(true, n, &pools),
            symbols,
        }
    }
}

/// Pixels per image pixel on the sheet.
const SCALE: i32 = 7;
const GAP: i32 = 8;

/// Draw a grid of images (`cols` per row) with its top-left corner at (x, y);
/// returns the grid's height in pixels.
fn draw_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    images: &[Vec<f32>],
    side: usize,
    cols: usize,
    (x, y): (i32, i32),
) -> Result<i32> {
    let cell = side as i32 * SCALE;
    for (k, img) in images.iter().enumerate() {
        let (gx, gy) = (
            x + (k % cols) as i32 * (cell + GAP),
            y + (k / cols) as i32 * (cell + GAP),
        );
        for (i, &v) in img.iter().enumerate() {
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            let (px, py) = (
                gx + (i % side) as i32 * SCALE,
                gy + (i / side) as i32 * SCALE,
            );
            area.draw(&Rectangle::new(
                [(px, py), (px + SCALE, py + SCALE)],
                RGBColor(g, g, g).filled(),
            ))
            .map_err(plot::plot_err)?;
        }
        area.draw(&Rectangle::new(
            [(gx - 1, gy - 1), (gx + cell, gy + cell)],
            plot::GREY.stroke_width(1),
        ))
        .map_err(plot::plot_err)?;
    }
    let rows = images.len().div_ceil(cols) as i32;
    Ok(rows * (cell + GAP))
}

/// Width and height in pixels of a grid of `n` images with `cols` columns.
pub fn grid_size(n: usize, side: usize, cols: usize) -> (i32, i32) {
    let cell = side as i32 * SCALE;
    let rows = n.div_ceil(cols) as i32;
    (
        cols.min(n) as i32 * (cell + GAP) - GAP,
        rows * (cell + GAP) - GAP,
    )
}

/// Draw the sheet (three labelled grids, one under the other) into `area`.
pub fn draw_sheet<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &SampleSheet,
    cols: usize,
) -> Result<()> {
    plot::ensure_fonts();
    let label = plot::font(plot::NOTE_SIZE).pos(Pos::new(HPos::Left, VPos::Top));
    let mut y = 4;
    let x = 14;
    let blocks = [
        (
            format!(
                "training pool ({} images; first {})",
                s.n_train_pool,
                s.train.len()
            ),
            &s.train,
        ),
        (
            format!(
                "held-out test pool ({} images; first {})",
                s.n_test_pool,
                s.test.len()
            ),
            &s.test,
        ),
        ("symbolic control: random codes".to_string(), &s.symbols),
    ];
    for (text, imgs) in blocks {
        if imgs.is_empty() {
            continue;
        }
        area.draw_text(&text, &label, (x, y))
            .map_err(plot::plot_err)?;
        y += plot::NOTE_SIZE as i32 + 8;
        y += draw_grid(area, imgs, s.side, cols, (x, y))? + 10;
    }
    Ok(())
}

/// Height in pixels that `draw_sheet` needs.
pub fn sheet_height(s: &SampleSheet, cols: usize) -> i32 {
    let mut h = 4;
    for imgs in [&s.train, &s.test, &s.symbols] {
        if !imgs.is_empty() {
            h += plot::NOTE_SIZE as i32 + 8 + grid_size(imgs.len(), s.side, cols).1 + GAP + 10;
        }
    }
    h
}

struct SheetFigure<'a> {
    sheet: &'a SampleSheet,
    title: String,
    cols: usize,
}

impl plot::Figure for SheetFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let s = self.sheet;
        let sub = format!(
            "{0}×{0} greyscale, procedural (texture + 1–3 shapes); test images never occur in training",
            s.side
        );
        let body = plot::draw_figure_title(root, &self.title, Some(&sub))?;
        draw_sheet(&body.margin(0, 0, 10, 0), s, self.cols)
    }
}

/// Write the sheet alone as `<stem>.png` and `<stem>.svg`.
pub fn render_sheet(sheet: &SampleSheet, title: &str, cols: usize, stem: &Path) -> Result<()> {
    let (w, _) = grid_size(cols, sheet.side, cols);
    let width = (w + 40).max(1000) as u32;
    let height = (sheet_height(sheet, cols) + 110) as u32;
    plot::render_png_and_svg(
        stem,
        width,
        height,
        &SheetFigure {
            sheet,
            title: title.to_string(),
            cols,
        },
    )
}
