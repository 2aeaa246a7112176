//! The two-step task (Daw et al. 2011; paper Fig. 5), as in shared/SPEC.md.
//!
//! Each trial is two network steps. Step 0: the agent sees the first-stage state
//! and chooses A1 (0) or A2 (1); it moves to its own second-stage state with the
//! common probability, else to the other one; no reward. Step 1: the agent sees
//! the second-stage state; any action collects the outcome, paid with the high
//! probability in the currently better state and the low one in the other.
//! At the start of every trial the better state swaps with `swap_prob`.

use super::{Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::Result;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `[task]` keys of `kind = "two_step"`.
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

impl TaskSpec for TwoStepConfig {
    fn validate(&self) -> Result<()> {
        validate::positive("task.trials_per_episode", self.trials_per_episode)?;
        validate::prob("task.common_prob", self.common_prob)?;
        validate::prob("task.reward_prob_high", self.reward_prob_high)?;
        validate::prob("task.reward_prob_low", self.reward_prob_low)?;
        validate::prob("task.swap_prob", self.swap_prob)
    }
    fn build(&self, _phase: Phase) -> Box<dyn Task> {
        // The two-step task is the same in training and test.
        Box::new(TwoStep::new(self.clone()))
    }
}

pub struct TwoStep {
    cfg: TwoStepConfig,
    trial: u32,
    /// 0 = first stage, 1 = second stage.
    stage: u32,
    /// Second-stage state reached in this trial (0 or 1) and whether by a common transition.
    stage2: usize,
    common: bool,
    /// Which second-stage state currently pays with the high probability.
    better: usize,
}

/// Latent columns: second-stage state of the trial, common transition (1/0),
/// the currently better second-stage state.
const LATENTS: [Latent; 3] = [
    Latent {
        name: "stage2_state",
        kind: LatentKind::Int,
    },
    Latent {
        name: "common",
        kind: LatentKind::Int,
    },
    Latent {
        name: "better_state",
        kind: LatentKind::Int,
    },
];

impl TwoStep {
    pub fn new(cfg: TwoStepConfig) -> Self {
        TwoStep {
            cfg,
            trial: 0,
            stage: 0,
            stage2: 0,
            common: true,
            better: 0,
        }
    }
}

impl Task for TwoStep {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        // One-hot: first-stage state, second-stage state 0, second-stage state 1.
        3
    }
    fn max_steps(&self) -> usize {
        2 * self.cfg.trials_per_episode
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        self.trial = 0;
        self.stage = 0;
        self.better = rng.random_range(0..2);
    }
    fn observe(&self, obs: &mut [f32]) {
        obs.fill(0.0);
        obs[if self.stage == 0 { 0 } else { 1 + self.stage2 }] = 1.0;
    }
    fn position(&self) -> (u32, u32) {
        (self.trial, self.stage)
    }
    fn step(&mut self, action: usize, rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        if self.stage == 0 {
            self.common = rng.random::<f64>() < self.cfg.common_prob;
            self.stage2 = if self.common { action } else { 1 - action };
            self.stage = 1;
            latents.copy_from_slice(&[
                self.stage2 as f64,
                self.common as u8 as f64,
                self.better as f64,
            ]);
            return StepOutcome {
                reward: 0.0,
                done: false,
            };
        }
        let p = if self.stage2 == self.better {
            self.cfg.reward_prob_high
        } else {
            self.cfg.reward_prob_low
        };
        let reward = if rng.random::<f64>() < p { 1.0 } else { 0.0 };
        latents.copy_from_slice(&[
            self.stage2 as f64,
            self.common as u8 as f64,
            self.better as f64,
        ]);
        self.trial += 1;
        self.stage = 0;
        let done = self.trial as usize >= self.cfg.trials_per_episode;
        if !done && rng.random::<f64>() < self.cfg.swap_prob {
            self.better = 1 - self.better;
        }
        StepOutcome { reward, done }
    }
}
