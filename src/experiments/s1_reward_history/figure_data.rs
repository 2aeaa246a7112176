//! What the Simulation 1 figure shows, as computed by the analysis and stored
//! in `outcomes.json` (so that `metarl figures DIR` needs no retraining).

use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// One test episode of the matching panel (paper Fig. 2d).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchingPoint {
    pub seed: u64,
    /// log2(rewards R / rewards L) over the episode.
    pub log_reward_ratio: f64,
    /// log2(choices R / choices L) over the episode.
    pub log_choice_ratio: f64,
    /// p0(L) lies in a band held out of training.
    pub heldout: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchingPanel {
    pub points: Vec<MatchingPoint>,
    /// Episodes left out because a choice or reward count was 0 (all seeds).
    pub skipped_episodes: usize,
    pub total_episodes: usize,
    /// Per-seed least-squares fits over all test episodes, over seeds.
    pub slope: Estimate,
    pub intercept: Estimate,
    pub correlation: Estimate,
    /// The same fits on the in-band and on the held-out episodes only.
    pub slope_inband: Estimate,
    pub slope_heldout: Estimate,
}

/// One factor of the unit-coding panel: mean |partial r| over units, real and
/// on trial-shuffled data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodingBar {
    pub label: String,
    pub real: Estimate,
    pub null: Estimate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S1FigureData {
    pub title: String,
    pub n_seeds: usize,
    pub matching: MatchingPanel,
    pub coding: Vec<CodingBar>,
    /// Logistic-regression weights at lags 1..=L, over seeds.
    pub reward_weights: Vec<Estimate>,
    pub choice_weights: Vec<Estimate>,
    /// The monkeys' lag-1 reward weight (Tsutsui et al. 2016: 1.25).
    pub reference_lag1_reward: Option<f64>,
}
