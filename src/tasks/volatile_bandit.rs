//! The two-armed bandit with stable and volatile blocks of Simulation 2 (paper
//! Fig. 3; Behrens et al. 2007), as in shared/SPEC.md.
//!
//! Arms 0 and 1 pay with probabilities p and 1 − p: on every trial exactly one
//! arm pays (drawn with p, independently of the choice, as in Behrens et al.
//! 2007 where one of the two options was correct on each trial), and the agent
//! is rewarded (1) if it chose that arm. An episode is a sequence of blocks. In a
//! stable block the better arm pays with `stable_p` throughout; in a volatile
//! block it pays with `volatile_p` and the arms swap every k trials (k = the
//! block's reversal period). The better arm is drawn at random at the start of
//! each block, except that a volatile block that follows a volatile block
//! continues the alternation (it starts with a reversal), so consecutive
//! volatile blocks reverse every k trials across their boundary.
//!
//! Training episodes (`train_trials` trials) are cut into blocks of random
//! length (`train_block_trials`, the last one cut at the episode end), each
//! volatile with probability `train_volatile_share`, with k drawn per volatile
//! block from `train_reversal_period`; so the network has to infer the volatility
//! from what it sees. The test episode is the fixed sequence `test_blocks` of
//! blocks of `test_block_trials` trials with k = `test_reversal_period` (paper:
//! stable, volatile, volatile, stable, 50 trials each, reversing every 25).
//!
//! Each trial is one network step and there is no stimulus (obs_dim 0), so the
//! network sees only its previous action and reward; with the optional
//! `fixation_step` each trial is two steps as in the baited bandit (fixation:
//! cue 1, action ignored, reward 0; then the choice with cue 0).
//!
//! Every random draw of an episode is made at `reset`, in a fixed order (one
//! uniform per trial for the paying arm, then four per block), so that test
//! conditions that differ only in the order of blocks see the same draws.

use super::{Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The kind of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Stable,
    Volatile,
}

/// `[task]` keys of `kind = "volatile_bandit"` (Simulation 2, Behrens et al. 2007).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolatileBanditConfig {
    /// The better arm's reward probability in stable blocks (paper: 0.75).
    pub stable_p: f64,
    /// The better arm's reward probability in volatile blocks (paper: 0.8).
    pub volatile_p: f64,
    /// Trials per training episode (choice: 200).
    pub train_trials: usize,
    /// Training block length in trials, [min, max], uniform per block; the last
    /// block is cut at the episode end.
    pub train_block_trials: [usize; 2],
    /// Probability that a training block is volatile.
    pub train_volatile_share: f64,
    /// Trials between reversals in a volatile training block, [min, max],
    /// uniform, drawn once per block (paper: "such as 10–30").
    pub train_reversal_period: [usize; 2],
    /// The test episode's blocks in order, "stable" or "volatile"
    /// (paper: ["stable", "volatile", "volatile", "stable"]).
    pub test_blocks: Vec<BlockKind>,
    /// Trials per test block (paper: 50).
    pub test_block_trials: usize,
    /// Trials between reversals in a volatile test block (paper: 25).
    pub test_reversal_period: usize,
    /// Precede each choice with a fixation step (default false): see the module
    /// documentation. Left out of the written config when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fixation_step: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Longest episode accepted, in network steps.
const MAX_STEPS: usize = 100_000;

impl TaskSpec for VolatileBanditConfig {
    fn validate(&self) -> Result<()> {
        validate::prob("task.stable_p", self.stable_p)?;
        validate::prob("task.volatile_p", self.volatile_p)?;
        validate::prob("task.train_volatile_share", self.train_volatile_share)?;
        let most = MAX_STEPS / self.steps_per_trial();
        validate::count_range("task.train_trials", [self.train_trials; 2], most)?;
        validate::count_range(
            "task.train_block_trials",
            self.train_block_trials,
            self.train_trials,
        )?;
        validate::count_range(
            "task.train_reversal_period",
            self.train_reversal_period,
            most,
        )?;
        if self.test_blocks.is_empty() {
            bail!(
                "key `task.test_blocks`: must list at least one block (\"stable\" or \"volatile\")"
            );
        }
        validate::positive("task.test_block_trials", self.test_block_trials)?;
        validate::positive("task.test_reversal_period", self.test_reversal_period)?;
        let test_trials = self.test_blocks.len() * self.test_block_trials;
        if test_trials > most {
            bail!(
                "key `task.test_blocks`: {} blocks of task.test_block_trials = {} trials is {test_trials} \
                 trials per test episode; at most {most}",
                self.test_blocks.len(),
                self.test_block_trials
            );
        }
        Ok(())
    }
    fn build(&self, phase: Phase) -> Box<dyn Task> {
        Box::new(VolatileBandit::new(self.clone(), phase))
    }
}

impl VolatileBanditConfig {
    /// Network steps per trial (1, or 2 with the fixation step).
    pub fn steps_per_trial(&self) -> usize {
        1 + self.fixation_step as usize
    }

    /// Trials per episode in a phase.
    pub fn trials(&self, phase: Phase) -> usize {
        match phase {
            Phase::Train => self.train_trials,
            Phase::Test => self.test_blocks.len() * self.test_block_trials,
        }
    }
}

/// Latent columns, written at every step (what holds on this trial, before its
/// outcome; a fixation row carries its trial's values):
/// - `p_arm0`: arm 0's reward probability (arm 1's is 1 − p_arm0);
/// - `rewarded_arm`: the arm that pays on this trial, whatever is chosen;
/// - `block`: index of the block in the episode (0, 1, ...);
/// - `block_label`: 2 × (how many blocks of the same kind came before) +
///   (1 if volatile): 0 = Stable 1, 1 = Volatile 1, 2 = Stable 2, 3 = Volatile 2, ...;
/// - `volatile`: 1 in a volatile block, 0 in a stable one;
/// - `hazard`: the block's reversal hazard, 1/k in a volatile block with period
///   k, 0 in a stable block (the block's volatility);
/// - `trial_in_block`: position of the trial in its block (0, 1, ...).
pub const LATENTS: [Latent; 7] = [
    Latent {
        name: "p_arm0",
        kind: LatentKind::Float,
    },
    Latent {
        name: "rewarded_arm",
        kind: LatentKind::Int,
    },
    Latent {
        name: "block",
        kind: LatentKind::Int,
    },
    Latent {
        name: "block_label",
        kind: LatentKind::Int,
    },
    Latent {
        name: "volatile",
        kind: LatentKind::Int,
    },
    Latent {
        name: "hazard",
        kind: LatentKind::Float,
    },
    Latent {
        name: "trial_in_block",
        kind: LatentKind::Int,
    },
];

/// One trial of an episode's schedule (all drawn at reset).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledTrial {
    pub p_arm0: f64,
    pub rewarded_arm: usize,
    pub block: usize,
    pub block_label: usize,
    pub volatile: bool,
    pub hazard: f64,
    pub trial_in_block: usize,
}

/// One block: its kind, length and reversal period (ignored when stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    pub trials: usize,
    pub period: usize,
}

/// A uniform integer in [lo, hi] from a uniform u in [0, 1).
fn int_in(u: f64, [lo, hi]: [usize; 2]) -> usize {
    (lo + (u * (hi - lo + 1) as f64) as usize).min(hi)
}

/// The schedule of an episode with the given blocks, from the per-trial uniforms
/// `u_trial` (the paying arm: arm 0 if u < p_arm0) and one uniform per block for
/// the better arm at its start.
pub fn schedule(
    cfg: &VolatileBanditConfig,
    blocks: &[Block],
    u_trial: &[f64],
    u_better: &[f64],
) -> Vec<ScheduledTrial> {
    let mut out = Vec::with_capacity(u_trial.len());
    let mut better = 0usize;
    let mut prev_volatile = false;
    let mut seen = [0usize; 2];
    for (b, block) in blocks.iter().enumerate() {
        let volatile = block.kind == BlockKind::Volatile;
        better = if volatile && prev_volatile {
            1 - better
        } else {
            (u_better[b] >= 0.5) as usize
        };
        let hi = if volatile {
            cfg.volatile_p
        } else {
            cfg.stable_p
        };
        let label = 2 * seen[volatile as usize] + volatile as usize;
        seen[volatile as usize] += 1;
        for t in 0..block.trials {
            if volatile && t > 0 && t % block.period == 0 {
                better = 1 - better;
            }
            let p_arm0 = if better == 0 { hi } else { 1.0 - hi };
            let u = u_trial[out.len()];
            out.push(ScheduledTrial {
                p_arm0,
                rewarded_arm: (u >= p_arm0) as usize,
                block: b,
                block_label: label,
                volatile,
                hazard: if volatile {
                    1.0 / block.period as f64
                } else {
                    0.0
                },
                trial_in_block: t,
            });
        }
        prev_volatile = volatile;
    }
    out
}

pub struct VolatileBandit {
    cfg: VolatileBanditConfig,
    phase: Phase,
    trials: Vec<ScheduledTrial>,
    trial: usize,
    /// Step within the trial: 0 = fixation, 1 = choice with the fixation step;
    /// always 0 without it.
    stage: u32,
}

impl VolatileBandit {
    pub fn new(cfg: VolatileBanditConfig, phase: Phase) -> Self {
        VolatileBandit {
            cfg,
            phase,
            trials: vec![],
            trial: 0,
            stage: 0,
        }
    }

    /// The current episode's schedule.
    pub fn schedule(&self) -> &[ScheduledTrial] {
        &self.trials
    }

    /// Draw the blocks of an episode, four uniforms per block whether used or
    /// not (kind, length, period, and the better arm at its start, returned).
    fn draw_blocks(&self, rng: &mut TaskRng, n_trials: usize) -> (Vec<Block>, Vec<f64>) {
        let mut blocks = vec![];
        let mut u_better = vec![];
        let mut total = 0;
        let mut i = 0;
        while total < n_trials {
            let (u_kind, u_len, u_period) = (
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            );
            u_better.push(rng.random::<f64>());
            let block = match self.phase {
                Phase::Train => Block {
                    kind: if u_kind < self.cfg.train_volatile_share {
                        BlockKind::Volatile
                    } else {
                        BlockKind::Stable
                    },
                    trials: int_in(u_len, self.cfg.train_block_trials).min(n_trials - total),
                    period: int_in(u_period, self.cfg.train_reversal_period),
                },
                Phase::Test => Block {
                    kind: self.cfg.test_blocks[i],
                    trials: self.cfg.test_block_trials,
                    period: self.cfg.test_reversal_period,
                },
            };
            total += block.trials;
            blocks.push(block);
            i += 1;
        }
        (blocks, u_better)
    }
}

impl Task for VolatileBandit {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        self.cfg.fixation_step as usize
    }
    fn max_steps(&self) -> usize {
        self.cfg.trials(self.phase) * self.cfg.steps_per_trial()
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        let n = self.cfg.trials(self.phase);
        let u_trial: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let (blocks, u_better) = self.draw_blocks(rng, n);
        self.trials = schedule(&self.cfg, &blocks, &u_trial, &u_better);
        self.trial = 0;
        self.stage = 0;
    }
    fn observe(&self, obs: &mut [f32]) {
        if self.cfg.fixation_step {
            obs[0] = if self.stage == 0 { 1.0 } else { 0.0 };
        }
    }
    fn position(&self) -> (u32, u32) {
        (self.trial as u32, self.stage)
    }
    fn step(&mut self, action: usize, _rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        let t = self.trials[self.trial];
        latents.copy_from_slice(&[
            t.p_arm0,
            t.rewarded_arm as f64,
            t.block as f64,
            t.block_label as f64,
            t.volatile as u8 as f64,
            t.hazard,
            t.trial_in_block as f64,
        ]);
        if self.cfg.fixation_step && self.stage == 0 {
            self.stage = 1;
            return StepOutcome {
                reward: 0.0,
                done: false,
            };
        }
        let reward = if action == t.rewarded_arm { 1.0 } else { 0.0 };
        self.trial += 1;
        self.stage = 0;
        StepOutcome {
            reward,
            done: self.trial >= self.trials.len(),
        }
    }
}
