//! Two-armed Bernoulli bandits (paper Fig. 1; Wang et al. 2016, "Learning to
//! reinforcement learn"), as in shared/SPEC.md ("the introductory bandits").
//!
//! Each trial is one network step: the agent pulls the left (0) or right (1)
//! arm and is paid 1 with that arm's probability. The arm probabilities are
//! drawn per episode from the family:
//! - `independent`: p_L and p_R independent, each uniform on [0, 1];
//! - `correlated`: p_L uniform on [0, 1] and p_R = 1 − p_L;
//! - `fixed`: the given p_left and p_right (the test problems 0.25/0.75, 0.6/0.4),
//!   optionally on random sides (`random_sides`: swapped in half the episodes),
//!   so that a network's bias towards one side does not count as finding the
//!   better arm.
//!
//! There is no stimulus (observation length 0): the network sees only its
//! previous action and reward.
//!
//! **Common random numbers.** At reset the task draws everything the episode
//! will use, in this order: two uniforms for the arm probabilities (always
//! both, whatever the family, so that every family uses the stream alike),
//! then for each trial u_L and u_R. Pulling arm a at trial t pays iff
//! u_a(t) < p_a. `step` draws nothing, so the episodes do not depend on the
//! agent's choices: test conditions replayed from the same seed see the same
//! uniforms, and the analysis replays every reference agent on exactly the
//! episodes the networks played (the latent columns record p and u).

use super::{Latent, LatentKind, Phase, StepOutcome, Task, TaskRng, TaskSpec};
use crate::validate;
use anyhow::{bail, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How the arm probabilities of an episode are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// p_L, p_R independent, uniform on [0, 1].
    Independent,
    /// p_L uniform on [0, 1], p_R = 1 − p_L.
    Correlated,
    /// p_L = `task.p_left`, p_R = `task.p_right` in every episode.
    Fixed,
}

/// `[task]` keys of `kind = "bernoulli_bandit"` (paper Fig. 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BernoulliBanditConfig {
    /// Trials per episode (paper: 100).
    pub trials: usize,
    /// "independent", "correlated" or "fixed" (see the module documentation).
    pub family: Family,
    /// Left arm's reward probability; only with family = "fixed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_left: Option<f64>,
    /// Right arm's reward probability; only with family = "fixed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_right: Option<f64>,
    /// With family = "fixed": swap the two arms in a random half of the
    /// episodes (drawn per episode from the first of the two uniforms every
    /// episode draws for its probabilities). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub random_sides: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl BernoulliBanditConfig {
    /// The arm-probability prior of this config.
    pub fn prior(&self) -> Prior {
        match self.family {
            Family::Independent => Prior::Independent,
            Family::Correlated => Prior::Correlated,
            Family::Fixed => {
                let p = [
                    self.p_left.unwrap_or(f64::NAN),
                    self.p_right.unwrap_or(f64::NAN),
                ];
                if self.random_sides {
                    Prior::FixedRandomSides(p)
                } else {
                    Prior::Fixed(p)
                }
            }
        }
    }
}

impl TaskSpec for BernoulliBanditConfig {
    fn validate(&self) -> Result<()> {
        validate::positive("task.trials", self.trials)?;
        if self.trials > 100_000 {
            bail!("key `task.trials` = {}: at most 100000", self.trials);
        }
        match self.family {
            Family::Fixed => {
                for (key, v) in [("task.p_left", self.p_left), ("task.p_right", self.p_right)] {
                    match v {
                        Some(p) => validate::prob(key, p)?,
                        None => bail!("key `{key}`: needed with task.family = \"fixed\""),
                    }
                }
            }
            family => {
                if self.random_sides {
                    bail!("key `task.random_sides`: only with task.family = \"fixed\"");
                }
                for (key, v) in [("task.p_left", self.p_left), ("task.p_right", self.p_right)] {
                    if v.is_some() {
                        bail!(
                            "key `{key}`: only with task.family = \"fixed\" (family is {:?}, \
                             which draws the probabilities)",
                            format!("{family:?}").to_lowercase()
                        );
                    }
                }
            }
        }
        Ok(())
    }
    fn build(&self, _phase: Phase) -> Box<dyn Task> {
        // The same bandits in training and test.
        Box::new(BernoulliBandit::new(self.clone()))
    }
}

/// The arm-probability prior of an episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prior {
    Independent,
    Correlated,
    Fixed([f64; 2]),
    /// The given probabilities, swapped between the arms in a random half of
    /// the episodes.
    FixedRandomSides([f64; 2]),
}

/// One episode: arm probabilities and the per-arm, per-trial uniforms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Episode {
    /// Reward probability of the left (0) and right (1) arm.
    pub p: [f64; 2],
    /// `u[arm][trial]`: the arm pays at that trial iff `u < p[arm]`.
    pub u: [Vec<f64>; 2],
}

impl Episode {
    /// Draw an episode of `trials` trials (the order of draws is in the module
    /// documentation).
    pub fn draw(prior: Prior, trials: usize, rng: &mut impl Rng) -> Episode {
        let mut e = Episode::default();
        e.redraw(prior, trials, rng);
        e
    }

    /// As `draw`, reusing this episode's buffers.
    pub fn redraw(&mut self, prior: Prior, trials: usize, rng: &mut impl Rng) {
        let z: [f64; 2] = [rng.random(), rng.random()];
        self.p = match prior {
            Prior::Independent => z,
            Prior::Correlated => [z[0], 1.0 - z[0]],
            Prior::Fixed(p) => p,
            Prior::FixedRandomSides(p) => {
                if z[0] < 0.5 {
                    [p[1], p[0]]
                } else {
                    p
                }
            }
        };
        for u in self.u.iter_mut() {
            u.clear();
        }
        for _ in 0..trials {
            self.u[0].push(rng.random());
            self.u[1].push(rng.random());
        }
    }

    pub fn horizon(&self) -> usize {
        self.u[0].len()
    }

    /// Whether pulling `arm` at `trial` pays.
    pub fn pays(&self, arm: usize, trial: usize) -> bool {
        self.u[arm][trial] < self.p[arm]
    }

    /// The better arm (0 = left, 1 = right; left when p_L = p_R).
    pub fn better_arm(&self) -> usize {
        usize::from(self.p[1] > self.p[0])
    }
}

/// Latent columns, the same at every step of an episode except the uniforms:
/// `p_left`, `p_right` (this episode's arm probabilities) and `u_left`,
/// `u_right` (this trial's uniforms: an arm pays iff its u < its p).
pub const LATENTS: [Latent; 4] = [
    Latent {
        name: "p_left",
        kind: LatentKind::Float,
    },
    Latent {
        name: "p_right",
        kind: LatentKind::Float,
    },
    Latent {
        name: "u_left",
        kind: LatentKind::Float,
    },
    Latent {
        name: "u_right",
        kind: LatentKind::Float,
    },
];

pub struct BernoulliBandit {
    cfg: BernoulliBanditConfig,
    prior: Prior,
    episode: Episode,
    trial: u32,
}

impl BernoulliBandit {
    pub fn new(cfg: BernoulliBanditConfig) -> Self {
        BernoulliBandit {
            prior: cfg.prior(),
            cfg,
            episode: Episode::default(),
            trial: 0,
        }
    }

    /// The current episode (probabilities and uniforms).
    pub fn episode(&self) -> &Episode {
        &self.episode
    }
}

impl Task for BernoulliBandit {
    fn n_actions(&self) -> usize {
        2
    }
    fn obs_dim(&self) -> usize {
        0
    }
    fn max_steps(&self) -> usize {
        self.cfg.trials
    }
    fn latents(&self) -> &'static [Latent] {
        &LATENTS
    }
    fn reset(&mut self, rng: &mut TaskRng) {
        self.episode.redraw(self.prior, self.cfg.trials, rng);
        self.trial = 0;
    }
    fn observe(&self, _obs: &mut [f32]) {}
    fn position(&self) -> (u32, u32) {
        (self.trial, 0)
    }
    fn step(&mut self, action: usize, _rng: &mut TaskRng, latents: &mut [f64]) -> StepOutcome {
        let t = self.trial as usize;
        let e = &self.episode;
        latents.copy_from_slice(&[e.p[0], e.p[1], e.u[0][t], e.u[1][t]]);
        let reward = if e.pays(action, t) { 1.0 } else { 0.0 };
        self.trial += 1;
        StepOutcome {
            reward,
            done: self.trial as usize >= self.cfg.trials,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg(family: Family, p: Option<[f64; 2]>) -> BernoulliBanditConfig {
        BernoulliBanditConfig {
            trials: 100,
            family,
            p_left: p.map(|p| p[0]),
            p_right: p.map(|p| p[1]),
            random_sides: false,
        }
    }

    #[test]
    fn validation_names_the_key() {
        let err = |c: BernoulliBanditConfig| format!("{:#}", c.validate().unwrap_err());
        assert!(err(cfg(Family::Fixed, None)).contains("task.p_left"));
        assert!(err(cfg(Family::Fixed, Some([0.2, 1.5]))).contains("task.p_right"));
        assert!(err(cfg(Family::Independent, Some([0.2, 0.5]))).contains("only with"));
        let mut c = cfg(Family::Correlated, None);
        c.trials = 0;
        assert!(err(c).contains("task.trials"));
        let mut c = cfg(Family::Independent, None);
        c.random_sides = true;
        assert!(err(c).contains("task.random_sides"));
        assert!(cfg(Family::Fixed, Some([0.25, 0.75])).validate().is_ok());
    }

    #[test]
    fn episodes_are_drawn_at_reset_and_steps_draw_nothing() {
        let mut task = BernoulliBandit::new(cfg(Family::Independent, None));
        let mut rng = TaskRng::seed_from_u64(3);
        task.reset(&mut rng);
        let expected = Episode::draw(Prior::Independent, 100, &mut TaskRng::seed_from_u64(3));
        assert_eq!(task.episode(), &expected);
        let after_reset: u64 = rng.clone().random();
        let mut lat = [0.0; 4];
        let mut total = 0.0;
        for t in 0..100 {
            assert_eq!(task.position(), (t as u32, 0));
            let a = t % 2;
            let out = task.step(a, &mut rng, &mut lat);
            assert_eq!(
                lat,
                [
                    expected.p[0],
                    expected.p[1],
                    expected.u[0][t],
                    expected.u[1][t]
                ]
            );
            assert_eq!(out.reward == 1.0, expected.pays(a, t));
            assert_eq!(out.done, t == 99);
            total += out.reward;
        }
        // The stream was not touched by the steps.
        assert_eq!(rng.random::<u64>(), after_reset);
        assert!(total > 0.0);
    }

    #[test]
    fn families_share_the_uniforms_and_draw_their_probabilities() {
        let draw = |prior| Episode::draw(prior, 50, &mut TaskRng::seed_from_u64(9));
        let (ind, cor, fix) = (
            draw(Prior::Independent),
            draw(Prior::Correlated),
            draw(Prior::Fixed([0.25, 0.75])),
        );
        assert_eq!(ind.u, cor.u);
        assert_eq!(ind.u, fix.u);
        assert_eq!(cor.p, [ind.p[0], 1.0 - ind.p[0]]);
        assert_eq!(fix.p, [0.25, 0.75]);
        // Random sides: swapped iff the first uniform (p_L of the other
        // families) is below one half, in about half the episodes.
        let mut rng = TaskRng::seed_from_u64(5);
        let mut swapped = 0;
        for _ in 0..2000 {
            let mut probe = rng.clone();
            let z: f64 = probe.random();
            let e = Episode::draw(Prior::FixedRandomSides([0.25, 0.75]), 3, &mut rng);
            let want = if z < 0.5 { [0.75, 0.25] } else { [0.25, 0.75] };
            assert_eq!(e.p, want);
            swapped += (e.p[0] == 0.75) as usize;
        }
        assert!((900..=1100).contains(&swapped), "{swapped}");
        // Statistics over many episodes: uniform p, correlated sum 1, payment rate p.
        let mut rng = TaskRng::seed_from_u64(1);
        let n = 4000;
        let (mut sum_l, mut sum_r, mut sum_lr) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let e = Episode::draw(Prior::Independent, 1, &mut rng);
            sum_l += e.p[0];
            sum_r += e.p[1];
            sum_lr += e.p[0] * e.p[1];
        }
        let n = n as f64;
        // Means 1/2 (SE 0.0046) and E p_L p_R = 1/4 for independent arms.
        assert!((sum_l / n - 0.5).abs() < 0.02 && (sum_r / n - 0.5).abs() < 0.02);
        assert!((sum_lr / n - 0.25).abs() < 0.015);
        let fixed = Episode::draw(Prior::Fixed([0.25, 0.75]), 20_000, &mut rng);
        let rate = |arm| (0..20_000).filter(|&t| fixed.pays(arm, t)).count() as f64 / 20_000.0;
        // SE about 0.003.
        assert!((rate(0) - 0.25).abs() < 0.015 && (rate(1) - 0.75).abs() < 0.015);
    }
}
