//! A run, stage by stage: validated config → training (seeds in parallel) →
//! checkpoints → frozen-weight evaluation → trials.parquet → analysis →
//! outcomes.json → figures. Each stage reads only what the previous one wrote,
//! so `analyze` and `figures` can be redone on a finished run directory.

use crate::config::{self, Config};
use crate::experiments::{self, Outcomes};
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
    pub threads: Option<usize>,
    pub force: bool,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedRecord {
    pub seed: u64,
    pub train_seconds: f64,
    pub env_steps: u64,
    pub env_steps_per_sec: f64,
}

/// manifest.json: what ran, where, and how long each stage took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub crate_version: String,
    pub experiment: String,
    pub source: String,
    pub profile: Option<String>,
    pub seeds: Vec<u64>,
    pub threads: usize,
    pub cpu: String,
    pub started_unix: u64,
    pub stage_seconds: BTreeMap<String, f64>,
    pub per_seed: Vec<SeedRecord>,
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

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Load the experiment and apply the command-line overrides.
pub fn resolve_config(opts: &RunOptions) -> Result<(Config, PathBuf)> {
    let loaded = config::load(&opts.experiment, opts.profile.as_deref())?;
    let mut cfg = loaded.config;
    if let Some(n) = opts.seeds {
        cfg.seeds.count = n;
    }
    if let Some(n) = opts.episodes {
        cfg.training.episodes = n;
    }
    cfg.validate().map_err(|e| {
        anyhow::anyhow!(
            "{} (after command-line overrides): {e}",
            loaded.path.display()
        )
    })?;
    Ok((cfg, loaded.path))
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

/// Train and evaluate every seed, seeds in parallel on `threads` cores.
fn train_all(
    cfg: &Config,
    dir: &Path,
    threads: usize,
    quiet: bool,
) -> Result<Vec<(TrainedSeed, DataFrame)>> {
    let seeds = cfg.seed_list();
    let multi = MultiProgress::with_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let bars: Vec<ProgressBar> = seeds
        .iter()
        .map(|s| {
            let pb = multi.add(ProgressBar::new(cfg.training.episodes as u64));
            pb.set_style(bar_style());
            pb.set_prefix(format!("seed {s}"));
            pb
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the thread pool")?;
    let results: Vec<Result<(TrainedSeed, DataFrame)>> = pool.install(|| {
        seeds
            .par_iter()
            .zip(bars.par_iter())
            .map(|(&seed, pb)| {
                let mut last_draw = 0u64;
                let trained = train::train_seed(cfg, seed, |episodes, sps, reward| {
                    pb.set_position(episodes.min(cfg.training.episodes as u64));
                    if episodes >= last_draw + 200 {
                        last_draw = episodes;
                        pb.set_message(format!("{sps:>8.0} steps/s, reward/episode {reward:6.1}"));
                    }
                })?;
                let done = format!(
                    "done in {:.1}s ({:.0} steps/s)",
                    trained.seconds,
                    trained.env_steps as f64 / trained.seconds
                );
                // Without a terminal the bars are hidden: log one line per seed instead.
                if !quiet && !std::io::stderr().is_terminal() {
                    eprintln!("seed {seed}: trained, {done}");
                }
                pb.finish_with_message(done);
                let ckpt = dir.join("checkpoints").join(format!("seed_{seed}.json"));
                write_text_atomic(&ckpt, &trained.params.save_json()?)?;
                let table = train::evaluate(cfg, &trained.params, seed);
                Ok((trained, table.into_dataframe()?))
            })
            .collect()
    });
    results.into_iter().collect()
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `metarl run`: everything, into a fresh run directory.
pub fn run(opts: &RunOptions) -> Result<PathBuf> {
    let (cfg, source) = resolve_config(opts)?;
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&cfg.experiment.name));
    prepare_dir(&dir, opts.force)?;
    let threads = opts.threads.unwrap_or_else(num_cpus).max(1);
    let started = now_unix();
    let mut stages = BTreeMap::new();
    write_text_atomic(&dir.join("config.toml"), &toml::to_string(&cfg)?)?;
    if !opts.quiet {
        eprintln!(
            "{}: {} seeds × {} episodes, {} threads → {}",
            cfg.experiment.name,
            cfg.seeds.count,
            cfg.training.episodes,
            threads,
            dir.display()
        );
    }

    let t = Instant::now();
    let results = train_all(&cfg, &dir, threads, opts.quiet)?;
    stages.insert("train_and_evaluate".to_string(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let curves: Vec<(u64, &[train::UpdateRow])> = results
        .iter()
        .map(|(s, _)| (s.seed, &s.curve[..]))
        .collect();
    record::write_parquet(
        &dir.join("training.parquet"),
        &mut record::curve_dataframe(&curves)?,
    )?;
    let mut trials = results[0].1.clone();
    for (_, df) in &results[1..] {
        trials.vstack_mut(df)?;
    }
    trials.rechunk_mut();
    record::write_parquet(&dir.join("trials.parquet"), &mut trials)?;
    stages.insert("write_tables".to_string(), t.elapsed().as_secs_f64());

    let manifest = Manifest {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        experiment: cfg.experiment.name.clone(),
        source: source.display().to_string(),
        profile: opts.profile.clone(),
        seeds: cfg.seed_list(),
        threads,
        cpu: cpu_model(),
        started_unix: started,
        stage_seconds: stages,
        per_seed: results
            .iter()
            .map(|(s, _)| SeedRecord {
                seed: s.seed,
                train_seconds: s.seconds,
                env_steps: s.env_steps,
                env_steps_per_sec: s.env_steps as f64 / s.seconds.max(1e-9),
            })
            .collect(),
    };
    write_manifest(&dir, &manifest)?;
    analyze(&dir, opts.quiet)?;
    figures(&dir, opts.quiet)?;
    Ok(dir)
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
    config::parse(&text, &path.display().to_string(), None)
}

/// `metarl analyze DIR`: trials.parquet → outcomes.json.
pub fn analyze(dir: &Path, quiet: bool) -> Result<Outcomes> {
    let cfg = run_config(dir)?;
    let t = Instant::now();
    let outcomes = experiments::analyze(&cfg, dir)?;
    write_text_atomic(
        &dir.join("outcomes.json"),
        &serde_json::to_string_pretty(&outcomes)?,
    )?;
    record_stage(dir, "analyze", t.elapsed().as_secs_f64())?;
    if !quiet {
        eprintln!("wrote {}", dir.join("outcomes.json").display());
    }
    Ok(outcomes)
}

/// `metarl figures DIR`: outcomes.json → figures/<name>.png and .svg.
pub fn figures(dir: &Path, quiet: bool) -> Result<Vec<PathBuf>> {
    let cfg = run_config(dir)?;
    let outcomes = Outcomes::read(&dir.join("outcomes.json"))
        .map_err(|e| anyhow::anyhow!("{e:#} (run `metarl analyze {}` first)", dir.display()))?;
    let fig_dir = dir.join("figures");
    std::fs::create_dir_all(&fig_dir)?;
    let t = Instant::now();
    let stems = experiments::render(&cfg, &outcomes, &fig_dir)?;
    record_stage(dir, "figures", t.elapsed().as_secs_f64())?;
    if !quiet {
        for s in &stems {
            eprintln!("wrote {}.png and .svg", s.display());
        }
    }
    Ok(stems)
}
