//! The baited two-armed bandit of Simulation 1 (paper Fig. 2; Tsutsui et al. 2016,
//! after Lau & Glimcher 2005), as in shared/SPEC.md.
//!
//! Each trial is one network step: the agent chooses left (0) or right (1).
//! The arms have base probabilities p0(L) and p0(R) = `p0_sum` − p0(L). An arm
//! that has not been chosen for n consecutive trials pays, when chosen, with
//! probability 1 − (1 − p0)^(n+1); choosing it resets its n to 0. (This is the
//! marginal of the classic schedule where a reward is armed with p0 every trial
//! and waits until collected.) p0(L) is drawn per episode, uniformly on the
//! union of the phase's bands, and so is the episode length (in trials).
//! There is no stimulus: the observation is empty (obs_dim 0), so the network
//! sees only its previous action and reward.
//!
//! Optional fixation step (`fixation_step = true`; off by default): each trial is
//! then two network steps, as the two-step task reports them in `position()`:
//! step_in_trial 0 is fixation (observation: a 1-dim cue = 1; the action is
//! ignored; reward 0; the arms' unchosen counts do not change), step_in_trial 1
//! is the choice (cue = 0), which draws the outcome as above. The network thus
//! makes two recurrent updates between an outcome and the next choice (the
//! monkeys of Tsutsui et al. 2016 fixated before each choice). Episode lengths
//! are still counted in trials; `max_steps` doubles.

use super::{Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `[task]` keys of `kind = "baited_bandit"` (Simulation 1, Tsutsui et al. 2016).
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

impl TaskSpec for BaitedBanditConfig {
    fn validate(&self) -> Result<()> {
        validate::prob("task.p0_sum", self.p0_sum)?;
        for (key, bands) in [
            ("task.train_p0_left", &self.train_p0_left),
            ("task.test_p0_left", &self.test_p0_left),
        ] {
            validate::prob_bands(key, bands, 1.0)?;
            for (i, &[lo, hi]) in bands.iter().enumerate() {
                if hi > self.p0_sum {
                    bail!(
                        "key `{key}[{i}]` = [{lo}, {hi}]: p0(L) may not exceed task.p0_sum = {} \
                         (p0(R) = p0_sum - p0(L) must be >= 0)",
                        self.p0_sum
                    );
                }
            }
        }
        // Two network steps per trial with the fixation step.
        let most = if self.fixation_step { 50_000 } else { 100_000 };
        for (key, range) in [
            ("task.train_trials", self.train_trials),
            ("task.test_trials", self.test_trials),
        ] {
            validate::count_range(key, range, most).map_err(|e| {
                if self.fixation_step && range[1] > most {
                    anyhow::anyhow!("{e} trials per episode with task.fixation_step = true (two network steps per trial)")
                } else {
                    e
                }
            })?;
        }
        Ok(())
    }
    fn build(&self, phase: Phase) -> Box<dyn Task> {
        Box::new(BaitedBandit::new(self.clone(), phase))
    }
}

pub const LEFT: usize = 0;
pub const RIGHT: usize = 1;

pub struct BaitedBandit {
    cfg: BaitedBanditConfig,
    phase: Phase,
    /// Base probabilities [left, right] of this episode.
    p0: [f64; 2],
    /// Consecutive trials each arm has not been chosen.
    unchosen: [u32; 2],
    trial: u32,
    /// Step within the trial: 0 = fixation, 1 = choice with the fixation step;
    /// always 0 without it.
    stage: u32,
    n_trials: u32,
    heldout: bool,
}

/// Latent columns, written at every step (the state *before* this trial's
/// outcome is drawn). With the fixation step, the fixation row carries the same
/// values as the trial's choice row, except `chosen_prob`, which depends on the
/// choice: on a fixation row it is the current probability of the arm that the
/// (ignored) fixation action names, and it is meaningful only on choice rows.
/// - `p0_left`: base probability of the left arm in this episode;
/// - `prob_left`, `prob_right`: each arm's current reward probability
///   1 − (1 − p0)^(n+1), i.e. what choosing it on this trial would pay with;
/// - `chosen_prob`: the current reward probability of the arm chosen on this trial
///   (the value of the upcoming choice in the unit-coding analysis);
/// - `unchosen_left`, `unchosen_right`: n of each arm before this trial;
/// - `heldout`: 1 if p0(L) lies in none of the training bands (held out of training);
/// - `episode_trials`: this episode's length in trials.
pub const LATENTS: [Latent; 8] = [
    Latent {
        name: "p0_left",
        kind: LatentKind::Float,
    },
    Latent {
        name: "prob_left",
        kind: LatentKind::Float,
    },
    Latent {
        name: "prob_right",
        kind: LatentKind::Float,
    },
    Latent {
        name: "chosen_prob",
        kind: LatentKind::Float,
    },
    Latent {
        name: "unchosen_left",
        kind: LatentKind::Int,
    },
    Latent {
        name: "unchosen_right",
        kind: LatentKind::Int,
    },
    Latent {
        name: "heldout",
        kind: LatentKind::Int,
    },
    Latent {
        name: "episode_trials",
        kind: LatentKind::Int,
    },
];

/// Probability that an arm with base probability `p0`, unchosen for `n` trials, pays.
pub fn baited_prob(p0: f64, n: u32) -> f64 {
    1.0 - (1.0 - p0).powi(n as i32 + 1)
}

/// A draw uniform on the union of closed intervals `bands` (each band weighted
/// by its width; if every band has zero width, the bands are equally likely).
pub fn sample_bands(bands: &[[f64; 2]], rng: &mut TaskRng) -> f64 {
    let total: f64 = bands.iter().map(|b| b[1] - b[0]).sum();
    if total <= 0.0 {
        return bands[rng.random_range(0..bands.len())][0];
    }
    let mut u = rng.random::<f64>() * total;
    for b in bands {
        let w = b[1] - b[0];
        if u < w {
            return b[0] + u;
        }
        u -= w;
    }
    let last = bands[bands.len() - 1];
    last[1]
}

/// Whether `x` lies in one of the closed intervals `bands`.
pub fn in_bands(bands: &[[f64; 2]], x: f64) -> bool {
    bands.iter().any(|b| x >= b[0] && x <= b[1])
}

impl BaitedBandit {
    pub fn new(cfg: BaitedBanditConfig, phase: Phase) -> Self {
        BaitedBandit {
            cfg,
            phase,
            p0: [0.0; 2],
            unchosen: [0; 2],
            trial: 0,
            stage: 0,
            n_trials: 1,
            heldout: false,
        }
    }

    fn bands(&self) -> &[[f64; 2]] {
        match self.phase {
            Phase::Train => &self.cfg.train_p0_left,
            Phase::Test => &self.cfg.test_p0_left,
        }
    }

    fn trials_range(&self) -> [usize; 2] {
        match self.phase {
            Phase::Train => self.cfg.train_trials,
            Phase::Test => self.cfg.test_trials,
        }
    }

    /// Base probabilities [left, right] of the current episode.
    pub fn p0(&self) -> [f64; 2] {
        self.p0
    }

    /// Whether each trial begins with a fixation step.
    pub fn fixation_step(&self) -> bool {
        self.cfg.fixation_step
    }

    /// Network steps per trial (1, or 2 with the fixation step).
    pub fn steps_per_trial(&self) -> usize {
        1 + self.cfg.fixation_step as usize
    }

    /// Length of the current episode in trials.
    pub fn n_trials(&self) -> u32 {
        self.n_trials
    }

    /// Start an episode with a given p0(L) and length (tests and analyses).
    pub fn reset_with(&mut self, p0_left: f64, n_trials: u32) {
        self.p0 = [p0_left, self.cfg.p0_sum - p0_left];
        self.unchosen = [0; 2];
        self.trial = 0;
        self.stage = 0;
        self.n_trials = n_trials.max(1);
        self.heldout = !in_bands(&self.cfg.train_p0_left, p0_left);
    }
}

impl Task for BaitedBandit {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        // The fixation cue, if any; otherwise no observation.
        self.cfg.fixation_step as usize
    }
    fn max_steps(&self) -> usize {
        self.trials_range()[1] * self.steps_per_trial()
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        let p0_left = sample_bands(self.bands(), rng);
        let [lo, hi] = self.trials_range();
        let n = rng.random_range(lo..=hi);
        self.reset_with(p0_left, n as u32);
    }
    fn observe(&self, obs: &mut [f32]) {
        if self.cfg.fixation_step {
            obs[0] = if self.stage == 0 { 1.0 } else { 0.0 };
        }
    }
    fn position(&self) -> (u32, u32) {
        (self.trial, self.stage)
    }
    fn step(&mut self, action: usize, rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        let probs = [
            baited_prob(self.p0[LEFT], self.unchosen[LEFT]),
            baited_prob(self.p0[RIGHT], self.unchosen[RIGHT]),
        ];
        latents.copy_from_slice(&[
            self.p0[LEFT],
            probs[LEFT],
            probs[RIGHT],
            probs[action],
            self.unchosen[LEFT] as f64,
            self.unchosen[RIGHT] as f64,
            self.heldout as u8 as f64,
            self.n_trials as f64,
        ]);
        if self.cfg.fixation_step && self.stage == 0 {
            // Fixation: no outcome, nothing counted.
            self.stage = 1;
            return StepOutcome {
                reward: 0.0,
                done: false,
            };
        }
        let reward = if rng.random::<f64>() < probs[action] {
            1.0
        } else {
            0.0
        };
        self.unchosen[action] = 0;
        self.unchosen[1 - action] += 1;
        self.trial += 1;
        self.stage = 0;
        StepOutcome {
            reward,
            done: self.trial >= self.n_trials,
        }
    }
}
