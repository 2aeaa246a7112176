//! What the Simulation 2 figure shows, as computed by the analysis and stored
//! in `outcomes.json` (so that `metarl figures DIR` needs no retraining).

use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// One test episode (panel b): per trial, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExampleEpisode {
    pub seed: u64,
    pub episode: u64,
    /// True reward probability of arm 0.
    pub p_arm0: Vec<f64>,
    /// The network's probability of choosing arm 0.
    pub policy_arm0: Vec<f64>,
    /// The arm chosen (0 or 1).
    pub choice: Vec<u8>,
    pub rewarded: Vec<bool>,
    /// The trial's block is volatile.
    pub volatile: Vec<bool>,
    /// Held-out output of the volatility decoder (1 = volatile, 0 = stable).
    pub decoded_volatility: Vec<f64>,
    /// Names of the episode's blocks in order ("Stable 1", ...).
    pub block_labels: Vec<String>,
}

/// α of one block label over seeds: the network's and the reference learners'.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlphaBlock {
    pub label: String,
    pub network: Estimate,
    /// The Bayesian volatility learner's.
    pub bayes: Estimate,
    /// The fixed-hazard Bayesian reversal learner's (no volatility inference).
    pub fixed_hazard: Estimate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S2FigureData {
    pub title: String,
    pub n_seeds: usize,
    pub example: ExampleEpisode,
    /// In the order of the first test condition's blocks.
    pub alpha_blocks: Vec<AlphaBlock>,
    pub alpha_difference: Estimate,
    pub bayes_alpha_difference: Estimate,
    pub fixed_hazard_alpha_difference: Estimate,
    pub unit_share: Estimate,
    pub unit_share_null: Estimate,
    pub paper_unit_share: Option<f64>,
    pub decoding_accuracy: Estimate,
    pub decoding_accuracy_null: Estimate,
    pub reward: Estimate,
    pub best_fixed_reward: Estimate,
    pub bayes_reward: Estimate,
    pub oracle_reward: Estimate,
}
