//! What the Simulation 3 figure shows, as computed by the analysis and stored
//! in `outcomes.json` (so that `metarl figures DIR` needs no retraining).

use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// The network's RPE at each event of the trial in one condition (paper Fig. 4b).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpePanel {
    /// "Before reversal", "First trial after reversal", ...
    pub label: String,
    /// RPE at each event (`S3FigureData::events`), over seeds, for trials whose cue
    /// became rewarded at the reversal and for those whose cue became unrewarded.
    pub rewarded: Vec<Estimate>,
    pub unrewarded: Vec<Estimate>,
    /// Trials averaged per seed (became rewarded, became unrewarded).
    pub n_rewarded: Vec<usize>,
    pub n_unrewarded: Vec<usize>,
}

/// One point of a PCA panel: a trial's LSTM state at one step type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PcaPoint {
    pub pc1: f64,
    pub pc2: f64,
    /// 0 = left pays, 1 = right pays.
    pub paying_side: u8,
    /// false = the first trial after a reversal, true = the trial after it.
    pub next_trial: bool,
}

/// PCA of the LSTM state at one step type (paper Fig. 4c).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PcaPanel {
    /// "fixation", "cue", "saccade" or "outcome".
    pub step: String,
    /// Share of the variance along PC1 and PC2 (over every trial of the episodes).
    pub explained: Vec<f64>,
    pub points: Vec<PcaPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S3FigureData {
    pub title: String,
    pub n_seeds: usize,
    /// The events of a trial at which the RPE is shown: fixation, cue, saccade, outcome.
    pub events: Vec<String>,
    /// Before reversal, first trial after, next trial with the experienced cue, with the other cue.
    pub rpe: Vec<RpePanel>,
    /// Cue-step RPE, became rewarded − became unrewarded, experienced and inferred cue.
    pub experienced_effect: Estimate,
    pub inferred_effect: Estimate,
    pub ratio: Estimate,
    /// By trials since the reversal (0, 1, ...): share of cue RPEs with the sign of
    /// the cue's current value, and the decoder's accuracy at fixation.
    pub follow_rpe_sign: Vec<Estimate>,
    pub follow_decoder: Vec<Estimate>,
    pub decoder_accuracy: Estimate,
    /// The network of the PCA panels, its test episodes and its decoder accuracy.
    pub pca_seed: u64,
    pub pca_episodes: usize,
    pub pca_decoder_accuracy: f64,
    pub pca: Vec<PcaPanel>,
}
