//! Tasks: one file each, all behind one small trait. A task names its paper,
//! produces observations and rewards, and records every latent variable an
//! analysis needs (the analyses never re-derive them).

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

pub trait Task: Send {
    /// Number of discrete actions.
    fn n_actions(&self) -> usize;
    /// Length of the observation vector.
    fn obs_dim(&self) -> usize;
    /// Upper bound on network steps per episode (sizes the rollout buffers).
    fn max_steps(&self) -> usize;
    /// Names of the latent variables written by `step`, one trial-table column each (integers).
    fn latent_names(&self) -> &'static [&'static str];
    /// Start a new episode.
    fn reset(&mut self, rng: &mut TaskRng);
    /// The observation for the upcoming step.
    fn observe(&self, obs: &mut [f32]);
    /// (trial index, step within the trial) of the upcoming step.
    fn position(&self) -> (u32, u32);
    /// Take `action`; write this step's latent variables into `latents`.
    fn step(&mut self, action: usize, rng: &mut TaskRng, latents: &mut [i64]) -> StepOutcome;
}

pub fn make_task(cfg: &TaskConfig) -> Box<dyn Task> {
    match cfg {
        TaskConfig::TwoStep(c) => Box::new(two_step::TwoStep::new(c.clone())),
    }
}
