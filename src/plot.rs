//! Shared published style for every figure of the suite: embedded fonts, a
//! muted palette, font sizes and panel helpers. Helpers are generic over the
//! plotters `DrawingBackend`, so one drawing routine yields both PNG and SVG.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::stats::Estimate;

// Sizes are plotters font sizes in pixels (the SVG font-size is 1/1.24 of it).

/// Font family name under which the embedded DejaVu Sans is registered.
pub const FONT: &str = "sans-serif";

pub const FIGURE_TITLE_SIZE: f64 = 28.0;
pub const FIGURE_SUBTITLE_SIZE: f64 = 19.0;
pub const PANEL_TITLE_SIZE: f64 = 23.0;
pub const AXIS_LABEL_SIZE: f64 = 21.0;
pub const TICK_LABEL_SIZE: f64 = 18.0;
pub const LEGEND_SIZE: f64 = 18.0;
pub const NOTE_SIZE: f64 = 18.0;

// Muted colours in the spirit of published figures.
pub const BLUE: RGBColor = RGBColor(0x3B, 0x6E, 0xB4);
pub const ORANGE: RGBColor = RGBColor(0xE0, 0x85, 0x3A);
pub const RED: RGBColor = RGBColor(0xC4, 0x45, 0x3C);
pub const GREEN: RGBColor = RGBColor(0x3E, 0x96, 0x5C);
pub const GREY: RGBColor = RGBColor(0x8C, 0x8C, 0x8C);
pub const LIGHT_GREY: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
pub const DARK: RGBColor = RGBColor(0x2B, 0x2B, 0x2B);

/// Colour `i` of a cycling categorical palette.
pub fn palette(i: usize) -> RGBColor {
    [BLUE, RED, GREEN, ORANGE, GREY][i % 5]
}

static FONTS: Once = Once::new();

/// Registers the embedded DejaVu Sans (the machine has no system fonts).
/// Must run before any text is drawn; every helper here calls it.
pub fn ensure_fonts() {
    FONTS.call_once(|| {
        // The bytes are a known-good TTF, so failure would be a build problem.
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| ())
            .expect("embedded DejaVu Sans regular");
        register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
            .map_err(|_| ())
            .expect("embedded DejaVu Sans bold");
    });
}

/// Regular text style of the given pixel size.
pub fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&DARK)
}

/// Bold text style of the given pixel size.
pub fn bold_font(size: f64) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&DARK)
}

/// Plotters errors are not always Send/Sync; keep their text only.
pub fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

/// A figure that can draw itself on any backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Writes `<stem>.png` and `<stem>.svg`. Each file is rendered under a
/// temporary name in the same directory and then renamed, so an interrupted
/// run never leaves a half-written figure behind.
pub fn render_png_and_svg(stem: &Path, width: u32, height: u32, fig: &impl Figure) -> Result<()> {
    ensure_fonts();
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }

    // BitMapBackend picks the encoder from the extension, so the temp name
    // must still end in ".png".
    let png = with_suffix(stem, ".png");
    let png_tmp = with_suffix(stem, ".tmp.png");
    // A stop that exits at once waits for this figure (no temporary file left).
    let _writing = crate::interrupt::writing();
    let drawn = (|| {
        let root = BitMapBackend::new(&png_tmp, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        fig.draw(&root)?;
        root.present().map_err(plot_err)
    })();
    if let Err(e) = drawn {
        // The backend saves on drop even after an error: remove the partial file.
        let _ = fs::remove_file(&png_tmp);
        return Err(e);
    }
    crate::interrupt::test_slow_write();
    fs::rename(&png_tmp, &png).with_context(|| format!("writing {}", png.display()))?;

    let svg = with_suffix(stem, ".svg");
    let svg_tmp = with_suffix(stem, ".svg.tmp");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        fig.draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    fs::write(&svg_tmp, text).with_context(|| format!("writing {}", svg_tmp.display()))?;
    fs::rename(&svg_tmp, &svg).with_context(|| format!("writing {}", svg.display()))?;
    Ok(())
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Draws a centred figure title (and optional subtitle) at the top of `root`
/// and returns the area below it.
pub fn draw_figure_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: Option<&str>,
) -> Result<DrawingArea<DB, Shift>> {
    ensure_fonts();
    let w = root.dim_in_pixel().0 as i32;
    let mut y = 12;
    let style = bold_font(FIGURE_TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
    root.draw_text(title, &style, (w / 2, y))
        .map_err(plot_err)?;
    y += FIGURE_TITLE_SIZE as i32 + 8;
    if let Some(sub) = subtitle {
        let style = font(FIGURE_SUBTITLE_SIZE)
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw_text(sub, &style, (w / 2, y)).map_err(plot_err)?;
        y += FIGURE_SUBTITLE_SIZE as i32 + 8;
    }
    Ok(root.split_vertically(y + 6).1)
}

/// The mark drawn in front of a legend entry.
#[derive(Debug, Clone, Copy)]
pub enum LegendMark {
    /// Filled square (bars).
    Swatch(RGBColor),
    /// Short line with a marker (line series); `filled` = solid marker and line.
    Line { color: RGBColor, filled: bool },
    /// Hollow diamond (reference values, e.g. the paper's).
    Diamond,
    /// Small dot (individual seeds).
    Dot(RGBColor),
}

#[derive(Debug, Clone)]
pub struct LegendEntry {
    pub mark: LegendMark,
    pub label: String,
}

impl LegendEntry {
    pub fn new(mark: LegendMark, label: impl Into<String>) -> Self {
        LegendEntry {
            mark,
            label: label.into(),
        }
    }
}

/// Draws a panel header: bold panel letter and title, an optional note line,
/// then the legend flowed left to right (wrapping as needed). Returns the area
/// below the header, which is at least `min_height` pixels tall (so that plots
/// side by side can start at the same height). Keeping legends out of the
/// plot avoids any overlap.
pub fn draw_panel_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    letter: &str,
    title: &str,
    note: Option<&str>,
    legend: &[LegendEntry],
    min_height: u32,
) -> Result<DrawingArea<DB, Shift>> {
    ensure_fonts();
    let (w, _) = area.dim_in_pixel();
    let left = 12;
    let mut y = 4;
    if !letter.is_empty() || !title.is_empty() {
        let letter_style = bold_font(PANEL_TITLE_SIZE + 4.0);
        area.draw_text(letter, &letter_style, (left, y))
            .map_err(plot_err)?;
        let shift = if letter.is_empty() { 0 } else { 30 };
        area.draw_text(title, &bold_font(PANEL_TITLE_SIZE), (left + shift, y + 3))
            .map_err(plot_err)?;
        y += PANEL_TITLE_SIZE as i32 + 12;
    }
    if let Some(note) = note {
        area.draw_text(note, &font(NOTE_SIZE), (left, y))
            .map_err(plot_err)?;
        y += NOTE_SIZE as i32 + 8;
    }
    if !legend.is_empty() {
        let style = font(LEGEND_SIZE);
        let row_h = LEGEND_SIZE as i32 + 8;
        let mark_w = 30;
        let mut x = left;
        for entry in legend {
            let (tw, _) = area
                .estimate_text_size(&entry.label, &style)
                .map_err(plot_err)?;
            let item_w = mark_w + 6 + tw as i32 + 16;
            if x > left && x + item_w > w as i32 - 8 {
                x = left;
                y += row_h;
            }
            let cy = y + LEGEND_SIZE as i32 / 2 + 1;
            draw_legend_mark(area, entry.mark, (x + mark_w / 2, cy), mark_w)?;
            let centred = style.pos(Pos::new(HPos::Left, VPos::Center));
            area.draw_text(&entry.label, &centred, (x + mark_w + 6, cy))
                .map_err(plot_err)?;
            x += item_w;
        }
        y += row_h;
    }
    // Nothing drawn: give the whole area back (bar the minimum height).
    let used = if y == 4 { 0 } else { y + 4 };
    Ok(area.split_vertically(used.max(min_height as i32)).1)
}

fn draw_legend_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: LegendMark,
    (cx, cy): (i32, i32),
    width: i32,
) -> Result<()> {
    let half = width / 2;
    match mark {
        LegendMark::Swatch(c) => area
            .draw(&Rectangle::new(
                [(cx - 8, cy - 8), (cx + 8, cy + 8)],
                c.filled(),
            ))
            .map_err(plot_err),
        LegendMark::Line { color, filled } => {
            // Hollow series are dashed: show two dashes, as in the plot.
            let segments = if filled {
                vec![(cx - half, cx + half)]
            } else {
                vec![(cx - half, cx - 4), (cx + 4, cx + half)]
            };
            for (a, b) in segments {
                area.draw(&PathElement::new(
                    vec![(a, cy), (b, cy)],
                    line_style(color, filled),
                ))
                .map_err(plot_err)?;
            }
            for m in marker((cx, cy), color, filled) {
                area.draw(&m).map_err(plot_err)?;
            }
            Ok(())
        }
        LegendMark::Diamond => area.draw(&diamond((cx, cy))).map_err(plot_err),
        LegendMark::Dot(c) => area
            .draw(&Circle::new((cx, cy), 4, c.mix(0.7).filled()))
            .map_err(plot_err),
    }
}

/// Solid line for filled series; hollow series get a lighter dashed line.
fn line_style(color: RGBColor, filled: bool) -> ShapeStyle {
    if filled {
        color.stroke_width(3)
    } else {
        color.mix(0.8).stroke_width(2)
    }
}

/// Series marker at `at` (any coordinate system): a filled disc, or a white
/// disc with a coloured ring. Drawn as two circles so it is one element type.
pub fn marker<C: Clone>(at: C, color: RGBColor, filled: bool) -> [Circle<C, i32>; 2] {
    let fill = if filled {
        color.filled()
    } else {
        WHITE.filled()
    };
    [
        Circle::new(at.clone(), 5, fill),
        Circle::new(at, 5, color.stroke_width(2)),
    ]
}

type Diamond<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;

/// Hollow diamond (white fill, dark outline) marking a reference value.
pub fn diamond<C, DB: DrawingBackend>(at: C) -> Diamond<C, DB> {
    let r = 8;
    let pts = vec![(0, -r), (r, 0), (0, r), (-r, 0)];
    let mut outline = pts.clone();
    outline.push((0, -r));
    EmptyElement::at(at)
        + Polygon::new(pts, WHITE.filled())
        + PathElement::new(outline, DARK.stroke_width(2))
}

/// Vertical error bar from `lo` to `hi` at `x`, with caps `cap` wide (data
/// units); nothing if any bound is not finite.
fn error_bar(x: f64, lo: f64, hi: f64, cap: f64) -> Vec<PathElement<(f64, f64)>> {
    if !(x.is_finite() && lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let style = DARK.stroke_width(2);
    vec![
        PathElement::new(vec![(x, lo), (x, hi)], style),
        PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style),
        PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style),
    ]
}

/// Deterministic jitter in [-0.5, 0.5) for dot `i` (golden-ratio sequence).
pub fn jitter(i: usize) -> f64 {
    (0.5 + i as f64 * 0.618_033_988_75).fract() - 0.5
}

/// Finite (min, max) of the values, or None if there are none.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Range padded by `frac` of its width on both sides (never empty).
fn padded((lo, hi): (f64, f64), frac: f64) -> (f64, f64) {
    let pad = if hi > lo { (hi - lo) * frac } else { 0.5 };
    (lo - pad, hi + pad)
}

/// Height below the x axis for tick labels and the axis label; shared so that
/// panels placed side by side have aligned x axes.
const X_LABEL_AREA: u32 = 66;

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Common mesh style: light horizontal grid only, legible tick and axis
/// labels. With `x_ticks`, x tick labels are drawn at exactly those positions
/// (categories, lags) instead of plotters' automatic ones.
fn style_mesh<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    plot_area: &DrawingArea<DB, Shift>,
    x_label: &str,
    y_label: &str,
    x_ticks: &[(f64, String)],
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<()> {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .bold_line_style(LIGHT_GREY)
        .axis_style(DARK.stroke_width(1))
        .x_labels(0)
        .y_labels(6)
        .label_style(font(TICK_LABEL_SIZE))
        .axis_desc_style(font(AXIS_LABEL_SIZE))
        .x_desc(x_label)
        .y_desc(y_label)
        .y_label_formatter(y_fmt)
        .draw()
        .map_err(plot_err)?;

    // backend_coord is absolute; the area draws relative to its corner.
    let (bx, by) = plot_area.get_base_pixel();
    let y_bottom = chart.y_range().start;
    let style = font(TICK_LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
    for (x, label) in x_ticks {
        let (px, py) = chart.backend_coord(&(*x, y_bottom));
        let (px, py) = (px - bx, py - by);
        plot_area
            .draw(&PathElement::new(
                vec![(px, py), (px, py + 5)],
                DARK.stroke_width(1),
            ))
            .map_err(plot_err)?;
        plot_area
            .draw_text(label, &style, (px, py + 9))
            .map_err(plot_err)?;
    }
    Ok(())
}

/// Tick label with as few decimals as the axis step needs.
fn tick_fmt(step: f64) -> impl Fn(&f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    move |v: &f64| format!("{:.*}", decimals, v)
}

/// One bar: mean height, 95% CI, per-seed dots and an optional reference value.
pub struct Bar<'a> {
    pub label: &'a str,
    pub estimate: &'a Estimate,
    pub color: RGBColor,
    pub reference: Option<f64>,
}

/// Bars sharing one categorical x label (e.g. "Rewarded").
pub struct BarGroup<'a> {
    pub label: &'a str,
    pub bars: Vec<Bar<'a>>,
}

pub struct BarPanel<'a> {
    pub letter: &'a str,
    pub title: &'a str,
    /// Minimum header height in pixels (see `draw_panel_header`).
    pub header_height: u32,
    /// One line of text under the title (e.g. a summary index).
    pub note: Option<String>,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Preferred y range; extended if any value or seed falls outside it.
    pub y_range: (f64, f64),
    pub groups: Vec<BarGroup<'a>>,
    /// Legend text of the reference markers, e.g. "paper (approx.)".
    pub reference_label: &'a str,
}

/// Grouped bar panel. Bar labels (deduplicated) and colours form the legend;
/// group labels are the x tick labels.
pub fn draw_bar_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &BarPanel<'_>,
) -> Result<()> {
    ensure_fonts();
    let bars = || p.groups.iter().flat_map(|g| g.bars.iter());

    let mut legend: Vec<LegendEntry> = Vec::new();
    for bar in bars() {
        if !legend.iter().any(|e| e.label == bar.label) {
            legend.push(LegendEntry::new(LegendMark::Swatch(bar.color), bar.label));
        }
    }
    if bars().any(|b| b.reference.is_some()) {
        legend.push(LegendEntry::new(LegendMark::Diamond, p.reference_label));
    }
    legend.push(LegendEntry::new(LegendMark::Dot(DARK), "seed"));
    let plot_area = draw_panel_header(
        area,
        p.letter,
        p.title,
        p.note.as_deref(),
        &legend,
        p.header_height,
    )?;

    // Extend the preferred range (in steps of 0.05) to show every value.
    let all = bars().flat_map(|b| {
        let e = b.estimate;
        [e.mean, e.ci_low, e.ci_high]
            .into_iter()
            .chain(e.per_seed.iter().copied())
            .chain(b.reference)
    });
    let (lo, hi) = finite_range(all).unwrap_or(p.y_range);
    let y0 = p.y_range.0.min((lo / 0.05).floor() * 0.05);
    let y1 = p.y_range.1.max((hi / 0.05).ceil() * 0.05);

    let n = p.groups.len().max(1);
    let ticks: Vec<(f64, String)> = p
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| (g as f64 + 0.5, group.label.to_string()))
        .collect();
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(16)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(78)
        .build_cartesian_2d(0.0..n as f64, y0..y1)
        .map_err(plot_err)?;
    style_mesh(
        &mut chart,
        &plot_area,
        p.x_label,
        p.y_label,
        &ticks,
        &tick_fmt(0.1),
    )?;

    for (g, group) in p.groups.iter().enumerate() {
        let slot = 0.8 / group.bars.len().max(1) as f64;
        for (j, bar) in group.bars.iter().enumerate() {
            let c = g as f64 + 0.1 + (j as f64 + 0.5) * slot;
            let half = slot * 0.4;
            let e = bar.estimate;
            // Non-finite values (a failed analysis) are left out, not drawn at 0.
            chart
                .draw_series(e.mean.is_finite().then(|| {
                    Rectangle::new(
                        [(c - half, y0), (c + half, e.mean)],
                        bar.color.mix(0.85).filled(),
                    )
                }))
                .map_err(plot_err)?;
            // Dots first so that the CI stays visible on top of them.
            chart
                .draw_series(
                    e.per_seed
                        .iter()
                        .enumerate()
                        .filter(|p| p.1.is_finite())
                        .map(|(i, &v)| {
                            Circle::new((c + jitter(i) * half * 1.3, v), 4, DARK.mix(0.45).filled())
                        }),
                )
                .map_err(plot_err)?;
            chart
                .draw_series(error_bar(c, e.ci_low, e.ci_high, half * 0.3))
                .map_err(plot_err)?;
            if let Some(r) = bar.reference.filter(|r| r.is_finite()) {
                chart
                    .draw_series([diamond((c + half * 0.6, r))])
                    .map_err(plot_err)?;
            }
        }
    }
    Ok(())
}

/// A labelled line of (x, mean, CI low, CI high) points, before it becomes a `Series`.
pub type LabelledLine = (String, Vec<(f64, f64, f64, f64)>);

/// One line of a line panel: points are (x, mean, ci_low, ci_high).
pub struct Series<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    /// Filled markers and solid line, or hollow markers and dashed line.
    pub filled: bool,
    pub points: Vec<(f64, f64, f64, f64)>,
}

pub struct LinePanel<'a> {
    pub letter: &'a str,
    pub title: &'a str,
    /// Minimum header height in pixels (see `draw_panel_header`).
    pub header_height: u32,
    pub note: Option<String>,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<Series<'a>>,
    /// Horizontal offset between series (x units) so error bars do not overlap.
    pub dodge: f64,
}

/// Line panel with CI error bars, markers, a zero line and a legend. X ticks
/// sit at the distinct x values of the data (e.g. lags 1..L).
pub fn draw_line_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &LinePanel<'_>,
) -> Result<()> {
    ensure_fonts();
    let legend: Vec<LegendEntry> = p
        .series
        .iter()
        .map(|s| {
            let mark = LegendMark::Line {
                color: s.color,
                filled: s.filled,
            };
            LegendEntry::new(mark, s.label)
        })
        .collect();
    let plot_area = draw_panel_header(
        area,
        p.letter,
        p.title,
        p.note.as_deref(),
        &legend,
        p.header_height,
    )?;

    let pts = || p.series.iter().flat_map(|s| s.points.iter());
    let mut xs: Vec<f64> = pts().map(|q| q.0).filter(|x| x.is_finite()).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    // At most ~12 ticks.
    let every = xs.len().div_ceil(12).max(1);
    let ticks: Vec<(f64, String)> = xs
        .iter()
        .step_by(every)
        .map(|&x| (x, format!("{x}")))
        .collect();
    let (x0, x1) = finite_range(xs.iter().copied()).unwrap_or((0.0, 1.0));
    let x_pad = if xs.len() > 1 {
        (x1 - x0) / (xs.len() - 1) as f64 * 0.5
    } else {
        0.5
    };
    let y = finite_range(pts().flat_map(|q| [q.1, q.2, q.3]).chain([0.0])).unwrap_or((0.0, 1.0));
    let (y0, y1) = padded(y, 0.06);

    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(16)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(78)
        .build_cartesian_2d((x0 - x_pad)..(x1 + x_pad), y0..y1)
        .map_err(plot_err)?;
    let y_fmt = tick_fmt((y1 - y0) / 6.0);
    style_mesh(&mut chart, &plot_area, p.x_label, p.y_label, &ticks, &y_fmt)?;

    chart
        .draw_series(LineSeries::new(
            [(x0 - x_pad, 0.0), (x1 + x_pad, 0.0)],
            GREY.stroke_width(1),
        ))
        .map_err(plot_err)?;

    let n = p.series.len() as f64;
    let cap = (x1 - x0 + 2.0 * x_pad) * 0.008;
    for (k, s) in p.series.iter().enumerate() {
        let shift = (k as f64 - (n - 1.0) / 2.0) * p.dodge;
        let line: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|q| q.0.is_finite() && q.1.is_finite())
            .map(|q| (q.0 + shift, q.1))
            .collect();
        let style = line_style(s.color, s.filled);
        if s.filled {
            chart.draw_series(LineSeries::new(line.clone(), style))
        } else {
            chart.draw_series(DashedLineSeries::new(line.clone(), 9, 6, style))
        }
        .map_err(plot_err)?;
        for q in &s.points {
            chart
                .draw_series(error_bar(q.0 + shift, q.2, q.3, cap))
                .map_err(plot_err)?;
        }
        chart
            .draw_series(line.iter().flat_map(|&at| marker(at, s.color, s.filled)))
            .map_err(plot_err)?;
    }
    Ok(())
}

/// Least-squares line y = slope * x + intercept and its r², over the finite
/// pairs. None if fewer than two points or x is constant.
pub fn least_squares(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .map(|(&a, &b)| (a, b))
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = pairs.iter().map(|p| (p.1 - my).powi(2)).sum();
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    Some((slope, my - slope * mx, r2))
}

pub struct ScatterPanel<'a> {
    pub letter: &'a str,
    pub title: &'a str,
    /// Minimum header height in pixels (see `draw_panel_header`).
    pub header_height: u32,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub color: RGBColor,
    /// Per-point colours (same length as `x`), overriding `color`.
    pub point_colors: Option<&'a [RGBColor]>,
    /// r² to print; computed from the least-squares fit if None.
    pub r2: Option<f64>,
    /// A second line under the r² label.
    pub note: Option<String>,
}

/// Scatter of many points (small translucent dots) with the least-squares
/// line and an "r² = …" label in the top-left corner.
pub fn draw_scatter_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &ScatterPanel<'_>,
) -> Result<()> {
    ensure_fonts();
    let plot_area = draw_panel_header(area, p.letter, p.title, None, &[], p.header_height)?;
    let (x0, x1) = padded(
        finite_range(p.x.iter().copied()).unwrap_or((0.0, 1.0)),
        0.05,
    );
    let (y0, y1) = padded(
        finite_range(p.y.iter().copied()).unwrap_or((0.0, 1.0)),
        0.05,
    );

    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(16)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(66)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(6)
        .disable_x_mesh()
        .disable_y_mesh()
        .axis_style(DARK.stroke_width(1))
        .label_style(font(TICK_LABEL_SIZE))
        .axis_desc_style(font(AXIS_LABEL_SIZE))
        .x_desc(p.x_label)
        .y_desc(p.y_label)
        .x_label_formatter(&tick_fmt((x1 - x0) / 5.0))
        .y_label_formatter(&tick_fmt((y1 - y0) / 6.0))
        .draw()
        .map_err(plot_err)?;

    chart
        .draw_series(
            p.x.iter()
                .zip(p.y)
                .enumerate()
                .filter(|(_, (a, b))| a.is_finite() && b.is_finite())
                .map(|(i, (&a, &b))| {
                    let c = p
                        .point_colors
                        .and_then(|c| c.get(i))
                        .copied()
                        .unwrap_or(p.color);
                    Circle::new((a, b), 2, c.mix(0.25).filled())
                }),
        )
        .map_err(plot_err)?;

    let fit = least_squares(p.x, p.y);
    if let Some((slope, intercept, _)) = fit {
        // Clip the line to the plotted y range so it never leaves the frame.
        let line = clip_line(slope, intercept, (x0, x1), (y0, y1));
        chart
            .draw_series(LineSeries::new(line, DARK.stroke_width(2)))
            .map_err(plot_err)?;
    }
    if let Some(r2) = p.r2.or(fit.map(|f| f.2)) {
        let pixels = chart.plotting_area().strip_coord_spec();
        let mut text = format!("r\u{b2} = {r2:.2}");
        if let Some(note) = &p.note {
            text = format!("{text}; {note}");
        }
        let style = font(NOTE_SIZE);
        let (tw, th) = pixels.estimate_text_size(&text, &style).map_err(plot_err)?;
        let (px, py) = (10, 8);
        pixels
            .draw(&Rectangle::new(
                [(px - 4, py - 3), (px + tw as i32 + 4, py + th as i32 + 5)],
                WHITE.mix(0.85).filled(),
            ))
            .map_err(plot_err)?;
        pixels
            .draw_text(&text, &style, (px, py))
            .map_err(plot_err)?;
    }
    Ok(())
}

fn clip_line(
    slope: f64,
    intercept: f64,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Vec<(f64, f64)> {
    let mut a = x0;
    let mut b = x1;
    if slope != 0.0 {
        let (xa, xb) = ((y0 - intercept) / slope, (y1 - intercept) / slope);
        a = a.max(xa.min(xb));
        b = b.min(xa.max(xb));
    }
    if a >= b {
        return Vec::new();
    }
    vec![(a, slope * a + intercept), (b, slope * b + intercept)]
}
