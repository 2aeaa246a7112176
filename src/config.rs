//! The experiment TOML schema. Every key is declared once here with a one-line
//! help text; unknown keys are refused, and `validate` checks ranges, so that an
//! invalid file is rejected before any work with a message naming the key.

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub experiment: ExperimentMeta,
    pub task: TaskConfig,
    pub agent: AgentConfig,
    pub training: TrainingConfig,
    pub evaluation: EvaluationConfig,
    pub seeds: SeedsConfig,
    #[serde(default)]
    pub analysis: AnalysisConfig,
    #[serde(default)]
    pub figure: FigureConfig,
    /// The pre-registered targets (shared/SPEC.md) as data.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// Named budget overrides, e.g. `[profiles.quick.training] episodes = 2000`.
    /// Applied by `load`; kept in the resolved config for the record.
    #[serde(default)]
    pub profiles: toml::Table,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentMeta {
    /// Short identifier; also the default run directory `runs/<name>`.
    pub name: String,
    /// Human-readable title used on figures.
    pub title: String,
    /// Which figure of Wang et al. 2018 this reproduces.
    pub paper_figure: String,
    /// Which analysis module handles this experiment (e.g. "s4_two_step").
    pub analysis: String,
}

/// The task, selected by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskConfig {
    TwoStep(TwoStepConfig),
    BaitedBandit(BaitedBanditConfig),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoStepConfig {
    /// Trials per episode (paper: 100).
    pub trials_per_episode: usize,
    /// Probability of the common transition (paper: 0.8).
    pub common_prob: f64,
    /// Reward probability of the better second-stage state (paper: 0.9).
    pub reward_prob_high: f64,
    /// Reward probability of the worse second-stage state (paper: 0.1).
    pub reward_prob_low: f64,
    /// Probability, at the start of each trial, that the better state swaps (paper: 0.025).
    pub swap_prob: f64,
}

/// The baited two-armed bandit of Simulation 1 (Tsutsui et al. 2016).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaitedBanditConfig {
    /// p0(L) + p0(R), the sum of the two arms' base probabilities (paper: 0.5).
    pub p0_sum: f64,
    /// Training p0(L): uniform on the union of these [low, high] bands
    /// (paper: [[0, 0.1], [0.2, 0.3], [0.4, 0.5]]; the gaps are held out).
    pub train_p0_left: Vec<[f64; 2]>,
    /// Test p0(L): uniform on the union of these bands (paper: [[0, 0.5]]).
    pub test_p0_left: Vec<[f64; 2]>,
    /// Training episode length in trials, [min, max], uniform (paper: [50, 100]).
    pub train_trials: [usize; 2],
    /// Test episode length in trials, [min, max], uniform (paper: [100, 100]).
    pub test_trials: [usize; 2],
    /// Precede each choice with a fixation step (default false: one network step
    /// per trial). When true, each trial is two network steps: a fixation step
    /// (observation: a 1-dim cue = 1; any action; no reward; the baiting counts do
    /// not change) and then the choice step (cue = 0), so the LSTM makes two
    /// recurrent updates between an outcome and the next choice, as the monkeys
    /// had a fixation period before each choice (Tsutsui et al. 2016). Episode
    /// lengths stay in trials. Left out of the written config when false, so runs
    /// without it are unchanged.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fixation_step: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    Rmsprop,
    Adam,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// LSTM units (paper: 48).
    pub hidden: usize,
    /// Also feed the normalised time step t/T as an input.
    #[serde(default)]
    pub time_input: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Training episodes per seed (all batches together).
    pub episodes: usize,
    /// Episodes run in lock-step and averaged into one update (stands in for A3C's workers).
    pub batch: usize,
    /// "rmsprop" or "adam".
    pub optimizer: Optimizer,
    /// Outer (slow, weight) learning rate (paper: 7e-4).
    pub learning_rate: f64,
    /// Discount factor (paper: 0.9).
    pub gamma: f64,
    /// Weight of the ½(return − value)² critic loss (paper: 0.05).
    pub value_cost: f64,
    /// Weight of the entropy bonus (paper: 0.05).
    pub entropy_cost: f64,
    /// Global gradient-norm clip (0 = no clipping).
    pub grad_clip: f64,
    /// RMSProp decay of the squared-gradient average.
    #[serde(default = "default_rms_decay")]
    pub rmsprop_decay: f64,
    /// Numerical epsilon of RMSProp/Adam.
    #[serde(default = "default_eps")]
    pub optimizer_eps: f64,
}

fn default_rms_decay() -> f64 {
    0.99
}
fn default_eps() -> f64 {
    1e-5
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Test episodes per seed, weights frozen.
    pub episodes: usize,
    /// Record the LSTM hidden state (columns h_0..h_{n-1}) in trials.parquet.
    #[serde(default)]
    pub record_hidden: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedsConfig {
    /// Number of independently trained networks.
    pub count: usize,
    /// Seed i of the run is `first + i`.
    #[serde(default = "default_first_seed")]
    pub first: u64,
}

fn default_first_seed() -> u64 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Bootstrap resamples for the 95% CIs over seeds.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// Lags of the trial-history logistic regression.
    #[serde(default = "default_lags")]
    pub lags: usize,
    /// Ridge penalty of the logistic regressions (keeps separable data finite).
    #[serde(default = "default_l2")]
    pub logistic_l2: f64,
    /// Test episodes of one network used for the RPE regression (paper: 30).
    #[serde(default = "default_rpe_episodes")]
    pub rpe_episodes: usize,
    /// Learning rates tried for the model-based and model-free learners (best r² kept for each).
    #[serde(default = "default_alphas")]
    pub learner_alphas: Vec<f64>,
    /// Trial shuffles averaged into the null of the unit-coding analysis.
    #[serde(default = "default_shuffles")]
    pub shuffles: usize,
}

fn default_shuffles() -> usize {
    20
}

fn default_bootstrap() -> usize {
    10_000
}
fn default_lags() -> usize {
    5
}
fn default_l2() -> f64 {
    1e-3
}
fn default_rpe_episodes() -> usize {
    30
}
fn default_alphas() -> Vec<f64> {
    vec![0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureConfig {
    /// The paper's approximate values for the stay bars (R-C, R-U, N-C, N-U), read off its figure.
    #[serde(default)]
    pub paper_stay: Vec<f64>,
    /// A reference lag-1 reward weight marked on the regression panel
    /// (Simulation 1: the monkeys' 1.25, Tsutsui et al. 2016).
    #[serde(default)]
    pub reference_lag1_reward: Option<f64>,
}

impl Default for FigureConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// Which statistic of a metric a check compares.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Mean over seeds.
    Mean,
    /// Lower end of the 95% CI (`> 0` means "CI excludes 0 from below").
    CiLow,
    /// Upper end of the 95% CI (`< 0` means "CI excludes 0 from above").
    CiHigh,
    /// The smallest per-seed value ("every seed > x").
    MinSeed,
    /// The largest per-seed value ("every seed < x").
    MaxSeed,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Comparison {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Comparison {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Gt => value > threshold,
            Comparison::Ge => value >= threshold,
            Comparison::Lt => value < threshold,
            Comparison::Le => value <= threshold,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Name shown in `metarl check`.
    pub name: String,
    /// A metric of outcomes.json produced by this experiment's analysis.
    pub metric: String,
    /// Which statistic of the metric is compared.
    pub statistic: Statistic,
    /// ">", ">=", "<" or "<=".
    pub compare: Comparison,
    pub threshold: f64,
    /// The paper's value, where known.
    #[serde(default)]
    pub paper: Option<f64>,
    /// What the check means, in words.
    #[serde(default)]
    pub description: String,
}

/// Where a config came from, for error messages and the run record.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub path: PathBuf,
    pub profile: Option<String>,
}

/// Resolve a name (`s4_two_step`) or a path to an experiment TOML.
pub fn resolve_path(name_or_path: &str) -> Result<PathBuf> {
    let p = PathBuf::from(name_or_path);
    if p.exists() {
        return Ok(p);
    }
    for root in [Path::new("."), Path::new(env!("CARGO_MANIFEST_DIR"))] {
        let candidate = root
            .join(crate::EXPERIMENTS_DIR)
            .join(format!("{name_or_path}.toml"));
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    bail!(
        "no experiment file `{name_or_path}`: neither a file nor a name in {}/ (see `metarl list`)",
        crate::EXPERIMENTS_DIR
    )
}

/// Merge `overlay` into `base`, recursing into tables.
fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Parse TOML text, apply a named profile, deserialize and validate.
pub fn parse(text: &str, origin: &str, profile: Option<&str>) -> Result<Config> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| anyhow!("{origin}: invalid TOML: {e}"))?;
    if let Some(name) = profile {
        let profiles = table.get("profiles").and_then(|p| p.as_table()).cloned();
        let available: Vec<String> = profiles
            .as_ref()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let overlay = profiles
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|p| p.as_table())
            .ok_or_else(|| {
                anyhow!(
                    "{origin}: no profile `{name}` (available: {})",
                    available.join(", ")
                )
            })?
            .clone();
        if overlay.contains_key("profiles") {
            bail!("{origin}: profile `{name}` may not define profiles");
        }
        merge(&mut table, &overlay);
    }
    let config: Config = toml::Table::try_into(table).map_err(|e| {
        let what = if profile.is_some() {
            " (after applying the profile)"
        } else {
            ""
        };
        anyhow!("{origin}{what}: {e}")
    })?;
    config.validate().map_err(|e| anyhow!("{origin}: {e}"))?;
    Ok(config)
}

pub fn load(name_or_path: &str, profile: Option<&str>) -> Result<Loaded> {
    let path = resolve_path(name_or_path)?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read experiment file {}", path.display()))?;
    let config = parse(&text, &path.display().to_string(), profile)?;
    Ok(Loaded {
        config,
        path,
        profile: profile.map(str::to_string),
    })
}

fn check_prob(key: &str, v: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&v) || v.is_nan() {
        bail!("key `{key}` = {v}: must be a probability in [0, 1]");
    }
    Ok(())
}

fn check_positive(key: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("key `{key}` = 0: must be at least 1");
    }
    Ok(())
}

/// A list of [low, high] probability bands for p0(L): non-empty, each band a
/// probability interval with low <= high and high <= `p0_sum` (so p0(R) >= 0).
fn check_bands(key: &str, bands: &[[f64; 2]], p0_sum: f64) -> Result<()> {
    if bands.is_empty() {
        bail!("key `{key}`: must list at least one [low, high] band");
    }
    for (i, &[lo, hi]) in bands.iter().enumerate() {
        check_prob(&format!("{key}[{i}][0]"), lo)?;
        check_prob(&format!("{key}[{i}][1]"), hi)?;
        if lo > hi {
            bail!("key `{key}[{i}]` = [{lo}, {hi}]: must be [low, high] with low <= high");
        }
        if hi > p0_sum {
            bail!(
                "key `{key}[{i}]` = [{lo}, {hi}]: p0(L) may not exceed task.p0_sum = {p0_sum} (p0(R) = p0_sum - p0(L) must be >= 0)"
            );
        }
    }
    Ok(())
}

fn check_range(key: &str, v: f64, lo: f64, hi: f64, allowed: &str) -> Result<()> {
    if !(v >= lo && v <= hi) {
        bail!("key `{key}` = {v}: must be {allowed}");
    }
    Ok(())
}

impl Config {
    pub fn validate(&self) -> Result<()> {
        let name = &self.experiment.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!(
                "key `experiment.name` = {name:?}: must be non-empty letters, digits, '_' or '-'"
            );
        }
        match &self.task {
            TaskConfig::TwoStep(t) => {
                check_positive("task.trials_per_episode", t.trials_per_episode)?;
                check_prob("task.common_prob", t.common_prob)?;
                check_prob("task.reward_prob_high", t.reward_prob_high)?;
                check_prob("task.reward_prob_low", t.reward_prob_low)?;
                check_prob("task.swap_prob", t.swap_prob)?;
            }
            TaskConfig::BaitedBandit(t) => {
                check_prob("task.p0_sum", t.p0_sum)?;
                for (key, bands) in [
                    ("task.train_p0_left", &t.train_p0_left),
                    ("task.test_p0_left", &t.test_p0_left),
                ] {
                    check_bands(key, bands, t.p0_sum)?;
                }
                for (key, [lo, hi]) in [
                    ("task.train_trials", t.train_trials),
                    ("task.test_trials", t.test_trials),
                ] {
                    check_positive(key, lo)?;
                    if lo > hi {
                        bail!("key `{key}` = [{lo}, {hi}]: must be [min, max] with min <= max");
                    }
                    if hi > 100_000 {
                        bail!("key `{key}` = [{lo}, {hi}]: at most 100000 trials per episode");
                    }
                    if t.fixation_step && hi > 50_000 {
                        bail!(
                            "key `{key}` = [{lo}, {hi}]: at most 50000 trials per episode with \
                             task.fixation_step = true (two network steps per trial)"
                        );
                    }
                }
            }
        }
        check_positive("agent.hidden", self.agent.hidden)?;
        let tr = &self.training;
        check_positive("training.episodes", tr.episodes)?;
        check_positive("training.batch", tr.batch)?;
        if tr.batch > 256 {
            bail!("key `training.batch` = {}: must be at most 256", tr.batch);
        }
        check_range(
            "training.learning_rate",
            tr.learning_rate,
            1e-12,
            1.0,
            "in (0, 1]",
        )?;
        check_range("training.gamma", tr.gamma, 0.0, 1.0, "in [0, 1]")?;
        check_range("training.value_cost", tr.value_cost, 0.0, 1e6, ">= 0")?;
        check_range("training.entropy_cost", tr.entropy_cost, 0.0, 1e6, ">= 0")?;
        check_range(
            "training.grad_clip",
            tr.grad_clip,
            0.0,
            1e12,
            ">= 0 (0 = off)",
        )?;
        check_range(
            "training.rmsprop_decay",
            tr.rmsprop_decay,
            0.0,
            0.999_999,
            "in [0, 1)",
        )?;
        check_range(
            "training.optimizer_eps",
            tr.optimizer_eps,
            1e-20,
            1.0,
            "in (0, 1]",
        )?;
        check_positive("evaluation.episodes", self.evaluation.episodes)?;
        check_positive("seeds.count", self.seeds.count)?;
        let an = &self.analysis;
        check_positive("analysis.lags", an.lags)?;
        check_positive("analysis.rpe_episodes", an.rpe_episodes)?;
        check_positive("analysis.shuffles", an.shuffles)?;
        check_range("analysis.logistic_l2", an.logistic_l2, 0.0, 1e6, ">= 0")?;
        if an.learner_alphas.is_empty() {
            bail!("key `analysis.learner_alphas`: must list at least one learning rate");
        }
        for a in &an.learner_alphas {
            check_range("analysis.learner_alphas", *a, 1e-9, 1.0, "in (0, 1]")?;
        }
        for p in &self.figure.paper_stay {
            check_prob("figure.paper_stay", *p)?;
        }
        if let Some(v) = self.figure.reference_lag1_reward {
            check_range(
                "figure.reference_lag1_reward",
                v,
                -1e6,
                1e6,
                "a finite number",
            )?;
        }
        let known = crate::experiments::metric_names(&self.experiment.analysis)
            .map_err(|e| anyhow!("key `experiment.analysis`: {e}"))?;
        for (i, c) in self.checks.iter().enumerate() {
            if !known.iter().any(|m| m == &c.metric) {
                bail!(
                    "key `checks[{i}].metric` = {:?} (check {:?}): the {} analysis produces no such metric; it produces: {}",
                    c.metric,
                    c.name,
                    self.experiment.analysis,
                    known.join(", ")
                );
            }
            if !c.threshold.is_finite() {
                bail!("key `checks[{i}].threshold`: must be a finite number");
            }
        }
        Ok(())
    }

    /// The seeds of this run, in order.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds.count as u64)
            .map(|i| self.seeds.first + i)
            .collect()
    }
}
