//! What the Simulation 6 figure shows, as computed by the analysis and stored
//! in `outcomes.json` (so that `metarl figures DIR` needs no retraining).

use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// One manipulation against the control (one panel of the paper's Fig. 7b).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManipulationPanel {
    /// The test condition's name, e.g. "block_risky_win".
    pub condition: String,
    /// Panel title, e.g. "Block DA at risky win".
    pub label: String,
    /// The rats' direction (Stopper et al. 2014): +1 raises risky choice, −1 lowers it.
    pub rats_direction: f64,
    /// What the manipulation added to the RPE input at its events.
    pub add: f64,
    /// Risky choice (fraction of free choices) at p_high and p_low under the manipulation.
    pub risky_high: Estimate,
    pub risky_low: Estimate,
    /// Manipulation − control, paired over seeds: at p_high, at p_low, and their mean.
    pub effect_high: Estimate,
    pub effect_low: Estimate,
    pub effect: Estimate,
}

/// Risky choice in one block probability.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockPoint {
    pub p: f64,
    pub risky: Estimate,
}

/// Risky choice across every block probability in one test condition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionCurve {
    pub condition: String,
    pub points: Vec<BlockPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S6FigureData {
    pub title: String,
    pub n_seeds: usize,
    pub p_high: f64,
    pub p_low: f64,
    /// Control's risky choice at p_high and p_low, and their paired difference.
    pub control_high: Estimate,
    pub control_low: Estimate,
    pub control_high_minus_low: Estimate,
    /// The three manipulations, in panel order.
    pub panels: Vec<ManipulationPanel>,
    /// Every condition at every block probability (not drawn; for the record).
    pub curves: Vec<ConditionCurve>,
}
