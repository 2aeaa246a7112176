//! What the Simulation 5 figure shows, as computed by the analysis and stored
//! in `outcomes.json` (so that `metarl figures DIR` needs no retraining).

use super::sheet::SampleSheet;
use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// Accuracy on trials 1..n of held-out problems at one training stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageCurve {
    /// Training episodes at this stage.
    pub episodes: usize,
    /// accuracy[k] is trial k+1, over seeds.
    pub accuracy: Vec<Estimate>,
}

/// Accuracy by trial at the final stage in one test (e.g. symbolic control).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub label: String,
    pub accuracy: Vec<Estimate>,
}

/// Mean reward per training episode, binned over training.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingCurve {
    pub label: String,
    /// Bin centres (training episodes).
    pub episodes: Vec<f64>,
    pub reward: Vec<Estimate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S5FigureData {
    pub title: String,
    pub n_seeds: usize,
    /// Fig. 6c: one curve per training stage (main variant, held-out images).
    pub stages: Vec<StageCurve>,
    /// Final stage: held-out images, training images, symbolic control.
    pub comparisons: Vec<Comparison>,
    pub training: Vec<TrainingCurve>,
    /// Seeds at maximal performance, and the criterion in words.
    pub maximal: Estimate,
    pub maximal_criterion: String,
    pub sheet: SampleSheet,
}
