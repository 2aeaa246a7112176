//! What the introductory-bandits figure shows, as computed by the analysis
//! and stored in `outcomes.json` (so that `metarl figures DIR` needs no
//! retraining).

use crate::stats::{nan_as_null, Estimate};
use serde::{Deserialize, Serialize};

/// One agent's curve over trials: mean over seeds and 95% bootstrap band.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curve {
    /// Agent id, e.g. "network_independent", "gittins".
    pub agent: String,
    pub label: String,
    /// Value after trial t + 1 at index t.
    pub mean: Vec<f64>,
    pub ci_low: Vec<f64>,
    pub ci_high: Vec<f64>,
}

/// A panel of curves for one test condition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurvePanel {
    /// The condition's name ("independent", "correlated", "fixed_25_75", ...).
    pub condition: String,
    pub curves: Vec<Curve>,
    /// Per curve: the value at the last trial over seeds (with per-seed values);
    /// empty where not shown.
    pub final_estimates: Vec<Estimate>,
    /// Per curve: the mean ratio of its regret to the Bayes-optimal policy's.
    pub ratios: Vec<Option<f64>>,
}

/// Mean PCA trajectory of the episodes whose p_L falls in one bin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PcaTrajectory {
    pub p_left_low: f64,
    pub p_left_high: f64,
    pub episodes: usize,
    /// (PC1, PC2) after each trial, averaged over the bin's episodes.
    pub pc: Vec<[f64; 2]>,
}

/// PCA of one network's LSTM state on random correlated bandits (paper Fig. 1e–f).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PcaPanel {
    pub seed: u64,
    pub variant: String,
    /// Variance share of PC1 and PC2 (NaN, written as null, without the PCA).
    #[serde(with = "nan_as_null::pair")]
    pub explained: [f64; 2],
    /// |Pearson r| of PC1 at the last trial with p_L.
    #[serde(with = "nan_as_null")]
    pub abs_r: f64,
    /// Largest |replayed − recorded| policy probability over every replayed
    /// network (the replay reproduces the test).
    #[serde(with = "nan_as_null")]
    pub max_policy_difference: f64,
    pub trajectories: Vec<PcaTrajectory>,
    /// Per episode: [p_L, PC1, PC2] at the last trial.
    pub last_trial: Vec<[f64; 3]>,
}

/// A fixed test problem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixedProblem {
    pub condition: String,
    /// [p_L, p_R] as configured.
    pub p: [f64; 2],
    /// Whether the arms were swapped in a random half of the episodes.
    pub random_sides: bool,
}

/// The exact expected regret at the last trial of the Bayes-optimal policies
/// under their own priors (horizon · E max(p) − optimal value).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectedRegret {
    pub bayes_independent: f64,
    pub bayes_correlated: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct F1FigureData {
    pub title: String,
    pub n_seeds: usize,
    /// Test episodes per seed and condition.
    pub episodes: usize,
    pub trials: usize,
    pub gittins_discount: f64,
    pub better_arm_threshold: f64,
    /// The fixed problems.
    pub fixed_problems: Vec<FixedProblem>,
    pub expected_regret_under_prior: ExpectedRegret,
    /// Cumulative regret on random independent and correlated bandits.
    pub regret: Vec<CurvePanel>,
    /// P(better arm) by trial on the fixed problems.
    pub better: Vec<CurvePanel>,
    pub pca: PcaPanel,
}
