//! Tasks: one file each, all behind one small trait. A task names its paper,
//! produces observations and rewards, and records every latent variable an
//! analysis needs (the analyses never re-derive them).

pub mod baited_bandit;
pub mod two_step;

use crate::config::TaskConfig;
use rand_chacha::ChaCha8Rng;

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
}

pub fn make_task(cfg: &TaskConfig, phase: Phase) -> Box<dyn Task> {
    match cfg {
        TaskConfig::TwoStep(c) => {
            // The two-step task is the same in training and test.
            let _ = phase;
            Box::new(two_step::TwoStep::new(c.clone()))
        }
        TaskConfig::BaitedBandit(c) => Box::new(baited_bandit::BaitedBandit::new(c.clone(), phase)),
    }
}
