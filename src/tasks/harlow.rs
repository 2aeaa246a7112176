//! The Harlow task (Harlow 1949; paper Fig. 6), as in shared/SPEC.md.
//!
//! An episode is one problem: two images new to the agent, `trials` trials (paper:
//! 6). One of the two images, drawn at random per problem, is always rewarded;
//! on every trial the two images appear left and right in a random arrangement.
//! Each trial is one fixation step (observation: the fixation cue = 1, no
//! images; any action; reward `reward_fixation`), then `image_steps` steps with
//! both images on screen (cue = 0); the action on the last of them is the choice:
//! 0 = left, 1 = right, paid `reward_correct` for the rewarded image and
//! `reward_wrong` for the other. Actions on the other image steps are ignored.
//!
//! Observation: [left image, right image, fixation cue], each image `image_size`²
//! pixels with contrast values 2v − 1 ∈ [−1, 1] (v ∈ [0, 1] the grey level; a
//! blank screen is 0). `image_layout` tells the agent where the images are, so
//! that an image encoder (agent.encoder) can read each one with the same weights.
//!
//! Training problems draw both images from the training pool, test problems from
//! the disjoint test pool (`test_pool = "train"` tests on training images
//! instead). Every random draw of a problem (the two images, which one is
//! rewarded, the arrangement on each trial) is made at `reset`, so test
//! conditions and training stages see the same problems whatever the agent does.

use super::images::{self, PoolSpec, Pools, Stimuli};
use super::{ImageLayout, Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which pool a phase's problems draw their images from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolName {
    Train,
    Test,
}

/// `[task]` keys of `kind = "harlow"` (Simulation 5, Harlow 1949).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarlowConfig {
    /// Trials per episode; an episode is one problem (paper: 6).
    pub trials: usize,
    /// Network steps per trial with the images on screen; the choice is the
    /// action on the last of them (1 = choose on the step the images appear).
    pub image_steps: usize,
    /// Reward for choosing the rewarded image (paper's 3D level: +5).
    pub reward_correct: f64,
    /// Reward for choosing the other image (paper's 3D level: −5).
    pub reward_wrong: f64,
    /// Reward of the fixation step (paper's 3D level: +1 for fixating).
    pub reward_fixation: f64,
    /// "images" (procedural pictures) or "symbols" (each image replaced by a
    /// fixed random binary code of the same size: the symbolic control).
    pub stimuli: Stimuli,
    /// Side of the square greyscale images in pixels.
    pub image_size: usize,
    /// Images in the training pool.
    pub train_images: usize,
    /// Images in the held-out test pool (disjoint from the training pool).
    pub test_images: usize,
    /// Seed of the image generator (the pools are a pure function of it).
    pub image_seed: u64,
    /// Minimum RMS grey-level distance between any two images of the pools.
    pub min_image_distance: f64,
    /// The pool that test problems draw from: "test" (held out) or "train".
    #[serde(default = "default_test_pool")]
    pub test_pool: PoolName,
}

fn default_test_pool() -> PoolName {
    PoolName::Test
}

impl HarlowConfig {
    pub fn pool_spec(&self) -> PoolSpec {
        PoolSpec {
            stimuli: self.stimuli,
            side: self.image_size,
            n_train: self.train_images,
            n_test: self.test_images,
            seed: self.image_seed,
            min_distance: self.min_image_distance,
        }
    }
}

impl TaskSpec for HarlowConfig {
    fn validate(&self) -> Result<()> {
        validate::positive("task.trials", self.trials)?;
        if self.trials > 1000 {
            bail!("key `task.trials` = {}: at most 1000", self.trials);
        }
        validate::positive("task.image_steps", self.image_steps)?;
        if self.image_steps > 10 {
            bail!("key `task.image_steps` = {}: at most 10", self.image_steps);
        }
        for (key, v) in [
            ("task.reward_correct", self.reward_correct),
            ("task.reward_wrong", self.reward_wrong),
            ("task.reward_fixation", self.reward_fixation),
        ] {
            validate::range(key, v, -1e3, 1e3, "in [-1000, 1000]")?;
        }
        if self.reward_correct <= self.reward_wrong {
            bail!(
                "key `task.reward_correct` = {}: must exceed task.reward_wrong = {}",
                self.reward_correct,
                self.reward_wrong
            );
        }
        if !(4..=64).contains(&self.image_size) {
            bail!(
                "key `task.image_size` = {}: must be in 4..=64 pixels",
                self.image_size
            );
        }
        for (key, n) in [
            ("task.train_images", self.train_images),
            ("task.test_images", self.test_images),
        ] {
            if !(2..=100_000).contains(&n) {
                bail!("key `{key}` = {n}: must be in 2..=100000 (a problem needs two images)");
            }
        }
        validate::range(
            "task.min_image_distance",
            self.min_image_distance,
            0.0,
            0.3,
            "in [0, 0.3] (larger distances make the pools impossible to fill)",
        )
    }
    fn build(&self, phase: Phase) -> Box<dyn Task> {
        Box::new(Harlow::new(self.clone(), phase))
    }
}

pub const LEFT: usize = 0;
pub const RIGHT: usize = 1;

pub struct Harlow {
    cfg: HarlowConfig,
    pools: Arc<Pools>,
    /// Draw from the test pool (else the training pool).
    test_pool: bool,
    /// The two images of the problem (pool indices) and which of them (0/1) is rewarded.
    pair: [usize; 2],
    rewarded: usize,
    /// Per trial: whether pair[0] is on the left.
    first_left: Vec<bool>,
    trial: u32,
    stage: u32,
}

/// Latent columns, the same on every step of a trial:
/// - `left_image`, `right_image`: pool indices of the images on the left and right;
/// - `rewarded_image`: pool index of the rewarded image of the problem;
/// - `correct_side`: 0 if the rewarded image is on the left this trial, 1 if right;
/// - `choice_step`: 1 on the step whose action is the choice, else 0;
/// - `test_pool`: 1 if the images come from the held-out test pool, 0 if training pool.
pub const LATENTS: [Latent; 6] = [
    Latent {
        name: "left_image",
        kind: LatentKind::Int,
    },
    Latent {
        name: "right_image",
        kind: LatentKind::Int,
    },
    Latent {
        name: "rewarded_image",
        kind: LatentKind::Int,
    },
    Latent {
        name: "correct_side",
        kind: LatentKind::Int,
    },
    Latent {
        name: "choice_step",
        kind: LatentKind::Int,
    },
    Latent {
        name: "test_pool",
        kind: LatentKind::Int,
    },
];

impl Harlow {
    pub fn new(cfg: HarlowConfig, phase: Phase) -> Self {
        let pools = images::pools(&cfg.pool_spec());
        let test_pool = phase == Phase::Test && cfg.test_pool == PoolName::Test;
        Harlow {
            first_left: vec![true; cfg.trials],
            cfg,
            pools,
            test_pool,
            pair: [0, 1],
            rewarded: 0,
            trial: 0,
            stage: 0,
        }
    }

    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Network steps per trial: fixation plus the image steps.
    pub fn steps_per_trial(&self) -> usize {
        1 + self.cfg.image_steps
    }

    /// The problem's two images (pool indices), the rewarded one (0/1), and the
    /// pool they come from.
    pub fn problem(&self) -> ([usize; 2], usize, bool) {
        (self.pair, self.rewarded, self.test_pool)
    }

    /// Pool indices on the left and right in the current trial.
    fn sides(&self) -> [usize; 2] {
        if self.first_left[self.trial as usize] {
            self.pair
        } else {
            [self.pair[1], self.pair[0]]
        }
    }

    /// The side (0 left, 1 right) of the rewarded image in the current trial.
    pub fn correct_side(&self) -> usize {
        let rewarded_left = self.first_left[self.trial as usize] == (self.rewarded == 0);
        if rewarded_left {
            LEFT
        } else {
            RIGHT
        }
    }

    fn is_choice_step(&self) -> bool {
        self.stage as usize == self.cfg.image_steps
    }
}

impl Task for Harlow {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        2 * self.pools.pixels() + 1
    }
    fn max_steps(&self) -> usize {
        self.cfg.trials * self.steps_per_trial()
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn image_layout(&self) -> Option<ImageLayout> {
        Some(ImageLayout {
            count: 2,
            side: self.pools.side,
        })
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        let n = if self.test_pool {
            self.pools.n_test()
        } else {
            self.pools.n_train()
        };
        let a = rng.random_range(0..n);
        let mut b = rng.random_range(0..n - 1);
        if b >= a {
            b += 1;
        }
        self.pair = [a, b];
        self.rewarded = rng.random_range(0..2);
        for f in self.first_left.iter_mut() {
            *f = rng.random_bool(0.5);
        }
        self.trial = 0;
        self.stage = 0;
    }
    fn observe(&self, obs: &mut [f32]) {
        let p = self.pools.pixels();
        if self.stage == 0 {
            obs[..2 * p].fill(0.0);
            obs[2 * p] = 1.0;
            return;
        }
        for (k, idx) in self.sides().into_iter().enumerate() {
            let img = self.pools.image(self.test_pool, idx);
            for (o, v) in obs[k * p..(k + 1) * p].iter_mut().zip(img) {
                *o = 2.0 * v - 1.0;
            }
        }
        obs[2 * p] = 0.0;
    }
    fn position(&self) -> (u32, u32) {
        (self.trial, self.stage)
    }
    fn step(&mut self, action: usize, _rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        let sides = self.sides();
        let correct = self.correct_side();
        let choice = self.is_choice_step();
        latents.copy_from_slice(&[
            sides[0] as f64,
            sides[1] as f64,
            self.pair[self.rewarded] as f64,
            correct as f64,
            choice as u8 as f64,
            self.test_pool as u8 as f64,
        ]);
        if !choice {
            let reward = if self.stage == 0 {
                self.cfg.reward_fixation as f32
            } else {
                0.0
            };
            self.stage += 1;
            return StepOutcome {
                reward,
                done: false,
            };
        }
        let reward = if action == correct {
            self.cfg.reward_correct
        } else {
            self.cfg.reward_wrong
        } as f32;
        self.trial += 1;
        self.stage = 0;
        StepOutcome {
            reward,
            done: self.trial as usize >= self.cfg.trials,
        }
    }
}
