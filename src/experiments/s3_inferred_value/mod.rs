//! Simulation 3: reward prediction errors reflect inferred values (paper Fig. 4;
//! Bromberg-Martin et al. 2010), on the cued-saccade reversal task
//! (`tasks::cued_reversal`).
//!
//! The RPE of a row of trials.parquet is δ_t = r_t + γ v_{t+1} − v_t, the error
//! of the transition out of step t. The RPE *at* an event of the trial is the
//! error of the transition into it: at the cue, δ of the fixation row (the value
//! jumps when the target appears); at the saccade (go signal), δ of the cue row;
//! at the outcome, δ of the saccade row (it holds the reward); at fixation, δ of
//! the previous trial's last row.
//!
//! Analyses, on the test condition `analysis.test_condition` (every seed; every
//! row if the experiment declares no `[[evaluation.conditions]]`):
//! (a) RPE at each event in four conditions, from the task's `reversal_role`
//!     latent: the last trial before a reversal; the first trial after it; the
//!     next trial when its cue is the one shown on the first trial (its change
//!     was experienced); the next trial when its cue is the other one (its new
//!     value can only be inferred). Each split by the task's `became_rewarded`
//!     latent (whether the cued side pays after the reversal). Only correct,
//!     non-correction trials are averaged (the task marks the next trial after an
//!     error on the first trial separately, so "experienced" always means seen).
//!     Per seed the mean over trials, then the mean and 95% CI over seeds.
//! (b) The inferred-value effect: cue-step RPE (became rewarded − became
//!     unrewarded) of the inferred cue, of the experienced cue, and their ratio
//!     per seed.
//! (c) Behaviour: the share of correct saccades; reward per trial; following the
//!     reversal: at k = 0, 1, ... trials since a reversal, the share of trials
//!     whose cue RPE has the sign of the cue's current value (+ if the cued side
//!     pays), and the smallest k at which it reaches `analysis.follow_threshold`.
//! (d) A linear decoder (ridge regression on the 48 units, held-out predictions
//!     by `decoder_folds`-fold cross-validation with folds by episode, threshold
//!     0.5) of the paying side from the state at the fixation step (after the
//!     previous trial's outcome, before the cue); accuracy on trials other than
//!     the first after a reversal, and on those first trials.
//!
//! On the PCA condition `analysis.pca_condition` (one network; without
//! `[[evaluation.conditions]]`, the first seed's test episodes): PCA of the LSTM
//! state at each step type over every trial of its episodes; the reversal trials
//! and the trials after them are projected on PC1–PC2 and coloured by the paying
//! side (paper Fig. 4c).

pub mod figure;
pub mod figure_data;
pub mod reference_agents;

use super::{
    metric_description, normalize_settings, require_hidden, settings, wrong_task, Experiment,
    Outcomes,
};
use crate::config::Config;
use crate::record::{col_f64, col_str, col_u64, read_parquet};
use crate::stats::{self, bootstrap_mean, Estimate, Pca};
use crate::tasks::cued_reversal::{role, STEP_NAMES};
use crate::tasks::TaskConfig;
use crate::validate;
use anyhow::{bail, Context, Result};
use figure_data::*;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[analysis]` keys of Simulation 3 (besides the common `bootstrap`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// The `[[evaluation.conditions]]` name analysed for the RPEs, behaviour and decoder (every seed).
    #[serde(default = "default_test")]
    pub test_condition: String,
    /// The `[[evaluation.conditions]]` name of the PCA (one network, many episodes).
    #[serde(default = "default_pca")]
    pub pca_condition: String,
    /// The "following the reversal" curve covers trials 0..=this after a reversal.
    #[serde(default = "default_follow_trials")]
    pub follow_trials: usize,
    /// Share of cue RPEs with the sign of the cue's new value at which the network follows a reversal.
    #[serde(default = "default_follow_threshold")]
    pub follow_threshold: f64,
    /// Folds of the decoder's cross-validation (folds by test episode).
    #[serde(default = "default_folds")]
    pub decoder_folds: usize,
    /// Ridge penalty of the linear decoder.
    #[serde(default = "default_ridge")]
    pub decoder_ridge: f64,
}

fn default_test() -> String {
    "test".into()
}
fn default_pca() -> String {
    "pca".into()
}
fn default_follow_trials() -> usize {
    5
}
fn default_follow_threshold() -> f64 {
    0.9
}
fn default_folds() -> usize {
    5
}
fn default_ridge() -> f64 {
    1.0
}

impl Analysis {
    fn validate(&self, cfg: &Config) -> Result<()> {
        validate::prob("analysis.follow_threshold", self.follow_threshold)?;
        validate::range(
            "analysis.decoder_folds",
            self.decoder_folds as f64,
            2.0,
            1000.0,
            "between 2 and 1000",
        )?;
        validate::range(
            "analysis.decoder_ridge",
            self.decoder_ridge,
            0.0,
            1e9,
            ">= 0",
        )?;
        let names: Vec<&str> = cfg
            .evaluation
            .conditions
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if !names.is_empty() {
            for (key, name) in [
                ("analysis.test_condition", &self.test_condition),
                ("analysis.pca_condition", &self.pca_condition),
            ] {
                if !names.contains(&name.as_str()) {
                    bail!(
                        "key `{key}` = {name:?}: no such [[evaluation.conditions]] (declared: {})",
                        names.join(", ")
                    );
                }
            }
        }
        Ok(())
    }
}

/// `[figure]` keys of Simulation 3.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// Points drawn per (trial kind, paying side) in each PCA panel (evenly subsampled).
    #[serde(default = "default_pca_points")]
    pub pca_points: usize,
}

fn default_pca_points() -> usize {
    400
}

/// The registry entry of Simulation 3.
pub struct S3InferredValue;

fn check_task(cfg: &Config) -> Result<()> {
    match &cfg.task {
        TaskConfig::CuedReversal(_) => Ok(()),
        other => Err(wrong_task("s3_inferred_value", "cued_reversal", other)),
    }
}

impl Experiment for S3InferredValue {
    fn id(&self) -> &'static str {
        "s3_inferred_value"
    }
    fn metrics(&self) -> &'static [(&'static str, &'static str)] {
        &METRICS
    }
    fn normalize(&self, cfg: &mut Config) -> Result<()> {
        check_task(cfg)?;
        let an: Analysis = normalize_settings(&mut cfg.analysis.settings, "analysis")?;
        an.validate(cfg)?;
        let _: Figure = normalize_settings(&mut cfg.figure, "figure")?;
        require_hidden(cfg, "s3_inferred_value")?;
        Ok(())
    }
    fn analyze(&self, cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
        analyze(cfg, run_dir)
    }
    fn render(&self, cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
        render(cfg, outcomes, fig_dir)
    }
    fn references(&self, _cfg: &Config) -> Result<Vec<crate::references::Reference>> {
        Ok(reference_agents::references())
    }
}

/// The four conditions of the RPE analysis: metric stem, figure label, `reversal_role`.
pub const CONDITIONS: [(&str, &str, i64); 4] = [
    ("before", "Last trial before reversal", role::BEFORE),
    ("first", "First trial after reversal", role::FIRST),
    (
        "experienced",
        "Next trial, experienced cue",
        role::EXPERIENCED,
    ),
    (
        "inferred",
        "Next trial, other cue (inferred)",
        role::INFERRED,
    ),
];

/// Events of a trial at which the RPE is reported (the RPE of the transition into each).
pub const EVENTS: [&str; 4] = ["fixation", "cue", "saccade", "outcome"];
const CUE_EVENT: usize = 1;
const OUTCOME_EVENT: usize = 3;

/// Every metric this analysis writes to outcomes.json, with what it is.
pub const METRICS: [(&str, &str); 23] = [
    ("cue_rpe_before_rewarded", "cue-step RPE on the last trial before a reversal, cue that becomes rewarded at it"),
    ("cue_rpe_before_unrewarded", "the same, cue that becomes unrewarded"),
    ("cue_rpe_first_rewarded", "cue-step RPE on the first trial after a reversal, cue that became rewarded"),
    ("cue_rpe_first_unrewarded", "the same, cue that became unrewarded"),
    ("outcome_rpe_first_rewarded", "outcome RPE on the first trial after a reversal, cue that became rewarded"),
    ("outcome_rpe_first_unrewarded", "the same, cue that became unrewarded"),
    ("cue_rpe_experienced_rewarded", "cue-step RPE on the next trial, cue of the first trial (its change experienced), became rewarded"),
    ("cue_rpe_experienced_unrewarded", "the same, became unrewarded"),
    ("cue_rpe_inferred_rewarded", "cue-step RPE on the next trial, the other cue (its change only inferable), became rewarded"),
    ("cue_rpe_inferred_unrewarded", "the same, became unrewarded"),
    ("experienced_effect", "cue-step RPE, became rewarded − became unrewarded, experienced cue"),
    ("inferred_effect", "cue-step RPE, became rewarded − became unrewarded, inferred cue"),
    ("inferred_to_experienced_ratio", "inferred_effect / experienced_effect, per seed"),
    ("correct_saccades", "share of saccades to the cued side"),
    ("reward_per_trial", "test reward per trial (a correct saccade pays on half the trials: 0.5)"),
    ("trials_to_follow", "trials after a reversal before ≥ follow_threshold of cue RPEs have the sign of the cue's new value"),
    ("rpe_sign_first", "share of cue RPEs with the sign of the cue's new value on the first trial after a reversal"),
    ("rpe_sign_next", "the same on the next trial (experienced and inferred cues together)"),
    ("decoder_accuracy", "held-out accuracy of a linear decoder of the paying side from the fixation-step state, trials other than the first after a reversal"),
    ("decoder_accuracy_first", "the same decoder's accuracy on the first trial after a reversal (the new paying side is not yet knowable)"),
    ("n_experienced_trials", "next trials with the experienced cue analysed, per seed"),
    ("n_inferred_trials", "next trials with the other (inferred) cue analysed, per seed"),
    ("n_reversals", "reversals in the test episodes, per seed"),
];

/// One trial of the test, from its rows.
#[derive(Debug, Clone)]
pub struct Trial {
    pub seed: u64,
    pub episode: u32,
    pub trial: u32,
    /// δ of the fixation, cue, saccade and outcome rows (NaN where the row is
    /// missing: an error trial has no outcome row).
    pub row_rpe: [f64; 4],
    /// δ of the previous trial's last row (the RPE at this trial's fixation); NaN on trial 0.
    pub rpe_before: f64,
    pub cue_side: u8,
    pub paying_side: u8,
    pub cue_pays: bool,
    pub block: u32,
    pub since_reversal: u32,
    pub correction: bool,
    pub correct: bool,
    pub role: i64,
    pub became_rewarded: i64,
    pub reward: f64,
    /// Row index (in the table) of the fixation step.
    pub fixation_row: usize,
}

impl Trial {
    /// The RPE at each event: fixation, cue, saccade, outcome.
    pub fn event_rpe(&self) -> [f64; 4] {
        [
            self.rpe_before,
            self.row_rpe[0],
            self.row_rpe[1],
            self.row_rpe[2],
        ]
    }
}

/// The rows of `df` whose `condition` equals `name` (every row if the table has
/// no condition column).
pub fn condition_rows(df: &DataFrame, name: &str) -> Result<Vec<bool>> {
    if df.column("condition").is_err() {
        return Ok(vec![true; df.height()]);
    }
    Ok(col_str(df, "condition")?
        .into_iter()
        .map(|c| c == name)
        .collect())
}

/// The trials of the rows selected by `keep`, sorted by (seed, episode, trial).
pub fn load_trials(df: &DataFrame, keep: &[bool]) -> Result<Vec<Trial>> {
    let seed = col_u64(df, "seed")?;
    let ep = col_u64(df, "episode")?;
    let step = col_u64(df, "step")?;
    let tr = col_u64(df, "trial")?;
    let sit = col_u64(df, "step_in_trial")?;
    let reward = col_f64(df, "reward")?;
    let rpe = col_f64(df, "rpe")?;
    let int = |name: &str| -> Result<Vec<i64>> {
        Ok(col_f64(df, name)?.into_iter().map(|v| v as i64).collect())
    };
    let (cue, paying, cue_pays) = (int("cue_side")?, int("paying_side")?, int("cue_pays")?);
    let (block, since) = (int("block")?, int("trials_since_reversal")?);
    let (correction, correct) = (int("correction")?, int("correct")?);
    let (rrole, became) = (int("reversal_role")?, int("became_rewarded")?);
    let mut order: Vec<usize> = (0..seed.len()).filter(|&i| keep[i]).collect();
    order.sort_by_key(|&i| (seed[i], ep[i], step[i]));
    let mut trials: Vec<Trial> = vec![];
    let mut last_rpe = f64::NAN;
    for &i in &order {
        if sit[i] > 3 {
            bail!(
                "trials.parquet has step_in_trial = {}: not a cued_reversal table",
                sit[i]
            );
        }
        let same_trial = trials.last().is_some_and(|t| {
            t.seed == seed[i] && t.episode == ep[i] as u32 && t.trial == tr[i] as u32
        });
        if sit[i] == 0 {
            let continues = trials
                .last()
                .is_some_and(|t| t.seed == seed[i] && t.episode == ep[i] as u32);
            trials.push(Trial {
                seed: seed[i],
                episode: ep[i] as u32,
                trial: tr[i] as u32,
                row_rpe: [f64::NAN; 4],
                rpe_before: if continues { last_rpe } else { f64::NAN },
                cue_side: cue[i] as u8,
                paying_side: paying[i] as u8,
                cue_pays: cue_pays[i] == 1,
                block: block[i] as u32,
                since_reversal: since[i] as u32,
                correction: correction[i] == 1,
                correct: false,
                role: rrole[i],
                became_rewarded: became[i],
                reward: 0.0,
                fixation_row: i,
            });
        } else if !same_trial {
            bail!(
                "trials.parquet: seed {} episode {} trial {} has no fixation row",
                seed[i],
                ep[i],
                tr[i]
            );
        }
        let t = trials.last_mut().expect("a trial was started");
        t.row_rpe[sit[i] as usize] = rpe[i];
        t.reward += reward[i];
        if sit[i] == 2 {
            t.correct = correct[i] == 1;
        }
        last_rpe = rpe[i];
    }
    Ok(trials)
}

/// Mean RPE at each event, [became rewarded, became unrewarded][event], and
/// the trial counts [became rewarded, became unrewarded].
pub type ConditionRpe = ([[f64; 4]; 2], [usize; 2]);

/// Mean event RPEs of one seed's trials in one condition, split by became
/// rewarded (index 0) / unrewarded (index 1), and the trial counts.
pub fn condition_rpe(trials: &[Trial], role: i64) -> ConditionRpe {
    let mut sum = [[0.0; 4]; 2];
    let mut n = [0usize; 2];
    for t in trials
        .iter()
        .filter(|t| t.role == role && t.correct && !t.correction)
    {
        let k = if t.became_rewarded == 1 { 0 } else { 1 };
        n[k] += 1;
        for (s, v) in sum[k].iter_mut().zip(t.event_rpe()) {
            *s += v;
        }
    }
    let mut mean = [[f64::NAN; 4]; 2];
    for k in 0..2 {
        if n[k] > 0 {
            for e in 0..4 {
                mean[k][e] = sum[k][e] / n[k] as f64;
            }
        }
    }
    (mean, n)
}

/// Share of correct, non-correction trials in blocks after a reversal, at each
/// k = 0..=max trials since it, whose cue RPE has the sign of the cue's current value.
pub fn rpe_sign_by_trial(trials: &[Trial], max: usize) -> Vec<f64> {
    let mut hits = vec![0.0; max + 1];
    let mut n = vec![0.0; max + 1];
    for t in trials
        .iter()
        .filter(|t| t.block > 0 && t.correct && !t.correction && (t.since_reversal as usize) <= max)
    {
        let k = t.since_reversal as usize;
        let cue_rpe = t.row_rpe[0];
        n[k] += 1.0;
        hits[k] += ((cue_rpe > 0.0) == t.cue_pays) as u8 as f64;
    }
    hits.iter().zip(&n).map(|(h, n)| h / n).collect()
}

/// The smallest k whose share reaches `threshold` (the curve's length if none does).
pub fn trials_to_follow(curve: &[f64], threshold: f64) -> f64 {
    curve
        .iter()
        .position(|&s| s >= threshold)
        .unwrap_or(curve.len()) as f64
}

/// The hidden state h_0.. of the given rows, row-major, and the number of units.
pub fn hidden_rows(df: &DataFrame, rows: &[usize]) -> Result<(Vec<f64>, usize)> {
    let mut units = 0;
    while df.column(&format!("h_{units}")).is_ok() {
        units += 1;
    }
    if units == 0 {
        bail!("trials.parquet has no hidden-state columns h_0..: set evaluation.record_hidden = true and re-run");
    }
    let mut x = vec![0.0; rows.len() * units];
    for u in 0..units {
        let h = col_f64(df, &format!("h_{u}"))?;
        for (r, &i) in rows.iter().enumerate() {
            x[r * units + u] = h[i];
        }
    }
    Ok((x, units))
}

/// Held-out decoder of the paying side from the fixation-step states `x`
/// (row-major, `units` columns, one row per trial of `trials`, one seed): ridge
/// regression on the units, folds by episode; the decoded side is "right" if the
/// prediction exceeds 0.5. Returns, per trial, whether the decoded side is right.
pub fn decode_paying_side(
    x: &[f64],
    units: usize,
    trials: &[Trial],
    folds: usize,
    ridge: f64,
) -> Result<Vec<bool>> {
    let y: Vec<f64> = trials.iter().map(|t| t.paying_side as f64).collect();
    let groups: Vec<u64> = trials.iter().map(|t| t.episode as u64).collect();
    let pred = stats::cross_validated_ridge(x, &y, units, &groups, folds, ridge)?;
    Ok(pred
        .iter()
        .zip(&y)
        .map(|(p, y)| ((*p > 0.5) as u8 as f64) == *y)
        .collect())
}

fn share(hits: impl Iterator<Item = bool>) -> f64 {
    let (mut h, mut n) = (0.0, 0.0);
    for x in hits {
        h += x as u8 as f64;
        n += 1.0;
    }
    h / n
}

/// Keep at most `k` items, evenly spaced.
fn thin<T: Clone>(items: &[T], k: usize) -> Vec<T> {
    if items.len() <= k {
        return items.to_vec();
    }
    (0..k).map(|i| items[i * items.len() / k].clone()).collect()
}

/// PCA panels of one network: per step type, PCA over every trial of the
/// condition's episodes; the reversal trials and the trials after them projected.
fn pca_panels(df: &DataFrame, keep: &[bool], per_group: usize) -> Result<Vec<PcaPanel>> {
    let sit = col_u64(df, "step_in_trial")?;
    let rrole = col_f64(df, "reversal_role")?;
    let paying = col_u64(df, "paying_side")?;
    let mut panels = vec![];
    for (s, name) in STEP_NAMES.iter().enumerate() {
        let rows: Vec<usize> = (0..sit.len())
            .filter(|&i| keep[i] && sit[i] == s as u64)
            .collect();
        let (x, units) = hidden_rows(df, &rows)?;
        let pca = Pca::fit(&x, units, 2).with_context(|| format!("PCA at the {name} step"))?;
        let mut groups: [Vec<PcaPoint>; 4] = Default::default();
        for (r, &i) in rows.iter().enumerate() {
            let role = rrole[i] as i64;
            let next = match role {
                role::FIRST => false,
                role::EXPERIENCED | role::INFERRED => true,
                _ => continue,
            };
            let p = pca.project(&x[r * units..(r + 1) * units]);
            groups[2 * next as usize + paying[i] as usize].push(PcaPoint {
                pc1: p[0],
                pc2: p[1],
                paying_side: paying[i] as u8,
                next_trial: next,
            });
        }
        panels.push(PcaPanel {
            step: name.to_string(),
            explained: pca.explained.clone(),
            points: groups.iter().flat_map(|g| thin(g, per_group)).collect(),
        });
    }
    Ok(panels)
}

pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    check_task(cfg)?;
    let an: Analysis = settings(&cfg.analysis.settings, "analysis")?;
    an.validate(cfg)?;
    let fig: Figure = settings(&cfg.figure, "figure")?;
    let bootstrap = cfg.analysis.bootstrap;
    let df = read_parquet(&run_dir.join("trials.parquet"))?;
    let test_rows = condition_rows(&df, &an.test_condition)?;
    let all = load_trials(&df, &test_rows)?;
    if all.is_empty() {
        bail!(
            "trials.parquet has no rows of the test condition {:?}",
            an.test_condition
        );
    }
    let mut seeds: Vec<u64> = all.iter().map(|t| t.seed).collect();
    seeds.dedup();
    let boot = |v: &[f64], i: u64| bootstrap_mean(v, bootstrap, 3000 + i);
    let fixation_rows: Vec<usize> = all.iter().map(|t| t.fixation_row).collect();
    let (fixation_h, units) = hidden_rows(&df, &fixation_rows)?;

    // Per seed: [condition][became rewarded / unrewarded][event] and counts.
    let mut rpe: Vec<Vec<ConditionRpe>> = vec![];
    let mut correct = vec![];
    let mut reward = vec![];
    let mut sign_curve = vec![];
    let mut decoder_curve = vec![];
    let mut decoder = vec![];
    let mut decoder_first = vec![];
    let mut reversals = vec![];
    for &seed in &seeds {
        let lo = all.partition_point(|t| t.seed < seed);
        let hi = all.partition_point(|t| t.seed <= seed);
        let trials = &all[lo..hi];
        rpe.push(
            CONDITIONS
                .iter()
                .map(|c| condition_rpe(trials, c.2))
                .collect(),
        );
        correct.push(share(trials.iter().map(|t| t.correct)));
        reward.push(trials.iter().map(|t| t.reward).sum::<f64>() / trials.len() as f64);
        sign_curve.push(rpe_sign_by_trial(trials, an.follow_trials));
        reversals.push(trials.iter().filter(|t| t.role == role::FIRST).count() as f64);
        let hits = decode_paying_side(
            &fixation_h[lo * units..hi * units],
            units,
            trials,
            an.decoder_folds,
            an.decoder_ridge,
        )
        .with_context(|| format!("seed {seed}: decoder"))?;
        let pairs = || trials.iter().zip(&hits);
        decoder.push(share(
            pairs().filter(|(t, _)| t.role != role::FIRST).map(|p| *p.1),
        ));
        decoder_first.push(share(
            pairs().filter(|(t, _)| t.role == role::FIRST).map(|p| *p.1),
        ));
        decoder_curve.push(
            (0..=an.follow_trials)
                .map(|k| {
                    share(
                        pairs()
                            .filter(|(t, _)| t.block > 0 && t.since_reversal as usize == k)
                            .map(|p| *p.1),
                    )
                })
                .collect::<Vec<f64>>(),
        );
    }

    let mut out = Outcomes::new(cfg, seeds.clone());
    let add = |out: &mut Outcomes, name: &str, v: Vec<f64>, i: u64| -> Estimate {
        let e = boot(&v, i);
        out.add(name, metric_description(&METRICS, name), e.clone());
        e
    };
    let pick =
        |c: usize, k: usize, e: usize| -> Vec<f64> { rpe.iter().map(|s| s[c].0[k][e]).collect() };
    let mut panels = vec![];
    for (c, (stem, label, _)) in CONDITIONS.iter().enumerate() {
        for (k, became) in ["rewarded", "unrewarded"].iter().enumerate() {
            add(
                &mut out,
                &format!("cue_rpe_{stem}_{became}"),
                pick(c, k, CUE_EVENT),
                (10 * c + k) as u64,
            );
            if *stem == "first" {
                add(
                    &mut out,
                    &format!("outcome_rpe_first_{became}"),
                    pick(c, k, OUTCOME_EVENT),
                    (50 + k) as u64,
                );
            }
        }
        let series = |k: usize| -> Vec<Estimate> {
            (0..EVENTS.len())
                .map(|e| boot(&pick(c, k, e), (100 + 10 * c + 4 * k + e) as u64))
                .collect()
        };
        panels.push(RpePanel {
            label: label.to_string(),
            rewarded: series(0),
            unrewarded: series(1),
            n_rewarded: rpe.iter().map(|s| s[c].1[0]).collect(),
            n_unrewarded: rpe.iter().map(|s| s[c].1[1]).collect(),
        });
    }
    let effect = |c: usize| -> Vec<f64> {
        rpe.iter()
            .map(|s| s[c].0[0][CUE_EVENT] - s[c].0[1][CUE_EVENT])
            .collect()
    };
    let (exp, inf) = (effect(2), effect(3));
    let experienced_effect = add(&mut out, "experienced_effect", exp.clone(), 60);
    let inferred_effect = add(&mut out, "inferred_effect", inf.clone(), 61);
    let ratio = add(
        &mut out,
        "inferred_to_experienced_ratio",
        inf.iter().zip(&exp).map(|(i, e)| i / e).collect(),
        62,
    );
    add(&mut out, "correct_saccades", correct, 63);
    add(&mut out, "reward_per_trial", reward, 64);
    add(
        &mut out,
        "trials_to_follow",
        sign_curve
            .iter()
            .map(|c| trials_to_follow(c, an.follow_threshold))
            .collect(),
        65,
    );
    add(
        &mut out,
        "rpe_sign_first",
        sign_curve.iter().map(|c| c[0]).collect(),
        66,
    );
    let next_sign: Vec<f64> = sign_curve
        .iter()
        .map(|c| c.get(1).copied().unwrap_or(f64::NAN))
        .collect();
    add(&mut out, "rpe_sign_next", next_sign, 67);
    let decoder_accuracy = add(&mut out, "decoder_accuracy", decoder, 68);
    add(&mut out, "decoder_accuracy_first", decoder_first, 69);
    let count =
        |c: usize| -> Vec<f64> { rpe.iter().map(|s| (s[c].1[0] + s[c].1[1]) as f64).collect() };
    add(&mut out, "n_experienced_trials", count(2), 70);
    add(&mut out, "n_inferred_trials", count(3), 71);
    add(&mut out, "n_reversals", reversals, 72);
    let by_k = |curves: &[Vec<f64>], base: u64| -> Vec<Estimate> {
        (0..=an.follow_trials)
            .map(|k| {
                boot(
                    &curves.iter().map(|c| c[k]).collect::<Vec<f64>>(),
                    base + k as u64,
                )
            })
            .collect()
    };

    // PCA of one network: the PCA condition's rows (without conditions, the first seed's).
    let mut pca_rows = condition_rows(&df, &an.pca_condition)?;
    if df.column("condition").is_err() {
        let seed = col_u64(&df, "seed")?;
        for (k, s) in pca_rows.iter_mut().zip(&seed) {
            *k = *s == seeds[0];
        }
    }
    let pca_trials = load_trials(&df, &pca_rows)?;
    // No rows: the network the PCA condition tests (the run's first seed) failed
    // in training (the condition is validated to exist); the figure then has no
    // PCA row.
    let (pca_seed, pca_episodes, pca_decoder_accuracy, pca) = match pca_trials.first() {
        None => (0, 0, 0.0, vec![]),
        Some(first) => {
            let pca_seed = first.seed;
            if pca_trials.iter().any(|t| t.seed != pca_seed) {
                bail!(
                    "the PCA condition {:?} holds more than one seed: declare it with seeds = 1",
                    an.pca_condition
                );
            }
            let pca_episodes = pca_trials.iter().map(|t| t.episode).max().unwrap_or(0) as usize + 1;
            let rows: Vec<usize> = pca_trials.iter().map(|t| t.fixation_row).collect();
            let (x, units) = hidden_rows(&df, &rows)?;
            let pca_hits =
                decode_paying_side(&x, units, &pca_trials, an.decoder_folds, an.decoder_ridge)?;
            drop(x);
            let pca_decoder_accuracy = share(
                pca_trials
                    .iter()
                    .zip(&pca_hits)
                    .filter(|(t, _)| t.role != role::FIRST)
                    .map(|p| *p.1),
            );
            let pca = pca_panels(&df, &pca_rows, fig.pca_points)?;
            (pca_seed, pca_episodes, pca_decoder_accuracy, pca)
        }
    };

    let data = S3FigureData {
        title: cfg.experiment.title.clone(),
        n_seeds: seeds.len(),
        events: EVENTS.iter().map(|s| s.to_string()).collect(),
        rpe: panels,
        experienced_effect,
        inferred_effect,
        ratio,
        follow_rpe_sign: by_k(&sign_curve, 200),
        follow_decoder: by_k(&decoder_curve, 300),
        decoder_accuracy,
        pca_seed,
        pca_episodes,
        pca_decoder_accuracy,
        pca,
    };
    out.figure = serde_json::to_value(&data)?;
    Ok(out)
}

pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    let data: S3FigureData = serde_json::from_value(outcomes.figure.clone())
        .context("outcomes.json has no Simulation 3 figure data (re-run `metarl analyze`)")?;
    let stem = fig_dir.join(&cfg.experiment.name);
    figure::render(&data, &stem)?;
    Ok(vec![stem])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of one episode: trial 0 correct (four rows), trial 1 an error
    /// (three rows, no outcome), trial 2 a correction trial; the rows are given
    /// out of order. Each row's δ is 10·trial + step, so the event mapping can be read off.
    fn table() -> DataFrame {
        let rows: Vec<(u32, u32)> = vec![
            (2, 3),
            (0, 0),
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 1),
            (2, 2),
        ];
        let step_of = |t: u32, s: u32| if t == 0 { s } else { 4 + 3 * (t - 1) + s };
        let n = rows.len();
        let col_u32 = |f: &dyn Fn(u32, u32) -> u32| -> Vec<u32> {
            rows.iter().map(|&(t, s)| f(t, s)).collect()
        };
        let col_i64 = |f: &dyn Fn(u32, u32) -> i64| -> Vec<i64> {
            rows.iter().map(|&(t, s)| f(t, s)).collect()
        };
        let mut cols = vec![
            Column::new("seed".into(), vec![7u64; n]),
            Column::new("condition".into(), vec!["test"; n]),
            Column::new("episode".into(), vec![0u32; n]),
            Column::new("step".into(), col_u32(&|t, s| step_of(t, s))),
            Column::new("trial".into(), col_u32(&|t, _| t)),
            Column::new("step_in_trial".into(), col_u32(&|_, s| s)),
            Column::new(
                "reward".into(),
                rows.iter()
                    .map(|&(t, s)| if t == 0 && s == 2 { 1.0f32 } else { 0.0 })
                    .collect::<Vec<f32>>(),
            ),
            Column::new(
                "rpe".into(),
                rows.iter()
                    .map(|&(t, s)| (10 * t + s) as f32)
                    .collect::<Vec<f32>>(),
            ),
            Column::new("cue_side".into(), col_i64(&|t, _| (t > 0) as i64)),
            Column::new("paying_side".into(), vec![0i64; n]),
            Column::new("cue_pays".into(), col_i64(&|t, _| (t == 0) as i64)),
            Column::new("block".into(), vec![0i64; n]),
            Column::new("trials_since_reversal".into(), col_i64(&|t, _| t as i64)),
            Column::new("correction".into(), col_i64(&|t, _| (t == 2) as i64)),
            Column::new(
                "correct".into(),
                col_i64(&|t, s| if s < 2 { -1 } else { (t != 1) as i64 }),
            ),
            Column::new("reversal_role".into(), vec![0i64; n]),
            Column::new("became_rewarded".into(), vec![-1i64; n]),
        ];
        cols.push(Column::new(
            "h_0".into(),
            rows.iter()
                .map(|&(t, s)| (t * 4 + s) as f32)
                .collect::<Vec<f32>>(),
        ));
        DataFrame::new_infer_height(cols).unwrap()
    }

    #[test]
    fn trials_map_rows_to_events() {
        let df = table();
        let keep = condition_rows(&df, "test").unwrap();
        let trials = load_trials(&df, &keep).unwrap();
        assert_eq!(trials.len(), 3);
        let t0 = &trials[0];
        assert!(
            t0.rpe_before.is_nan(),
            "no RPE before the episode's first trial"
        );
        assert_eq!(t0.event_rpe()[1..], [0.0, 1.0, 2.0]);
        assert!(t0.correct && t0.reward == 1.0 && t0.cue_pays);
        // The error trial: its fixation RPE is trial 0's outcome row; no outcome row.
        let t1 = &trials[1];
        assert_eq!(t1.event_rpe(), [3.0, 10.0, 11.0, 12.0]);
        assert!(t1.row_rpe[3].is_nan() && !t1.correct);
        // After an error the last row of the previous trial is its saccade row.
        let t2 = &trials[2];
        assert_eq!(t2.rpe_before, 12.0);
        assert!(t2.correction && t2.correct);
        // The fixation rows' hidden state is read in trial order.
        let rows: Vec<usize> = trials.iter().map(|t| t.fixation_row).collect();
        let (x, units) = hidden_rows(&df, &rows).unwrap();
        assert_eq!((units, x), (1, vec![0.0, 4.0, 8.0]));
        assert!(condition_rows(&df, "pca").unwrap().iter().all(|k| !k));
    }

    #[test]
    fn following_the_reversal_is_the_first_trial_at_the_threshold() {
        assert_eq!(trials_to_follow(&[0.0, 0.95, 1.0], 0.9), 1.0);
        assert_eq!(trials_to_follow(&[0.0, 0.5, 0.92], 0.9), 2.0);
        assert_eq!(trials_to_follow(&[0.0, 0.5], 0.9), 2.0);
    }
}
