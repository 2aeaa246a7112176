//! The mechanism controls of issue 15 (`metarl controls`). An experiment declares
//! them in its TOML's `[controls]` table (see `config::ControlsConfig`); each
//! control is the experiment with a few key overrides, run as an ordinary run
//! directory on the same seeds and the same test episodes (the same seeds give
//! the same test streams) as `main`, the experiment itself at the controls'
//! budget:
//!
//! | control | overrides |
//! |---|---|
//! | `main` | the budget only (`seeds.count`, `training.episodes`, `evaluation.episodes`) |
//! | `no_reward_input` | `agent.feedback = "none"` (no previous-reward, or RPE, input in training and test) |
//! | `untrained` | `training.episodes = 0` (the initial weights) |
//! | `plastic_test` | `evaluation.plastic = true` (A2C updates during the test) |
//! | `size_<h>` | `agent.hidden = h` for each of `controls.sizes` other than the experiment's own |
//!
//! Results: `<out>/<experiment>/<cell>/` (run directories), `<out>/<experiment>/controls.json`
//! (the compared metric per cell, the checks, the time per cell), and over every
//! experiment `<out>/controls.json`, `<out>/controls.parquet`, `<out>/controls.md`
//! and `<out>/figures/controls.{png,svg}`.

use crate::config::{Config, ControlKind, Override};
use crate::experiments::{self, Outcomes};
use crate::plot;
use crate::record::{write_parquet, write_text_atomic};
use crate::run::{self, RunOptions};
use crate::stats::Estimate;
use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One run of the controls: its name (also its directory) and its overrides.
#[derive(Debug, Clone)]
pub struct Cell {
    /// `main`, `no_reward_input`, `untrained`, `plastic_test` or `size_<h>`.
    pub name: String,
    /// The control it belongs to (`main` for the reference run).
    pub control: String,
    /// LSTM units.
    pub hidden: usize,
    /// Training episodes per seed.
    pub training_episodes: usize,
    pub overrides: Vec<Override>,
}

/// What `metarl controls` runs and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// A shipped experiment name or a TOML path.
    pub experiment: String,
    /// Where the control runs go (default runs/controls).
    pub out: PathBuf,
    /// Where the default runs are (`<runs>/<name>/outcomes.json`, shown beside).
    pub runs: PathBuf,
    /// Budget overrides of `[controls]` (e.g. for tests).
    pub seeds: Option<usize>,
    pub episodes: Option<usize>,
    pub test_episodes: Option<usize>,
    /// Only these controls (names as in `controls.run`; `main` always runs).
    pub only: Vec<String>,
    pub threads: Option<usize>,
    /// Rerun cells that already finished with the same config.
    pub force: bool,
    pub quiet: bool,
}

/// One row of the controls table: the compared metric in one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The cell (`main`, `no_reward_input`, ..., `size_12`) or `default_run`.
    pub cell: String,
    pub control: String,
    pub hidden: usize,
    pub training_episodes: usize,
    pub seeds: Vec<u64>,
    #[serde(flatten)]
    pub estimate: Estimate,
    /// CPU seconds (user + system) and wall seconds of the cell's run, when run now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
}

/// One check of a control: the effect is absent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlCheck {
    pub name: String,
    pub cell: String,
    pub rule: String,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub per_seed: Vec<f64>,
    pub passed: bool,
}

/// `<out>/<experiment>/controls.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentControls {
    pub experiment: String,
    pub title: String,
    pub metric: String,
    pub metric_description: String,
    pub chance: f64,
    pub tolerance: f64,
    pub seeds: usize,
    pub training_episodes: usize,
    pub test_episodes: usize,
    pub rows: Vec<Row>,
    pub checks: Vec<ControlCheck>,
    /// Why the default run is not shown, if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_run_missing: Option<String>,
}

/// The experiment's controls config, or an error saying it has none.
fn controls_of(cfg: &Config) -> Result<&crate::config::ControlsConfig> {
    cfg.controls.as_ref().ok_or_else(|| {
        anyhow!(
            "{} declares no [controls] (see the README section \"Controls\")",
            cfg.experiment.name
        )
    })
}

fn int(v: usize) -> toml::Value {
    toml::Value::Integer(v as i64)
}

/// The budget overrides shared by every cell.
fn budget(cfg: &Config, opts: &Options, episodes: usize) -> Result<Vec<Override>> {
    let c = controls_of(cfg)?;
    let mut o = vec![
        Override::new("seeds.count", int(opts.seeds.unwrap_or(c.seeds)))?,
        Override::new("training.episodes", int(episodes))?,
    ];
    if let Some(n) = opts.test_episodes.or(c.test_episodes) {
        o.push(Override::new("evaluation.episodes", int(n))?);
    }
    // Test stages beyond the budget are dropped (multiples of the batch stay valid).
    if !cfg.evaluation.stages.is_empty() {
        let kept: Vec<toml::Value> = cfg
            .evaluation
            .stages
            .iter()
            .filter(|&&s| s <= episodes)
            .map(|&s| int(s))
            .collect();
        o.push(Override::new(
            "evaluation.stages",
            toml::Value::Array(kept),
        )?);
    }
    Ok(o)
}

/// The cells of an experiment's controls, `main` first.
pub fn cells(cfg: &Config, opts: &Options) -> Result<Vec<Cell>> {
    let c = controls_of(cfg)?;
    let episodes = opts.episodes.unwrap_or(c.episodes);
    let hidden = cfg.agent.hidden;
    let wanted = |k: ControlKind| opts.only.is_empty() || opts.only.iter().any(|o| o == k.name());
    let base = budget(cfg, opts, episodes)?;
    let cell = |name: String, control: &str, hidden: usize, eps: usize, extra: Vec<Override>| {
        let mut overrides = base.clone();
        overrides.extend(extra);
        Cell {
            name,
            control: control.to_string(),
            hidden,
            training_episodes: eps,
            overrides,
        }
    };
    let mut out = vec![cell("main".into(), "main", hidden, episodes, vec![])];
    for &k in &c.run {
        if !wanted(k) {
            continue;
        }
        match k {
            ControlKind::NoRewardInput => out.push(cell(
                k.name().into(),
                k.name(),
                hidden,
                episodes,
                vec![Override::new(
                    "agent.feedback",
                    toml::Value::String("none".into()),
                )?],
            )),
            ControlKind::Untrained => {
                let mut extra = vec![Override::new("training.episodes", int(0))?];
                if !cfg.evaluation.stages.is_empty() {
                    extra.push(Override::new(
                        "evaluation.stages",
                        toml::Value::Array(vec![int(0)]),
                    )?);
                }
                out.push(cell(k.name().into(), k.name(), hidden, 0, extra));
            }
            ControlKind::PlasticTest => out.push(cell(
                k.name().into(),
                k.name(),
                hidden,
                episodes,
                vec![Override::new(
                    "evaluation.plastic",
                    toml::Value::Boolean(true),
                )?],
            )),
            ControlKind::Size => {
                for &h in c.sizes.iter().filter(|&&h| h != hidden) {
                    out.push(cell(
                        format!("size_{h}"),
                        k.name(),
                        h,
                        episodes,
                        vec![Override::new("agent.hidden", int(h))?],
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// CPU seconds (user + system) of this process so far, all threads.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut u) != 0 {
            return f64::NAN;
        }
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
        t(u.ru_utime) + t(u.ru_stime)
    }
}

fn cell_options(opts: &Options, name: &str, dir: &Path, overrides: Vec<Override>) -> RunOptions {
    let _ = name;
    RunOptions {
        experiment: opts.experiment.clone(),
        out: Some(dir.to_path_buf()),
        overrides,
        threads: opts.threads,
        force: true,
        quiet: opts.quiet,
        ..Default::default()
    }
}

/// Whether a cell's directory holds a finished run of exactly this config
/// (the `[controls]` table itself aside: it changes no run).
fn finished(dir: &Path, ro: &RunOptions) -> bool {
    let (Ok((want, _)), Ok(have)) = (run::resolve_config(ro), run::run_config(dir)) else {
        return false;
    };
    run::same_run(want, have) && dir.join("outcomes.json").is_file() && dir.join("figures").is_dir()
}

/// Whether a metric's estimate is at chance: its 95% CI includes `chance`, or
/// its mean is within `tolerance` of it (NaN fails).
pub fn at_chance(e: &Estimate, chance: f64, tolerance: f64) -> bool {
    (e.ci_low <= chance && chance <= e.ci_high) || (e.mean - chance).abs() <= tolerance
}

/// Run (or reuse) every cell of one experiment's controls, and write its controls.json.
pub fn run_experiment(opts: &Options) -> Result<ExperimentControls> {
    let cfg = experiments::load(&opts.experiment, None)?.config;
    let c = controls_of(&cfg)?.clone();
    for o in &opts.only {
        if !c.run.iter().any(|k| k.name() == o) {
            bail!(
                "--only {o}: {} runs no such control (it runs: {})",
                cfg.experiment.name,
                c.run
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let metric = cfg
        .controls_metric()
        .context("the experiment has no metric to compare")?;
    let exp = experiments::find(&cfg.experiment.analysis)?;
    let metric_description = exp
        .metrics()
        .iter()
        .find(|(m, _)| *m == metric)
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let dir = opts.out.join(&cfg.experiment.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cells = cells(&cfg, opts)?;
    // The times of cells that are reused come from the previous controls.json.
    let previous: Option<ExperimentControls> = std::fs::read_to_string(dir.join("controls.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut rows = vec![];
    let mut main_cfg: Option<Config> = None;
    for (i, cell) in cells.iter().enumerate() {
        let cdir = dir.join(&cell.name);
        let ro = cell_options(opts, &cell.name, &cdir, cell.overrides.clone());
        let (ccfg, _) = run::resolve_config(&ro)
            .map_err(|e| anyhow!("control {} of {}: {e:#}", cell.name, cfg.experiment.name))?;
        if i == 0 {
            main_cfg = Some(ccfg.clone());
        }
        let (mut cpu, mut wall) = (None, None);
        if !opts.force && finished(&cdir, &ro) {
            if let Some(r) = previous
                .as_ref()
                .and_then(|p| p.rows.iter().find(|r| r.cell == cell.name))
            {
                (cpu, wall) = (r.cpu_seconds, r.wall_seconds);
            }
            if !opts.quiet {
                crate::note!(
                    "{}/{}: finished with the same config; reused (--force reruns it)",
                    cfg.experiment.name,
                    cell.name
                );
            }
        } else {
            if !opts.quiet {
                crate::note!(
                    "{}/{}: {}",
                    cfg.experiment.name,
                    cell.name,
                    cell.overrides
                        .iter()
                        .map(|o| o.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            let (c0, t0) = (process_cpu_seconds(), Instant::now());
            // An interrupted cell continues from its checkpoints; `with_context`
            // keeps an interruption recognisable (exit status 130/143).
            run::run_or_resume(&ro)
                .with_context(|| format!("control {} of {}", cell.name, cfg.experiment.name))?;
            cpu = Some(process_cpu_seconds() - c0);
            wall = Some(t0.elapsed().as_secs_f64());
        }
        let o = run::run_outcomes(&cdir, &ccfg)?;
        rows.push(row(&o, &metric, cell, cpu, wall)?);
    }
    let main_cfg = main_cfg.expect("main is always a cell");
    // The experiment's default run, if `make figures` made it.
    let full_dir = opts.runs.join(&cfg.experiment.name);
    let mut default_run_missing = None;
    match run::run_config(&full_dir).and_then(|fc| Ok((run::run_outcomes(&full_dir, &fc)?, fc))) {
        Ok((o, fc)) => {
            let cell = Cell {
                name: "default_run".into(),
                control: "default_run".into(),
                hidden: fc.agent.hidden,
                training_episodes: fc.training.episodes,
                overrides: vec![],
            };
            rows.push(row(&o, &metric, &cell, None, None)?);
        }
        Err(e) => {
            let msg = format!(
                "no default run in {} (`make figures` makes it): {e:#}",
                full_dir.display()
            );
            if !opts.quiet {
                crate::note!("{}: {msg}", cfg.experiment.name);
            }
            default_run_missing = Some(msg);
        }
    }
    let mut checks = vec![];
    let rule = format!(
        "95% CI includes the chance value {} or |mean − {}| ≤ {}",
        c.chance, c.chance, c.tolerance
    );
    for (cell, what) in [
        ("no_reward_input", "no reward input: effect absent"),
        ("untrained", "untrained: at chance"),
    ] {
        if let Some(r) = rows.iter().find(|r| r.cell == cell) {
            let e = &r.estimate;
            checks.push(ControlCheck {
                name: what.to_string(),
                cell: cell.to_string(),
                rule: rule.clone(),
                mean: e.mean,
                ci_low: e.ci_low,
                ci_high: e.ci_high,
                per_seed: e.per_seed.clone(),
                passed: at_chance(e, c.chance, c.tolerance),
            });
        }
    }
    let result = ExperimentControls {
        experiment: cfg.experiment.name.clone(),
        title: cfg.experiment.title.clone(),
        metric,
        metric_description,
        chance: c.chance,
        tolerance: c.tolerance,
        seeds: main_cfg.seeds.count,
        training_episodes: main_cfg.training.episodes,
        test_episodes: main_cfg.evaluation.episodes,
        rows,
        checks,
        default_run_missing,
    };
    write_text_atomic(
        &dir.join("controls.json"),
        &serde_json::to_string_pretty(&result)?,
    )?;
    Ok(result)
}

fn row(
    o: &Outcomes,
    metric: &str,
    cell: &Cell,
    cpu: Option<f64>,
    wall: Option<f64>,
) -> Result<Row> {
    let m = o
        .metrics
        .get(metric)
        .ok_or_else(|| anyhow!("{}: outcomes have no metric {metric}", cell.name))?;
    Ok(Row {
        cell: cell.name.clone(),
        control: cell.control.clone(),
        hidden: cell.hidden,
        training_episodes: cell.training_episodes,
        seeds: o.seeds.clone(),
        estimate: m.estimate.clone(),
        cpu_seconds: cpu,
        wall_seconds: wall,
    })
}

/// The experiments whose controls.json exists under `out`, in shipped order
/// (then any others, by name).
pub fn collect(out: &Path) -> Vec<ExperimentControls> {
    let mut names: Vec<String> = crate::config::shipped()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    if let Ok(entries) = std::fs::read_dir(out) {
        let mut extra: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("controls.json").is_file())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| !names.contains(n))
            .collect();
        extra.sort();
        names.extend(extra);
    }
    names
        .iter()
        .filter_map(|n| std::fs::read_to_string(out.join(n).join("controls.json")).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect()
}

/// Write `<out>/controls.json`, `controls.parquet`, `controls.md` and the figure.
pub fn write_summary(out: &Path, all: &[ExperimentControls]) -> Result<Vec<PathBuf>> {
    if all.is_empty() {
        bail!("no controls results under {}", out.display());
    }
    write_text_atomic(
        &out.join("controls.json"),
        &serde_json::to_string_pretty(all)?,
    )?;
    let (mut ex, mut cell, mut control, mut metric) = (vec![], vec![], vec![], vec![]);
    let (mut hidden, mut episodes, mut seed, mut value) = (vec![], vec![], vec![], vec![]);
    let (mut mean, mut lo, mut hi, mut chance) = (vec![], vec![], vec![], vec![]);
    for e in all {
        for r in &e.rows {
            for (k, v) in r.estimate.per_seed.iter().enumerate() {
                ex.push(e.experiment.clone());
                cell.push(r.cell.clone());
                control.push(r.control.clone());
                metric.push(e.metric.clone());
                hidden.push(r.hidden as u64);
                episodes.push(r.training_episodes as u64);
                seed.push(r.seeds.get(k).copied());
                value.push(*v);
                mean.push(r.estimate.mean);
                lo.push(r.estimate.ci_low);
                hi.push(r.estimate.ci_high);
                chance.push(e.chance);
            }
        }
    }
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("experiment".into(), ex),
        Column::new("cell".into(), cell),
        Column::new("control".into(), control),
        Column::new("metric".into(), metric),
        Column::new("hidden".into(), hidden),
        Column::new("training_episodes".into(), episodes),
        Column::new("seed".into(), seed),
        Column::new("value".into(), value),
        Column::new("mean".into(), mean),
        Column::new("ci_low".into(), lo),
        Column::new("ci_high".into(), hi),
        Column::new("chance".into(), chance),
    ])?;
    write_parquet(&out.join("controls.parquet"), &mut df)?;
    write_text_atomic(&out.join("controls.md"), &markdown(all))?;
    let stem = out.join("figures").join("controls");
    std::fs::create_dir_all(out.join("figures"))?;
    plot::render_png_and_svg(
        &stem,
        1500,
        420 * all.len().div_ceil(2) as u32 + 90,
        &ControlsFigure { all },
    )?;
    Ok(vec![
        out.join("controls.json"),
        out.join("controls.parquet"),
        stem,
    ])
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn cell_label(r: &Row) -> String {
    match r.control.as_str() {
        "main" => format!("main ({} units)", r.hidden),
        "default_run" => format!("default run ({} ep.)", r.training_episodes),
        "size" => format!("{} units", r.hidden),
        other => other.replace('_', " "),
    }
}

/// The controls table (Markdown): one line per experiment and cell.
pub fn markdown(all: &[ExperimentControls]) -> String {
    let mut s = String::from(
        "| experiment (metric, chance) | run | seeds × training episodes | mean [95% CI] | per seed |\n|---|---|---|---|---|\n",
    );
    for e in all {
        for r in &e.rows {
            let est = &r.estimate;
            let per: Vec<String> = est.per_seed.iter().map(|v| fmt(*v)).collect();
            s.push_str(&format!(
                "| {} (`{}`, {}) | {} | {} × {} | {} [{}, {}] | {} |\n",
                e.experiment,
                e.metric,
                fmt(e.chance),
                cell_label(r),
                r.seeds.len(),
                r.training_episodes,
                fmt(est.mean),
                fmt(est.ci_low),
                fmt(est.ci_high),
                per.join(", ")
            ));
        }
    }
    s
}

/// The checks of one experiment as a plain-text table (like `metarl check`).
pub fn check_table(e: &ExperimentControls) -> String {
    let mut s = format!(
        "{} controls: {} (chance {}, tolerance {}), {} seeds × {} training episodes\n",
        e.experiment, e.metric, e.chance, e.tolerance, e.seeds, e.training_episodes
    );
    for r in &e.rows {
        s.push_str(&format!(
            "  {:<28} {:>10} [{}, {}]\n",
            cell_label(r),
            fmt(r.estimate.mean),
            fmt(r.estimate.ci_low),
            fmt(r.estimate.ci_high)
        ));
    }
    for c in &e.checks {
        s.push_str(&format!(
            "  {:<40} {} [{}, {}]  ({})  {}\n",
            c.name,
            fmt(c.mean),
            fmt(c.ci_low),
            fmt(c.ci_high),
            c.rule,
            if c.passed { "PASS" } else { "FAIL" }
        ));
    }
    if let Some(m) = &e.default_run_missing {
        s.push_str(&format!("  (default run not shown: {m})\n"));
    }
    s
}

struct ControlsFigure<'a> {
    all: &'a [ExperimentControls],
}

impl plot::Figure for ControlsFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = plot::draw_figure_title(
            root,
            "Controls: each experiment's compared metric under each control",
            Some("points: mean over seeds; whiskers: 95% bootstrap CI; grey dots: seeds; dashed line: chance (the value without the effect)"),
        )?;
        let rows = self.all.len().div_ceil(2);
        let panels = body.margin(0, 10, 10, 10).split_evenly((rows, 2));
        let letters = "abcdefghijklmnopqrstuvwxyz";
        for (k, (e, area)) in self.all.iter().zip(panels.iter()).enumerate() {
            let letter = letters.get(k..k + 1).unwrap_or("");
            draw_panel(area, letter, e)?;
        }
        Ok(())
    }
}

/// One experiment: a point with its CI whisker and the seeds per cell, and the chance line.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    letter: &str,
    e: &ExperimentControls,
) -> Result<()> {
    let mut legend = vec![];
    for r in &e.rows {
        let label = legend_label(&r.control);
        if !legend.iter().any(|l: &plot::LegendEntry| l.label == label) {
            legend.push(plot::LegendEntry::new(
                plot::LegendMark::Swatch(bar_color(&r.control)),
                label,
            ));
        }
    }
    legend.push(plot::LegendEntry::new(
        plot::LegendMark::Dot(plot::DARK),
        "seed",
    ));
    let note = format!(
        "{} (chance {}); {} seeds × {} training episodes",
        e.metric,
        fmt(e.chance),
        e.seeds,
        e.training_episodes
    );
    let plot_area =
        plot::draw_panel_header(area, letter, &e.experiment, Some(&note), &legend, 100)?;
    let values = e
        .rows
        .iter()
        .flat_map(|r| {
            let est = &r.estimate;
            [est.mean, est.ci_low, est.ci_high]
                .into_iter()
                .chain(est.per_seed.iter().copied())
        })
        .chain([e.chance])
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let (y0, y1) = (lo - pad, hi + pad);
    let step = (y1 - y0) / 5.0;
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    let n = e.rows.len().max(1);
    let labels: Vec<String> = e.rows.iter().map(short_label).collect();
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(8)
        .margin_right(16)
        .x_label_area_size(40)
        .y_label_area_size(78)
        .build_cartesian_2d(0.0..n as f64, y0..y1)
        .map_err(plot::plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .bold_line_style(plot::LIGHT_GREY)
        .label_style(plot::font(plot::TICK_LABEL_SIZE))
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .draw()
        .map_err(plot::plot_err)?;
    // Category labels under each cell.
    let style = plot::font(plot::TICK_LABEL_SIZE).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Top,
    ));
    for (i, l) in labels.iter().enumerate() {
        // backend_coord is absolute; draw_text takes coordinates within the area.
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, y0));
        let (bx, by) = plot_area.get_base_pixel();
        plot_area
            .draw_text(l, &style, (x - bx, y - by + 8))
            .map_err(plot::plot_err)?;
    }
    // Chance: a dashed line.
    let mut x = 0.0;
    while x < n as f64 {
        chart
            .draw_series([PathElement::new(
                vec![(x, e.chance), ((x + 0.12).min(n as f64), e.chance)],
                plot::GREY.stroke_width(2),
            )])
            .map_err(plot::plot_err)?;
        x += 0.2;
    }
    for (i, r) in e.rows.iter().enumerate() {
        let c = i as f64 + 0.5;
        let est = &r.estimate;
        let color = bar_color(&r.control);
        chart
            .draw_series(
                est.per_seed
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(k, &v)| {
                        Circle::new(
                            (c + 0.18 + plot::jitter(k) * 0.08, v),
                            4,
                            plot::DARK.mix(0.45).filled(),
                        )
                    }),
            )
            .map_err(plot::plot_err)?;
        if est.ci_low.is_finite() && est.ci_high.is_finite() {
            for seg in [
                vec![(c, est.ci_low), (c, est.ci_high)],
                vec![(c - 0.08, est.ci_low), (c + 0.08, est.ci_low)],
                vec![(c - 0.08, est.ci_high), (c + 0.08, est.ci_high)],
            ] {
                chart
                    .draw_series([PathElement::new(seg, color.stroke_width(3))])
                    .map_err(plot::plot_err)?;
            }
        }
        if est.mean.is_finite() {
            chart
                .draw_series([Circle::new((c, est.mean), 8, color.filled())])
                .map_err(plot::plot_err)?;
        }
    }
    Ok(())
}

fn short_label(r: &Row) -> String {
    match r.control.as_str() {
        "main" => format!("main {}", r.hidden),
        "default_run" => "default".into(),
        "no_reward_input" => "no rew.".into(),
        "untrained" => "untrained".into(),
        "plastic_test" => "plastic".into(),
        "size" => format!("{} u.", r.hidden),
        other => other.into(),
    }
}

fn legend_label(control: &str) -> &'static str {
    match control {
        "main" => "main",
        "default_run" => "default run",
        "no_reward_input" => "no reward input",
        "untrained" => "untrained",
        "plastic_test" => "plastic at test",
        _ => "other size",
    }
}

fn bar_color(control: &str) -> RGBColor {
    match control {
        "main" => plot::BLUE,
        "default_run" => plot::GREY,
        "no_reward_input" => plot::RED,
        "untrained" => plot::ORANGE,
        "plastic_test" => plot::GREEN,
        _ => RGBColor(0x7A, 0x8F, 0xC0),
    }
}
