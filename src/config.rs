//! The experiment TOML schema common to every experiment. Every key is declared
//! once here with a one-line help text; unknown keys are refused, and `validate`
//! checks ranges, so that an invalid file is rejected before any work with a
//! message naming the key. The `[task]` keys live with each task
//! (`src/tasks/<task>.rs`); the `[analysis]` keys other than `bootstrap` and the
//! `[figure]` keys live with each experiment (`src/experiments/<name>/`), which
//! `experiments::load` checks on top of this.

use crate::tasks::TaskConfig;
use crate::validate;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub experiment: ExperimentMeta,
    /// The task; `task.kind` selects it (see `tasks::TASK_KINDS`).
    pub task: TaskConfig,
    pub agent: AgentConfig,
    pub training: TrainingConfig,
    pub evaluation: EvaluationConfig,
    pub seeds: SeedsConfig,
    #[serde(default)]
    pub analysis: AnalysisConfig,
    /// Figure settings; the keys belong to the experiment's module.
    #[serde(default)]
    pub figure: toml::Table,
    /// The pre-registered targets (shared/SPEC.md) as data.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// Networks trained differently on the same seeds (e.g. on two task
    /// families). Without variants the run trains one network per seed from the
    /// config as written; with them, one per variant and seed, each the config
    /// with the variant's overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantConfig>,
    /// The mechanism controls of issue 15 (`metarl controls`): which controls
    /// this experiment runs, their budget and the chance value of their checks.
    /// Absent: the experiment has no controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controls: Option<ControlsConfig>,
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
    /// Which analysis module handles this experiment (e.g. "s4_two_step"; see `metarl list`).
    pub analysis: String,
    /// The paper's claim this experiment tests, in one sentence (for the reproduction report).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub claim: String,
    /// The metric shown as this experiment's key number in the report's summary
    /// (default: the metric of the first check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_metric: Option<String>,
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
    /// What the network reads in its previous-outcome input: "reward" (the
    /// previous reward; default), "rpe" (the previous RPE from a separate critic
    /// LSTM, paper Supplementary Fig. 9; see src/agent/critic.rs) or "none" (zero:
    /// the no-reward-input control).
    #[serde(default)]
    pub feedback: Feedback,
    /// LSTM units of the critic of `feedback = "rpe"` (default: `hidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critic_hidden: Option<usize>,
    /// An image encoder in front of the LSTM, for tasks whose observations hold
    /// images (`[agent.encoder]`; absent = the LSTM reads the observation as is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderConfig>,
}

/// `agent.feedback`: what the network receives in place of the previous reward.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// The previous reward (the standard agent).
    #[default]
    Reward,
    /// The previous RPE δ_{t−1} = r_{t−1} + γ v_t − v_{t−1} of a separate critic
    /// LSTM that reads the reward (and never the RPE).
    Rpe,
    /// Zero: the network gets no outcome input at all.
    None,
}

impl std::fmt::Display for Feedback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Feedback::Reward => "reward",
            Feedback::Rpe => "rpe",
            Feedback::None => "none",
        })
    }
}

impl AgentConfig {
    /// The critic's LSTM size when `feedback = "rpe"`, else None.
    pub fn critic_units(&self) -> Option<usize> {
        (self.feedback == Feedback::Rpe).then(|| self.critic_hidden.unwrap_or(self.hidden))
    }
}

/// `[agent.encoder]`: a two-layer perceptron applied with the same weights to
/// every image of the observation; the LSTM reads its features.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderConfig {
    /// Units of the hidden layer (ReLU).
    pub hidden: usize,
    /// Features per image given to the LSTM (linear).
    pub features: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Training episodes per seed (all batches together); 0 = never trained (the
    /// initial weights are tested: the "untrained" control).
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
    /// Weight of the separate critic's ½(return − value)² loss (`agent.feedback =
    /// "rpe"` only; default 1). Not `value_cost`: the critic has its own optimiser,
    /// so this only scales its gradient against RMSProp's ε (see src/agent/critic.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critic_cost: Option<f64>,
    /// RMSProp decay of the squared-gradient average.
    #[serde(default = "default_rms_decay")]
    pub rmsprop_decay: f64,
    /// Numerical epsilon of RMSProp/Adam.
    #[serde(default = "default_eps")]
    pub optimizer_eps: f64,
    /// Updates between a seed's resume checkpoints (checkpoints/resume/, for
    /// `metarl run --resume` after an interruption; removed when the run
    /// finishes); 0 = none (an interrupted run then retrains every seed). Does
    /// not change the results.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
}

fn default_checkpoint_every() -> usize {
    200
}

fn default_true() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
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
    /// Record the observation (columns obs_0..) in trials.parquet (default true;
    /// false for tasks whose observations are images, which the task's latent
    /// columns identify instead).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub record_observations: bool,
    /// Training stages at which the network is tested, in training episodes
    /// (strictly increasing multiples of `training.batch`, at most
    /// `training.episodes`; 0 = the untrained network). The weights at each stage
    /// are saved and tested like the final ones; trials.parquet then has a column
    /// `stage` (training episodes), and the final network is always tested, as the
    /// stage `training.episodes`. Empty (default): only the final network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<usize>,
    /// Test conditions. Without them the test is `episodes` episodes of the
    /// task as configured; with them, each condition is tested in turn (column
    /// `condition` of trials.parquet), and each restarts the test's random
    /// streams from the same seed, so that the conditions see the same task draws.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionConfig>,
    /// Keep training during the test (the "plastic at test" control): after each
    /// batch of test episodes, one A2C update with the training optimiser and
    /// hyper-parameters (a fresh optimiser state) on that batch, so that later test
    /// episodes are played by changed weights (with the RPE input, the critic's
    /// too). Default false: weights frozen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plastic: bool,
}

/// A mechanism control (`controls.run`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ControlKind {
    /// `agent.feedback = "none"`: no previous-reward (or RPE) input, in training and test.
    NoRewardInput,
    /// `training.episodes = 0`: the initial weights, tested as they are.
    Untrained,
    /// `evaluation.plastic = true`: weights keep learning during the test.
    PlasticTest,
    /// `agent.hidden` at each of `controls.sizes`.
    Size,
}

impl ControlKind {
    pub fn name(self) -> &'static str {
        match self {
            ControlKind::NoRewardInput => "no_reward_input",
            ControlKind::Untrained => "untrained",
            ControlKind::PlasticTest => "plastic_test",
            ControlKind::Size => "size",
        }
    }
}

/// `[controls]`: the mechanism controls of an experiment (issue 15). Each control
/// is the experiment with a few overrides, trained and tested on the same seeds
/// and test episodes as `main` (the experiment at the controls' budget).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlsConfig {
    /// Which controls run: any of "no_reward_input", "untrained", "plastic_test", "size".
    pub run: Vec<ControlKind>,
    /// Seeds of every control run (the first `seeds` seeds of the experiment).
    pub seeds: usize,
    /// Training episodes per seed of every trained control run (and of `main`).
    pub episodes: usize,
    /// Test episodes per seed (default: the experiment's `evaluation.episodes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_episodes: Option<usize>,
    /// LSTM sizes of the "size" control (the experiment's own `agent.hidden` is `main`).
    #[serde(default = "default_sizes")]
    pub sizes: Vec<usize>,
    /// The metric compared across controls (default: `experiment.key_metric`, else
    /// the first check's metric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The metric's value when the effect is absent (chance).
    pub chance: f64,
    /// The checks of "no_reward_input" and "untrained" pass when the metric's 95% CI
    /// includes `chance` or its mean is within `tolerance` of it.
    pub tolerance: f64,
}

fn default_sizes() -> Vec<usize> {
    vec![12, 24, 48, 96]
}

/// One test condition: `[[evaluation.conditions]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// Its label in the `condition` column of trials.parquet.
    pub name: String,
    /// Test episodes per seed in this condition (default: `evaluation.episodes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episodes: Option<usize>,
    /// Test only the first n seeds of the run in this condition (default: every seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<usize>,
    /// Overrides of `[task]` keys in this condition (the same keys as `[task]`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub task: toml::Table,
    /// A manipulation of the RPE input in this condition, weights frozen
    /// (`agent.feedback = "rpe"`; with "none", the control without that input,
    /// there is nothing to manipulate and it does nothing; default none), e.g.
    /// `rpe_manipulation = { event = "risky_win", add = -4.0 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpe_manipulation: Option<RpeManipulation>,
}

/// `rpe_manipulation` of a test condition: the "optogenetic" change of the
/// dopamine signal the network receives (Stopper et al. 2014; paper Fig. 7).
/// After every step t at which the task latent `event` is non-zero, the RPE δ_t
/// that the network receives as input at step t+1 is δ_t + `add`. The critic,
/// the recorded `rpe` column and everything else are unchanged; trials.parquet
/// records what the network received in its `rpe_input` column.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpeManipulation {
    /// The task's latent variable (a trials.parquet column) that marks the event,
    /// e.g. "risky_win"; the manipulation applies where it is non-zero.
    pub event: String,
    /// Added to the RPE input after each event: negative blocks dopamine (lowers
    /// the RPE input), positive stimulates it.
    pub add: f64,
}

/// One training variant: `[[variants]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantConfig {
    /// Its label in the `variant` column of the tables and in checkpoints/<name>/.
    pub name: String,
    /// Overrides of `[task]` keys.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub task: toml::Table,
    /// Overrides of `[agent]` keys.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub agent: toml::Table,
    /// Overrides of `[training]` keys.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub training: toml::Table,
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

/// `[analysis]`: `bootstrap` is common to every experiment; every other key
/// belongs to the experiment's analysis module, which refuses unknown ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalysisConfig {
    /// Bootstrap resamples for the 95% CIs over seeds.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    /// The experiment's own analysis keys.
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// The fewest bootstrap resamples `analysis.bootstrap` may ask for.
pub const MIN_BOOTSTRAP: usize = 100;

fn default_bootstrap() -> usize {
    10_000
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            bootstrap: default_bootstrap(),
            settings: toml::Table::new(),
        }
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

/// Where an experiment's TOML comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Shipped with the binary (`experiments/<name>.toml` at build time).
    BuiltIn(&'static str),
    /// A file given by path.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn(name) => write!(f, "built-in {name}"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Where a config came from, for error messages and the run record.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
    pub profile: Option<String>,
}

/// The experiment TOMLs shipped in the binary: (name, text), sorted by name.
pub fn shipped() -> &'static [(&'static str, &'static str)] {
    crate::shipped::SHIPPED
}

/// The shipped TOML text of an experiment name.
pub fn shipped_text(name: &str) -> Option<&'static str> {
    shipped().iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Edit distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + (ca != *cb) as usize).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest of `candidates` to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

/// Resolve a path to a TOML file (an existing path wins) or the name of a
/// shipped experiment.
pub fn resolve(name_or_path: &str) -> Result<Source> {
    let p = PathBuf::from(name_or_path);
    if p.is_file() {
        return Ok(Source::File(p));
    }
    if let Some((name, _)) = shipped().iter().find(|(n, _)| *n == name_or_path) {
        return Ok(Source::BuiltIn(name));
    }
    let names: Vec<&str> = shipped().iter().map(|(n, _)| *n).collect();
    let hint = closest(name_or_path, names.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    if p.extension().is_some_and(|e| e == "toml") || name_or_path.contains('/') {
        bail!("no experiment file {name_or_path}: no such file{hint}");
    }
    bail!(
        "no experiment `{name_or_path}`: neither a file nor a shipped experiment ({}){hint}",
        names.join(", ")
    )
}

/// The TOML text of a source.
pub fn source_text(source: &Source) -> Result<String> {
    match source {
        Source::BuiltIn(name) => Ok(shipped_text(name).expect("a shipped name").to_string()),
        Source::File(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read experiment file {}", p.display())),
    }
}

/// A deserialization error on one line, naming the key path, e.g.
/// "key `task.fixation_step`: invalid type: integer `1`, expected a boolean".
/// serde reports the path as trailing "in `key`" lines, innermost first;
/// `section` is prepended when the error comes from inside a section.
pub fn describe_error(e: &dyn std::fmt::Display, section: Option<&str>) -> String {
    let text = e.to_string();
    let mut message = vec![];
    let mut keys = vec![];
    for line in text.trim().lines() {
        match line
            .trim()
            .strip_prefix("in `")
            .and_then(|l| l.strip_suffix('`'))
        {
            Some(k) => keys.push(k.to_string()),
            None if line.trim().is_empty() => {}
            None => message.push(line.trim().to_string()),
        }
    }
    keys.extend(section.map(str::to_string));
    keys.reverse();
    let message = message.join(" ");
    if keys.is_empty() {
        message
    } else {
        format!("key `{}`: {message}", keys.join("."))
    }
}

/// A TOML syntax error on one line: "invalid TOML at line L, column C: message".
pub fn syntax_error(e: &toml::de::Error, text: &str) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(
                "invalid TOML at line {line}, column {column}: {}",
                e.message().trim()
            )
        }
        None => format!("invalid TOML: {}", e.message().trim()),
    }
}

/// Merge `overlay` into `base`, recursing into tables.
pub fn merge(base: &mut toml::Table, overlay: &toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// An override of one key, `section.key=value` (e.g. `agent.hidden=12`), as
/// given to `metarl run --set` or by a sweep. The value is TOML (`0.5`, `true`,
/// `[1, 2]`, `"adam"`); a bare word is taken as a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub key: String,
    pub value: toml::Value,
}

impl Override {
    pub fn new(key: &str, value: toml::Value) -> Result<Self> {
        let parts: Vec<&str> = key.split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            bail!("override `{key}`: the key must be `section.key` (e.g. agent.hidden)");
        }
        if matches!(parts[0], "profiles" | "variants" | "checks") {
            bail!("override `{key}`: [{}] cannot be overridden", parts[0]);
        }
        Ok(Override {
            key: key.to_string(),
            value,
        })
    }

    /// Parse `key=value`.
    pub fn parse(text: &str) -> Result<Self> {
        let (key, raw) = text.split_once('=').ok_or_else(|| {
            anyhow!("override `{text}`: expected key=value, e.g. agent.hidden=12")
        })?;
        let (key, raw) = (key.trim(), raw.trim());
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => t.remove("v").expect("the key just written"),
            Err(_) if !raw.is_empty() && !raw.contains(['"', '[', '{', '=']) => {
                toml::Value::String(raw.to_string())
            }
            Err(e) => bail!(
                "override `{text}`: the value is not TOML: {}",
                describe_error(&e, None)
            ),
        };
        Self::new(key, value)
    }

    /// Set the key in a TOML table (creating missing tables on the way).
    pub fn apply(&self, table: &mut toml::Table) -> Result<()> {
        let parts: Vec<&str> = self.key.split('.').collect();
        let mut t = table;
        for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
            let entry = t
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            t = entry.as_table_mut().ok_or_else(|| {
                anyhow!(
                    "override `{}`: `{}` is not a table",
                    self.key,
                    parts[..=i].join(".")
                )
            })?;
        }
        t.insert(parts[parts.len() - 1].to_string(), self.value.clone());
        Ok(())
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// Parse TOML text, apply a named profile, deserialize and validate the common
/// schema. (`experiments::parse` also checks the experiment's own keys.)
pub fn parse(text: &str, origin: &str, profile: Option<&str>) -> Result<Config> {
    parse_with(text, origin, profile, &[])
}

/// `parse`, then `overrides` applied on top of the profile.
pub fn parse_with(
    text: &str,
    origin: &str,
    profile: Option<&str>,
    overrides: &[Override],
) -> Result<Config> {
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| anyhow!("{origin}: {}", syntax_error(&e, text)))?;
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
                    if available.is_empty() {
                        "none".to_string()
                    } else {
                        available.join(", ")
                    }
                )
            })?
            .clone();
        if overlay.contains_key("profiles") {
            bail!("{origin}: profile `{name}` may not define profiles");
        }
        merge(&mut table, &overlay);
    }
    for o in overrides {
        o.apply(&mut table)
            .map_err(|e| anyhow!("{origin}: {e:#}"))?;
    }
    let config: Config = toml::Table::try_into(table).map_err(|e| {
        let what = match (profile.is_some(), !overrides.is_empty()) {
            (_, true) => " (after applying the profile and overrides)",
            (true, false) => " (after applying the profile)",
            (false, false) => "",
        };
        anyhow!("{origin}{what}: {}", describe_error(&e, None))
    })?;
    config.validate().map_err(|e| anyhow!("{origin}: {e:#}"))?;
    Ok(config)
}

/// Load a shipped experiment by name, or a TOML file by path, with a profile;
/// the common schema only (`experiments::load` is the full loader).
pub fn load(name_or_path: &str, profile: Option<&str>) -> Result<Loaded> {
    let source = resolve(name_or_path)?;
    let text = source_text(&source)?;
    let config = parse(&text, &source.to_string(), profile)?;
    Ok(Loaded {
        config,
        source,
        profile: profile.map(str::to_string),
    })
}

impl Config {
    pub fn validate(&self) -> Result<()> {
        validate::name("experiment.name", &self.experiment.name)?;
        self.task.spec().validate()?;
        validate::positive("agent.hidden", self.agent.hidden)?;
        if let Some(n) = self.agent.critic_hidden {
            validate::positive("agent.critic_hidden", n)?;
        }
        // The critic reads the raw input and is not snapshotted at stages:
        // these combinations are not built, so they are refused.
        if self.agent.feedback == Feedback::Rpe {
            if self.agent.encoder.is_some() {
                bail!("key `agent.encoder`: not supported with agent.feedback = \"rpe\" (the critic has no image encoder)");
            }
            if !self.evaluation.stages.is_empty() {
                bail!("key `evaluation.stages`: not supported with agent.feedback = \"rpe\" (the critic is not kept at each stage)");
            }
        }
        if let Some(e) = &self.agent.encoder {
            validate::positive("agent.encoder.hidden", e.hidden)?;
            validate::positive("agent.encoder.features", e.features)?;
            let task = crate::tasks::make_task(&self.task, crate::tasks::Phase::Train);
            if task.image_layout().is_none() {
                bail!(
                    "key `agent.encoder`: task.kind = {:?} has no images to encode (remove [agent.encoder])",
                    self.task.kind()
                );
            }
        }
        let tr = &self.training;
        validate::positive("training.batch", tr.batch)?;
        // Far beyond any budget (10^12 episodes is years of training); a larger
        // number is a typo, and u64-sized ones do not survive config.toml.
        if tr.episodes > 1_000_000_000_000 {
            bail!(
                "key `training.episodes` = {}: must be at most 10^12",
                tr.episodes
            );
        }
        if tr.batch > 256 {
            bail!("key `training.batch` = {}: must be at most 256", tr.batch);
        }
        validate::range(
            "training.learning_rate",
            tr.learning_rate,
            1e-12,
            1.0,
            "in (0, 1]",
        )?;
        validate::range("training.gamma", tr.gamma, 0.0, 1.0, "in [0, 1]")?;
        validate::range("training.value_cost", tr.value_cost, 0.0, 1e6, ">= 0")?;
        if let Some(c) = tr.critic_cost {
            validate::range("training.critic_cost", c, 0.0, 1e6, ">= 0")?;
        }
        validate::range("training.entropy_cost", tr.entropy_cost, 0.0, 1e6, ">= 0")?;
        validate::range(
            "training.grad_clip",
            tr.grad_clip,
            0.0,
            1e12,
            ">= 0 (0 = off)",
        )?;
        validate::range(
            "training.rmsprop_decay",
            tr.rmsprop_decay,
            0.0,
            0.999_999,
            "in [0, 1)",
        )?;
        validate::range(
            "training.optimizer_eps",
            tr.optimizer_eps,
            1e-20,
            1.0,
            "in (0, 1]",
        )?;
        validate::range(
            "training.checkpoint_every",
            tr.checkpoint_every as f64,
            0.0,
            u32::MAX as f64,
            "a number of updates >= 0 (0 = no resume checkpoints)",
        )?;
        validate::positive("evaluation.episodes", self.evaluation.episodes)?;
        for (i, &s) in self.evaluation.stages.iter().enumerate() {
            let key = format!("evaluation.stages[{i}]");
            if i > 0 && s <= self.evaluation.stages[i - 1] {
                bail!("key `{key}` = {s}: stages must be strictly increasing");
            }
            if s % tr.batch != 0 {
                bail!(
                    "key `{key}` = {s}: must be a multiple of training.batch = {} (the network changes once per batch)",
                    tr.batch
                );
            }
            if s > tr.episodes {
                bail!(
                    "key `{key}` = {s}: exceeds training.episodes = {} (with --episodes, pass a budget of at least the last stage)",
                    tr.episodes
                );
            }
        }
        validate::positive("seeds.count", self.seeds.count)?;
        // Every check compares a 95% interval with its target: with no or few
        // resamples the interval collapses towards the mean and checks flip.
        if self.analysis.bootstrap < MIN_BOOTSTRAP {
            bail!(
                "key `analysis.bootstrap` = {}: must be at least {MIN_BOOTSTRAP} (the resamples of every \
                 95% confidence interval; fewer make the intervals, and the checks on them, meaningless)",
                self.analysis.bootstrap
            );
        }
        if let Some(c) = &self.controls {
            c.validate()?;
        }
        for (i, c) in self.checks.iter().enumerate() {
            validate::finite(&format!("checks[{i}].threshold"), c.threshold)?;
        }
        // Conditions: unique names, sensible counts, and task overrides that
        // give a valid task.
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in self.evaluation.conditions.iter().enumerate() {
            let key = format!("evaluation.conditions[{i}]");
            validate::name(&format!("{key}.name"), &c.name)?;
            if !names.insert(c.name.as_str()) {
                bail!(
                    "key `{key}.name` = {:?}: conditions need distinct names",
                    c.name
                );
            }
            if let Some(n) = c.episodes {
                validate::positive(&format!("{key}.episodes"), n)?;
            }
            if let Some(n) = c.seeds {
                validate::positive(&format!("{key}.seeds"), n)?;
            }
            let task = self
                .condition_task(c)
                .map_err(|e| anyhow!("in condition `{}` ({key}.task): {e:#}", c.name))?;
            if let Some(m) = &c.rpe_manipulation {
                let key = format!("{key}.rpe_manipulation");
                // With "none" (the no-reward-input control) there is no input to
                // manipulate: the condition is then the plain test.
                if self.agent.feedback == Feedback::Reward {
                    bail!(
                        "key `{key}` (condition `{}`): manipulates the RPE input, which needs \
                         agent.feedback = \"rpe\" (or \"none\": no input, nothing to manipulate) (it is \"{}\")",
                        c.name,
                        self.agent.feedback
                    );
                }
                validate::finite(&format!("{key}.add"), m.add)?;
                let latents = crate::tasks::make_task(&task, crate::tasks::Phase::Test).latents();
                if !latents.iter().any(|l| l.name == m.event) {
                    let names: Vec<&str> = latents.iter().map(|l| l.name).collect();
                    bail!(
                        "key `{key}.event` = {:?} (condition `{}`): the task {:?} has no such \
                         latent variable; it has: {}",
                        m.event,
                        c.name,
                        task.kind(),
                        names.join(", ")
                    );
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, v) in self.variants.iter().enumerate() {
            let key = format!("variants[{i}]");
            validate::name(&format!("{key}.name"), &v.name)?;
            if !names.insert(v.name.as_str()) {
                bail!(
                    "key `{key}.name` = {:?}: variants need distinct names",
                    v.name
                );
            }
            self.variant_config(v)
                .map_err(|e| anyhow!("in variant `{}` ({key}): {e:#}", v.name))?;
        }
        Ok(())
    }

    /// The metric the controls compare: `controls.metric`, else
    /// `experiment.key_metric`, else the first check's metric.
    pub fn controls_metric(&self) -> Option<String> {
        self.controls
            .as_ref()
            .and_then(|c| c.metric.clone())
            .or_else(|| self.experiment.key_metric.clone())
            .or_else(|| self.checks.first().map(|c| c.metric.clone()))
    }

    /// The training stages (episodes) at which the network is tested: the
    /// declared stages and the end of training; just the end without stages.
    pub fn test_stages(&self) -> Vec<usize> {
        let mut s = self.evaluation.stages.clone();
        if s.last() != Some(&self.training.episodes) {
            s.push(self.training.episodes);
        }
        s
    }

    /// The seeds of this run, in order.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds.count as u64)
            .map(|i| self.seeds.first + i)
            .collect()
    }

    /// The task of a test condition: `[task]` with the condition's overrides.
    pub fn condition_task(&self, c: &ConditionConfig) -> Result<TaskConfig> {
        let mut table = self.task.to_table();
        merge(&mut table, &c.task);
        let task =
            TaskConfig::from_table(table).map_err(|e| anyhow!(describe_error(&e, Some("task"))))?;
        task.spec().validate()?;
        Ok(task)
    }

    /// The config one variant trains: this config with the variant's overrides
    /// of `[task]`, `[agent]` and `[training]` (and no variants of its own).
    pub fn variant_config(&self, v: &VariantConfig) -> Result<Config> {
        let mut base = self.clone();
        base.variants.clear();
        let mut table = toml::Table::try_from(&base).context("config to TOML")?;
        for (section, overlay) in [
            ("task", &v.task),
            ("agent", &v.agent),
            ("training", &v.training),
        ] {
            if let Some(toml::Value::Table(t)) = table.get_mut(section) {
                merge(t, overlay);
            }
        }
        let cfg: Config =
            toml::Table::try_into(table).map_err(|e| anyhow!("{}", describe_error(&e, None)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// What the run trains: (variant name, its config) for each variant, or
    /// (None, this config) without variants.
    pub fn training_variants(&self) -> Result<Vec<(Option<String>, Config)>> {
        if self.variants.is_empty() {
            return Ok(vec![(None, self.clone())]);
        }
        self.variants
            .iter()
            .map(|v| Ok((Some(v.name.clone()), self.variant_config(v)?)))
            .collect()
    }

    /// What the test runs: (condition name, task, episodes per seed, seeds tested)
    /// for each condition, or (None, the task, evaluation.episodes, every seed).
    pub fn test_conditions(&self) -> Result<Vec<TestCondition>> {
        if self.evaluation.conditions.is_empty() {
            return Ok(vec![TestCondition {
                name: None,
                task: self.task.clone(),
                episodes: self.evaluation.episodes,
                seeds: self.seeds.count,
                rpe_manipulation: None,
            }]);
        }
        self.evaluation
            .conditions
            .iter()
            .map(|c| {
                Ok(TestCondition {
                    name: Some(c.name.clone()),
                    task: self.condition_task(c)?,
                    episodes: c.episodes.unwrap_or(self.evaluation.episodes),
                    seeds: c.seeds.unwrap_or(self.seeds.count).min(self.seeds.count),
                    rpe_manipulation: c.rpe_manipulation.clone(),
                })
            })
            .collect()
    }
}

impl ControlsConfig {
    fn validate(&self) -> Result<()> {
        if self.run.is_empty() {
            bail!("key `controls.run`: list at least one control (no_reward_input, untrained, plastic_test, size)");
        }
        for (i, k) in self.run.iter().enumerate() {
            if self.run[..i].contains(k) {
                bail!("key `controls.run`: {:?} is listed twice", k.name());
            }
        }
        validate::positive("controls.seeds", self.seeds)?;
        validate::positive("controls.episodes", self.episodes)?;
        if let Some(n) = self.test_episodes {
            validate::positive("controls.test_episodes", n)?;
        }
        if self.run.contains(&ControlKind::Size) && self.sizes.is_empty() {
            bail!("key `controls.sizes`: the size control needs at least one size");
        }
        for (i, &h) in self.sizes.iter().enumerate() {
            validate::positive(&format!("controls.sizes[{i}]"), h)?;
            if self.sizes[..i].contains(&h) {
                bail!("key `controls.sizes`: {h} is listed twice");
            }
        }
        validate::finite("controls.chance", self.chance)?;
        validate::range("controls.tolerance", self.tolerance, 0.0, 1e12, ">= 0")?;
        Ok(())
    }
}

/// One resolved test condition.
#[derive(Debug, Clone)]
pub struct TestCondition {
    pub name: Option<String>,
    pub task: TaskConfig,
    pub episodes: usize,
    /// The first `seeds` seeds of the run are tested.
    pub seeds: usize,
    /// The condition's manipulation of the RPE input, if any.
    pub rpe_manipulation: Option<RpeManipulation>,
}
