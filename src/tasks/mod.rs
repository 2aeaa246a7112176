//! Tasks: one file each, all behind one small trait. A task names its paper,
//! produces observations and rewards, and records every latent variable an
//! analysis needs (the analyses never re-derive them). Each task's file also
//! holds its config struct (the TOML's `[task]` keys) and that struct's
//! validation; the registry at the bottom is the only list of tasks.

pub mod baited_bandit;
pub mod bernoulli_bandit;
pub mod cued_reversal;
pub mod harlow;
pub mod images;
pub mod risky_safe;
pub mod two_step;
pub mod volatile_bandit;

use anyhow::Result;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Deserializer, Serialize};

pub type TaskRng = ChaCha8Rng;

/// What a step returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    pub reward: f32,
    /// The episode ended with this step.
    pub done: bool,
}

/// Whether a task instance is used for training or for the frozen-weight test
/// (some tasks draw their parameters from different ranges in the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Train,
    Test,
}

/// How a latent variable is stored in trials.parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatentKind {
    /// Integer column (i64): states, flags, indices.
    Int,
    /// Float column (f64): probabilities and other continuous quantities.
    Float,
}

/// A latent variable of a task, recorded per step.
#[derive(Debug, Clone, Copy)]
pub struct Latent {
    pub name: &'static str,
    pub kind: LatentKind,
}

/// Where a task's observation holds images: the first `count` blocks of
/// `side`² values each, one image per block (read by the agent's image encoder,
/// with the same weights for every block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    pub count: usize,
    pub side: usize,
}

impl ImageLayout {
    pub fn pixels(&self) -> usize {
        self.side * self.side
    }
}

pub trait Task: Send {
    /// Number of discrete actions.
    fn n_actions(&self) -> usize;
    /// Length of the observation vector.
    fn obs_dim(&self) -> usize;
    /// Upper bound on network steps per episode (sizes the rollout buffers).
    fn max_steps(&self) -> usize;
    /// The latent variables written by `step`, one trial-table column each.
    fn latents(&self) -> &'static [Latent];
    /// Start a new episode.
    fn reset(&mut self, rng: &mut TaskRng);
    /// The observation for the upcoming step.
    fn observe(&self, obs: &mut [f32]);
    /// (trial index, step within the trial) of the upcoming step.
    fn position(&self) -> (u32, u32);
    /// Take `action`; write this step's latent variables into `latents`.
    fn step(&mut self, action: usize, rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome;
    /// The images at the start of the observation, if any (default: none).
    fn image_layout(&self) -> Option<ImageLayout> {
        None
    }
}

/// Implemented by each task's config struct (in the task's own file).
pub trait TaskSpec {
    /// Check the values; errors name the key as `task.<field>`.
    fn validate(&self) -> Result<()>;
    /// A fresh task instance for training or for the frozen-weight test.
    fn build(&self, phase: Phase) -> Box<dyn Task>;
}

pub fn make_task(cfg: &TaskConfig, phase: Phase) -> Box<dyn Task> {
    cfg.spec().build(phase)
}

/// Declares `TaskConfig` (the `[task]` table, selected by `task.kind`) from one
/// line per task: `Variant(module::ConfigStruct) = "kind"`.
macro_rules! task_registry {
    ($($variant:ident($module:ident::$config:ident) = $kind:literal),* $(,)?) => {
        /// The `[task]` of an experiment; `task.kind` selects the task.
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "kind")]
        pub enum TaskConfig {
            $(#[serde(rename = $kind)] $variant($module::$config),)*
        }

        /// Every value `task.kind` may take.
        pub const TASK_KINDS: &[&str] = &[$($kind),*];

        impl TaskConfig {
            /// The `task.kind` of this config.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(TaskConfig::$variant(_) => $kind,)*
                }
            }

            pub fn spec(&self) -> &dyn TaskSpec {
                match self {
                    $(TaskConfig::$variant(c) => c,)*
                }
            }

            /// Parse the `[task]` keys (without `kind`) of the task `kind`.
            fn from_kind(kind: &str, keys: toml::Table) -> Result<Self, String> {
                match kind {
                    $($kind => keys
                        .try_into()
                        .map(TaskConfig::$variant)
                        .map_err(|e| e.to_string()),)*
                    other => Err(format!(
                        "key `task.kind` = {other:?}: unknown task; known: {}",
                        TASK_KINDS.join(", ")
                    )),
                }
            }
        }
    };
}

// The registry: one line per task.
task_registry! {
    TwoStep(two_step::TwoStepConfig) = "two_step",
    BaitedBandit(baited_bandit::BaitedBanditConfig) = "baited_bandit",
    VolatileBandit(volatile_bandit::VolatileBanditConfig) = "volatile_bandit",
    CuedReversal(cued_reversal::CuedReversalConfig) = "cued_reversal",
    BernoulliBandit(bernoulli_bandit::BernoulliBanditConfig) = "bernoulli_bandit",
    RiskySafe(risky_safe::RiskySafeConfig) = "risky_safe",
    Harlow(harlow::HarlowConfig) = "harlow",
}

impl TaskConfig {
    /// Parse a `[task]` table: `kind` selects the task, whose own struct then
    /// parses the other keys (so that errors name the field).
    pub fn from_table(mut table: toml::Table) -> Result<Self, String> {
        let kind = match table.remove("kind") {
            Some(toml::Value::String(s)) => s,
            Some(v) => return Err(format!("key `task.kind` = {v}: must be a string")),
            None => {
                return Err(format!(
                    "[task] needs a `kind` (one of: {})",
                    TASK_KINDS.join(", ")
                ))
            }
        };
        Self::from_kind(&kind, table)
    }

    /// This config as a TOML table (with `kind`), e.g. to apply overrides.
    pub fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("a task config serializes to a table")
    }
}

impl<'de> Deserialize<'de> for TaskConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(d)?;
        TaskConfig::from_table(table).map_err(serde::de::Error::custom)
    }
}
