//! Training throughput on one core, shared by `metarl bench` and the criterion
//! benchmark. Two units, never mixed: network steps per second (one LSTM step
//! each) and task trials per second (a trial is one or more network steps,
//! depending on the task: two in the two-step task).

use crate::config::Config;
use crate::train;
use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub experiment: String,
    /// Network (LSTM) steps per second of training.
    pub network_steps_per_sec: f64,
    /// Task trials per second of training.
    pub trials_per_sec: f64,
    /// The same as `network_steps_per_sec` (the name used before trials were counted).
    pub env_steps_per_sec: f64,
    pub network_steps: u64,
    pub trials: u64,
    pub seconds: f64,
    pub episodes: usize,
    pub batch: usize,
    pub hidden: usize,
}

/// Train one seed for `episodes` episodes on the calling thread and time it
/// (rollout, loss, backpropagation through time and optimiser; no evaluation).
/// With training variants, the first variant is timed.
pub fn training_throughput(cfg: &Config, episodes: usize) -> Result<Throughput> {
    let mut cfg = cfg.training_variants()?.swap_remove(0).1;
    cfg.training.episodes = episodes;
    let trained = train::train_seed(&cfg, 12345, |_, _, _| {})?;
    let steps_per_sec = trained.env_steps as f64 / trained.seconds;
    Ok(Throughput {
        experiment: cfg.experiment.name.clone(),
        network_steps_per_sec: steps_per_sec,
        trials_per_sec: trained.trials as f64 / trained.seconds,
        env_steps_per_sec: steps_per_sec,
        network_steps: trained.env_steps,
        trials: trained.trials,
        seconds: trained.seconds,
        episodes,
        batch: cfg.training.batch,
        hidden: cfg.agent.hidden,
    })
}

/// One line of the benchmark history (bench/history.jsonl): one experiment's
/// training throughput at one commit on one machine.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HistoryLine {
    pub commit: String,
    pub date: String,
    pub machine: String,
    pub experiment: String,
    pub network_steps_per_sec: f64,
    pub trials_per_sec: f64,
    /// Criterion's mean time of one A2C update (ns), when `make bench` ran it.
    #[serde(default)]
    pub criterion_ns_per_update: Option<f64>,
}

/// Best of `repeats` timings (the least disturbed by other work on the machine).
pub fn best_throughput(cfg: &Config, episodes: usize, repeats: usize) -> Result<Throughput> {
    let mut best: Option<Throughput> = None;
    for _ in 0..repeats.max(1) {
        let t = training_throughput(cfg, episodes)?;
        if best
            .as_ref()
            .is_none_or(|b| t.network_steps_per_sec > b.network_steps_per_sec)
        {
            best = Some(t);
        }
    }
    Ok(best.expect("at least one repeat"))
}

/// Criterion's mean time per A2C update for an experiment (see benches/throughput.rs).
pub fn criterion_ns(criterion_dir: &std::path::Path, experiment: &str) -> Option<f64> {
    let p = criterion_dir
        .join(experiment)
        .join("a2c_update_network_steps")
        .join("new")
        .join("estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// Read a history file (missing = empty).
pub fn read_history(path: &std::path::Path) -> Result<Vec<HistoryLine>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(vec![]);
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// The previous line of the same experiment on the same machine, and whether
/// `new` is slower than it by more than `threshold` (a fraction).
pub fn regression<'a>(
    history: &'a [HistoryLine],
    new: &HistoryLine,
    threshold: f64,
) -> Option<(&'a HistoryLine, bool)> {
    let prev = history
        .iter()
        .rev()
        .find(|h| h.experiment == new.experiment && h.machine == new.machine)?;
    Some((
        prev,
        new.network_steps_per_sec < prev.network_steps_per_sec * (1.0 - threshold),
    ))
}

/// Throughput over the history, one line per experiment (x: the history's runs in order).
pub fn plot_history(history: &[HistoryLine], stem: &std::path::Path) -> Result<()> {
    use crate::plot;
    let mut names: Vec<&str> = vec![];
    for h in history {
        if !names.contains(&h.experiment.as_str()) {
            names.push(&h.experiment);
        }
    }
    // Runs are numbered in order of their (commit, date) first appearance.
    let mut runs: Vec<(&str, &str)> = vec![];
    for h in history {
        if !runs.contains(&(h.commit.as_str(), h.date.as_str())) {
            runs.push((&h.commit, &h.date));
        }
    }
    let lines: Vec<crate::plot::LabelledLine> = names
        .iter()
        .map(|n| {
            let pts = history
                .iter()
                .filter(|h| h.experiment == *n)
                .map(|h| {
                    let x = runs
                        .iter()
                        .position(|r| *r == (h.commit.as_str(), h.date.as_str()))
                        .unwrap() as f64
                        + 1.0;
                    let y = h.network_steps_per_sec / 1000.0;
                    (x, y, y, y)
                })
                .collect();
            (n.to_string(), pts)
        })
        .collect();
    let last = runs
        .last()
        .map_or(String::new(), |r| format!("latest: {} ({})", r.0, r.1));
    let fig = HistoryFigure { lines, note: last };
    plot::render_png_and_svg(stem, 1100, 650, &fig)
}

struct HistoryFigure {
    lines: Vec<crate::plot::LabelledLine>,
    note: String,
}

impl crate::plot::Figure for HistoryFigure {
    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<()> {
        use crate::plot;
        let body = plot::draw_figure_title(
            root,
            "Training throughput over the benchmark history (one core)",
            Some(&self.note),
        )?;
        let series = self
            .lines
            .iter()
            .enumerate()
            .map(|(k, (label, pts))| plot::Series {
                label,
                color: plot::palette(k),
                filled: k < 5,
                points: pts.clone(),
            })
            .collect();
        plot::draw_line_panel(
            &body.margin(0, 10, 10, 10),
            &plot::LinePanel {
                letter: "",
                title: "",
                header_height: 70,
                note: None,
                x_label: "benchmark run (oldest to newest)",
                y_label: "thousand network steps/s",
                series,
                dodge: 0.0,
            },
        )
    }
}
