//! One module per simulation: its analysis settings, its analysis (trial table
//! → outcomes) and its figure (outcomes → PNG/SVG), registered once in
//! `REGISTRY`. This module also holds the full experiment loader: the common
//! schema (`config`) plus the experiment's own `[analysis]`/`[figure]` keys and
//! the metric names its checks may use.

pub mod f1_bandits;
pub mod s1_reward_history;
pub mod s2_volatility;
pub mod s3_inferred_value;
pub mod s4_two_step;
pub mod s5_harlow;
pub mod s6_dopamine;

use crate::config::{self, Config, Loaded};
use crate::stats::Estimate;
use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What every simulation module provides.
pub trait Experiment: Sync {
    /// The value of `experiment.analysis` that selects this module.
    fn id(&self) -> &'static str;
    /// Every metric `analyze` writes to outcomes.json, with what it is; checks
    /// may name only these.
    fn metrics(&self) -> &'static [(&'static str, &'static str)];
    /// Check that the task kind fits, parse the `[analysis]` keys (besides the
    /// common `bootstrap`) and the `[figure]` keys into this module's own structs,
    /// refusing unknown keys, and write them back with defaults filled in.
    fn normalize(&self, cfg: &mut Config) -> Result<()>;
    /// trials.parquet of a run directory → outcomes.
    fn analyze(&self, cfg: &Config, run_dir: &Path) -> Result<Outcomes>;
    /// outcomes → figures in `fig_dir`; returns the written stems (PNG + SVG each).
    fn render(&self, cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>>;
    /// Reference agents whose mechanism is known, each with the result it is
    /// expected to get on every check of the shipped experiment; they are played
    /// on the test like the network and run through `analyze` and the checks
    /// (`references`, `metarl references`). Default: none.
    fn references(&self, _cfg: &Config) -> Result<Vec<crate::references::Reference>> {
        Ok(vec![])
    }
}

/// The registry: one line per simulation.
pub static REGISTRY: &[&dyn Experiment] = &[
    &s1_reward_history::S1RewardHistory,
    &s2_volatility::S2Volatility,
    &s3_inferred_value::S3InferredValue,
    &s4_two_step::S4TwoStep,
    &s5_harlow::S5Harlow,
    &s6_dopamine::S6Dopamine,
    &f1_bandits::F1Bandits,
];

/// The module of an `experiment.analysis` id.
pub fn find(id: &str) -> Result<&'static dyn Experiment> {
    REGISTRY
        .iter()
        .copied()
        .find(|e| e.id() == id)
        .ok_or_else(|| {
            let ids: Vec<&str> = REGISTRY.iter().map(|e| e.id()).collect();
            anyhow!(
                "key `experiment.analysis` = {id:?}: no such analysis; known: {}",
                ids.join(", ")
            )
        })
}

/// Parse a settings table into `T`, refusing unknown keys; errors name `section`.
pub fn settings<T: DeserializeOwned>(table: &toml::Table, section: &str) -> Result<T> {
    table
        .clone()
        .try_into()
        .map_err(|e| anyhow!(config::describe_error(&e, Some(section))))
}

/// Parse a settings table into `T` and write it back with every default filled in
/// (so that a run's config.toml records every value used).
pub fn normalize_settings<T: DeserializeOwned + Serialize>(
    table: &mut toml::Table,
    section: &str,
) -> Result<T> {
    let parsed: T = settings(table, section)?;
    *table = toml::Table::try_from(&parsed).context("settings to TOML")?;
    Ok(parsed)
}

/// The error of an analysis given a task it does not read: `kind` is the
/// `task.kind` it needs. One wording for every analysis.
pub fn wrong_task(analysis: &str, kind: &str, task: &crate::tasks::TaskConfig) -> anyhow::Error {
    anyhow!(
        "the {analysis} analysis needs task.kind = {kind:?}, not {:?}",
        task.kind()
    )
}

/// Refuse a config that does not record the hidden state, for an analysis that reads it.
pub fn require_hidden(cfg: &Config, analysis: &str) -> Result<()> {
    if !cfg.evaluation.record_hidden {
        bail!("key `evaluation.record_hidden` = false: the {analysis} analysis reads the hidden state (set it to true)");
    }
    Ok(())
}

/// The description of metric `name` in an analysis's `metrics` ("" if it is not declared).
pub fn metric_description(metrics: &[(&'static str, &'static str)], name: &str) -> &'static str {
    metrics.iter().find(|m| m.0 == name).map_or("", |m| m.1)
}

/// Index ranges of the runs of consecutive items with equal `key`: the episodes
/// of trials sorted by episode, for example.
pub fn runs_by<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<std::ops::Range<usize>> {
    let mut out = vec![];
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || key(&items[i]) != key(&items[start]) {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// The common schema, then the experiment's own keys and its checks' metrics.
pub fn validate(cfg: &mut Config) -> Result<()> {
    let exp = find(&cfg.experiment.analysis)?;
    exp.normalize(cfg)?;
    let known = exp.metrics();
    if let Some(k) = &cfg.experiment.key_metric {
        if !known.iter().any(|(m, _)| m == k) {
            bail!(
                "key `experiment.key_metric` = {k:?}: the {} analysis produces no such metric",
                exp.id()
            );
        }
    }
    for (i, c) in cfg.checks.iter().enumerate() {
        if !known.iter().any(|(m, _)| *m == c.metric) {
            let names: Vec<&str> = known.iter().map(|(m, _)| *m).collect();
            bail!(
                "key `checks[{i}].metric` = {:?} (check {:?}): the {} analysis produces no such metric; it produces: {}",
                c.metric,
                c.name,
                exp.id(),
                names.join(", ")
            );
        }
    }
    // After the checks: the controls' metric defaults to the first check's.
    if cfg.controls.is_some() {
        let m = cfg.controls_metric().unwrap_or_default();
        if !known.iter().any(|(k, _)| *k == m) {
            bail!(
                "key `controls.metric` = {m:?}: the {} analysis produces no such metric",
                exp.id()
            );
        }
    }
    Ok(())
}

/// Parse and fully validate experiment TOML text (see `config::parse`).
pub fn parse(text: &str, origin: &str, profile: Option<&str>) -> Result<Config> {
    parse_with(text, origin, profile, &[])
}

/// `parse` with key overrides applied after the profile.
pub fn parse_with(
    text: &str,
    origin: &str,
    profile: Option<&str>,
    overrides: &[config::Override],
) -> Result<Config> {
    let mut cfg = config::parse_with(text, origin, profile, overrides)?;
    validate(&mut cfg).map_err(|e| anyhow!("{origin}: {e:#}"))?;
    Ok(cfg)
}

/// The one loader: a shipped experiment by name, or a TOML file by path, with
/// an optional profile, fully validated.
pub fn load(name_or_path: &str, profile: Option<&str>) -> Result<Loaded> {
    load_with(name_or_path, profile, &[])
}

/// `load` with key overrides applied after the profile.
pub fn load_with(
    name_or_path: &str,
    profile: Option<&str>,
    overrides: &[config::Override],
) -> Result<Loaded> {
    let source = config::resolve(name_or_path)?;
    let text = config::source_text(&source)?;
    let config = parse_with(&text, &source.to_string(), profile, overrides)?;
    Ok(Loaded {
        config,
        source,
        profile: profile.map(str::to_string),
    })
}

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
    /// Seeds whose training diverged: not in the trial table nor in any metric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_seeds: Vec<crate::run::FailedSeed>,
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
            failed_seeds: vec![],
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

/// Analyse a run directory's trial table.
pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    find(&cfg.experiment.analysis)?.analyze(cfg, run_dir)
}

/// Render the figures of a run into `fig_dir` from its outcomes; returns the written stems.
pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    find(&cfg.experiment.analysis)?.render(cfg, outcomes, fig_dir)
}
