//! Reference agents of the introductory bandits (`references`). The analysis
//! compares two networks, one per training variant (`independent`,
//! `correlated`); a reference agent plays both slots, the same agent in both or
//! one suited to each family:
//! - the Bayes-optimal policies of `baselines`, the independent-prior one in the
//!   independent slot and the correlated-prior one in the correlated slot: the
//!   ground truth of "tuned to the structure of the family it was trained on";
//! - Thompson sampling in both slots (a good learner, blind to the family);
//! - a fixed-α delta rule in both slots;
//! - a random chooser, and the untrained network, in both slots.
//!
//! Each records its two arms' expected rewards (Beta(1, 1) posterior means for
//! the count-based policies, the delta rule's values) as its value and state.
//! There are no checkpoints, so the analysis runs with
//! `analysis.replay_networks = false` (the greedy readout and the PCA are
//! undefined; no check uses them).

use super::baselines::{BanditPolicy, BayesCorrelated, BayesIndependent, Counts, Thompson};
use crate::config::Config;
use crate::references::{
    Agent, BanditLearner, DeltaRule, Expectation, OnChoices, RandomBandit, Reference,
};
use crate::tasks::{TaskConfig, TaskRng};
use anyhow::{bail, Result};
use std::sync::Arc;

/// A count-based policy of `baselines`, stepped like the network.
pub struct CountPolicy {
    pub policy: Arc<dyn BanditPolicy + Send>,
    pub horizon: usize,
    counts: Counts,
}

impl CountPolicy {
    pub fn new(policy: Arc<dyn BanditPolicy + Send>, horizon: usize) -> Self {
        CountPolicy {
            policy,
            horizon,
            counts: Counts::default(),
        }
    }
}

impl BanditLearner for CountPolicy {
    fn units(&self) -> usize {
        2
    }
    fn reset(&mut self) {
        self.counts = Counts::default();
    }
    fn policy(&mut self, trial: usize, rng: &mut TaskRng) -> [f64; 2] {
        let a = self.policy.choose(&self.counts, trial, self.horizon, rng);
        let mut p = [0.0; 2];
        p[a] = 1.0;
        p
    }
    fn values(&self) -> [f64; 2] {
        let c = &self.counts;
        [0, 1].map(|a| (1.0 + c.successes[a] as f64) / (2.0 + c.pulls(a) as f64))
    }
    fn learn(&mut self, arm: usize, reward: f64) {
        self.counts.record(arm, reward > 0.5);
    }
    fn state(&self, units: &mut [f64]) {
        units.copy_from_slice(&self.values());
    }
}

fn horizon(cfg: &Config) -> Result<usize> {
    match &cfg.task {
        TaskConfig::BernoulliBandit(t) => Ok(t.trials),
        other => bail!("not a Bernoulli bandit: {}", other.kind()),
    }
}

fn on_choices<L: BanditLearner + 'static>(cfg: &Config, learner: L) -> Box<dyn Agent> {
    Box::new(OnChoices::new(learner, cfg.training.gamma))
}

// The checks of experiments/f1_bandits.toml.
const BEATS_UCB1: &str = "independent bandits: network regret <= UCB1";
const NEAR_GITTINS: &str = "independent bandits: network regret <= 1.25 x Gittins";
const STRUCTURE: &str = "0.25/0.75: correlated-trained network beats independent-trained";
const LATER_60_40: &str = "correlated-trained network reaches the better arm later on 0.6/0.4";

const WHY_LATER: &str = "any learner, blind to the family, reaches the better arm later on the harder problem 0.6/0.4 than on 0.25/0.75: the check shows no structure learning";

/// The reference agents and what each gets on every check of experiments/f1_bandits.toml.
pub fn references(cfg: &Config) -> Result<Vec<Reference>> {
    let learner = || {
        vec![
            Expectation::pass(BEATS_UCB1),
            Expectation::fail(NEAR_GITTINS),
            Expectation::fail(STRUCTURE),
            Expectation::passes_anyway(LATER_60_40, WHY_LATER),
        ]
    };
    let none = || {
        [BEATS_UCB1, NEAR_GITTINS, STRUCTURE, LATER_60_40]
            .map(Expectation::fail)
            .to_vec()
    };
    let trials = horizon(cfg)?;
    let bayes: [Arc<dyn BanditPolicy + Send>; 2] = [
        Arc::new(BayesIndependent::new(trials)),
        Arc::new(BayesCorrelated::new(trials)),
    ];
    let no_replay = |r: Reference| r.with_override("analysis.replay_networks", false.into());
    Ok(vec![
        no_replay(Reference::agent(
            "bayes_optimal",
            "the exact Bayes-optimal policy of each family: independent prior in the independent-trained slot, correlated prior in the correlated-trained slot",
            move |cfg, slot| {
                let k = match slot.variant {
                    Some("independent") => 0,
                    Some("correlated") => 1,
                    other => bail!("no Bayes-optimal policy for the variant {other:?}"),
                };
                Ok(on_choices(cfg, CountPolicy::new(bayes[k].clone(), horizon(cfg)?)))
            },
            [BEATS_UCB1, NEAR_GITTINS, STRUCTURE, LATER_60_40].map(Expectation::pass).to_vec(),
        )),
        no_replay(Reference::agent(
            "thompson",
            "Thompson sampling (Beta(1, 1) priors) in both slots",
            |cfg, _| Ok(on_choices(cfg, CountPolicy::new(Arc::new(Thompson), horizon(cfg)?))),
            learner(),
        )),
        no_replay(Reference::agent(
            "delta_rule_a0.3_b10",
            "fixed-α delta rule on each arm's value (start 0.5), α 0.3, softmax β 10, in both slots",
            |cfg, _| Ok(on_choices(cfg, DeltaRule::new(0.3, 10.0, 0.5))),
            learner(),
        )),
        no_replay(Reference::agent(
            "random",
            "random chooser in both slots: 50/50, value 0",
            |cfg, _| Ok(on_choices(cfg, RandomBandit::new(2))),
            none(),
        )),
        no_replay(Reference::untrained_network(none())),
    ])
}
