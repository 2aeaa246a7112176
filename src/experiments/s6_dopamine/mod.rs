//! Simulation 6: the two roles of dopamine (paper Fig. 7 and Supplementary
//! Fig. 9; Stopper et al. 2014), on the risky/safe lever task
//! (`tasks::risky_safe`) with the RPE-input agent (`agent.feedback = "rpe"`,
//! src/agent/critic.rs).
//!
//! The test runs four conditions on the same test episodes (same seeds, task
//! draws made at reset), weights frozen: `control` (no manipulation) and three
//! manipulations of the RPE input (`rpe_manipulation` of each condition):
//! `block_risky_win` (lower the RPE input after the risky lever paid),
//! `block_safe_win` (lower it after the safe lever paid) and
//! `stimulate_risky_loss` (raise it after the risky lever did not pay).
//!
//! Analyses, per seed and condition, over the free-choice trials: the fraction
//! of choices on the risky lever in each block probability p. Reported at the
//! two probabilities of the paper's Fig. 7b (`analysis.p_high`, `p_low`), and
//! as paired differences over seeds: control at p_high − at p_low, and each
//! manipulation − control at each p and averaged over the two ("effect").
//! The rats' directions (Stopper et al. 2014): blocking dopamine on risky wins
//! lowers risky choice; blocking it on safe wins raises it; stimulating it on
//! risky losses raises it.

pub mod figure;
pub mod figure_data;
pub mod reference_agents;

use super::{metric_description, normalize_settings, settings, wrong_task, Experiment, Outcomes};
use crate::config::{Config, Feedback};
use crate::record::{col_f64, col_str, col_u64, read_parquet};
use crate::stats::bootstrap_mean;
use crate::tasks::{risky_safe::RiskySafeConfig, TaskConfig};
use crate::validate;
use anyhow::{bail, Context, Result};
use figure_data::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[analysis]` keys of Simulation 6 (besides the common `bootstrap`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// The higher block probability compared (paper Fig. 7b: 0.5); one of `task.block_probs`.
    #[serde(default = "default_p_high")]
    pub p_high: f64,
    /// The lower block probability compared (paper Fig. 7b: 0.125); one of `task.block_probs`.
    #[serde(default = "default_p_low")]
    pub p_low: f64,
}

fn default_p_high() -> f64 {
    0.5
}
fn default_p_low() -> f64 {
    0.125
}

/// `[figure]` keys of Simulation 6.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {}

/// The test conditions the analysis needs (`[[evaluation.conditions]]` names):
/// the control, then the three manipulations in the figure's panel order, with
/// their label, the metric stem and the rats' direction (+1 raises risky choice).
pub const CONTROL: &str = "control";
pub const MANIPULATIONS: [(&str, &str, f64); 3] = [
    ("block_risky_win", "Block DA at risky win", -1.0),
    ("block_safe_win", "Block DA at safe win", 1.0),
    ("stimulate_risky_loss", "Stimulate DA at risky loss", 1.0),
];

/// The registry entry of Simulation 6.
pub struct S6Dopamine;

fn task_of(cfg: &Config) -> Result<&RiskySafeConfig> {
    match &cfg.task {
        TaskConfig::RiskySafe(t) => Ok(t),
        other => Err(wrong_task("s6_dopamine", "risky_safe", other)),
    }
}

impl Experiment for S6Dopamine {
    fn id(&self) -> &'static str {
        "s6_dopamine"
    }
    fn metrics(&self) -> &'static [(&'static str, &'static str)] {
        &METRICS
    }
    fn normalize(&self, cfg: &mut Config) -> Result<()> {
        let task = task_of(cfg)?.clone();
        let an: Analysis = normalize_settings(&mut cfg.analysis.settings, "analysis")?;
        let _: Figure = normalize_settings(&mut cfg.figure, "figure")?;
        for (key, p) in [("analysis.p_high", an.p_high), ("analysis.p_low", an.p_low)] {
            validate::prob(key, p)?;
            if !task.block_probs.contains(&p) {
                bail!(
                    "key `{key}` = {p}: not one of task.block_probs {:?}",
                    task.block_probs
                );
            }
        }
        // "none" is the no-RPE-input control: the manipulations then have no input to act on.
        if cfg.agent.feedback == Feedback::Reward {
            bail!(
                "the s6_dopamine analysis needs agent.feedback = \"rpe\" (its conditions \
                 manipulate the RPE input; or \"none\", the control without it), not \"{}\"",
                cfg.agent.feedback
            );
        }
        let conds = &cfg.evaluation.conditions;
        let find = |name: &str| conds.iter().find(|c| c.name == name);
        match find(CONTROL) {
            None => bail!(
                "the s6_dopamine analysis needs an [[evaluation.conditions]] named \"control\""
            ),
            Some(c) if c.rpe_manipulation.is_some() => {
                bail!("condition \"control\": must have no rpe_manipulation")
            }
            Some(_) => {}
        }
        for (name, _, _) in MANIPULATIONS {
            match find(name) {
                Some(c) if c.rpe_manipulation.is_some() => {}
                _ => bail!(
                    "the s6_dopamine analysis needs an [[evaluation.conditions]] named {name:?} \
                     with an rpe_manipulation"
                ),
            }
        }
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

/// Every metric this analysis writes to outcomes.json, with what it is.
/// "Risky" = fraction of free-choice trials on the risky lever.
pub const METRICS: [(&str, &str); 21] = [
    ("control_risky_high", "control: risky choice at p = analysis.p_high (0.5)"),
    ("control_risky_low", "control: risky choice at p = analysis.p_low (0.125)"),
    (
        "control_high_minus_low",
        "control: risky choice at p_high − at p_low (paired over seeds)",
    ),
    ("block_risky_win_risky_high", "block DA at risky wins: risky choice at p_high"),
    ("block_risky_win_risky_low", "block DA at risky wins: risky choice at p_low"),
    (
        "block_risky_win_effect_high",
        "block DA at risky wins − control, risky choice at p_high (paired)",
    ),
    (
        "block_risky_win_effect_low",
        "block DA at risky wins − control, risky choice at p_low (paired)",
    ),
    (
        "block_risky_win_effect",
        "block DA at risky wins − control, mean of the p_high and p_low differences (rats: < 0)",
    ),
    ("block_safe_win_risky_high", "block DA at safe wins: risky choice at p_high"),
    ("block_safe_win_risky_low", "block DA at safe wins: risky choice at p_low"),
    (
        "block_safe_win_effect_high",
        "block DA at safe wins − control, risky choice at p_high (paired)",
    ),
    (
        "block_safe_win_effect_low",
        "block DA at safe wins − control, risky choice at p_low (paired)",
    ),
    (
        "block_safe_win_effect",
        "block DA at safe wins − control, mean of the p_high and p_low differences (rats: > 0)",
    ),
    (
        "stimulate_risky_loss_risky_high",
        "stimulate DA at risky losses: risky choice at p_high",
    ),
    (
        "stimulate_risky_loss_risky_low",
        "stimulate DA at risky losses: risky choice at p_low",
    ),
    (
        "stimulate_risky_loss_effect_high",
        "stimulate DA at risky losses − control, risky choice at p_high (paired)",
    ),
    (
        "stimulate_risky_loss_effect_low",
        "stimulate DA at risky losses − control, risky choice at p_low (paired)",
    ),
    (
        "stimulate_risky_loss_effect",
        "stimulate DA at risky losses − control, mean of the p_high and p_low differences (rats: > 0)",
    ),
    (
        "control_reward_per_trial",
        "control: reward per trial over all trials (forced and free)",
    ),
    (
        "control_forced_compliance",
        "control: fraction of forced trials on the available lever",
    ),
    (
        "control_risky_first_block",
        "control: risky choice in the first block of the test order (p = task.block_probs[0] when as listed)",
    ),
];

/// Per (condition, seed): risky choices and free-choice trials per block
/// probability, and other counts.
#[derive(Debug, Default, Clone)]
struct Tally {
    /// block probability (as bits) → (risky choices, free-choice trials)
    by_prob: BTreeMap<u64, (f64, f64)>,
    /// (risky, free trials) in the episode's first block
    first_block: (f64, f64),
    reward: f64,
    trials: f64,
    forced_valid: f64,
    forced: f64,
}

impl Tally {
    fn risky(&self, p: f64) -> f64 {
        match self.by_prob.get(&p.to_bits()) {
            Some(&(r, n)) if n > 0.0 => r / n,
            _ => f64::NAN,
        }
    }
}

/// The trial table → tallies per (condition, seed).
fn tally(df: &polars::prelude::DataFrame) -> Result<BTreeMap<(String, u64), Tally>> {
    let condition = col_str(df, "condition")?;
    let seed = col_u64(df, "seed")?;
    let prob = col_f64(df, "block_prob")?;
    let block = col_u64(df, "block")?;
    let forced = col_u64(df, "forced")?;
    let risky = col_u64(df, "chose_risky")?;
    let valid = col_u64(df, "valid")?;
    let reward = col_f64(df, "reward")?;
    let mut out: BTreeMap<(String, u64), Tally> = BTreeMap::new();
    for i in 0..seed.len() {
        let t = out.entry((condition[i].clone(), seed[i])).or_default();
        t.reward += reward[i];
        t.trials += 1.0;
        if forced[i] == 1 {
            t.forced += 1.0;
            t.forced_valid += valid[i] as f64;
            continue;
        }
        let e = t.by_prob.entry(prob[i].to_bits()).or_default();
        e.0 += risky[i] as f64;
        e.1 += 1.0;
        if block[i] == 0 {
            t.first_block.0 += risky[i] as f64;
            t.first_block.1 += 1.0;
        }
    }
    Ok(out)
}

pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    let task = task_of(cfg)?;
    let an: Analysis = settings(&cfg.analysis.settings, "analysis")?;
    let bootstrap = cfg.analysis.bootstrap;
    let df = read_parquet(&run_dir.join("trials.parquet"))?;
    let tallies = tally(&df)?;
    // Seeds tested in every condition (conditions may test fewer seeds).
    let names: Vec<&str> = std::iter::once(CONTROL)
        .chain(MANIPULATIONS.iter().map(|m| m.0))
        .collect();
    let mut seeds: Vec<u64> = tallies
        .keys()
        .filter(|(c, _)| c == CONTROL)
        .map(|(_, s)| *s)
        .collect();
    seeds.retain(|s| {
        names
            .iter()
            .all(|c| tallies.contains_key(&(c.to_string(), *s)))
    });
    if seeds.is_empty() {
        bail!("trials.parquet holds no seed tested in all four conditions ({names:?})");
    }
    let get = |c: &str, s: u64| &tallies[&(c.to_string(), s)];
    let per_seed = |c: &str, f: &dyn Fn(&Tally) -> f64| -> Vec<f64> {
        seeds.iter().map(|&s| f(get(c, s))).collect()
    };
    let mut boot_id = 0u64;
    let mut boot = |v: &[f64]| {
        boot_id += 1;
        bootstrap_mean(v, bootstrap, 6000 + boot_id)
    };
    let (ph, pl) = (an.p_high, an.p_low);
    let mut out = Outcomes::new(cfg, seeds.clone());
    let control_high = per_seed(CONTROL, &|t| t.risky(ph));
    let control_low = per_seed(CONTROL, &|t| t.risky(pl));
    let control_high_est = boot(&control_high);
    let control_low_est = boot(&control_low);
    out.add(
        "control_risky_high",
        metric_description(&METRICS, "control_risky_high"),
        control_high_est.clone(),
    );
    out.add(
        "control_risky_low",
        metric_description(&METRICS, "control_risky_low"),
        control_low_est.clone(),
    );
    let diff: Vec<f64> = control_high
        .iter()
        .zip(&control_low)
        .map(|(h, l)| h - l)
        .collect();
    let control_diff = boot(&diff);
    out.add(
        "control_high_minus_low",
        metric_description(&METRICS, "control_high_minus_low"),
        control_diff.clone(),
    );

    let mut panels = vec![];
    for (name, label, direction) in MANIPULATIONS {
        let high = per_seed(name, &|t| t.risky(ph));
        let low = per_seed(name, &|t| t.risky(pl));
        let eff_high: Vec<f64> = high.iter().zip(&control_high).map(|(m, c)| m - c).collect();
        let eff_low: Vec<f64> = low.iter().zip(&control_low).map(|(m, c)| m - c).collect();
        let eff: Vec<f64> = eff_high
            .iter()
            .zip(&eff_low)
            .map(|(h, l)| 0.5 * (h + l))
            .collect();
        let (high_est, low_est) = (boot(&high), boot(&low));
        let (eh, el, e) = (boot(&eff_high), boot(&eff_low), boot(&eff));
        for (suffix, est) in [
            ("risky_high", &high_est),
            ("risky_low", &low_est),
            ("effect_high", &eh),
            ("effect_low", &el),
            ("effect", &e),
        ] {
            let metric = format!("{name}_{suffix}");
            out.add(&metric, metric_description(&METRICS, &metric), est.clone());
        }
        panels.push(ManipulationPanel {
            condition: name.to_string(),
            label: label.to_string(),
            rats_direction: direction,
            add: cfg
                .evaluation
                .conditions
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.rpe_manipulation.as_ref())
                .map_or(f64::NAN, |m| m.add),
            risky_high: high_est,
            risky_low: low_est,
            effect_high: eh,
            effect_low: el,
            effect: e,
        });
    }
    out.add(
        "control_reward_per_trial",
        metric_description(&METRICS, "control_reward_per_trial"),
        boot(&per_seed(CONTROL, &|t| t.reward / t.trials)),
    );
    out.add(
        "control_forced_compliance",
        metric_description(&METRICS, "control_forced_compliance"),
        boot(&per_seed(CONTROL, &|t| {
            if t.forced > 0.0 {
                t.forced_valid / t.forced
            } else {
                f64::NAN
            }
        })),
    );
    out.add(
        "control_risky_first_block",
        metric_description(&METRICS, "control_risky_first_block"),
        boot(&per_seed(CONTROL, &|t| {
            t.first_block.0 / t.first_block.1.max(1.0)
        })),
    );

    // Every block probability, every condition: the curve for the record.
    let mut curves = vec![];
    for c in &names {
        let points = task
            .block_probs
            .iter()
            .map(|&p| BlockPoint {
                p,
                risky: boot(&per_seed(c, &|t| t.risky(p))),
            })
            .collect();
        curves.push(ConditionCurve {
            condition: c.to_string(),
            points,
        });
    }
    let data = S6FigureData {
        title: cfg.experiment.title.clone(),
        n_seeds: seeds.len(),
        p_high: ph,
        p_low: pl,
        control_high: control_high_est,
        control_low: control_low_est,
        control_high_minus_low: control_diff,
        panels,
        curves,
    };
    out.figure = serde_json::to_value(&data)?;
    Ok(out)
}

pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    let data: S6FigureData = serde_json::from_value(outcomes.figure.clone())
        .context("outcomes.json has no Simulation 6 figure data (re-run `metarl analyze`)")?;
    let stem = fig_dir.join(&cfg.experiment.name);
    figure::render(&data, &stem)?;
    Ok(vec![stem])
}
