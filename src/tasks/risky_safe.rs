//! The risky/safe lever task of Simulation 6 (paper Fig. 7; Stopper et al.
//! 2014, after the probabilistic discounting task of St Onge & Floresco 2009),
//! as in shared/SPEC.md.
//!
//! Two levers, left (action 0) and right (action 1). One is safe: it pays
//! `safe_reward` (1 pellet) every time. The other is risky: it pays
//! `risky_reward` (4 pellets) with probability p, else nothing. Which side is
//! risky is drawn per episode. An episode is a sequence of blocks, one per
//! entry of `block_probs` (the risky lever's p in that block), in the listed
//! order or shuffled per episode (`train_order`, `test_order`). Each block
//! opens with `forced_trials` forced trials (half on each lever, in a random
//! order): only one lever is available (the observation shows which), and
//! pressing the other, retracted lever does nothing (no reward, no event). Then
//! `free_trials` free-choice trials, both levers available. One network step per
//! trial; the observation is [left lever available, right lever available].
//!
//! Common random numbers: every random draw of an episode (the risky side, the
//! block order, the forced levers, and whether the risky lever would pay on each
//! trial) is made at `reset`, so that the episodes do not depend on the agent's
//! actions and test conditions with the same seed see the same episodes
//! (latent `risky_would_pay`).

use super::{Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The order of the blocks within an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockOrder {
    /// As listed in `block_probs`.
    AsListed,
    /// A fresh random permutation of `block_probs` per episode.
    Shuffled,
}

/// `[task]` keys of `kind = "risky_safe"` (Simulation 6, Stopper et al. 2014).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskySafeConfig {
    /// Payout of the safe lever, every press (Stopper et al.: 1 pellet).
    pub safe_reward: f64,
    /// Payout of the risky lever when it pays (Stopper et al.: 4 pellets).
    pub risky_reward: f64,
    /// The risky lever's payout probability in each block of an episode
    /// (Stopper et al.: [1, 0.5, 0.25, 0.125]).
    pub block_probs: Vec<f64>,
    /// Block order of training episodes: "as_listed" or "shuffled".
    pub train_order: BlockOrder,
    /// Block order of test episodes: "as_listed" or "shuffled".
    pub test_order: BlockOrder,
    /// Forced trials opening each block, half on each lever in a random order
    /// (Stopper et al.: 8); must be even.
    pub forced_trials: usize,
    /// Free-choice trials per block, after the forced ones (Stopper et al.: 10).
    pub free_trials: usize,
}

impl TaskSpec for RiskySafeConfig {
    fn validate(&self) -> Result<()> {
        validate::range(
            "task.safe_reward",
            self.safe_reward,
            0.0,
            1e6,
            "in [0, 1e6]",
        )?;
        validate::range(
            "task.risky_reward",
            self.risky_reward,
            0.0,
            1e6,
            "in [0, 1e6]",
        )?;
        if self.block_probs.is_empty() {
            bail!("key `task.block_probs`: must list at least one block's probability");
        }
        for (i, p) in self.block_probs.iter().enumerate() {
            validate::prob(&format!("task.block_probs[{i}]"), *p)?;
        }
        if !self.forced_trials.is_multiple_of(2) {
            bail!(
                "key `task.forced_trials` = {}: must be even (half on each lever)",
                self.forced_trials
            );
        }
        validate::positive("task.free_trials", self.free_trials)?;
        let steps = self.block_probs.len() * (self.forced_trials + self.free_trials);
        if steps > 100_000 {
            bail!("task: {steps} trials per episode (blocks × (forced + free)); at most 100000");
        }
        Ok(())
    }
    fn build(&self, phase: Phase) -> Box<dyn Task> {
        Box::new(RiskySafe::new(self.clone(), phase))
    }
}

pub const LEFT: usize = 0;
pub const RIGHT: usize = 1;

pub struct RiskySafe {
    cfg: RiskySafeConfig,
    order: BlockOrder,
    /// The action (lever) that is risky in this episode.
    risky_side: usize,
    /// Index into `block_probs` of each block of this episode, in order.
    blocks: Vec<usize>,
    /// Per trial: the only available lever on a forced trial, or None (free).
    forced_lever: Vec<Option<usize>>,
    /// Per trial: whether the risky lever pays if pressed (drawn at reset).
    risky_pays: Vec<bool>,
    trial: usize,
}

/// Latent columns, one value per trial (= step).
const LATENTS: [Latent; 10] = [
    Latent {
        name: "block",
        kind: LatentKind::Int,
    },
    Latent {
        name: "block_prob",
        kind: LatentKind::Float,
    },
    Latent {
        name: "forced",
        kind: LatentKind::Int,
    },
    Latent {
        name: "risky_side",
        kind: LatentKind::Int,
    },
    Latent {
        name: "risky_would_pay",
        kind: LatentKind::Int,
    },
    Latent {
        name: "chose_risky",
        kind: LatentKind::Int,
    },
    // The press hit an available lever (always on free trials).
    Latent {
        name: "valid",
        kind: LatentKind::Int,
    },
    // Events of the outcome (the targets of the RPE manipulations): a valid
    // press of the risky lever that paid / did not pay, of the safe lever.
    Latent {
        name: "risky_win",
        kind: LatentKind::Int,
    },
    Latent {
        name: "risky_loss",
        kind: LatentKind::Int,
    },
    Latent {
        name: "safe_win",
        kind: LatentKind::Int,
    },
];

impl RiskySafe {
    pub fn new(cfg: RiskySafeConfig, phase: Phase) -> Self {
        let n_blocks = cfg.block_probs.len();
        let n_trials = n_blocks * (cfg.forced_trials + cfg.free_trials);
        RiskySafe {
            order: match phase {
                Phase::Train => cfg.train_order,
                Phase::Test => cfg.test_order,
            },
            risky_side: RIGHT,
            blocks: (0..n_blocks).collect(),
            forced_lever: vec![None; n_trials],
            risky_pays: vec![false; n_trials],
            trial: 0,
            cfg,
        }
    }

    fn trials_per_block(&self) -> usize {
        self.cfg.forced_trials + self.cfg.free_trials
    }

    fn n_trials(&self) -> usize {
        self.blocks.len() * self.trials_per_block()
    }

    /// The block index (within the episode) of the current trial.
    fn block(&self) -> usize {
        self.trial / self.trials_per_block()
    }

    /// The risky lever's payout probability in the current trial.
    fn prob(&self) -> f64 {
        self.cfg.block_probs[self.blocks[self.block()]]
    }
}

impl Task for RiskySafe {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        2
    }
    fn max_steps(&self) -> usize {
        self.n_trials()
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        self.trial = 0;
        self.risky_side = rng.random_range(0..2);
        for (i, b) in self.blocks.iter_mut().enumerate() {
            *b = i;
        }
        if self.order == BlockOrder::Shuffled {
            self.blocks.shuffle(rng);
        }
        let per_block = self.trials_per_block();
        let forced = self.cfg.forced_trials;
        for block in 0..self.blocks.len() {
            let first = block * per_block;
            let levers = &mut self.forced_lever[first..first + per_block];
            for (k, l) in levers.iter_mut().enumerate() {
                *l = if k < forced {
                    Some(if k < forced / 2 { LEFT } else { RIGHT })
                } else {
                    None
                };
            }
            levers[..forced].shuffle(rng);
            let p = self.cfg.block_probs[self.blocks[block]];
            for pays in &mut self.risky_pays[first..first + per_block] {
                *pays = rng.random::<f64>() < p;
            }
        }
    }
    fn observe(&self, obs: &mut [f32]) {
        match self.forced_lever[self.trial] {
            Some(lever) => {
                obs.fill(0.0);
                obs[lever] = 1.0;
            }
            None => obs.fill(1.0),
        }
    }
    fn position(&self) -> (u32, u32) {
        (self.trial as u32, 0)
    }
    fn step(&mut self, action: usize, _rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        let forced = self.forced_lever[self.trial];
        let valid = forced.is_none_or(|l| l == action);
        let risky = action == self.risky_side;
        let pays = self.risky_pays[self.trial];
        let reward = match (valid, risky) {
            (false, _) => 0.0,
            (true, true) if pays => self.cfg.risky_reward,
            (true, true) => 0.0,
            (true, false) => self.cfg.safe_reward,
        };
        let flag = |b: bool| b as u8 as f64;
        latents.copy_from_slice(&[
            self.block() as f64,
            self.prob(),
            flag(forced.is_some()),
            self.risky_side as f64,
            flag(pays),
            flag(risky),
            flag(valid),
            flag(valid && risky && pays),
            flag(valid && risky && !pays),
            flag(valid && !risky),
        ]);
        self.trial += 1;
        StepOutcome {
            reward: reward as f32,
            done: self.trial >= self.n_trials(),
        }
    }
}
