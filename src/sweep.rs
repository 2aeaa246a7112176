//! Sweeps: a grid of key overrides of one experiment, each grid cell an
//! ordinary run directory (all of the experiment's seeds). A cell runs by its
//! index — exactly what a Slurm array task does — or all cells run here with N
//! parallel processes; `merge` gathers the finished cells into one Parquet
//! table (one row per cell × seed × metric, the swept keys as columns) and one
//! figure. Scheduling across machines is left to Slurm; this module only writes
//! the array script.
//!
//! A sweep file:
//! ```toml
//! [sweep]
//! name = "s4_size_by_training"       # results in runs/sweeps/<name>/ unless `out` is given
//! experiment = "s4_two_step"         # a shipped name, or a TOML path relative to this file
//! profile = "quick"                  # optional
//! seeds = 8                          # optional: seeds.count of every cell
//!
//! [set]                              # optional: overrides applied to every cell
//! evaluation.episodes = 100
//!
//! [grid]                             # the swept keys and their values
//! agent.hidden = [12, 24, 48, 96]
//! training.episodes = [2500, 5000, 10000, 20000]
//!
//! [plot]                             # optional: the figure `merge` draws
//! metric = "model_based_index"
//! x = "training.episodes"
//! series = "agent.hidden"
//! ```
//! Cells enumerate the grid keys in alphabetical order, the last key varying
//! fastest; `metarl sweep list FILE` prints them with their index. A value
//! listed twice in a key's list is refused. A cell's directory is its result
//! only if it holds a run of exactly the config the file gives the cell (as
//! `metarl controls` reuses a cell): after a value or `[set]` is edited, every
//! command refuses a cell that ran with the old one instead of relabelling it.

use crate::config::{self, Override};
use crate::experiments::{self, Outcomes};
use crate::interrupt;
use crate::plot;
use crate::record::{write_parquet, write_text_atomic};
use crate::run::{self, RunOptions};
use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    sweep: SweepMeta,
    /// Overrides applied to every cell: dotted keys (or nested tables) → value.
    #[serde(default)]
    set: toml::Table,
    /// The grid: dotted keys (or nested tables) → list of values.
    grid: toml::Table,
    #[serde(default)]
    plot: Option<PlotConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepMeta {
    /// The sweep's name; its results go to runs/sweeps/<name>/ unless `out` is given.
    name: String,
    /// The base experiment: a shipped name, or a TOML path relative to the sweep file.
    experiment: String,
    /// A profile of the base experiment applied before the overrides.
    #[serde(default)]
    profile: Option<String>,
    /// Seeds per cell (the experiment's seeds.count if absent).
    #[serde(default)]
    seeds: Option<usize>,
    /// Results directory, relative to the working directory.
    #[serde(default)]
    out: Option<PathBuf>,
}

/// What `merge` plots: a metric against one swept key, one line per combination
/// of the values of the other swept keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotConfig {
    /// A metric of the experiment's outcomes.json.
    pub metric: String,
    /// The swept key on the x axis (numeric values).
    pub x: String,
    /// The swept key named first in each line's label (optional; every swept
    /// key other than `x` separates lines either way).
    #[serde(default)]
    pub series: Option<String>,
}

/// A loaded, validated sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub file: PathBuf,
    pub name: String,
    /// A shipped experiment name or an absolute TOML path.
    pub experiment: String,
    pub profile: Option<String>,
    /// Overrides of every cell (the `[set]` table, and `seeds.count`).
    pub fixed: Vec<Override>,
    /// The swept keys, alphabetically, with their values.
    pub axes: Vec<(String, Vec<toml::Value>)>,
    pub out: PathBuf,
    pub plot: Option<PlotConfig>,
}

/// What `run_all` left undone (cell indices, sorted).
#[derive(Debug, Default)]
pub struct RunAllReport {
    /// Cells whose run failed (their error is in the cell's FAILED file).
    pub failed: Vec<usize>,
    /// Cells stopped or killed by a signal that this process did not receive;
    /// they continue from their checkpoints at the next `sweep run`.
    pub stopped: Vec<usize>,
    /// Cells that another live metarl process holds (not started here).
    pub busy: Vec<usize>,
}

/// Where a cell stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CellStatus {
    /// outcomes.json and the figures are written.
    Finished,
    /// The last attempt failed; the message is in the cell's FAILED file.
    Failed(String),
    /// Not started, or interrupted before it finished.
    Pending,
}

/// Run a cell's child process. It stays in this process's group, so a Ctrl-C,
/// Ctrl-Z or hang-up at the terminal reaches it directly; a stop sent to this
/// process alone is passed on once (`interrupt::pass_on`, which never counts as
/// a second signal). The child dies with this process (PR_SET_PDEATHSIG), so no
/// cell outlives its sweep, e.g. after a second Ctrl-C.
fn run_child(cmd: &mut std::process::Command) -> std::io::Result<std::process::ExitStatus> {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid, raise) between fork and exec.
    let mut child = unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL); // the parent died before prctl
            }
            Ok(())
        })
    }
    .spawn()?;
    let mut passed_on = false;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        if let (Some(signal), false) = (interrupt::requested(), passed_on) {
            interrupt::pass_on(child.id(), signal);
            passed_on = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Flatten a table of values (nested tables or dotted keys) into (dotted key, value).
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            other => out.push((key, other.clone())),
        }
    }
}

/// A value as written in a TOML file (strings quoted).
fn show(v: &toml::Value) -> String {
    v.to_string()
}

/// Whether two grid values give the same cell: equal, or the same number
/// written as an integer and as a float (`4` and `4.0`).
fn same_value(a: &toml::Value, b: &toml::Value) -> bool {
    let number = |v: &toml::Value| match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The keys (dotted) whose values differ between two configs, as
/// `key = held` with `wanted` beside it; the `[controls]` table aside (as
/// `run::same_run`: it changes no run).
fn config_differences(held: &config::Config, wanted: &config::Config) -> Vec<String> {
    let flat = |c: &config::Config| {
        let mut out = vec![];
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(c) {
            flatten("", &t, &mut out);
        }
        out.retain(|(k, _)| k != "controls" && !k.starts_with("controls."));
        out
    };
    let (held, wanted) = (flat(held), flat(wanted));
    let value_of = |list: &[(String, toml::Value)], key: &str| {
        let text = list
            .iter()
            .find(|(k, _)| k == key)
            .map_or("(absent)".to_string(), |(_, v)| show(v));
        // A whole table of checks or variants is cut short: the key says where to look.
        match text.char_indices().nth(60) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text,
        }
    };
    let mut keys: Vec<&String> = held.iter().chain(&wanted).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (h, w) = (value_of(&held, k), value_of(&wanted, k));
            (h != w).then(|| format!("{k} = {h} where the sweep file now gives {w}"))
        })
        .collect()
}

impl Sweep {
    /// Parse a sweep file and validate every cell's experiment config (an
    /// unknown key or a bad value is refused with the cell and key named).
    pub fn load(path: &Path) -> Result<Sweep> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sweep file {}", path.display()))?;
        let file: SweepFile = toml::from_str(&text)
            .map_err(|e| anyhow!("{}: {}", path.display(), config::describe_error(&e, None)))?;
        let origin = path.display().to_string();
        crate::validate::name("sweep.name", &file.sweep.name)
            .map_err(|e| anyhow!("{origin}: {e}"))?;
        // A relative experiment path is read relative to the sweep file.
        let base = path.parent().unwrap_or(Path::new("."));
        let experiment = if config::shipped_text(&file.sweep.experiment).is_some()
            && !base.join(&file.sweep.experiment).is_file()
        {
            file.sweep.experiment.clone()
        } else {
            let p = base.join(&file.sweep.experiment);
            if !p.is_file() {
                bail!(
                    "{origin}: key `sweep.experiment` = {:?}: neither a shipped experiment nor a file",
                    file.sweep.experiment
                );
            }
            std::fs::canonicalize(&p)?.display().to_string()
        };
        let mut fixed = vec![];
        let mut set = vec![];
        flatten("", &file.set, &mut set);
        for (k, v) in set {
            fixed.push(Override::new(&k, v).map_err(|e| anyhow!("{origin}: [set]: {e:#}"))?);
        }
        if let Some(n) = file.sweep.seeds {
            fixed.push(Override::new(
                "seeds.count",
                toml::Value::Integer(n as i64),
            )?);
        }
        let mut grid = vec![];
        flatten("", &file.grid, &mut grid);
        if grid.is_empty() {
            bail!("{origin}: [grid] must list at least one key and its values");
        }
        let mut axes = vec![];
        for (k, v) in grid {
            let toml::Value::Array(values) = v else {
                bail!("{origin}: key `grid.{k}`: must be a list of values, e.g. [12, 24]");
            };
            if values.is_empty() {
                bail!("{origin}: key `grid.{k}`: must list at least one value");
            }
            Override::new(&k, values[0].clone()).map_err(|e| anyhow!("{origin}: [grid]: {e:#}"))?;
            // A repeated value would run the same cell twice, and merge would pool both.
            for (j, v) in values.iter().enumerate() {
                if let Some(w) = values[..j].iter().find(|w| same_value(w, v)) {
                    bail!(
                        "{origin}: key `grid.{k}`: the value {} is listed twice{}: its cells \
                         would run twice and merge would pool them; list each value once",
                        show(w),
                        if show(w) == show(v) {
                            String::new()
                        } else {
                            format!(" (as {})", show(v))
                        }
                    );
                }
            }
            axes.push((k, values));
        }
        axes.sort_by(|a, b| a.0.cmp(&b.0));
        let sweep = Sweep {
            file: path.to_path_buf(),
            name: file.sweep.name.clone(),
            experiment,
            profile: file.sweep.profile.clone(),
            fixed,
            axes,
            out: file
                .sweep
                .out
                .clone()
                .unwrap_or_else(|| Path::new("runs").join("sweeps").join(&file.sweep.name)),
            plot: file.plot.clone(),
        };
        if sweep.out.exists() && !sweep.out.is_dir() {
            bail!(
                "{origin}: the results directory {} exists and is not a directory{}",
                sweep.out.display(),
                if file.sweep.out.is_some() {
                    " (key `sweep.out`)"
                } else {
                    " (the default for `sweep.name`; set `sweep.out`)"
                }
            );
        }
        // Every cell must give a valid experiment before anything runs.
        let mut metrics_checked = false;
        for i in 0..sweep.n_cells() {
            let cfg = experiments::load_with(
                &sweep.experiment,
                sweep.profile.as_deref(),
                &sweep.overrides(i),
            )
            .map_err(|e| anyhow!("{origin}: cell {i} ({}): {e:#}", sweep.describe_cell(i)))?
            .config;
            if let (Some(p), false) = (&sweep.plot, metrics_checked) {
                let exp = experiments::find(&cfg.experiment.analysis)?;
                if !exp.metrics().iter().any(|(m, _)| *m == p.metric) {
                    bail!(
                        "{origin}: key `plot.metric` = {:?}: the {} analysis produces no such metric",
                        p.metric,
                        exp.id()
                    );
                }
                metrics_checked = true;
            }
        }
        if let Some(p) = &sweep.plot {
            if p.series.as_ref() == Some(&p.x) {
                bail!(
                    "{origin}: key `plot.series` = {:?}: the same key as `plot.x`",
                    p.x
                );
            }
            for (what, key) in [("plot.x", Some(&p.x)), ("plot.series", p.series.as_ref())] {
                if let Some(key) = key {
                    if !sweep.axes.iter().any(|(k, _)| k == key) {
                        bail!("{origin}: key `{what}` = {key:?}: not a swept key of [grid]");
                    }
                }
            }
        }
        Ok(sweep)
    }

    pub fn n_cells(&self) -> usize {
        self.axes.iter().map(|(_, v)| v.len()).product()
    }

    /// The swept (key, value) pairs of cell `i` (last key fastest).
    pub fn cell_values(&self, i: usize) -> Vec<(String, toml::Value)> {
        let mut rest = i;
        let mut out = vec![];
        for (k, values) in self.axes.iter().rev() {
            out.push((k.clone(), values[rest % values.len()].clone()));
            rest /= values.len();
        }
        out.reverse();
        out
    }

    /// Every override of cell `i`: the fixed ones, then the swept ones.
    pub fn overrides(&self, i: usize) -> Vec<Override> {
        let mut o = self.fixed.clone();
        for (k, v) in self.cell_values(i) {
            o.push(Override::new(&k, v).expect("checked when loading"));
        }
        o
    }

    pub fn describe_cell(&self, i: usize) -> String {
        self.cell_values(i)
            .iter()
            .map(|(k, v)| format!("{k}={}", show(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn cell_dir(&self, i: usize) -> PathBuf {
        let width = self.n_cells().saturating_sub(1).to_string().len().max(4);
        self.out.join("cells").join(format!("cell_{i:0width$}"))
    }

    /// Whether cell `i`'s directory holds a run (finished, failed or
    /// interrupted: its config.toml, which a resume continues) of another
    /// config than the sweep file now gives the cell, e.g. after a grid value
    /// was edited. Such a run is not this cell's result; `Some` says how it
    /// differs. The comparison is `metarl controls`' (`run::same_run`).
    pub fn conflict(&self, i: usize) -> Result<Option<String>> {
        let dir = self.cell_dir(i);
        if !dir.join("config.toml").is_file() {
            return Ok(None);
        }
        let (wanted, _) = run::resolve_config(&self.run_options(i, None, true))
            .map_err(|e| anyhow!("cell {i} ({}): {e:#}", self.describe_cell(i)))?;
        let held = match run::run_config(&dir) {
            Ok(held) => held,
            Err(e) => return Ok(Some(format!("a config.toml that cannot be read ({e:#})"))),
        };
        if run::same_run(wanted.clone(), held.clone()) {
            return Ok(None);
        }
        let diff = config_differences(&held, &wanted);
        Ok(Some(match diff.len() {
            0 => "a run of another config".to_string(),
            1..=3 => format!("a run of another config: {}", diff.join(", ")),
            n => format!(
                "a run of another config: {}, and {} more keys",
                diff[..3].join(", "),
                n - 3
            ),
        }))
    }

    /// Refuse the sweep if any of `cells` holds a run of another config
    /// (`conflict`): its results would be labelled with values they were not
    /// run with. `sweep list`, `run`, `merge` and `sbatch` check before any work.
    pub fn check_cells(&self, cells: impl IntoIterator<Item = usize>) -> Result<()> {
        let mut first: Option<(usize, String)> = None;
        let mut others = vec![];
        for i in cells {
            if let Some(what) = self.conflict(i)? {
                match first {
                    None => first = Some((i, what)),
                    Some(_) => others.push(i.to_string()),
                }
            }
        }
        let Some((i, what)) = first else {
            return Ok(());
        };
        let dir = self.cell_dir(i);
        bail!(
            "{}: cell {i} ({}) of {} holds {what}{}; its results are not this cell's: give the \
             changed sweep another `sweep.name` or `sweep.out`, or remove {} to run the cell again",
            dir.display(),
            self.describe_cell(i),
            self.file.display(),
            if others.is_empty() {
                String::new()
            } else {
                format!(" (so do cells {})", others.join(", "))
            },
            dir.display()
        );
    }

    pub fn status(&self, i: usize) -> CellStatus {
        let dir = self.cell_dir(i);
        if let Ok(msg) = std::fs::read_to_string(dir.join("FAILED")) {
            return CellStatus::Failed(msg.trim().to_string());
        }
        if dir.join("outcomes.json").is_file() && dir.join("figures").is_dir() {
            return CellStatus::Finished;
        }
        CellStatus::Pending
    }

    /// The `metarl run` options of cell `i` (what `metarl run` with the same
    /// overrides would do, into the cell's directory).
    pub fn run_options(&self, i: usize, threads: Option<usize>, quiet: bool) -> RunOptions {
        RunOptions {
            experiment: self.experiment.clone(),
            out: Some(self.cell_dir(i)),
            profile: self.profile.clone(),
            overrides: self.overrides(i),
            threads,
            // An interrupted cell's partial files are replaced.
            force: true,
            quiet,
            ..Default::default()
        }
    }

    /// Run cell `i` here unless it has finished. A failure is recorded in the
    /// cell's FAILED file (and returned), so that `merge` can report it.
    pub fn run_cell(&self, i: usize, threads: Option<usize>, quiet: bool) -> Result<bool> {
        if i >= self.n_cells() {
            bail!(
                "--index {i}: the sweep has {} cells (0..{})",
                self.n_cells(),
                self.n_cells() - 1
            );
        }
        self.check_cells([i])?;
        if self.status(i) == CellStatus::Finished {
            if !quiet {
                crate::note!(
                    "cell {i} ({}) already finished; skipped",
                    self.describe_cell(i)
                );
            }
            return Ok(false);
        }
        let dir = self.cell_dir(i);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let _ = std::fs::remove_file(dir.join("FAILED"));
        let started = std::time::Instant::now();
        // An interrupted or killed cell continues from its checkpoints.
        if let Err(e) = run::run_or_resume(&self.run_options(i, threads, quiet)) {
            if interrupt::find(&e).is_some() || e.downcast_ref::<run::Locked>().is_some() {
                // Stopped, or another process is running it: not a failure of the
                // cell (a FAILED file would hide its result once that one finishes).
                return Err(e);
            }
            let msg = format!("{e:#}");
            write_text_atomic(&dir.join("FAILED"), &format!("{msg}\n"))?;
            bail!("cell {i} ({}) failed: {msg}", self.describe_cell(i));
        }
        if !quiet {
            crate::note!(
                "cell {i} ({}) finished in {:.1}s",
                self.describe_cell(i),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(true)
    }

    /// Run every unfinished cell here, `jobs` at a time, each as a child
    /// process `metarl sweep run FILE --index i` (as a Slurm array task would).
    /// Returns the cells that failed and those stopped by a signal sent to them
    /// alone; a stop of this process is an `Interrupted` error.
    pub fn run_all(&self, jobs: usize, threads_per_cell: usize) -> Result<RunAllReport> {
        use std::os::unix::process::ExitStatusExt;
        let exe = std::env::current_exe().context("cannot find the metarl executable")?;
        self.check_cells(0..self.n_cells())?;
        let todo: Vec<usize> = (0..self.n_cells())
            .filter(|&i| self.status(i) != CellStatus::Finished)
            .collect();
        crate::note!(
            "{}: {} cells, {} finished, {} to run ({} at a time, {} threads each) → {}",
            self.name,
            self.n_cells(),
            self.n_cells() - todo.len(),
            todo.len(),
            jobs,
            threads_per_cell,
            self.out.display()
        );
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed = std::sync::Mutex::new(vec![]);
        let stopped = std::sync::Mutex::new(vec![]);
        let busy = std::sync::Mutex::new(vec![]);
        let done = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..jobs.max(1) {
                scope.spawn(|| loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&i) = todo.get(k) else { break };
                    if interrupt::requested().is_some() {
                        break;
                    }
                    // A cell that another live metarl process holds is left to it.
                    match run::RunLock::acquire(&self.cell_dir(i)) {
                        Err(e) if e.downcast_ref::<run::Locked>().is_some() => {
                            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            crate::note!("cell {i} ({}) busy: {e}", self.describe_cell(i));
                            busy.lock().unwrap().push(i);
                            continue;
                        }
                        _ => {} // the lock is released at once; the cell takes it
                    }
                    let started = std::time::Instant::now();
                    let status = run_child(
                        std::process::Command::new(&exe)
                            .args(["sweep", "run"])
                            .arg(&self.file)
                            .args(["--index", &i.to_string()])
                            .args(["--threads", &threads_per_cell.to_string(), "--quiet"]),
                    );
                    let outcome = match status {
                        Ok(s) if s.success() => "finished".to_string(),
                        Ok(s) if interrupt::stopped(&s) => "stopped".to_string(),
                        // SIGKILL, the OOM killer: it continues from its last checkpoint.
                        Ok(s) if s.signal().is_some() => {
                            format!("killed by signal {}", s.signal().unwrap_or(0))
                        }
                        _ => "FAILED".to_string(),
                    };
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    crate::note!(
                        "[{n}/{}] cell {i} ({}) {outcome} in {:.1}s",
                        todo.len(),
                        self.describe_cell(i),
                        started.elapsed().as_secs_f64()
                    );
                    match outcome.as_str() {
                        "finished" => {}
                        "FAILED" => failed.lock().unwrap().push(i),
                        _ => stopped.lock().unwrap().push(i),
                    }
                });
            }
        });
        let mut failed = failed.into_inner().unwrap();
        failed.sort();
        let mut stopped = stopped.into_inner().unwrap();
        stopped.sort();
        let mut busy = busy.into_inner().unwrap();
        busy.sort();
        let unfinished = todo.len() - done.into_inner();
        if let Some(signal) = interrupt::requested().filter(|_| unfinished + stopped.len() > 0) {
            crate::note!(
                "sweep stopped: the running cells kept their checkpoints; continue with `metarl sweep run {}`",
                self.file.display()
            );
            return Err(interrupt::Interrupted {
                signal,
                resume: None,
            }
            .into());
        }
        Ok(RunAllReport {
            failed,
            stopped,
            busy,
        })
    }

    /// An sbatch script running the sweep as a Slurm job array: task i runs
    /// `metarl sweep run FILE --index i`.
    pub fn sbatch_script(&self, opts: &SbatchOptions) -> Result<String> {
        opts.check()?;
        let exe = std::env::current_exe().context("cannot find the metarl executable")?;
        let file = std::fs::canonicalize(&self.file)?;
        let cwd = std::env::current_dir()?;
        let logs = cwd.join(&self.out).join("slurm");
        let n = self.n_cells();
        let throttle = opts
            .max_parallel
            .map(|m| format!("%{m}"))
            .unwrap_or_default();
        let mut s = format!(
            "#!/bin/bash\n\
             # Slurm job array for the sweep {name} ({n} cells), written by `metarl sweep sbatch`.\n\
             # Task i runs cell i; a cell that already finished is skipped, so resubmitting\n\
             # continues an interrupted sweep. Merge with: metarl sweep merge {file}\n\
             #SBATCH --job-name=metarl-{name}\n\
             #SBATCH --array=0-{last}{throttle}\n\
             #SBATCH --cpus-per-task={cpus}\n\
             #SBATCH --mem={mem}\n\
             #SBATCH --time={time}\n\
             #SBATCH --output={logs}/cell_%a.out\n",
            name = self.name,
            file = file.display(),
            last = n - 1,
            cpus = opts.cpus,
            mem = opts.mem,
            time = opts.time,
            logs = logs.display(),
        );
        if let Some(p) = &opts.partition {
            s.push_str(&format!("#SBATCH --partition={p}\n"));
        }
        s.push_str(&format!(
            "set -euo pipefail\n\
             cd {cwd}\n\
             exec {exe} sweep run {file} --index \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" --quiet\n",
            cwd = shell_quote(&cwd.display().to_string()),
            exe = shell_quote(&exe.display().to_string()),
            file = shell_quote(&file.display().to_string()),
        ));
        Ok(s)
    }

    /// Write the sbatch script into the sweep's directory; returns its path.
    pub fn write_sbatch(&self, opts: &SbatchOptions) -> Result<PathBuf> {
        opts.check()?;
        self.check_cells(0..self.n_cells())?;
        std::fs::create_dir_all(self.out.join("slurm"))
            .with_context(|| format!("cannot create {}", self.out.display()))?;
        let path = self.out.join("sweep.sbatch");
        write_text_atomic(&path, &self.sbatch_script(opts)?)?;
        Ok(path)
    }

    /// Merge the finished cells into `<out>/merged.parquet` (and a figure when
    /// a plot is configured or given). Returns the report.
    pub fn merge(&self, plot: Option<&PlotConfig>) -> Result<MergeReport> {
        // A cell holding a run of another config would be labelled with values it was not run with.
        self.check_cells(0..self.n_cells())?;
        let mut report = MergeReport::default();
        let mut cell_col: Vec<u32> = vec![];
        let mut axis_cols: Vec<Vec<toml::Value>> = vec![vec![]; self.axes.len()];
        let mut seed_col: Vec<Option<u64>> = vec![];
        let (mut metric_col, mut value_col): (Vec<String>, Vec<f64>) = (vec![], vec![]);
        let (mut mean_col, mut lo_col, mut hi_col) = (vec![], vec![], vec![]);
        let mut outcomes: Vec<(usize, Outcomes)> = vec![];
        for i in 0..self.n_cells() {
            match self.status(i) {
                CellStatus::Finished => {}
                CellStatus::Failed(msg) => {
                    report.failed.push((i, msg));
                    continue;
                }
                CellStatus::Pending => {
                    report.missing.push(i);
                    continue;
                }
            }
            let o = Outcomes::read(&self.cell_dir(i).join("outcomes.json"))?;
            let values = self.cell_values(i);
            for (name, m) in &o.metrics {
                let e = &m.estimate;
                for (k, v) in e.per_seed.iter().enumerate() {
                    cell_col.push(i as u32);
                    for (a, (_, val)) in values.iter().enumerate() {
                        axis_cols[a].push(val.clone());
                    }
                    seed_col.push(if e.per_seed.len() == o.seeds.len() {
                        Some(o.seeds[k])
                    } else {
                        None
                    });
                    metric_col.push(name.clone());
                    value_col.push(*v);
                    mean_col.push(e.mean);
                    lo_col.push(e.ci_low);
                    hi_col.push(e.ci_high);
                }
            }
            report.merged.push(i);
            outcomes.push((i, o));
        }
        if outcomes.is_empty() {
            // Nothing to merge: the report still names the missing and failed
            // cells, and a table from an earlier merge is not left to look current.
            let _ = std::fs::remove_file(self.out.join("merged.parquet"));
            return Ok(report);
        }
        let mut cols = vec![Column::new("cell".into(), cell_col)];
        for ((key, _), values) in self.axes.iter().zip(axis_cols) {
            cols.push(axis_column(key, &values));
        }
        cols.push(Column::new("seed".into(), seed_col));
        cols.push(Column::new("metric".into(), metric_col));
        cols.push(Column::new("value".into(), value_col));
        cols.push(Column::new("mean".into(), mean_col));
        cols.push(Column::new("ci_low".into(), lo_col));
        cols.push(Column::new("ci_high".into(), hi_col));
        let mut df = DataFrame::new_infer_height(cols)?;
        let path = self.out.join("merged.parquet");
        write_parquet(&path, &mut df)?;
        report.table = Some(path);
        if let Some(p) = plot.or(self.plot.as_ref()) {
            report.figure = Some(self.render(p, &outcomes)?);
        }
        Ok(report)
    }

    fn render(&self, p: &PlotConfig, outcomes: &[(usize, Outcomes)]) -> Result<PathBuf> {
        let axis = |key: &str| {
            self.axes
                .iter()
                .position(|(k, _)| k == key)
                .ok_or_else(|| anyhow!("{key:?} is not a swept key of this sweep"))
        };
        let xa = axis(&p.x)?;
        if p.series.as_ref() == Some(&p.x) {
            bail!("--series {:?}: the same key as the x axis", p.x);
        }
        // One line per combination of the other swept keys' values (the
        // series key named first), so that no line joins cells that differ in
        // a key other than x.
        let series = p.series.as_deref().map(axis).transpose()?;
        let others: Vec<usize> = series
            .into_iter()
            .chain((0..self.axes.len()).filter(|&k| k != xa && Some(k) != series))
            .collect();
        let number = |v: &toml::Value| match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        let mut lines: Vec<plot::LabelledLine> = vec![];
        for (i, o) in outcomes {
            let values = self.cell_values(*i);
            let x = number(&values[xa].1)
                .ok_or_else(|| anyhow!("plot.x = {:?}: its values must be numbers", p.x))?;
            let label = if others.is_empty() {
                p.metric.clone()
            } else {
                others
                    .iter()
                    .map(|&k| format!("{} = {}", values[k].0, show(&values[k].1)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let e = &o
                .metrics
                .get(&p.metric)
                .ok_or_else(|| anyhow!("cell {i} has no metric {:?}", p.metric))?
                .estimate;
            match lines.iter_mut().find(|(l, _)| *l == label) {
                Some((_, pts)) => pts.push((x, e.mean, e.ci_low, e.ci_high)),
                None => lines.push((label, vec![(x, e.mean, e.ci_low, e.ci_high)])),
            }
        }
        for (_, pts) in &mut lines {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let stem = self.out.join("figures").join(&self.name);
        let fig = SweepFigure {
            title: format!("{}: {} by {}", self.name, p.metric, p.x),
            subtitle: format!(
                "{} (mean \u{b1} 95% bootstrap CI over seeds, per cell)",
                self.experiment_label()
            ),
            x_label: p.x.clone(),
            y_label: p.metric.clone(),
            lines,
        };
        plot::render_png_and_svg(&stem, 1000, 700, &fig)?;
        Ok(stem)
    }

    fn experiment_label(&self) -> String {
        Path::new(&self.experiment)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| self.experiment.clone())
    }
}

/// A swept key as a typed column: integers, floats, booleans, else text.
fn axis_column(key: &str, values: &[toml::Value]) -> Column {
    let name: PlSmallStr = key.into();
    if values.iter().all(|v| v.is_integer()) {
        Column::new(
            name,
            values.iter().map(|v| v.as_integer()).collect::<Vec<_>>(),
        )
    } else if values.iter().all(|v| v.is_integer() || v.is_float()) {
        let f: Vec<Option<f64>> = values
            .iter()
            .map(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
            .collect();
        Column::new(name, f)
    } else if values.iter().all(|v| v.is_bool()) {
        Column::new(name, values.iter().map(|v| v.as_bool()).collect::<Vec<_>>())
    } else {
        let s: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| show(v)))
            .collect();
        Column::new(name, s)
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Resources of each Slurm array task.
#[derive(Debug, Clone)]
pub struct SbatchOptions {
    pub cpus: usize,
    pub mem: String,
    pub time: String,
    pub partition: Option<String>,
    /// At most this many array tasks at once (`--array=0-N%M`).
    pub max_parallel: Option<usize>,
}

impl SbatchOptions {
    /// Refuse values that would write a broken script (`--cpus-per-task=0`,
    /// `--array=0-3%0`, `--time=`), naming the flag.
    pub fn check(&self) -> Result<()> {
        if self.cpus == 0 {
            bail!("--cpus must be at least 1 (the CPUs of each array task)");
        }
        if self.max_parallel == Some(0) {
            bail!("--max-parallel must be at least 1 (array tasks running at once)");
        }
        if !slurm_time(&self.time) {
            bail!(
                "--time {:?}: not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, \
                 D-HH:MM:SS or UNLIMITED; e.g. 02:00:00)",
                self.time
            );
        }
        if !slurm_memory(&self.mem) {
            bail!(
                "--mem {:?}: not a Slurm memory size (a whole number, optionally with a unit \
                 K, M, G or T; e.g. 4G)",
                self.mem
            );
        }
        if let Some(p) = &self.partition {
            if p.is_empty() || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bail!("--partition {p:?}: must be a partition name, without spaces");
            }
        }
        Ok(())
    }
}

/// Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or no limit.
fn slurm_time(t: &str) -> bool {
    if ["unlimited", "infinite"].contains(&t.to_ascii_lowercase().as_str()) {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    days.is_none_or(digits) && parts.len() <= 3 && parts.iter().all(|p| digits(p))
}

/// A Slurm memory size: a whole number with an optional unit (K, M, G, T).
fn slurm_memory(m: &str) -> bool {
    let number = m.trim_end_matches(|c: char| "KMGTkmgt".contains(c));
    m.len() - number.len() <= 1 && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
}

/// What `merge` did.
#[derive(Debug, Clone, Default)]
pub struct MergeReport {
    pub merged: Vec<usize>,
    pub missing: Vec<usize>,
    pub failed: Vec<(usize, String)>,
    pub table: Option<PathBuf>,
    pub figure: Option<PathBuf>,
}

impl MergeReport {
    pub fn complete(&self) -> bool {
        self.missing.is_empty() && self.failed.is_empty()
    }
}

struct SweepFigure {
    title: String,
    subtitle: String,
    x_label: String,
    y_label: String,
    lines: Vec<plot::LabelledLine>,
}

impl plot::Figure for SweepFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = plot::draw_figure_title(root, &self.title, Some(&self.subtitle))?;
        let body = body.margin(0, 10, 10, 10);
        // Offset the lines a little so that their error bars do not overlap.
        let xs = self.lines.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let dodge = if hi > lo { (hi - lo) * 0.008 } else { 0.0 };
        let series = self
            .lines
            .iter()
            .enumerate()
            .map(|(k, (label, pts))| plot::Series {
                label,
                color: plot::palette(k),
                filled: true,
                points: pts.clone(),
            })
            .collect();
        plot::draw_line_panel(
            &body,
            &plot::LinePanel {
                letter: "",
                title: "",
                header_height: 60,
                note: None,
                x_label: &self.x_label,
                y_label: &self.y_label,
                series,
                dodge,
            },
        )
    }
}
