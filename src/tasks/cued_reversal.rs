//! The cued-saccade reversal task of Simulation 3 (paper Fig. 4; after
//! Bromberg-Martin, Matsumoto, Hong & Hikosaka 2010), as in shared/SPEC.md.
//!
//! One side (left or right) pays 1, the other 0; which side pays reverses without
//! warning after blocks whose length in trials is drawn uniformly from
//! `block_trials`. Each trial is four network steps (`position()` gives the step
//! in the trial; the `step_type` latent says the same):
//!
//! | step | observation [fixation point, target left, target right] | action | reward |
//! |---|---|---|---|
//! | 0 fixation | [1, 0, 0] | ignored | 0 |
//! | 1 cue | [1, L, R]: one target appears on the cued side | ignored | 0 |
//! | 2 saccade | [0, L, R]: the fixation point goes off (the go signal) | 0 = saccade left, 1 = right | 1 if the saccade goes to the cued side and that side pays, else 0 |
//! | 3 outcome | [0, 0, 0] | ignored | 0 |
//!
//! The network sees the reward of the saccade in its previous-reward input at the
//! outcome step. An incorrect saccade (away from the cued side) gets no reward and
//! ends the trial at once (no outcome step: the trial is three network steps); with
//! `repeat_after_error` the next trial repeats the same cue (a correction trial), so
//! that an error cannot skip a trial whose cue is known to be unrewarded. Trials
//! are counted whether correct or not (episodes are `trials_per_episode` trials;
//! blocks are counted in trials).
//!
//! The random schedule (the first block's paying side, every block length and every
//! trial's cue side) is drawn at `reset`, so it does not depend on the agent's
//! actions: test conditions on the same seed see the same schedule (a correction
//! trial shows the previous cue instead of its own draw).

use super::{Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `[task]` keys of `kind = "cued_reversal"` (Simulation 3, Bromberg-Martin et al. 2010).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuedReversalConfig {
    /// Trials per episode (SPEC: 100).
    pub trials_per_episode: usize,
    /// Block length in trials, [min, max], uniform; the paying side reverses after each block
    /// (SPEC choice: [10, 30]).
    pub block_trials: [usize; 2],
    /// After an incorrect saccade, repeat the same cue on the next trial (a correction trial).
    pub repeat_after_error: bool,
}

impl TaskSpec for CuedReversalConfig {
    fn validate(&self) -> Result<()> {
        validate::positive("task.trials_per_episode", self.trials_per_episode)?;
        if self.trials_per_episode > 25_000 {
            bail!(
                "key `task.trials_per_episode` = {}: at most 25000 (four network steps per trial)",
                self.trials_per_episode
            );
        }
        validate::count_range("task.block_trials", self.block_trials, 100_000)
    }
    fn build(&self, _phase: Phase) -> Box<dyn Task> {
        // The task is the same in training and test.
        Box::new(CuedReversal::new(self.clone()))
    }
}

pub const LEFT: usize = 0;
pub const RIGHT: usize = 1;

/// Network steps of a trial (`step_type` / `step_in_trial`).
pub const FIXATION: u32 = 0;
pub const CUE: u32 = 1;
pub const SACCADE: u32 = 2;
pub const OUTCOME: u32 = 3;
pub const STEP_NAMES: [&str; 4] = ["fixation", "cue", "saccade", "outcome"];

/// Values of the `reversal_role` latent: where a trial stands relative to a reversal.
pub mod role {
    /// None of the below.
    pub const OTHER: i64 = 0;
    /// The last trial of a block that is followed by a reversal within the episode.
    pub const BEFORE: i64 = 1;
    /// The first trial after a reversal (its cue is the one whose change is experienced).
    pub const FIRST: i64 = 2;
    /// The next trial, when its cue is the one shown on the first trial after the
    /// reversal (and that trial's saccade was correct, so its outcome was seen).
    pub const EXPERIENCED: i64 = 3;
    /// The next trial, when its cue is the other one (its new value can only be inferred).
    pub const INFERRED: i64 = 4;
    /// The next trial after an incorrect saccade on the first trial after a reversal
    /// (nothing was experienced; with `repeat_after_error` it shows the same cue).
    pub const AFTER_ERROR: i64 = 5;
}

/// Latent columns, written at every step of a trial:
/// - `step_type`: 0 fixation, 1 cue, 2 saccade, 3 outcome (as `step_in_trial`);
/// - `cue_side`: the side of this trial's target, 0 left, 1 right;
/// - `paying_side`: the side that pays in the current block;
/// - `cue_pays`: 1 if the cued side pays in the current block;
/// - `block`: index of the block in the episode (0 = the first; every later block
///   starts with a reversal);
/// - `trials_since_reversal`: trials since the current block began (0 = the first
///   trial after the reversal; in block 0, trials since the episode began);
/// - `block_trials`: the length of the current block in trials (as drawn; the
///   episode may end before the block does);
/// - `correction`: 1 if this trial repeats the previous trial's cue after an error;
/// - `correct`: whether this trial's saccade went to the cued side (1/0), −1 on the
///   fixation and cue steps (before the saccade);
/// - `reversal_role`: see `role` (the same on every step of the trial);
/// - `became_rewarded`: for trials with a `reversal_role` other than 0, 1 if the
///   cued side pays after that reversal (it became rewarded) and 0 if it paid before
///   it (it became unrewarded); −1 otherwise.
pub const LATENTS: [Latent; 11] = [
    int("step_type"),
    int("cue_side"),
    int("paying_side"),
    int("cue_pays"),
    int("block"),
    int("trials_since_reversal"),
    int("block_trials"),
    int("correction"),
    int("correct"),
    int("reversal_role"),
    int("became_rewarded"),
];

const fn int(name: &'static str) -> Latent {
    Latent {
        name,
        kind: LatentKind::Int,
    }
}

/// The index of a latent column by name.
pub fn latent_index(name: &str) -> usize {
    LATENTS
        .iter()
        .position(|l| l.name == name)
        .unwrap_or_else(|| panic!("no latent {name}"))
}

pub struct CuedReversal {
    cfg: CuedReversalConfig,
    /// The schedule of the episode, drawn at reset: the first trial of each block
    /// (block 0 starts at 0; the last entry may lie beyond the episode), each
    /// block's drawn length, the paying side of block 0, and every trial's cue.
    block_starts: Vec<u32>,
    block_lengths: Vec<u32>,
    first_paying: usize,
    cues: Vec<u8>,
    trial: u32,
    stage: u32,
    block: usize,
    /// The cue shown on this trial (the drawn one, or the previous one on a correction trial).
    cue: usize,
    correction: bool,
    correct: Option<bool>,
    role: i64,
    /// The first trial of the current block: its cue and whether its saccade was correct.
    block_first: Option<(usize, bool)>,
}

impl CuedReversal {
    pub fn new(cfg: CuedReversalConfig) -> Self {
        CuedReversal {
            cfg,
            block_starts: vec![],
            block_lengths: vec![],
            first_paying: 0,
            cues: vec![],
            trial: 0,
            stage: 0,
            block: 0,
            cue: 0,
            correction: false,
            correct: None,
            role: role::OTHER,
            block_first: None,
        }
    }

    /// The side that pays in block `b`.
    pub fn paying_side_of(&self, b: usize) -> usize {
        (self.first_paying + b) % 2
    }

    /// The side that pays now.
    pub fn paying_side(&self) -> usize {
        self.paying_side_of(self.block)
    }

    /// The cue of the current trial.
    pub fn cue_side(&self) -> usize {
        self.cue
    }

    /// The drawn block lengths of the episode (the last may extend past its end).
    pub fn block_lengths(&self) -> &[u32] {
        &self.block_lengths
    }

    /// The drawn cue of every trial (before any correction trial repeats a cue).
    pub fn drawn_cues(&self) -> &[u8] {
        &self.cues
    }

    fn n_trials(&self) -> u32 {
        self.cfg.trials_per_episode as u32
    }

    /// Set up the current trial (`self.trial`), given whether the previous trial's
    /// saccade was correct.
    fn begin_trial(&mut self, previous_correct: bool) {
        let t = self.trial;
        while self.block + 1 < self.block_starts.len() && t >= self.block_starts[self.block + 1] {
            self.block += 1;
        }
        self.correction = self.cfg.repeat_after_error && t > 0 && !previous_correct;
        if !self.correction {
            self.cue = self.cues[t as usize] as usize;
        }
        self.stage = 0;
        self.correct = None;
        let since = t - self.block_starts[self.block];
        let block_end = self.block_starts[self.block] + self.block_lengths[self.block];
        self.role = if self.block > 0 && since == 0 {
            role::FIRST
        } else if self.block > 0 && since == 1 {
            match self.block_first {
                Some((_, false)) => role::AFTER_ERROR,
                Some((c, true)) if c == self.cue => role::EXPERIENCED,
                _ => role::INFERRED,
            }
        } else if t + 1 == block_end && block_end < self.n_trials() {
            role::BEFORE
        } else {
            role::OTHER
        };
    }

    fn write_latents(&self, latents: &mut [f64]) {
        let paying = self.paying_side();
        let became = match self.role {
            role::OTHER => -1.0,
            // Before the reversal the cued side becomes rewarded if it does not pay now.
            role::BEFORE => (self.cue != paying) as u8 as f64,
            _ => (self.cue == paying) as u8 as f64,
        };
        latents.copy_from_slice(&[
            self.stage as f64,
            self.cue as f64,
            paying as f64,
            (self.cue == paying) as u8 as f64,
            self.block as f64,
            (self.trial - self.block_starts[self.block]) as f64,
            self.block_lengths[self.block] as f64,
            self.correction as u8 as f64,
            self.correct.map_or(-1.0, |c| c as u8 as f64),
            self.role as f64,
            became,
        ]);
    }
}

impl Task for CuedReversal {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        // Fixation point, target left, target right.
        3
    }
    fn max_steps(&self) -> usize {
        4 * self.cfg.trials_per_episode
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        let n = self.n_trials();
        let [lo, hi] = self.cfg.block_trials;
        self.first_paying = rng.random_range(0..2);
        self.block_starts.clear();
        self.block_lengths.clear();
        let mut start = 0u32;
        while start < n {
            let len = rng.random_range(lo..=hi) as u32;
            self.block_starts.push(start);
            self.block_lengths.push(len);
            start += len;
        }
        self.cues.clear();
        self.cues.extend((0..n).map(|_| rng.random_range(0..2u8)));
        self.trial = 0;
        self.block = 0;
        self.block_first = None;
        self.begin_trial(true);
    }
    fn observe(&self, obs: &mut [f32]) {
        obs.fill(0.0);
        match self.stage {
            FIXATION => obs[0] = 1.0,
            CUE => {
                obs[0] = 1.0;
                obs[1 + self.cue] = 1.0;
            }
            SACCADE => obs[1 + self.cue] = 1.0,
            _ => {}
        }
    }
    fn position(&self) -> (u32, u32) {
        (self.trial, self.stage)
    }
    fn step(&mut self, action: usize, _rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        let mut reward = 0.0;
        let mut trial_over = false;
        match self.stage {
            SACCADE => {
                let correct = action == self.cue;
                self.correct = Some(correct);
                if correct && self.cue == self.paying_side() {
                    reward = 1.0;
                }
                trial_over = !correct;
            }
            OUTCOME => trial_over = true,
            _ => {}
        }
        self.write_latents(latents);
        if !trial_over {
            self.stage += 1;
            return StepOutcome {
                reward,
                done: false,
            };
        }
        let correct = self.correct == Some(true);
        if self.trial == self.block_starts[self.block] {
            self.block_first = Some((self.cue, correct));
        }
        self.trial += 1;
        let done = self.trial >= self.n_trials();
        if !done {
            self.begin_trial(correct);
        }
        StepOutcome { reward, done }
    }
}
