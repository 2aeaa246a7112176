//! A run, stage by stage: validated config → training (seeds in parallel) →
//! checkpoints → frozen-weight evaluation → trials.parquet → analysis →
//! outcomes.json → figures. Each stage reads only what the previous one wrote,
//! so `analyze` and `figures` can be redone on a finished run directory.

use crate::config::{Config, Source};
use crate::experiments::{self, Outcomes};
use crate::interrupt::{self, Interrupted};
use crate::record::{self, write_text_atomic};
use crate::train::{self, TrainedSeed};
use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Files a run directory holds; `--force` removes exactly these.
pub const RUN_FILES: [&str; 7] = [
    "config.toml",
    "manifest.json",
    "checkpoints",
    "training.parquet",
    "trials.parquet",
    "outcomes.json",
    "figures",
];

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub experiment: String,
    pub out: Option<PathBuf>,
    pub seeds: Option<usize>,
    pub episodes: Option<usize>,
    pub profile: Option<String>,
    /// Key overrides (`--set agent.hidden=12`), applied after the profile.
    pub overrides: Vec<crate::config::Override>,
    pub threads: Option<usize>,
    pub force: bool,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedRecord {
    pub seed: u64,
    /// The training variant, if the experiment declares variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub train_seconds: f64,
    /// Network steps of training, and per second.
    pub env_steps: u64,
    pub env_steps_per_sec: f64,
    /// Task trials of training, and per second.
    #[serde(default)]
    pub trials: u64,
    #[serde(default)]
    pub trials_per_sec: f64,
}

/// A (variant, seed) whose training diverged (a NaN or infinity in its loss,
/// gradient or weights): it has no results; the run's other seeds are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedSeed {
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The update (0-based, as in training.parquet) at which it diverged.
    pub update: usize,
    /// The error: seed, update, what was not finite and the last finite losses.
    pub message: String,
}

impl FailedSeed {
    /// "seed 2" or "seed 2 of variant small".
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("seed {} of variant {v}", self.seed),
            None => format!("seed {}", self.seed),
        }
    }
}

/// The one-line summary of failed seeds, e.g. "seed 2 diverged at update 5".
pub fn failed_summary(failed: &[FailedSeed]) -> String {
    failed
        .iter()
        .map(|f| format!("{} diverged at update {}", f.label(), f.update))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `metarl run` finished, but some seeds diverged: every output was written
/// for the other seeds (`main` exits 1 with this message).
#[derive(Debug, Clone)]
pub struct SeedsFailed {
    pub dir: PathBuf,
    pub failed: Vec<FailedSeed>,
    pub total: usize,
}

impl std::fmt::Display for SeedsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.total - self.failed.len();
        write!(
            f,
            "{} of {} seeds failed ({}); ",
            self.failed.len(),
            self.total,
            failed_summary(&self.failed)
        )?;
        if kept == 0 {
            write!(f, "no results; see {}/manifest.json", self.dir.display())
        } else {
            write!(
                f,
                "the results of the other {kept} are in {} (failed seeds in manifest.json and outcomes.json)",
                self.dir.display()
            )
        }
    }
}

impl std::error::Error for SeedsFailed {}

/// manifest.json: what ran, where, and how long each stage took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub crate_version: String,
    pub experiment: String,
    pub source: String,
    pub profile: Option<String>,
    /// Key overrides applied after the profile, in order (`--set`, sweeps,
    /// then `--seeds` and `--episodes` as `seeds.count` and `training.episodes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    pub seeds: Vec<u64>,
    pub threads: usize,
    pub cpu: String,
    /// `numerics::fingerprint()` of the machine that finished the run (for a
    /// run resumed elsewhere, that one's): runs made with equal fingerprints are
    /// expected to agree bit for bit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerics: Option<String>,
    pub started_unix: u64,
    /// Finished by `metarl run --resume` (its timings then cover the last process only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// Wall time of the whole `metarl run` (training, test, tables, analysis, figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    pub stage_seconds: BTreeMap<String, f64>,
    pub per_seed: Vec<SeedRecord>,
    /// Seeds whose training diverged (no results); absent when every seed trained.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_seeds: Vec<FailedSeed>,
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
        + &format!(" ({} logical cores)", num_cpus())
}

/// The logical cores this process may use (its affinity or cgroup limit).
pub fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The overrides as `resolve_config` applies them, in order: `--set`, then
/// `--seeds` and `--episodes` (which win over a `--set` of the same key).
fn applied_overrides(opts: &RunOptions) -> Vec<String> {
    let mut o: Vec<String> = opts.overrides.iter().map(|o| o.to_string()).collect();
    if let Some(n) = opts.seeds {
        o.push(format!("seeds.count={n}"));
    }
    if let Some(n) = opts.episodes {
        o.push(format!("training.episodes={n}"));
    }
    o
}

/// Load the experiment and apply the command-line overrides.
pub fn resolve_config(opts: &RunOptions) -> Result<(Config, Source)> {
    let loaded =
        experiments::load_with(&opts.experiment, opts.profile.as_deref(), &opts.overrides)?;
    let mut cfg = loaded.config;
    if let Some(n) = opts.seeds {
        cfg.seeds.count = n;
    }
    if let Some(n) = opts.episodes {
        cfg.training.episodes = n;
    }
    cfg.validate()
        .map_err(|e| anyhow::anyhow!("{} (after command-line overrides): {e:#}", loaded.source))?;
    Ok((cfg, loaded.source))
}

/// One writer per run directory: `run.lock` holds the writer's process id and
/// host while `run`, `analyze` or `figures` writes the directory, and is
/// removed when it finishes (also on an error). A lock left by a killed process
/// is stale and taken over.
pub struct RunLock {
    path: PathBuf,
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Whether a metarl process with this id is running on this host.
fn metarl_alive(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("metarl"))
        .unwrap_or(false)
}

/// A run directory held by another metarl process (its `run.lock`).
#[derive(Debug)]
pub struct Locked(pub String);

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Locked {}

impl RunLock {
    pub fn acquire(dir: &Path) -> Result<RunLock> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("run.lock");
        let me = format!("{} {}", std::process::id(), host_name());
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(me.as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut parts = holder.split_whitespace();
                    let pid: Option<i32> = parts.next().and_then(|p| p.parse().ok());
                    let host = parts.next().unwrap_or("").to_string();
                    if let Some(pid) = pid {
                        if host != host_name() {
                            return Err(Locked(format!(
                                "{} is locked by metarl process {pid} on host {host} ({}); if that run is dead, remove the file",
                                dir.display(),
                                path.display()
                            ))
                            .into());
                        }
                        if pid as u32 != std::process::id() && metarl_alive(pid) {
                            return Err(Locked(format!(
                                "{} is being written by another metarl process (pid {pid}); wait for it to finish or stop it",
                                dir.display()
                            ))
                            .into());
                        }
                    }
                    // Stale: its process is gone.
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        bail!("cannot take the lock {}", path.display())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Refuse to touch a directory that already holds results, unless forced.
fn prepare_dir(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() {
        let existing: Vec<&str> = RUN_FILES
            .iter()
            .copied()
            .filter(|f| dir.join(f).exists())
            .collect();
        if !existing.is_empty() {
            if !force {
                bail!(
                    "{} already holds results ({}); pass --force to replace them or --out to choose another directory",
                    dir.display(),
                    existing.join(", ")
                );
            }
            for f in existing {
                let p = dir.join(f);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                }
                .with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir.join("checkpoints"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} episodes {msg} ({eta})")
        .expect("valid template")
        .progress_chars("=> ")
}

/// One training job: a seed of a variant (or of the config as written).
struct Job {
    variant: Option<String>,
    cfg: Config,
    seed: u64,
}

impl Job {
    fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{v}/{}", self.seed),
            None => format!("seed {}", self.seed),
        }
    }

    fn checkpoint(&self, dir: &Path) -> PathBuf {
        let mut p = dir.join("checkpoints");
        if let Some(v) = &self.variant {
            p = p.join(v);
        }
        p.join(format!("seed_{}.json", self.seed))
    }

    /// The seed's resume checkpoint (`training.checkpoint_every`):
    /// checkpoints/resume/[<variant>/]seed_<n>.bin.
    fn resume_checkpoint(&self, dir: &Path) -> PathBuf {
        let mut p = dir.join(RESUME_DIR);
        if let Some(v) = &self.variant {
            p = p.join(v);
        }
        p.join(format!("seed_{}.bin", self.seed))
    }

    /// The weights after `episodes` training episodes (`evaluation.stages`).
    fn stage_checkpoint(&self, dir: &Path, episodes: usize) -> PathBuf {
        self.checkpoint(dir)
            .with_file_name(format!("seed_{}_episodes_{episodes}.json", self.seed))
    }
}

/// What one job produced: the trained seed and its test trials (all conditions).
struct JobResult {
    variant: Option<String>,
    trained: TrainedSeed,
    trials: DataFrame,
}

/// Label columns (`variant`, `condition`) inserted after `seed`, only when the
/// experiment declares variants or conditions (so other runs' tables are unchanged).
fn insert_labels(df: &mut DataFrame, labels: &[(&str, Option<&str>)]) -> Result<()> {
    let height = df.height();
    let mut at = 1;
    for (column, value) in labels {
        if let Some(v) = value {
            df.insert_column(at, Column::new((*column).into(), vec![*v; height]))?;
            at += 1;
        }
    }
    Ok(())
}

/// The test trials of one agent (a variant's network of one seed at one
/// training stage, or a reference agent) in every test condition that includes
/// the seed, with the `variant` and `condition` columns where the experiment
/// declares them and the `stage` column when `stage` is given. `play` plays
/// one condition.
pub fn test_trials(
    cfg: &Config,
    variant: Option<&str>,
    seed: u64,
    stage: Option<usize>,
    mut play: impl FnMut(&crate::config::TestCondition) -> Result<record::TrialTable>,
) -> Result<DataFrame> {
    let mut trials: Option<DataFrame> = None;
    for cond in cfg.test_conditions()? {
        // A condition may test only the run's first few seeds.
        if (seed - cfg.seeds.first) as usize >= cond.seeds {
            continue;
        }
        let mut df = play(&cond)?.into_dataframe()?;
        insert_labels(
            &mut df,
            &[("variant", variant), ("condition", cond.name.as_deref())],
        )?;
        if let Some(stage) = stage {
            let at = df.get_column_index("episode").unwrap_or(1);
            let col = Column::new("stage".into(), vec![stage as u64; df.height()]);
            df.insert_column(at, col)?;
        }
        match &mut trials {
            None => trials = Some(df),
            Some(all) => {
                all.vstack_mut(&df)?;
            }
        }
    }
    trials.context("no test condition includes this seed")
}

/// Train and evaluate every (variant, seed), in parallel on `threads` cores.
/// A seed whose training diverges is returned as failed; any other error fails
/// the run.
fn train_all(
    cfg: &Config,
    dir: &Path,
    pool: &rayon::ThreadPool,
    quiet: bool,
) -> Result<(Vec<JobResult>, Vec<FailedSeed>)> {
    let mut jobs = vec![];
    for (variant, vcfg) in cfg.training_variants()? {
        if let Some(v) = &variant {
            std::fs::create_dir_all(dir.join("checkpoints").join(v))?;
        }
        for seed in cfg.seed_list() {
            jobs.push(Job {
                variant: variant.clone(),
                cfg: vcfg.clone(),
                seed,
            });
        }
    }
    let multi = MultiProgress::with_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let bars: Vec<ProgressBar> = jobs
        .iter()
        .map(|j| {
            let pb = multi.add(ProgressBar::new(j.cfg.training.episodes as u64));
            pb.set_style(bar_style());
            pb.set_prefix(j.label());
            pb
        })
        .collect();
    let results: Vec<Result<JobResult>> = pool.install(|| {
        jobs.par_iter()
            .zip(bars.par_iter())
            .map(|(job, pb)| {
                let jcfg = &job.cfg;
                let seed = job.seed;
                let mut last_draw = 0u64;
                let ckpt = train::Checkpointing {
                    path: job.resume_checkpoint(dir),
                    every: jcfg.training.checkpoint_every,
                    stop_after: None,
                };
                let trained = train::train_seed_resumable(
                    jcfg,
                    seed,
                    Some(&ckpt),
                    |episodes, sps, reward| {
                        pb.set_position(episodes.min(jcfg.training.episodes as u64));
                        if episodes >= last_draw + 200 {
                            last_draw = episodes;
                            pb.set_message(format!(
                                "{sps:>8.0} steps/s, reward/episode {reward:6.1}"
                            ));
                        }
                    },
                )
                .inspect_err(|e| {
                    // An interruption is reported once, for the whole run.
                    if interrupt::find(e).is_some() {
                        pb.abandon_with_message("interrupted");
                        return;
                    }
                    pb.abandon_with_message("FAILED");
                    if !quiet {
                        match &job.variant {
                            Some(v) => crate::note!("variant {v}: {e:#}"),
                            None => crate::note!("{e:#}"),
                        }
                    }
                })?;
                let done = format!(
                    "done in {:.1}s ({:.0} network steps/s)",
                    trained.seconds,
                    trained.env_steps as f64 / trained.seconds
                );
                // Without a terminal the bars are hidden: log one line per seed instead.
                if !quiet && !std::io::stderr().is_terminal() {
                    crate::note!("{}: trained, {done}", job.label());
                }
                pb.finish_with_message(done);
                write_text_atomic(&job.checkpoint(dir), &trained.params.save_json()?)?;
                if let Some(critic) = &trained.critic {
                    let path = job.checkpoint(dir).with_extension("critic.json");
                    write_text_atomic(&path, &critic.save_json()?)?;
                }
                // The weights at each training stage (with `evaluation.stages`),
                // then the final ones.
                let has_stages = !jcfg.evaluation.stages.is_empty();
                let mut stages: Vec<(usize, &crate::agent::Params)> =
                    trained.snapshots.iter().map(|(s, p)| (*s, p)).collect();
                stages.push((jcfg.training.episodes, &trained.params));
                let mut trials: Option<DataFrame> = None;
                for (stage, params) in stages {
                    if has_stages && stage != jcfg.training.episodes {
                        write_text_atomic(&job.stage_checkpoint(dir, stage), &params.save_json()?)?;
                    }
                    let df = test_trials(
                        jcfg,
                        job.variant.as_deref(),
                        seed,
                        has_stages.then_some(stage),
                        |cond| {
                            let table = train::evaluate_agent(
                                jcfg,
                                cond,
                                params,
                                trained.critic.as_ref(),
                                seed,
                            );
                            // Cut short by Ctrl-C / SIGTERM: discard it.
                            interrupt::check()?;
                            Ok(table)
                        },
                    )?;
                    match &mut trials {
                        None => trials = Some(df),
                        Some(all) => {
                            all.vstack_mut(&df)?;
                        }
                    }
                }
                let trials = trials.context("no training stage")?;
                Ok(JobResult {
                    variant: job.variant.clone(),
                    trained,
                    trials,
                })
            })
            .collect()
    });
    let mut done = vec![];
    let mut failed = vec![];
    for (job, r) in jobs.iter().zip(results) {
        match r {
            Ok(r) => done.push(r),
            Err(e) => match e.downcast_ref::<train::Diverged>() {
                Some(d) => failed.push(FailedSeed {
                    seed: job.seed,
                    variant: job.variant.clone(),
                    update: d.update,
                    message: match &job.variant {
                        Some(v) => format!("variant {v}: {d}"),
                        None => d.to_string(),
                    },
                }),
                None => return Err(e),
            },
        }
    }
    Ok((done, failed))
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where resume checkpoints and `run.json` live in a run directory while the
/// run is unfinished; removed when it finishes.
pub const RESUME_DIR: &str = "checkpoints/resume";

/// What to do about a run directory whose results are missing or unreadable:
/// continue it if it was stopped before it finished (its checkpoints stay
/// usable; `--force` would throw them away), else `otherwise`.
fn unfinished_hint(dir: &Path, otherwise: String) -> String {
    if dir.join(RESUME_DIR).join("run.json").is_file() {
        format!(
            "the run was stopped before it finished: continue it with `metarl run --resume {}`",
            dir.display()
        )
    } else {
        otherwise
    }
}

/// checkpoints/resume/run.json: how the run was started, for `--resume` to
/// finish it with the same manifest. Its presence marks an unfinished run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResumeInfo {
    source: String,
    profile: Option<String>,
    overrides: Vec<String>,
    started_unix: u64,
}

/// `metarl run`: everything, into a fresh run directory.
pub fn run(opts: &RunOptions) -> Result<PathBuf> {
    let (cfg, source) = resolve_config(opts)?;
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&cfg.experiment.name));
    if dir.exists() && !dir.is_dir() {
        bail!(
            "cannot write the run to {}: it is a file, not a directory (choose another --out)",
            dir.display()
        );
    }
    let _lock = RunLock::acquire(&dir)?;
    prepare_dir(&dir, opts.force)?;
    let info = ResumeInfo {
        source: source.to_string(),
        profile: opts.profile.clone(),
        overrides: applied_overrides(opts),
        started_unix: now_unix(),
    };
    // run.json first: a directory with a config.toml and without it is finished.
    let resume_dir = dir.join(RESUME_DIR);
    std::fs::create_dir_all(&resume_dir)
        .with_context(|| format!("cannot create {}", resume_dir.display()))?;
    write_text_atomic(
        &resume_dir.join("run.json"),
        &serde_json::to_string_pretty(&info)?,
    )?;
    write_text_atomic(&dir.join("config.toml"), &toml::to_string(&cfg)?)?;
    execute(&cfg, &dir, &info, opts.threads, opts.quiet, false)
}

/// `metarl run --resume DIR`: finish an interrupted run with the config it was
/// started with (DIR/config.toml). Finished seeds are evaluated again from
/// their final checkpoint without training, interrupted ones continue from
/// their last checkpoint, the others start from scratch; the results are those
/// of an uninterrupted run.
pub fn resume(dir: &Path, threads: Option<usize>, quiet: bool) -> Result<PathBuf> {
    if !dir.join("config.toml").is_file() {
        bail!(
            "{} has no config.toml: not a run directory, nothing to resume",
            dir.display()
        );
    }
    let info_path = dir.join(RESUME_DIR).join("run.json");
    if !info_path.is_file() {
        bail!(
            "{} holds a finished run (no {}): nothing to resume (redo it with `metarl run <experiment> --out {} --force`)",
            dir.display(),
            info_path.display(),
            dir.display()
        );
    }
    let cfg = run_config(dir)?;
    let info: ResumeInfo = serde_json::from_str(
        &std::fs::read_to_string(&info_path)
            .with_context(|| format!("cannot read {}", info_path.display()))?,
    )
    .with_context(|| format!("{} is corrupt", info_path.display()))?;
    let _lock = RunLock::acquire(dir)?;
    remove_temp_files(dir)?;
    execute(&cfg, dir, &info, threads, quiet, true)
}

/// Whether `dir` holds an unfinished run (interrupted or killed) of exactly the
/// config that `opts` resolves to, which `resume` can finish.
pub fn unfinished_run_of(dir: &Path, opts: &RunOptions) -> bool {
    if !dir.join(RESUME_DIR).join("run.json").is_file() {
        return false;
    }
    let (Ok((want, _)), Ok(have)) = (resolve_config(opts), run_config(dir)) else {
        return false;
    };
    same_run(want, have)
}

/// Whether two configs describe the same run: equal but for the `[controls]`
/// table, which changes no run.
pub fn same_run(mut a: Config, mut b: Config) -> bool {
    a.controls = None;
    b.controls = None;
    let a = toml::to_string(&a).ok();
    a.is_some() && a == toml::to_string(&b).ok()
}

/// `run`, or, when `opts.out` holds an unfinished run of the same config (a
/// sweep cell or control that was interrupted or killed), `resume` it from its
/// checkpoints: the results are those of an uninterrupted run either way.
pub fn run_or_resume(opts: &RunOptions) -> Result<PathBuf> {
    if let Some(dir) = opts.out.as_deref().filter(|d| unfinished_run_of(d, opts)) {
        if !opts.quiet {
            crate::note!(
                "{}: an unfinished run of the same config; resuming it from its checkpoints",
                dir.display()
            );
        }
        return resume(dir, opts.threads, opts.quiet);
    }
    run(opts)
}

/// Remove the temporary files (`*.tmp`, and a figure's `*.tmp.png`) of atomic
/// writes that a killed process left.
fn remove_temp_files(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Not through a symbolic link (a run directory may link to data elsewhere).
        if entry.file_type()?.is_dir() {
            remove_temp_files(&path)?;
        } else if name.ends_with(".tmp") || name.ends_with(".tmp.png") {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Train, evaluate, write the tables, analyse and plot (a new or resumed run).
/// An interruption comes back as `Interrupted` naming the directory to resume.
fn execute(
    cfg: &Config,
    dir: &Path,
    info: &ResumeInfo,
    threads: Option<usize>,
    quiet: bool,
    resumed: bool,
) -> Result<PathBuf> {
    execute_inner(cfg, dir, info, threads, quiet, resumed).map_err(|e| match interrupt::find(&e) {
        Some(i) => Interrupted {
            signal: i.signal,
            resume: Some(dir.to_path_buf()),
        }
        .into(),
        None => e,
    })
}

fn execute_inner(
    cfg: &Config,
    dir: &Path,
    info: &ResumeInfo,
    threads: Option<usize>,
    quiet: bool,
    resumed: bool,
) -> Result<PathBuf> {
    let threads = threads.unwrap_or_else(num_cpus).max(1);
    let run_started = Instant::now();
    let mut stages = BTreeMap::new();
    if !quiet {
        crate::note!(
            "{}{}: {} seeds × {} episodes, {} threads → {}",
            if resumed { "resuming " } else { "" },
            cfg.experiment.name,
            cfg.seeds.count,
            cfg.training.episodes,
            threads,
            dir.display()
        );
        let (episodes, batch) = (cfg.training.episodes, cfg.training.batch);
        if episodes % batch != 0 {
            crate::note!(
                "note: training plays whole batches: {episodes} episodes are {} updates of {batch}, \
                 i.e. {} episodes per seed",
                episodes.div_ceil(batch),
                episodes.div_ceil(batch) * batch
            );
        }
    }

    // Training and the analysis run on `threads` threads (a sweep's cells share the cores).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the thread pool")?;
    let t = Instant::now();
    let (mut results, failed) = train_all(cfg, dir, &pool, quiet)?;
    stages.insert("train_and_evaluate".to_string(), t.elapsed().as_secs_f64());
    interrupt::check()?;
    let n_jobs = results.len() + failed.len();

    let t = Instant::now();
    if results.is_empty() {
        // Nothing to tabulate: record what failed and stop (the run is
        // finished: a resume would fail the same way).
        let mut m = manifest(cfg, info, threads, resumed, stages, &results);
        m.failed_seeds = failed.clone();
        write_manifest(dir, &m)?;
        remove_resume_dir(dir)?;
        return Err(SeedsFailed {
            dir: dir.to_path_buf(),
            failed,
            total: n_jobs,
        }
        .into());
    }
    let mut curve: Option<DataFrame> = None;
    for r in &results {
        let mut df = record::curve_dataframe(&[(r.trained.seed, &r.trained.curve[..])])?;
        insert_labels(&mut df, &[("variant", r.variant.as_deref())])?;
        match &mut curve {
            None => curve = Some(df),
            Some(all) => {
                all.vstack_mut(&df)?;
            }
        }
    }
    let mut curve = curve.context("no training results")?;
    curve.rechunk_mut();
    record::write_parquet(&dir.join("training.parquet"), &mut curve)?;
    drop(curve);
    // Moved out of the results, so that the per-seed tables are freed once
    // rechunked into one (peak memory).
    let mut tables = results.iter_mut().map(|r| std::mem::take(&mut r.trials));
    let mut trials = tables.next().context("no test results")?;
    for df in tables {
        trials.vstack_mut(&df)?;
    }
    trials.rechunk_mut();
    record::write_parquet(&dir.join("trials.parquet"), &mut trials)?;
    drop(trials);
    stages.insert("write_tables".to_string(), t.elapsed().as_secs_f64());

    let mut m = manifest(cfg, info, threads, resumed, stages, &results);
    m.failed_seeds = failed.clone();
    drop(results);
    write_manifest(dir, &m)?;
    interrupt::check()?;
    pool.install(|| analyze_locked(dir, quiet))?;
    interrupt::check()?;
    figures_locked(dir, quiet)?;
    if let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) {
        if let Ok(mut m) = serde_json::from_str::<Manifest>(&text) {
            m.wall_seconds = Some(run_started.elapsed().as_secs_f64());
            write_manifest(dir, &m)?;
        }
    }
    remove_resume_dir(dir)?;
    if !failed.is_empty() {
        return Err(SeedsFailed {
            dir: dir.to_path_buf(),
            failed,
            total: n_jobs,
        }
        .into());
    }
    Ok(dir.to_path_buf())
}

/// Finished: the resume checkpoints are no longer needed.
fn remove_resume_dir(dir: &Path) -> Result<()> {
    let resume_dir = dir.join(RESUME_DIR);
    std::fs::remove_dir_all(&resume_dir)
        .with_context(|| format!("cannot remove {}", resume_dir.display()))
}

fn manifest(
    cfg: &Config,
    info: &ResumeInfo,
    threads: usize,
    resumed: bool,
    stages: BTreeMap<String, f64>,
    results: &[JobResult],
) -> Manifest {
    Manifest {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        experiment: cfg.experiment.name.clone(),
        source: info.source.clone(),
        profile: info.profile.clone(),
        overrides: info.overrides.clone(),
        seeds: cfg.seed_list(),
        threads,
        cpu: cpu_model(),
        numerics: Some(crate::numerics::fingerprint()),
        started_unix: info.started_unix,
        resumed,
        wall_seconds: None,
        stage_seconds: stages,
        per_seed: results
            .iter()
            .map(|r| {
                let s = &r.trained;
                SeedRecord {
                    seed: s.seed,
                    variant: r.variant.clone(),
                    train_seconds: s.seconds,
                    env_steps: s.env_steps,
                    env_steps_per_sec: s.env_steps as f64 / s.seconds.max(1e-9),
                    trials: s.trials,
                    trials_per_sec: s.trials as f64 / s.seconds.max(1e-9),
                }
            })
            .collect(),
        failed_seeds: vec![],
    }
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    write_text_atomic(
        &dir.join("manifest.json"),
        &serde_json::to_string_pretty(m)?,
    )
}

fn record_stage(dir: &Path, stage: &str, seconds: f64) -> Result<()> {
    let path = dir.join("manifest.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(mut m) = serde_json::from_str::<Manifest>(&text) {
            m.stage_seconds.insert(stage.to_string(), seconds);
            write_manifest(dir, &m)?;
        }
    }
    Ok(())
}

/// The resolved config a run directory was made with.
pub fn run_config(dir: &Path) -> Result<Config> {
    if !dir.is_dir() {
        bail!(
            "{} is not a run directory (run `metarl run <experiment>` first)",
            dir.display()
        );
    }
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} has no config.toml: not a run directory", dir.display()))?;
    experiments::parse(&text, &path.display().to_string(), None)
}

/// `metarl analyze DIR`: trials.parquet → outcomes.json.
pub fn analyze(dir: &Path, quiet: bool) -> Result<Outcomes> {
    run_config(dir)?;
    stoppable(dir, "analyze", || analyze_locked(dir, quiet))
}

/// Run `work` on `dir` holding its lock, for `analyze` or `figures`, which have
/// nothing to save: Ctrl-C ends the command at once, the lock removed and no
/// temporary file left (`ExitOnStop`). The lock is taken and released while
/// holding `interrupt::writing()`, so that no stop falls between the lock and
/// its registration for removal.
fn stoppable<T>(dir: &Path, command: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let stop = interrupt::ExitOnStop::new(
        vec![],
        format!(
            "{command} stopped, no file left half-written; to finish, run `metarl {command} {}`",
            dir.display()
        ),
    );
    let lock = {
        let _no_stop = interrupt::writing();
        let lock = RunLock::acquire(dir)?;
        stop.add(lock.path.clone());
        lock
    };
    // What a process killed in a write left (we are the only writer now).
    let result = remove_temp_files(dir).and_then(|_| work());
    {
        let _no_stop = interrupt::writing();
        stop.forget(&lock.path);
        drop(lock);
    }
    drop(stop);
    result
}

/// The trial table must have the task's columns (else it is from another experiment).
fn check_trial_table(cfg: &Config, dir: &Path) -> Result<()> {
    let path = dir.join("trials.parquet");
    let f = std::fs::File::open(&path).with_context(|| {
        let hint = unfinished_hint(
            dir,
            "was the run interrupted? rerun `metarl run` with --force".into(),
        );
        format!("cannot open {} ({hint})", path.display())
    })?;
    let schema = ParquetReader::new(f)
        .schema()
        .map_err(|e| anyhow::anyhow!("cannot read {} as Parquet: {e}", path.display()))?;
    let task = crate::tasks::make_task(&cfg.task, crate::tasks::Phase::Test);
    let missing: Vec<&str> = ["seed", "episode", "step", "action", "reward", "rpe"]
        .into_iter()
        .chain(task.latents().iter().map(|l| l.name))
        .filter(|c| schema.get(c).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} is not a trial table of {} (task {}): it lacks the column(s) {}; is it from another experiment?",
            path.display(),
            cfg.experiment.name,
            cfg.task.kind(),
            missing.join(", ")
        );
    }
    Ok(())
}

/// The seeds of a run whose training diverged, from its manifest.json (none if
/// the run has no manifest; an unreadable manifest, or one of another
/// experiment, is an error).
pub fn run_failed_seeds(dir: &Path, cfg: &Config) -> Result<Vec<FailedSeed>> {
    let path = dir.join("manifest.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid run manifest ({e}); was the run interrupted? rerun `metarl run` with --force",
            path.display()
        )
    })?;
    if m.experiment != cfg.experiment.name {
        bail!(
            "{} is from experiment {}, but the run is {}; is it from another run directory?",
            path.display(),
            m.experiment,
            cfg.experiment.name
        );
    }
    Ok(m.failed_seeds)
}

fn analyze_locked(dir: &Path, quiet: bool) -> Result<Outcomes> {
    let cfg = run_config(dir)?;
    check_trial_table(&cfg, dir)?;
    let failed = run_failed_seeds(dir, &cfg)?;
    let t = Instant::now();
    let mut outcomes = experiments::analyze(&cfg, dir)?;
    if !failed.is_empty() && !quiet {
        crate::note!(
            "note: analysed the seeds present ({:?}); failed in training: {}",
            outcomes.seeds,
            failed_summary(&failed)
        );
    }
    outcomes.failed_seeds = failed;
    write_text_atomic(
        &dir.join("outcomes.json"),
        &serde_json::to_string_pretty(&outcomes)?,
    )?;
    record_stage(dir, "analyze", t.elapsed().as_secs_f64())?;
    if !quiet {
        crate::note!("wrote {}", dir.join("outcomes.json").display());
    }
    Ok(outcomes)
}

/// `metarl figures DIR`: outcomes.json → figures/<name>.png and .svg.
pub fn figures(dir: &Path, quiet: bool) -> Result<Vec<PathBuf>> {
    run_config(dir)?;
    stoppable(dir, "figures", || figures_locked(dir, quiet))
}

/// A run's outcomes.json, checked to belong to the run's experiment.
pub fn run_outcomes(dir: &Path, cfg: &Config) -> Result<Outcomes> {
    let outcomes = Outcomes::read(&dir.join("outcomes.json")).map_err(|e| {
        // A run whose every seed failed in training has no results to analyse.
        if let Some(f) = run_failed_seeds(dir, cfg)
            .ok()
            .and_then(|f| f.into_iter().next())
        {
            if !dir.join("trials.parquet").exists() {
                return anyhow::anyhow!(
                    "{}: every seed failed in training, so the run has no results (seed {}: {})",
                    dir.display(),
                    f.seed,
                    f.message
                );
            }
        }
        let hint = unfinished_hint(
            dir,
            format!("run `metarl analyze {}` to redo it", dir.display()),
        );
        anyhow::anyhow!("{e:#} ({hint})")
    })?;
    if outcomes.experiment != cfg.experiment.name || outcomes.analysis != cfg.experiment.analysis {
        bail!(
            "{}/outcomes.json is from experiment {} ({} analysis), but the run is {} ({}); run `metarl analyze {}` to redo it",
            dir.display(),
            outcomes.experiment,
            outcomes.analysis,
            cfg.experiment.name,
            cfg.experiment.analysis,
            dir.display()
        );
    }
    Ok(outcomes)
}

fn figures_locked(dir: &Path, quiet: bool) -> Result<Vec<PathBuf>> {
    let cfg = run_config(dir)?;
    let outcomes = run_outcomes(dir, &cfg)?;
    let fig_dir = dir.join("figures");
    std::fs::create_dir_all(&fig_dir)?;
    let t = Instant::now();
    // Seeds that failed in training are named in every figure's title.
    let mut outcomes = outcomes;
    let mut title = cfg.experiment.title.clone();
    if !outcomes.failed_seeds.is_empty() {
        let note = format!(
            " [failed, not shown: {}]",
            outcomes
                .failed_seeds
                .iter()
                .map(FailedSeed::label)
                .collect::<Vec<_>>()
                .join(", ")
        );
        title.push_str(&note);
        if let Some(serde_json::Value::String(t)) = outcomes.figure.get_mut("title") {
            t.push_str(&note);
        }
        if !quiet {
            crate::note!(
                "note: the figures show the seeds present; failed in training: {}",
                failed_summary(&outcomes.failed_seeds)
            );
        }
    }
    let mut stems = experiments::render(&cfg, &outcomes, &fig_dir)?;
    // Every run also gets its training curves (reward and entropy per seed).
    let curves = fig_dir.join(format!("{}_training", cfg.experiment.name));
    crate::curves::render(dir, &title, &curves)?;
    stems.push(curves);
    record_stage(dir, "figures", t.elapsed().as_secs_f64())?;
    if !quiet {
        for s in &stems {
            crate::note!("wrote {}.png and .svg", s.display());
        }
    }
    Ok(stems)
}
