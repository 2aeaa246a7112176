//! Reference agents of Simulation 1 (`references`): a fixed-α delta rule, the
//! Bayesian observer of `examples/s1_bayes_observer.rs`, a random chooser and
//! the untrained network, each with the result it gets on every check.
//!
//! Each plays the baited bandit with the experiment's fixation step (`OnChoices`:
//! nothing happens at fixation). Its state variables stand in for the network's
//! units in the unit-coding analysis: the delta rule's two values, the Bayesian
//! observer's two expected reward probabilities, the random chooser's two
//! independent uniform noise variables.

use crate::config::Config;
use crate::references::{
    softmax2, Agent, BanditLearner, DeltaRule, Expectation, OnChoices, RandomBandit, Reference,
};
use crate::tasks::baited_bandit::{baited_prob, RIGHT};
use crate::tasks::{TaskConfig, TaskRng};
use anyhow::{bail, Result};

/// A Bayesian observer of the baited bandit: Bayesian about p0(L) (uniform
/// prior on [0, p0_sum], a `GRID`-point grid), knows the baiting rule and its
/// own choice history, and chooses with a softmax of inverse temperature β on
/// the two arms' posterior expected reward probabilities.
#[derive(Debug, Clone)]
pub struct BayesObserver {
    pub beta: f64,
    sum: f64,
    grid: Vec<f64>,
    log_post: Vec<f64>,
    unchosen: [u32; 2],
}

/// Grid points of the observer's posterior over p0(L).
pub const GRID: usize = 201;

impl BayesObserver {
    pub fn new(p0_sum: f64, beta: f64) -> Self {
        BayesObserver {
            beta,
            sum: p0_sum,
            grid: (0..GRID)
                .map(|i| p0_sum * i as f64 / (GRID - 1) as f64)
                .collect(),
            log_post: vec![0.0; GRID],
            unchosen: [0; 2],
        }
    }

    fn p0(&self, arm: usize, p0_left: f64) -> f64 {
        if arm == RIGHT {
            self.sum - p0_left
        } else {
            p0_left
        }
    }

    /// Posterior expected probability that `arm` pays if chosen now.
    pub fn expected(&self, arm: usize) -> f64 {
        let max = self
            .log_post
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut num, mut z) = (0.0, 0.0);
        for (&pl, l) in self.grid.iter().zip(&self.log_post) {
            let w = (l - max).exp();
            num += w * baited_prob(self.p0(arm, pl), self.unchosen[arm]);
            z += w;
        }
        num / z
    }

    /// P(left), P(right).
    pub fn choice_probs(&self) -> [f64; 2] {
        softmax2([self.expected(0), self.expected(1)], self.beta)
    }

    /// Update on the outcome of choosing `arm`.
    pub fn observe(&mut self, arm: usize, rewarded: bool) {
        for i in 0..GRID {
            let q = baited_prob(self.p0(arm, self.grid[i]), self.unchosen[arm]);
            self.log_post[i] += if rewarded {
                q.max(1e-300).ln()
            } else {
                (1.0 - q).max(1e-300).ln()
            };
        }
        self.unchosen[arm] = 0;
        self.unchosen[1 - arm] += 1;
    }
}

impl BanditLearner for BayesObserver {
    fn units(&self) -> usize {
        2
    }
    fn reset(&mut self) {
        self.log_post.fill(0.0);
        self.unchosen = [0; 2];
    }
    fn policy(&mut self, _trial: usize, _rng: &mut TaskRng) -> [f64; 2] {
        self.choice_probs()
    }
    fn values(&self) -> [f64; 2] {
        [self.expected(0), self.expected(1)]
    }
    fn learn(&mut self, arm: usize, reward: f64) {
        self.observe(arm, reward > 0.5);
    }
    fn state(&self, units: &mut [f64]) {
        units.copy_from_slice(&self.values());
    }
}

fn p0_sum(cfg: &Config) -> Result<f64> {
    match &cfg.task {
        TaskConfig::BaitedBandit(t) => Ok(t.p0_sum),
        other => bail!("not a baited bandit: {}", other.kind()),
    }
}

fn on_choices<L: BanditLearner + 'static>(cfg: &Config, learner: L) -> Box<dyn Agent> {
    Box::new(OnChoices::new(learner, cfg.training.gamma))
}

// The checks of experiments/s1_reward_history.toml.
const SLOPE_LOW: &str = "matching slope >= 0.5";
const SLOPE_HIGH: &str = "matching slope <= 1.2";
const CORRELATION: &str = "matching correlation >= 0.8";
const HELD_OUT: &str = "held-out episodes on the same line";
const LAG1: &str = "lag-1 reward weight > 0";
const DECAY: &str = "reward weight decays with lag";
const CODING: [&str; 4] = [
    "units code previous action above null",
    "units code previous reward above null",
    "units code action × reward above null",
    "units code value of choice above null",
];

fn learner_expectations() -> Vec<Expectation> {
    [SLOPE_LOW, SLOPE_HIGH, CORRELATION, HELD_OUT, LAG1, DECAY]
        .iter()
        .chain(&CODING)
        .map(|c| Expectation::pass(c))
        .collect()
}

/// A chooser that does not learn: what it gets on the behavioural checks.
fn no_learning_behaviour() -> Vec<Expectation> {
    vec![
        Expectation::fail(SLOPE_LOW),
        Expectation::passes_anyway(
            SLOPE_HIGH,
            "an upper bound: a chooser that does not match at all (slope 0) passes it, and no reference agent fails it (the baiting makes every learner here undermatch; even a near-greedy delta rule, β 50, has slope 0.69)",
        ),
        Expectation::fail(CORRELATION),
        Expectation::passes_anyway(
            HELD_OUT,
            "it asks for no difference between held-out and in-band episodes, which a chooser that learns nothing also shows",
        ),
        Expectation::fail(LAG1),
        Expectation::fail(DECAY),
    ]
}

/// The reference agents and what each gets on every check of experiments/s1_reward_history.toml.
pub fn references() -> Vec<Reference> {
    let mut random = no_learning_behaviour();
    random.extend(CODING.map(Expectation::fail));
    let mut untrained = no_learning_behaviour();
    untrained.extend(CODING[..3].iter().map(|c| {
        Expectation::passes_anyway(
            c,
            "the untrained network's state codes its own inputs (previous action and reward) and their product: coding above a trial-shuffled null needs no learning",
        )
    }));
    untrained.push(Expectation::either(
        CODING[3],
        "borderline: 0.003 [0.001, 0.006] passes with 300 test episodes, fails with 60; the value of the upcoming choice follows from the inputs (baiting) without learning",
    ));
    vec![
        Reference::agent(
            "delta_rule_a0.3_b10",
            "fixed-α delta rule on each arm's value (values start at p0_sum / 2), α 0.3, softmax β 10",
            |cfg, _| Ok(on_choices(cfg, DeltaRule::new(0.3, 10.0, p0_sum(cfg)? / 2.0))),
            learner_expectations(),
        ),
        Reference::agent(
            "bayes_observer_b20",
            "Bayesian observer of p0(L) that knows the baiting rule, softmax β 20 on the arms' expected reward probabilities",
            |cfg, _| Ok(on_choices(cfg, BayesObserver::new(p0_sum(cfg)?, 20.0))),
            learner_expectations(),
        ),
        Reference::agent(
            "random",
            "random chooser: 50/50, value 0, two noise units",
            |cfg, _| Ok(on_choices(cfg, RandomBandit::new(2))),
            random,
        ),
        Reference::untrained_network(untrained),
    ]
}
