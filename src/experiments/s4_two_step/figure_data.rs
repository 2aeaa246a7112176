//! What the Simulation 4 figure shows, as computed by the analysis and stored
//! in `outcomes.json` (so that `metarl figures DIR` needs no retraining).

use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// One bar of the stay-probability panel (paper Fig. 5b/c).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StayBar {
    /// "Rewarded, common", "Rewarded, uncommon", "Unrewarded, common", "Unrewarded, uncommon".
    pub label: String,
    /// Stay probability over seeds (mean, 95% CI, per-seed values).
    pub estimate: Estimate,
    /// The paper's approximate value read off its Fig. 5, if known.
    pub paper: Option<f64>,
}

/// Logistic-regression weights of one previous-trial type at lags 1..=L.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LagSeries {
    /// "Common, rewarded", "Uncommon, rewarded", "Common, unrewarded", "Uncommon, unrewarded".
    pub label: String,
    /// weights[k] is lag k+1, over seeds.
    pub weights: Vec<Estimate>,
}

/// Network RPE against the RPEs of a model-based and a model-free learner (paper Fig. 5e).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpeScatter {
    pub seed: u64,
    pub n_episodes: usize,
    /// One point per (stage-2 or reward) step.
    pub network: Vec<f64>,
    pub model_based: Vec<f64>,
    pub model_free: Vec<f64>,
    pub r2_model_based: f64,
    pub r2_model_free: f64,
    /// 0 = stage-2 step, 1 = reward step, per point.
    #[serde(default)]
    pub step: Vec<u8>,
    /// r² at the stage-2 step only (where the two learners differ).
    #[serde(default)]
    pub r2_stage2_model_based: f64,
    #[serde(default)]
    pub r2_stage2_model_free: f64,
}

/// r² of the network's RPE on the RPEs of learners fitted to its choices
/// (Daw et al. 2011), at one step of the trial.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DawStep {
    /// "stage-2 step" or "reward step".
    pub label: String,
    pub model_based: Estimate,
    pub model_free: Estimate,
    pub hybrid: Estimate,
}

/// The Daw-style RPE analysis (`daw`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DawPanel {
    pub steps: Vec<DawStep>,
    /// The fitted hybrid learner's model-based weight.
    pub hybrid_w: Estimate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S4FigureData {
    pub title: String,
    pub n_seeds: usize,
    pub model_based_index: Estimate,
    pub stay: Vec<StayBar>,
    pub lag_weights: Vec<LagSeries>,
    pub rpe: RpeScatter,
    /// Absent in outcomes.json written before the Daw-style analysis existed.
    #[serde(default)]
    pub daw: Option<DawPanel>,
}
