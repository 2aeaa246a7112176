//! One module per simulation: its analysis (trial table → outcomes) and its
//! figure (outcomes → PNG/SVG), nothing else.

pub mod s1_reward_history;
pub mod s2_volatility;
pub mod s4_two_step;

use crate::config::Config;
use crate::stats::Estimate;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A reported number: what it is, and its estimate over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metric {
    pub description: String,
    #[serde(flatten)]
    pub estimate: Estimate,
}

/// outcomes.json: every metric of a run (mean, 95% bootstrap CI, per-seed
/// values) and the data its figure shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcomes {
    pub experiment: String,
    pub analysis: String,
    pub seeds: Vec<u64>,
    pub ci: String,
    pub metrics: BTreeMap<String, Metric>,
    pub figure: serde_json::Value,
}

impl Outcomes {
    pub fn new(cfg: &Config, seeds: Vec<u64>) -> Self {
        Outcomes {
            experiment: cfg.experiment.name.clone(),
            analysis: cfg.experiment.analysis.clone(),
            seeds,
            ci: format!(
                "mean over seeds with a 95% percentile bootstrap CI ({} resamples)",
                cfg.analysis.bootstrap
            ),
            metrics: BTreeMap::new(),
            figure: serde_json::Value::Null,
        }
    }

    pub fn add(&mut self, name: &str, description: &str, estimate: Estimate) {
        self.metrics.insert(
            name.to_string(),
            Metric {
                description: description.to_string(),
                estimate,
            },
        );
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid outcomes file", path.display()))
    }
}

/// The metric names an analysis produces (used to validate a TOML's checks).
pub fn metric_names(analysis: &str) -> Result<Vec<String>> {
    match analysis {
        "s4_two_step" => Ok(s4_two_step::METRICS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()),
        "s1_reward_history" => Ok(s1_reward_history::METRICS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()),
        other => bail!("unknown analysis {other:?}; known: s1_reward_history, s4_two_step"),
    }
}

/// Analyse a run directory's trial table.
pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    match cfg.experiment.analysis.as_str() {
        "s4_two_step" => s4_two_step::analyze(cfg, run_dir),
        "s1_reward_history" => s1_reward_history::analyze(cfg, run_dir),
        other => bail!("unknown analysis {other:?}"),
    }
}

/// Render the figures of a run into `fig_dir` from its outcomes; returns the written stems.
pub fn render(
    cfg: &Config,
    outcomes: &Outcomes,
    fig_dir: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    match cfg.experiment.analysis.as_str() {
        "s4_two_step" => s4_two_step::render(cfg, outcomes, fig_dir),
        "s1_reward_history" => s1_reward_history::render(cfg, outcomes, fig_dir),
        other => bail!("unknown analysis {other:?}"),
    }
}
