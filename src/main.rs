//! `metarl`: train, analyse, plot and check the simulations of Wang et al. 2018.

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use metarl::{bench, checks, config, experiments, report, run, sweep};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `print!` and `println!` that return an error instead of panicking when
/// stdout cannot be written (a full disk, `> /dev/full`); a closed pipe still
/// ends the read-only commands quietly (SIGPIPE, as for any filter).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($t)*).map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))?;
    }};
}
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($t)*).map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))?;
    }};
}

#[derive(Parser)]
#[command(
    name = "metarl",
    version,
    about = "Prefrontal cortex as a meta-reinforcement learning system (Wang et al. 2018), reproduced",
    long_about = "Train LSTM actor-critic agents on the paper's tasks, evaluate them with frozen weights, \
analyse the trial data and render the paper's figures.\n\n\
Typical use:\n  metarl list\n  metarl run s4_two_step            # writes runs/s4_two_step/\n  \
metarl check runs/s4_two_step      # the paper's targets, pass/fail\n\n\
A run directory holds config.toml, manifest.json, checkpoints/, training.parquet, \
trials.parquet (one row per network step), outcomes.json and figures/."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the experiments: the shipped ones (built into the binary) and any other
    /// TOML in ./experiments/ (name, paper figure, title, profiles, source).
    List,
    /// Print a shipped experiment's TOML, to copy and edit: `metarl show s4_two_step > my.toml`,
    /// then `metarl run my.toml`.
    Show {
        /// Experiment name (see `metarl list`).
        name: String,
    },
    /// Train, evaluate with frozen weights, analyse and plot one experiment.
    ///
    /// Ctrl-C, SIGTERM or a hang-up (SIGHUP, unless ignored as under nohup) stops a run
    /// within seconds without leaving a partial output file (exit status 130, 143 or 129);
    /// each seed's training state is saved every
    /// training.checkpoint_every updates and on the stop, and `metarl run --resume DIR`
    /// finishes the run with results identical to an uninterrupted one.
    Run {
        /// Experiment name (e.g. s4_two_step, shipped in the binary) or path to a TOML file
        /// (a path wins).
        #[arg(required_unless_present = "resume")]
        experiment: Option<String>,
        /// Finish the interrupted run in DIR with the config it was started with (DIR/config.toml):
        /// finished seeds are kept, interrupted ones continue from their last checkpoint, then the
        /// tables, analysis and figures are written. Only --threads and --quiet may be combined.
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with_all = ["experiment", "out", "seeds", "episodes", "profile", "set", "force"]
        )]
        resume: Option<PathBuf>,
        /// Run directory to write (default: runs/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the number of seeds (seeds.count).
        #[arg(long)]
        seeds: Option<usize>,
        /// Override the training episodes per seed (training.episodes).
        #[arg(long)]
        episodes: Option<usize>,
        /// Apply a named profile of the TOML (e.g. `quick`).
        #[arg(long)]
        profile: Option<String>,
        /// Override one key after the profile, e.g. `--set agent.hidden=24 --set training.learning_rate=2e-3`
        /// (the value is TOML; a bare word is a string). Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Worker threads for seeds in parallel (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Replace the results in an existing run directory: its config.toml, manifest.json,
        /// Parquet tables and outcomes.json, and its checkpoints/ and figures/ directories
        /// whole (keep your own files elsewhere; other files are left).
        #[arg(long)]
        force: bool,
        /// No progress bars or messages.
        #[arg(long)]
        quiet: bool,
    },
    /// Redo the analysis of a run directory from its trials.parquet (writes outcomes.json).
    Analyze {
        dir: PathBuf,
        #[arg(long)]
        quiet: bool,
    },
    /// Redo the figures of a run directory from its outcomes.json (writes figures/).
    Figures {
        dir: PathBuf,
        #[arg(long)]
        quiet: bool,
    },
    /// Evaluate the paper's targets on run directories (default: runs/<name> of every experiment).
    /// Exits non-zero if any check fails or a run is missing.
    Check {
        dirs: Vec<PathBuf>,
        /// One JSON object per run: {"run", "experiment", "passed", "checks": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Reference agents whose mechanism is known (e.g. a pure model-free and a pure model-based
    /// learner, a random chooser, the untrained network), played on the experiment's test like
    /// the network and run through its analysis and checks: prints each agent's check table
    /// with the result expected of it, so that you see which checks discriminate. Exits 1 if a
    /// result differs from its expectation.
    References {
        /// Experiment name or path to a TOML file.
        experiment: String,
        /// Apply a named profile of the TOML (e.g. `quick`).
        #[arg(long)]
        profile: Option<String>,
        /// Override one key after the profile (as in `run`). Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// At most this many test episodes per seed in every test condition.
        #[arg(long)]
        episodes: Option<usize>,
        /// Only this agent (repeatable; default: all).
        #[arg(long = "agent")]
        agents: Vec<String>,
        /// Keep each agent's config.toml, trials.parquet and outcomes.json in <out>/<agent>/
        /// (default: a temporary directory, removed afterwards).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the results in an existing --out directory.
        #[arg(long)]
        force: bool,
        /// One JSON object per agent instead of the tables.
        #[arg(long)]
        json: bool,
    },

    /// The mechanism controls of an experiment (its TOML's [controls]): the experiment at the
    /// controls' budget ("main") beside no reward input, untrained weights, plastic weights at test
    /// and other LSTM sizes, on the same seeds and test episodes; prints the key metric under each
    /// and the checks (no reward input and untrained at chance) PASS/FAIL, and writes
    /// <out>/<experiment>/ (run directories, controls.json), <out>/controls.json, controls.parquet,
    /// controls.md and <out>/figures/controls.png/.svg. A cell that finished with the same config is
    /// reused. Exits 1 if a check fails. See the README section "Controls".
    Controls {
        /// Experiment name or TOML path (or --all).
        #[arg(required_unless_present = "all")]
        experiment: Option<String>,
        /// Every shipped experiment that declares [controls].
        #[arg(long, conflicts_with = "experiment")]
        all: bool,
        /// Override controls.seeds.
        #[arg(long)]
        seeds: Option<usize>,
        /// Override controls.episodes (training episodes per seed).
        #[arg(long)]
        episodes: Option<usize>,
        /// Override controls.test_episodes.
        #[arg(long)]
        test_episodes: Option<usize>,
        /// Run only these controls (repeatable; "main" always runs), e.g. --only untrained.
        #[arg(long)]
        only: Vec<String>,
        /// Where the control runs and tables go.
        #[arg(long, default_value = "runs/controls")]
        out: PathBuf,
        /// Where the default runs are (their outcomes.json is shown beside the controls).
        #[arg(long, default_value = "runs")]
        runs: PathBuf,
        /// Worker threads per run (seeds in parallel; results do not depend on it).
        #[arg(long)]
        threads: Option<usize>,
        /// Rerun cells that already finished with the same config.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        quiet: bool,
    },
    /// Parameter grids × seeds: list, run (one cell, or all here in parallel), write a Slurm
    /// array script, merge. See the "Sweeps and clusters" section of the README.
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
    /// Print every metric of a run: mean, 95% CI over seeds, per-seed values, what it is.
    /// With --all: write the reproduction report of the latest run of every shipped
    /// experiment (REPRODUCTION.md and a self-contained REPRODUCTION.html); exits 1 if an
    /// experiment does not fully reproduce or its run is missing (the report is written either way).
    Report {
        /// A run directory (without --all).
        #[arg(required_unless_present = "all")]
        dir: Option<PathBuf>,
        /// Report every shipped experiment's run in <runs>/<name>.
        #[arg(long, conflicts_with = "dir")]
        all: bool,
        /// Where the runs are (with --all) [default: runs].
        #[arg(long)]
        runs: Option<PathBuf>,
        /// Where REPRODUCTION.md, REPRODUCTION.html and their figures/ go (with --all) [default: .].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also replace the summary table of this README (between its marker comments; with --all).
        #[arg(long)]
        readme: Option<PathBuf>,
    },
    /// Training throughput on one core for each shipped experiment, in network steps/s
    /// (one LSTM step each) and task trials/s (a two-step trial is two network steps).
    Bench {
        /// Print {"<experiment>": {"network_steps_per_sec": ..., "trials_per_sec": ...}, ...}.
        #[arg(long)]
        json: bool,
        /// Training episodes timed per experiment.
        #[arg(long, default_value_t = 2000)]
        episodes: usize,
        /// Time each experiment this many times and keep the best (least disturbed) run.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Append one line per experiment to this history file (JSON lines) and compare each
        /// with the previous line of the same experiment on the same machine.
        #[arg(long)]
        history: Option<PathBuf>,
        /// With --history: a slowdown beyond this fraction exits 1 (e.g. 0.10 = 10%).
        #[arg(long, default_value_t = 0.10)]
        threshold: f64,
        /// Criterion's output directory, to record its time per update in the history.
        #[arg(long)]
        criterion: Option<PathBuf>,
        /// With --history: also draw the throughput over the history to this PNG/SVG stem.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
}

/// TOML files in ./experiments/ that are not the same as a shipped experiment
/// (e.g. a user's own), sorted.
fn local_experiment_files() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(metarl::EXPERIMENTS_DIR) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let text = std::fs::read_to_string(p).unwrap_or_default();
            config::shipped_text(stem) != Some(text.as_str())
        })
        .collect();
    files.sort();
    files
}

fn check(dirs: Vec<PathBuf>, json: bool) -> Result<bool> {
    // Without directories: runs/<name> of every shipped experiment, which must
    // hold a run of that experiment.
    let dirs: Vec<(PathBuf, Option<&str>)> = if dirs.is_empty() {
        config::shipped()
            .iter()
            .map(|(name, _)| (Path::new("runs").join(name), Some(*name)))
            .collect()
    } else {
        dirs.into_iter().map(|d| (d, None)).collect()
    };
    let mut all_passed = true;
    for (dir, expected) in dirs {
        let result = run::run_config(&dir).and_then(|cfg| {
            if let Some(name) = expected.filter(|n| *n != cfg.experiment.name) {
                bail!(
                    "{} holds a run of `{}`, not of `{name}`",
                    dir.display(),
                    cfg.experiment.name
                );
            }
            let outcomes = run::run_outcomes(&dir, &cfg)?;
            let results = checks::evaluate(&cfg.checks, &outcomes);
            Ok((cfg, results, outcomes.failed_seeds))
        });
        match result {
            Ok((cfg, results, failed)) => {
                // A run with a seed that failed in training fails as a whole.
                let passed =
                    !results.is_empty() && results.iter().all(|r| r.passed) && failed.is_empty();
                all_passed &= passed;
                if json {
                    let obj = serde_json::json!({
                        "run": dir.display().to_string(),
                        "experiment": cfg.experiment.name,
                        "passed": passed,
                        "checks": results,
                        "failed_seeds": failed,
                    });
                    outln!("{}", serde_json::to_string(&obj)?);
                } else {
                    out!(
                        "{}",
                        checks::table(
                            &format!("{} ({})", cfg.experiment.name, dir.display()),
                            &results
                        )
                    );
                    if results.is_empty() {
                        outln!("  no checks declared: counted as a failure");
                    }
                    for f in &failed {
                        outln!(
                            "  FAIL: failed in training (the checks above use the other seeds): {}",
                            f.message
                        );
                    }
                }
            }
            Err(e) => {
                all_passed = false;
                if json {
                    let obj = serde_json::json!({
                        "run": dir.display().to_string(),
                        "passed": false,
                        "error": format!("{e:#}"),
                        "checks": [],
                    });
                    outln!("{}", serde_json::to_string(&obj)?);
                } else {
                    outln!("{}\n  FAIL: {e:#}", dir.display());
                }
            }
        }
    }
    Ok(all_passed)
}

/// `metarl references`: play, analyse and check every reference agent.
#[allow(clippy::too_many_arguments)]
fn references(
    experiment: &str,
    profile: Option<String>,
    set: &[String],
    episodes: Option<usize>,
    agents: Vec<String>,
    out: Option<PathBuf>,
    force: bool,
    json: bool,
) -> Result<bool> {
    let overrides = set
        .iter()
        .map(|s| config::Override::parse(s))
        .collect::<Result<Vec<_>>>()?;
    if episodes == Some(0) {
        bail!("--episodes must be at least 1");
    }
    let cfg = experiments::load_with(experiment, profile.as_deref(), &overrides)?.config;
    let (dir, temporary) = match out {
        Some(d) => {
            if d.exists() && !d.is_dir() {
                bail!(
                    "--out {}: it is a file, not a directory (choose another --out)",
                    d.display()
                );
            }
            if d.exists() && std::fs::read_dir(&d)?.next().is_some() && !force {
                bail!(
                    "{} already exists and is not empty; pass --force to replace the reference results in it",
                    d.display()
                );
            }
            (d, false)
        }
        None => {
            let d = std::env::temp_dir().join(format!(
                "metarl-references-{}-{}",
                cfg.experiment.name,
                std::process::id()
            ));
            (d, true)
        }
    };
    let opts = metarl::references::Options {
        max_episodes: episodes,
        agents,
    };
    // Ctrl-C ends it at once, after the write in flight, removing a temporary
    // directory. (SIGPIPE keeps its default: `metarl references ... | head` ends quietly.)
    install_stop_signals()?;
    let stop = metarl::interrupt::ExitOnStop::new(
        if temporary { vec![dir.clone()] } else { vec![] },
        if temporary {
            "references stopped; run the same command again".to_string()
        } else {
            format!(
                "references stopped, no file left half-written (the agents done so far are in {}); run the same command again with --force",
                dir.display()
            )
        },
    );
    let result = metarl::references::run(&cfg, &dir, &opts);
    drop(stop);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let outcomes = result?;
    let mut as_expected = true;
    for o in &outcomes {
        as_expected &= o.surprises().is_empty();
        if json {
            outln!("{}", serde_json::to_string(o)?);
        } else {
            out!("{}", metarl::references::table(o));
        }
    }
    if !json {
        if as_expected {
            outln!("every result is the one expected of its agent");
        } else {
            outln!("some results differ from what is expected of their agent (marked above)");
        }
    }
    Ok(as_expected)
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Print the cells of a sweep with their index and overrides, and whether each finished.
    List { file: PathBuf },
    /// Run one cell by index (what a Slurm array task runs), or every unfinished cell here.
    /// A finished cell is never rerun; an interrupted or killed one continues from its
    /// checkpoints (`training.checkpoint_every`), with the results of an uninterrupted run.
    /// Ctrl-C, SIGTERM or SIGHUP stops the running cells cleanly and starts no new one.
    Run {
        file: PathBuf,
        /// The cell to run (e.g. `--index $SLURM_ARRAY_TASK_ID`); without it, every cell.
        #[arg(long)]
        index: Option<usize>,
        /// Cells run at once when running every cell (each a child process).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Worker threads per cell (seeds in parallel; results do not depend on it).
        /// Default: all cores for one cell, cores / jobs when running every cell.
        #[arg(long)]
        threads: Option<usize>,
        #[arg(long)]
        quiet: bool,
    },
    /// Write <out>/sweep.sbatch, a Slurm job array with one task per cell; optionally submit it.
    Sbatch {
        file: PathBuf,
        /// CPUs per array task (the cell's seeds run in parallel on them).
        #[arg(long, default_value_t = 2)]
        cpus: usize,
        /// Memory per array task (Slurm syntax).
        #[arg(long, default_value = "4G")]
        mem: String,
        /// Time limit per array task (Slurm syntax).
        #[arg(long, default_value = "02:00:00")]
        time: String,
        #[arg(long)]
        partition: Option<String>,
        /// At most this many tasks at once.
        #[arg(long)]
        max_parallel: Option<usize>,
        /// Also submit it with `sbatch` and print the job id.
        #[arg(long)]
        submit: bool,
    },
    /// Merge the finished cells into <out>/merged.parquet (one row per cell × seed × metric, the
    /// swept keys as columns) and draw the [plot] figure; reports missing and failed cells by
    /// index and exits 1 if there are any.
    Merge {
        file: PathBuf,
        /// Plot this metric (instead of the sweep file's [plot] metric).
        #[arg(long, requires = "x")]
        metric: Option<String>,
        /// Swept key on the x axis.
        #[arg(long, requires = "metric")]
        x: Option<String>,
        /// Swept key named first in each line's label (every swept key other than --x
        /// separates lines: one line per combination of their values).
        #[arg(long)]
        series: Option<String>,
    },
}

/// Ctrl-C, SIGTERM and SIGHUP set the stop flag (src/interrupt.rs); SIGPIPE keeps
/// its default (`report --all` and `references` end at once on a stop).
fn install_stop_signals() -> Result<()> {
    metarl::interrupt::install()
        .map_err(|e| anyhow::anyhow!("cannot handle Ctrl-C / SIGTERM / SIGHUP: {e}"))
}

/// For the commands that stop cleanly (run, controls, sweep run) or at once (analyze,
/// figures): Ctrl-C,
/// SIGTERM and SIGHUP stop them (src/interrupt.rs). Their output often goes
/// through a pipe that the same Ctrl-C closes (`2>&1 | tee log`, the tee
/// stopped too): SIGPIPE is then ignored, so that a write to the closed pipe
/// fails (and is dropped) instead of killing the process in its clean stop.
fn install_interrupt() -> Result<()> {
    install_stop_signals()?;
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    Ok(())
}

fn sweep_command(command: SweepCommand) -> Result<bool> {
    match command {
        SweepCommand::List { file } => {
            let sw = sweep::Sweep::load(&file)?;
            // A cell holding a run of another config is refused, as by run, merge and sbatch.
            sw.check_cells(0..sw.n_cells())?;
            outln!(
                "{}: {} cells of {} → {}",
                sw.name,
                sw.n_cells(),
                sw.experiment,
                sw.out.display()
            );
            for i in 0..sw.n_cells() {
                let status = match sw.status(i) {
                    sweep::CellStatus::Finished => "finished".to_string(),
                    sweep::CellStatus::Pending => "pending".to_string(),
                    sweep::CellStatus::Failed(_) => "FAILED".to_string(),
                };
                outln!("{i:>5}  {:<9} {}", status, sw.describe_cell(i));
            }
            Ok(true)
        }
        SweepCommand::Run {
            file,
            index,
            jobs,
            threads,
            quiet,
        } => {
            check_parallelism("--threads", threads)?;
            check_parallelism("--jobs", Some(jobs))?;
            let sw = sweep::Sweep::load(&file)?;
            // A stopped cell keeps its checkpoints; `sweep run` continues it.
            // (Also ignores SIGPIPE: a closed stderr must not kill the sweep or a cell.)
            install_interrupt()?;
            match index {
                Some(i) => {
                    sw.run_cell(i, threads, quiet)?;
                    Ok(true)
                }
                None => {
                    let cores = run::num_cpus();
                    let per_cell = threads.unwrap_or((cores / jobs).max(1));
                    let r = sw.run_all(jobs, per_cell)?;
                    let list = |v: &[usize]| {
                        v.iter()
                            .map(|i| i.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    if !r.stopped.is_empty() {
                        metarl::note!(
                            "stopped cells: {} (stopped or killed by a signal; continue with `metarl sweep run {}`)",
                            list(&r.stopped),
                            file.display()
                        );
                    }
                    if !r.busy.is_empty() {
                        metarl::note!(
                            "busy cells: {} (another metarl process is running them; `metarl sweep run {}` again after it)",
                            list(&r.busy),
                            file.display()
                        );
                    }
                    if !r.failed.is_empty() {
                        metarl::note!(
                            "failed cells: {} (see {}/cells/*/FAILED)",
                            list(&r.failed),
                            sw.out.display()
                        );
                    }
                    if !(r.failed.is_empty() && r.stopped.is_empty() && r.busy.is_empty()) {
                        return Ok(false);
                    }
                    metarl::note!("next: metarl sweep merge {}", file.display());
                    Ok(true)
                }
            }
        }
        SweepCommand::Sbatch {
            file,
            cpus,
            mem,
            time,
            partition,
            max_parallel,
            submit,
        } => {
            let sw = sweep::Sweep::load(&file)?;
            let path = sw.write_sbatch(&sweep::SbatchOptions {
                cpus,
                mem,
                time,
                partition,
                max_parallel,
            })?;
            outln!("{}", path.display());
            if submit {
                let out = std::process::Command::new("sbatch")
                    .arg(&path)
                    .output()
                    .map_err(|e| anyhow::anyhow!("cannot run sbatch ({e}); is Slurm installed?"))?;
                if !out.status.success() {
                    bail!(
                        "sbatch failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                out!("{}", String::from_utf8_lossy(&out.stdout));
            }
            Ok(true)
        }
        SweepCommand::Merge {
            file,
            metric,
            x,
            series,
        } => {
            let sw = sweep::Sweep::load(&file)?;
            let plot = match (metric, x) {
                (Some(metric), Some(x)) => Some(sweep::PlotConfig { metric, x, series }),
                _ => None,
            };
            let r = sw.merge(plot.as_ref())?;
            match &r.table {
                Some(t) => metarl::note!(
                    "merged {} of {} cells into {}",
                    r.merged.len(),
                    sw.n_cells(),
                    t.display()
                ),
                None => metarl::note!(
                    "merged 0 of {} cells: none has finished in {}",
                    sw.n_cells(),
                    sw.out.display()
                ),
            }
            if let Some(f) = &r.figure {
                metarl::note!("wrote {}.png and .svg", f.display());
            }
            if !r.missing.is_empty() {
                metarl::note!(
                    "missing cells (not run or interrupted): {}; run them with `metarl sweep run {}`",
                    r.missing.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
                    file.display()
                );
            }
            for (i, msg) in &r.failed {
                metarl::note!("failed cell {i} ({}): {msg}", sw.describe_cell(*i));
            }
            Ok(r.complete())
        }
    }
}

/// Refuse a `--threads` or `--jobs` of 0, or of more than 4 × this machine's
/// cores: more threads only wait (results do not depend on the count), and a
/// mistyped 100000 would start that many threads.
fn check_parallelism(flag: &str, n: Option<usize>) -> Result<()> {
    let cores = run::num_cpus();
    match n {
        Some(0) => bail!("{flag} must be at least 1"),
        Some(n) if n > 4 * cores => bail!(
            "{flag} {n} is more than 4 × this machine's {cores} cores; results do not depend \
             on it, so use at most {cores}"
        ),
        _ => Ok(()),
    }
}

/// The command line, or a usage error as one line (clap's own text spreads a
/// usage error over several lines; help and version print as usual).
fn parse_cli() -> Result<Cli> {
    use clap::error::ErrorKind;
    Cli::try_parse().or_else(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.to_string();
            let parts: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("Usage:")
                        && !l.starts_with("For more information")
                })
                .map(|l| l.strip_prefix("error: ").unwrap_or(l))
                .collect();
            let mut line = String::new();
            for p in parts {
                if !line.is_empty() {
                    line.push_str(if line.ends_with(':') { " " } else { "; " });
                }
                line.push_str(p);
            }
            bail!("{line} (see `metarl help`)")
        }
    })
}

fn main_inner() -> Result<bool> {
    let cli = parse_cli()?;
    match cli.command {
        Command::List => {
            // The first column is what to give `run`: a shipped name, or a local file's path.
            let print = |name: &str, loaded: Result<config::Loaded>, source: &str| -> Result<()> {
                match loaded {
                    Ok(l) => {
                        let c = l.config;
                        let profiles: Vec<&str> = c.profiles.keys().map(|s| s.as_str()).collect();
                        outln!(
                            "{:<24} {:<9} {:<44} [profiles: {}] ({source})",
                            name,
                            c.experiment.paper_figure,
                            c.experiment.title,
                            profiles.join(", ")
                        );
                    }
                    Err(e) => outln!("{name:<24} INVALID ({source}): {e:#}"),
                }
                Ok(())
            };
            for (name, _) in config::shipped() {
                print(name, experiments::load(name, None), "built-in")?;
            }
            for f in local_experiment_files() {
                let p = f.display().to_string();
                print(&p, experiments::load(&p, None), "local file")?;
            }
        }
        Command::Show { name } => {
            let text = config::shipped_text(&name).ok_or_else(|| {
                let names: Vec<&str> = config::shipped().iter().map(|(n, _)| *n).collect();
                let hint = config::closest(&name, names.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                anyhow::anyhow!(
                    "no shipped experiment `{name}` (shipped: {}){hint}",
                    names.join(", ")
                )
            })?;
            out!("{text}");
        }
        Command::Run {
            experiment,
            resume,
            out,
            seeds,
            episodes,
            profile,
            set,
            threads,
            force,
            quiet,
        } => {
            let overrides = set
                .iter()
                .map(|s| config::Override::parse(s))
                .collect::<Result<Vec<_>>>()?;
            check_parallelism("--threads", threads)?;
            install_interrupt()?;
            if let Some(dir) = resume {
                let dir = run::resume(&dir, threads, quiet)?;
                if !quiet {
                    metarl::note!(
                        "done: {} (next: metarl check {})",
                        dir.display(),
                        dir.display()
                    );
                }
                return Ok(true);
            }
            let experiment = experiment.expect("clap requires an experiment without --resume");
            // A name runs the shipped experiment; say so if a local file of that name differs.
            if let Ok(config::Source::BuiltIn(name)) = config::resolve(&experiment) {
                let local = Path::new(metarl::EXPERIMENTS_DIR).join(format!("{name}.toml"));
                if let Ok(text) = std::fs::read_to_string(&local) {
                    if config::shipped_text(name) != Some(text.as_str()) && !quiet {
                        metarl::note!(
                            "note: running the shipped {name}; {} differs from it (pass the path to run that file)",
                            local.display()
                        );
                    }
                }
            }
            let dir = run::run(&run::RunOptions {
                experiment,
                out,
                seeds,
                episodes,
                profile,
                overrides,
                threads,
                force,
                quiet,
            })?;
            if !quiet {
                metarl::note!(
                    "done: {} (next: metarl check {})",
                    dir.display(),
                    dir.display()
                );
            }
        }
        Command::Analyze { dir, quiet } => {
            install_interrupt()?;
            run::analyze(&dir, quiet)?;
        }
        Command::Figures { dir, quiet } => {
            install_interrupt()?;
            run::figures(&dir, quiet)?;
        }
        Command::Check { dirs, json } => return check(dirs, json),
        Command::References {
            experiment,
            profile,
            set,
            episodes,
            agents,
            out,
            force,
            json,
        } => {
            return references(
                &experiment,
                profile,
                &set,
                episodes,
                agents,
                out,
                force,
                json,
            )
        }
        Command::Sweep { command } => return sweep_command(command),
        Command::Controls {
            experiment,
            all: _,
            seeds,
            episodes,
            test_episodes,
            only,
            out,
            runs,
            threads,
            force,
            quiet,
        } => {
            check_parallelism("--threads", threads)?;
            // As controls.episodes in the TOML: 0 would make "main" untrained too.
            if episodes == Some(0) {
                bail!("--episodes must be at least 1 (the untrained control is the cell without training)");
            }
            // A stopped control keeps its checkpoints; the same command continues it.
            install_interrupt()?;
            let names: Vec<String> = match experiment {
                Some(e) => vec![e],
                None => config::shipped()
                    .iter()
                    .filter(|(n, _)| {
                        let has = experiments::load(n, None)
                            .map(|l| l.config.controls.is_some())
                            .unwrap_or(false);
                        if !has {
                            metarl::note!("{n}: declares no [controls]; skipped");
                        }
                        has
                    })
                    .map(|(n, _)| n.to_string())
                    .collect(),
            };
            let mut passed = true;
            for name in names {
                let opts = metarl::controls::Options {
                    experiment: name,
                    out: out.clone(),
                    runs: runs.clone(),
                    seeds,
                    episodes,
                    test_episodes,
                    only: only.clone(),
                    threads,
                    force,
                    quiet,
                };
                let r = metarl::controls::run_experiment(&opts).map_err(|e| {
                    match metarl::interrupt::find(&e) {
                        Some(i) => {
                            metarl::note!("controls stopped cleanly (the stopped cell kept its checkpoints); run the same `metarl controls` command again to continue");
                            anyhow::Error::new(metarl::interrupt::Interrupted {
                                signal: i.signal,
                                resume: None,
                            })
                        }
                        None => e,
                    }
                })?;
                // SIGPIPE is ignored here: a closed stdout must not panic.
                use std::io::Write as _;
                let _ = write!(std::io::stdout(), "{}", metarl::controls::check_table(&r));
                passed &= r.checks.iter().all(|c| c.passed);
            }
            let all = metarl::controls::collect(&out);
            let written = metarl::controls::write_summary(&out, &all)?;
            if !quiet {
                for p in written {
                    metarl::note!("wrote {}", p.display());
                }
            }
            return Ok(passed);
        }
        Command::Report {
            all: true,
            runs,
            out,
            readme,
            ..
        } => {
            let runs = runs.unwrap_or_else(|| PathBuf::from("runs"));
            let out = out.unwrap_or_else(|| PathBuf::from("."));
            // Ctrl-C ends it at once, after the write in flight (no temporary file left).
            // (SIGPIPE keeps its default, as for `references`.)
            install_stop_signals()?;
            let _stop = metarl::interrupt::ExitOnStop::new(
                vec![],
                "report stopped, no file left half-written; run the same command again to finish"
                    .into(),
            );
            let entries = report::collect(&runs);
            std::fs::create_dir_all(&out)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
            let mut md = report::markdown(&entries, &report::Provenance::here(), &out)?;
            md.push_str(&report::controls_section(&runs, &out)?);
            let html = report::html(&md, &out)?;
            metarl::record::write_text_atomic(&out.join("REPRODUCTION.md"), &md)?;
            metarl::record::write_text_atomic(&out.join("REPRODUCTION.html"), &html)?;
            metarl::note!(
                "wrote {} and {}",
                out.join("REPRODUCTION.md").display(),
                out.join("REPRODUCTION.html").display()
            );
            if let Some(r) = readme {
                report::update_readme(&r, &report::summary_table(&entries))?;
                metarl::note!("updated the summary table of {}", r.display());
            }
            out!("{}", report::summary_table(&entries));
            return Ok(entries
                .iter()
                .all(|e| e.status == report::Status::Reproduced));
        }
        Command::Report {
            dir,
            runs,
            out,
            readme,
            ..
        } => {
            let dir = dir.expect("clap requires a directory without --all");
            if runs.is_some() || out.is_some() || readme.is_some() {
                bail!("--runs, --out and --readme apply with --all only (report DIR prints one run's metrics)");
            }
            let cfg = run::run_config(&dir)?;
            let o = run::run_outcomes(&dir, &cfg)?;
            outln!(
                "{} ({}), {} seeds {:?}; {}",
                o.experiment,
                dir.display(),
                o.seeds.len(),
                o.seeds,
                o.ci
            );
            for f in &o.failed_seeds {
                outln!("  FAILED in training (in no metric below): {}", f.message);
            }
            for (name, m) in &o.metrics {
                let e = &m.estimate;
                let seeds: Vec<String> = e.per_seed.iter().map(|v| format!("{v:.3}")).collect();
                outln!(
                    "  {name:<34} {:>9.3} [{:.3}, {:.3}]  per seed: {}",
                    e.mean,
                    e.ci_low,
                    e.ci_high,
                    seeds.join(", ")
                );
                outln!("  {:<34} {}", "", m.description);
            }
        }
        Command::Bench {
            json,
            episodes,
            repeat,
            history,
            threshold,
            criterion,
            plot,
        } => {
            if episodes == 0 || repeat == 0 {
                bail!("--episodes and --repeat must be at least 1");
            }
            if !(0.0..1.0).contains(&threshold) {
                bail!("--threshold {threshold}: must be a fraction in [0, 1)");
            }
            // Bad paths are refused before the benchmark, not after it.
            if plot.is_some() && history.is_none() {
                bail!("--plot draws the --history file: give --history too");
            }
            if let Some(d) = criterion.as_deref().filter(|d| !d.is_dir()) {
                bail!(
                    "--criterion {}: not a directory (criterion's output, e.g. target/criterion)",
                    d.display()
                );
            }
            for (flag, p) in [
                ("--history", history.as_deref()),
                ("--plot", plot.as_deref()),
            ] {
                let Some(p) = p else { continue };
                if p.is_dir() {
                    bail!("{flag} {}: is a directory, not a file", p.display());
                }
                let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
                if let Some(d) = parent.filter(|d| !d.is_dir()) {
                    bail!(
                        "{flag} {}: the directory {} does not exist",
                        p.display(),
                        d.display()
                    );
                }
            }
            let mut out = serde_json::Map::new();
            let mut lines = vec![];
            let provenance = report::Provenance::here();
            for (name, _) in config::shipped() {
                let cfg = experiments::load(name, None)?.config;
                let t = bench::best_throughput(&cfg, episodes, repeat)?;
                if !json {
                    outln!(
                        "{:<24} {:>9.0} network steps/s = {:>8.0} trials/s on one core (batch {}, {} units, {} episodes in {:.2}s)",
                        t.experiment,
                        t.network_steps_per_sec,
                        t.trials_per_sec,
                        t.batch,
                        t.hidden,
                        t.episodes,
                        t.seconds
                    );
                }
                lines.push(bench::HistoryLine {
                    commit: provenance.commit.clone(),
                    date: provenance.date.clone(),
                    machine: format!("{} on {}", provenance.machine, run::host_name()),
                    experiment: name.to_string(),
                    network_steps_per_sec: t.network_steps_per_sec,
                    trials_per_sec: t.trials_per_sec,
                    criterion_ns_per_update: criterion
                        .as_deref()
                        .and_then(|d| bench::criterion_ns(d, name)),
                });
                out.insert(name.to_string(), serde_json::to_value(&t)?);
            }
            if json {
                outln!("{}", serde_json::to_string_pretty(&out)?);
            }
            if let Some(path) = history {
                let mut all = bench::read_history(&path)?;
                let mut slower = vec![];
                for l in &lines {
                    if let Some((prev, worse)) = bench::regression(&all, l, threshold) {
                        let change = l.network_steps_per_sec / prev.network_steps_per_sec - 1.0;
                        metarl::note!(
                            "{:<24} {:>9.0} network steps/s vs {:>9.0} at {} ({:+.1}%){}",
                            l.experiment,
                            l.network_steps_per_sec,
                            prev.network_steps_per_sec,
                            prev.commit,
                            100.0 * change,
                            if worse {
                                "  SLOWER beyond the threshold"
                            } else {
                                ""
                            }
                        );
                        if worse {
                            slower.push(l.experiment.clone());
                        }
                    }
                }
                let mut text = std::fs::read_to_string(&path).unwrap_or_default();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                for l in &lines {
                    text.push_str(&serde_json::to_string(l)?);
                    text.push('\n');
                }
                metarl::record::write_text_atomic(&path, &text)?;
                all.extend(lines);
                metarl::note!(
                    "appended {} lines to {}",
                    config::shipped().len(),
                    path.display()
                );
                if let Some(stem) = plot {
                    bench::plot_history(&all, &stem)?;
                    metarl::note!("wrote {}.png and .svg", stem.display());
                }
                if !slower.is_empty() {
                    metarl::note!(
                        "throughput fell by more than {:.0}% for: {}",
                        100.0 * threshold,
                        slower.join(", ")
                    );
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

fn main() -> ExitCode {
    // Blocks of 256 KiB and more (trial-table columns, Parquet pages) come straight
    // from the system and go back to it when freed. glibc's default raises this
    // threshold each time such a block is freed and then keeps freed memory in
    // its per-thread arenas, so that a run's peak memory counted its results
    // about twice (issue 12: 16 seeds of the two-step task, 201 → 167 MB). Not
    // 128 KiB (glibc's starting value; 150 MB there): the Harlow encoder's gradient
    // products allocate a 184 KiB packing buffer per call (inside matrixmultiply),
    // and mapping it afresh each time (page faults, TLB shootdowns when unmapped)
    // took 31 of Simulation 5's 64 CPU-seconds. The trim threshold is raised for the
    // same reason: freeing such a block at the top of an arena would otherwise hand
    // its pages back, to be faulted in again at the next update. No result depends
    // on where memory comes from.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
    // Die quietly on a closed pipe (`metarl report DIR | head`) like other Unix
    // tools; the commands that stop cleanly ignore it instead (`install_interrupt`).
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The last line must not panic on a closed stderr (`note!`; see `install_interrupt`).
    match main_inner() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) if metarl::interrupt::find(&e).is_some() => {
            let i = metarl::interrupt::find(&e).expect("checked");
            metarl::note!("{i}");
            ExitCode::from(i.exit_code())
        }
        Err(e) if e.downcast_ref::<run::SeedsFailed>().is_some() => {
            // The run finished for the other seeds: not a usage error. `{:#}`
            // keeps the context (e.g. which control of `metarl controls`).
            metarl::note!("error: {e:#}");
            ExitCode::FAILURE
        }
        Err(e) => {
            // One line: library messages are single lines, but a foreign error may not be.
            let msg = format!("{e:#}");
            let msg: Vec<&str> = msg
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            metarl::note!("error: {}", msg.join(" "));
            ExitCode::from(2)
        }
    }
}
