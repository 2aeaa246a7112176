//! Simulation 4: model-based behaviour in the two-step task (paper Fig. 5;
//! Daw et al. 2011, Miller et al. 2017).
//!
//! Analyses: (a) stay probability of the stage-1 action by previous trial type,
//! per seed; (b) logistic regression of the stage-1 choice on the four trial
//! types at lags 1..L; (c) regression of the network's RPE on the RPEs of a
//! model-based and a model-free learner at the stage-2 and reward steps;
//! (d) the variant closest to Daw et al. 2011 (`daw`): model-based, model-free
//! and hybrid learners fitted to the network's choices by maximum likelihood,
//! and the network's RPE regressed on each fitted learner's RPE at the stage-2
//! step and at the reward step separately.

pub mod daw;
pub mod figure;
pub mod figure_data;
pub mod reference_agents;

use super::{metric_description, normalize_settings, settings, wrong_task, Experiment, Outcomes};
use crate::config::Config;
use crate::record::{col_f64, col_u64, read_parquet_columns};
use crate::stats::{self, bootstrap_mean, Estimate};
use crate::tasks::{two_step::TwoStepConfig, TaskConfig};
use crate::validate;
use anyhow::{bail, Context, Result};
use figure_data::*;
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[analysis]` keys of Simulation 4 (besides the common `bootstrap`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// Lags of the trial-history logistic regression.
    #[serde(default = "default_lags")]
    pub lags: usize,
    /// Ridge penalty of the logistic regression (keeps separable data finite).
    #[serde(default = "default_l2")]
    pub logistic_l2: f64,
    /// Test episodes of each network used for the RPE regression (paper: 30).
    #[serde(default = "default_rpe_episodes")]
    pub rpe_episodes: usize,
    /// Learning rates tried for the model-based and model-free learners (best r² kept for each).
    #[serde(default = "default_alphas")]
    pub learner_alphas: Vec<f64>,
    /// Test episodes of each network (the first ones) to which the Daw-style
    /// learners are fitted by maximum likelihood (`daw`).
    #[serde(default = "default_fit_episodes")]
    pub fit_episodes: usize,
}

fn default_fit_episodes() -> usize {
    300
}

fn default_lags() -> usize {
    5
}
fn default_l2() -> f64 {
    1e-3
}
fn default_rpe_episodes() -> usize {
    30
}
fn default_alphas() -> Vec<f64> {
    vec![0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
}

impl Analysis {
    fn validate(&self) -> Result<()> {
        validate::positive("analysis.lags", self.lags)?;
        validate::positive("analysis.rpe_episodes", self.rpe_episodes)?;
        validate::positive("analysis.fit_episodes", self.fit_episodes)?;
        validate::range("analysis.logistic_l2", self.logistic_l2, 0.0, 1e6, ">= 0")?;
        if self.learner_alphas.is_empty() {
            bail!("key `analysis.learner_alphas`: must list at least one learning rate");
        }
        for a in &self.learner_alphas {
            validate::range("analysis.learner_alphas", *a, 1e-9, 1.0, "in (0, 1]")?;
        }
        Ok(())
    }
}

/// `[figure]` keys of Simulation 4.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The paper's approximate values for the stay bars (R-C, R-U, N-C, N-U), read off its figure.
    #[serde(default)]
    pub paper_stay: Vec<f64>,
}

/// The registry entry of Simulation 4.
pub struct S4TwoStep;

fn task_of(cfg: &Config) -> Result<&TwoStepConfig> {
    match &cfg.task {
        TaskConfig::TwoStep(t) => Ok(t),
        other => Err(wrong_task("s4_two_step", "two_step", other)),
    }
}

impl Experiment for S4TwoStep {
    fn id(&self) -> &'static str {
        "s4_two_step"
    }
    fn metrics(&self) -> &'static [(&'static str, &'static str)] {
        &METRICS
    }
    fn normalize(&self, cfg: &mut Config) -> Result<()> {
        task_of(cfg)?;
        normalize_settings::<Analysis>(&mut cfg.analysis.settings, "analysis")?.validate()?;
        let fig: Figure = normalize_settings(&mut cfg.figure, "figure")?;
        for p in &fig.paper_stay {
            validate::prob("figure.paper_stay", *p)?;
        }
        Ok(())
    }
    fn analyze(&self, cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
        analyze(cfg, run_dir)
    }
    fn render(&self, cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
        render(cfg, outcomes, fig_dir)
    }
    fn references(&self, cfg: &Config) -> Result<Vec<crate::references::Reference>> {
        Ok(reference_agents::references(cfg))
    }
}

/// Every metric this analysis writes to outcomes.json, with what it is.
pub const METRICS: [(&str, &str); 32] = [
    (
        "stay_rewarded_common",
        "P(repeat stage-1 choice) after a rewarded trial with a common transition",
    ),
    (
        "stay_rewarded_uncommon",
        "P(repeat) after rewarded, uncommon",
    ),
    (
        "stay_unrewarded_common",
        "P(repeat) after unrewarded, common",
    ),
    (
        "stay_unrewarded_uncommon",
        "P(repeat) after unrewarded, uncommon",
    ),
    (
        "model_based_index",
        "(stay R-C − stay R-U) − (stay N-C − stay N-U)",
    ),
    (
        "model_free_index",
        "(stay R-C + stay R-U) − (stay N-C + stay N-U)",
    ),
    (
        "lag1_common_rewarded",
        "logistic-regression weight of a common, rewarded trial at lag 1",
    ),
    (
        "lag1_uncommon_rewarded",
        "weight of uncommon, rewarded at lag 1",
    ),
    (
        "lag1_common_unrewarded",
        "weight of common, unrewarded at lag 1",
    ),
    (
        "lag1_uncommon_unrewarded",
        "weight of uncommon, unrewarded at lag 1",
    ),
    (
        "rpe_r2_model_based",
        "r² of network RPE ~ model-based learner RPE (stage-2 and reward steps)",
    ),
    (
        "rpe_r2_model_free",
        "r² of network RPE ~ model-free learner RPE (stage-2 and reward steps)",
    ),
    (
        "rpe_r2_mb_minus_mf",
        "r² model-based − r² model-free (stage-2 and reward steps)",
    ),
    (
        "rpe_stage2_r2_model_based",
        "r² at the stage-2 step only, model-based learner",
    ),
    (
        "rpe_stage2_r2_model_free",
        "r² at the stage-2 step only, model-free learner",
    ),
    (
        "reward_per_trial",
        "test reward per trial (chance 0.5, perfect knowledge 0.9)",
    ),
    (
        "daw_loglik_per_choice_model_based",
        "Daw-style fit: mean log-likelihood per stage-1 choice of the fitted model-based learner",
    ),
    (
        "daw_loglik_per_choice_model_free",
        "the same, fitted model-free learner (SARSA(λ))",
    ),
    (
        "daw_loglik_per_choice_hybrid",
        "the same, fitted hybrid learner (w·MB + (1 − w)·MF)",
    ),
    (
        "daw_hybrid_w",
        "fitted hybrid learner's model-based weight w",
    ),
    (
        "daw_hybrid_alpha",
        "fitted hybrid learner's learning rate α",
    ),
    (
        "daw_hybrid_beta",
        "fitted hybrid learner's inverse temperature β",
    ),
    (
        "daw_hybrid_kappa",
        "fitted hybrid learner's perseveration κ",
    ),
    ("daw_hybrid_lambda", "fitted hybrid learner's eligibility λ"),
    (
        "daw_rpe_stage2_r2_model_based",
        "r² of network RPE ~ fitted model-based learner's RPE, stage-2 step only",
    ),
    (
        "daw_rpe_stage2_r2_model_free",
        "the same, fitted model-free learner, stage-2 step",
    ),
    (
        "daw_rpe_stage2_r2_hybrid",
        "the same, fitted hybrid learner, stage-2 step",
    ),
    (
        "daw_rpe_reward_r2_model_based",
        "r² of network RPE ~ fitted model-based learner's RPE, reward step only",
    ),
    (
        "daw_rpe_reward_r2_model_free",
        "the same, fitted model-free learner, reward step",
    ),
    (
        "daw_rpe_reward_r2_hybrid",
        "the same, fitted hybrid learner, reward step",
    ),
    (
        "daw_rpe_stage2_r2_mb_minus_mf",
        "stage-2 step: r² fitted model-based − r² fitted model-free",
    ),
    (
        "daw_rpe_reward_r2_mb_minus_mf",
        "reward step: r² fitted model-based − r² fitted model-free",
    ),
];

const TYPE_LABELS: [&str; 4] = [
    "Common, rewarded",
    "Uncommon, rewarded",
    "Common, unrewarded",
    "Uncommon, unrewarded",
];

/// One two-step trial, from its two rows in the trial table.
#[derive(Debug, Clone, Copy)]
pub struct Trial {
    pub seed: u64,
    pub episode: u32,
    pub trial: u32,
    pub choice: u32,
    pub stage2: usize,
    pub common: bool,
    pub rewarded: bool,
    /// Network RPE at the stage-2 step (arrival in stage 2) and at the reward step.
    pub rpe_stage2: f64,
    pub rpe_reward: f64,
}

impl Trial {
    /// 0 common-rewarded, 1 uncommon-rewarded, 2 common-unrewarded, 3 uncommon-unrewarded.
    fn kind(&self) -> usize {
        (!self.common) as usize + 2 * (!self.rewarded) as usize
    }
}

/// The columns of trials.parquet that `load_trials` reads.
pub const TRIAL_COLUMNS: [&str; 9] = [
    "seed",
    "episode",
    "trial",
    "step_in_trial",
    "action",
    "stage2_state",
    "common",
    "reward",
    "rpe",
];

/// Read the trial table into per-trial records (stage-1 row + stage-2 row).
pub fn load_trials(df: &DataFrame) -> Result<Vec<Trial>> {
    let stage = df.column("step_in_trial")?.cast(&DataType::UInt32)?;
    // One stage's rows at a time, each freed once its columns are read (peak memory).
    let (seed, ep, tr, choice, stage2, common, rpe1, n1) = {
        let s1 = df.filter(&stage.u32()?.equal(0))?;
        (
            col_u64(&s1, "seed")?,
            col_u64(&s1, "episode")?,
            col_u64(&s1, "trial")?,
            col_u64(&s1, "action")?,
            col_u64(&s1, "stage2_state")?,
            col_u64(&s1, "common")?,
            col_f64(&s1, "rpe")?,
            s1.height(),
        )
    };
    let (seed2, ep2, tr2, reward, rpe2, n2) = {
        let s2 = df.filter(&stage.u32()?.equal(1))?;
        (
            col_u64(&s2, "seed")?,
            col_u64(&s2, "episode")?,
            col_u64(&s2, "trial")?,
            col_f64(&s2, "reward")?,
            col_f64(&s2, "rpe")?,
            s2.height(),
        )
    };
    if n1 != n2 {
        bail!("trial table: {n1} first-stage rows but {n2} second-stage rows");
    }
    if seed != seed2 || ep != ep2 || tr != tr2 {
        bail!(
            "trial table: first- and second-stage rows are not aligned by (seed, episode, trial)"
        );
    }
    Ok((0..seed.len())
        .map(|i| Trial {
            seed: seed[i],
            episode: ep[i] as u32,
            trial: tr[i] as u32,
            choice: choice[i] as u32,
            stage2: stage2[i] as usize,
            common: common[i] == 1,
            rewarded: reward[i] > 0.5,
            rpe_stage2: rpe1[i],
            rpe_reward: rpe2[i],
        })
        .collect())
}

/// Stay probabilities [R-C, R-U, N-C, N-U] of one seed's trials.
pub fn stay_probabilities(trials: &[Trial]) -> [f64; 4] {
    let mut stay = [0.0; 4];
    let mut n = [0.0; 4];
    for w in trials.windows(2) {
        let (prev, cur) = (&w[0], &w[1]);
        if prev.episode != cur.episode || prev.seed != cur.seed {
            continue;
        }
        let k = prev.kind();
        n[k] += 1.0;
        stay[k] += (cur.choice == prev.choice) as u8 as f64;
    }
    std::array::from_fn(|k| stay[k] / n[k])
}

/// Logistic regression of "choose action 0" on the previous trials: for each
/// trial type k and lag l, +1 if trial t−l was of type k and chose action 0,
/// −1 if it was of type k and chose action 1, 0 otherwise. Positive weights mean
/// "repeat the choice after this kind of trial". Returns weights[k][l-1].
pub fn lag_weights(trials: &[Trial], lags: usize, l2: f64) -> Result<Vec<Vec<f64>>> {
    let nf = 4 * lags;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (i, cur) in trials.iter().enumerate() {
        if cur.trial == 0 {
            continue;
        }
        let mut row = vec![0.0; nf];
        for l in 1..=lags.min(cur.trial as usize) {
            let prev = &trials[i - l];
            row[prev.kind() * lags + (l - 1)] = if prev.choice == 0 { 1.0 } else { -1.0 };
        }
        x.extend(row);
        y.push((cur.choice == 0) as u8 as f64);
    }
    let w = stats::logistic_regression(&x, &y, nf, l2)?;
    Ok((0..4)
        .map(|k| w[1 + k * lags..1 + (k + 1) * lags].to_vec())
        .collect())
}

/// TD errors of a learner at the stage-2 step and the reward step of each trial,
/// defined like the network's δ_t = r_t + γ v_{t+1} − v_t: stage-2 step
/// γ Q2(s2) − Q1(a1); reward step r + γ Q1'(a1') − Q2(s2), where Q1'(a1') is the
/// value of the next trial's choice (0 after the episode's last trial).
///
/// Both learners learn second-stage values Q2 by a delta rule. The model-based
/// learner values its stage-1 choice through the known transition model,
/// Q1(a) = p_c Q2(a) + (1 − p_c) Q2(other); the model-free learner caches
/// Q1(a) by TD(λ). Values restart at 0.5 each episode, as the network's state does.
pub fn learner_rpes(
    trials: &[Trial],
    model_based: bool,
    alpha: f64,
    lambda: f64,
    p_common: f64,
    gamma: f64,
) -> Vec<(f64, f64)> {
    // First pass: the value of the chosen action at each trial's start, and Q2(s2) before learning.
    let mut q1_chosen = Vec::with_capacity(trials.len());
    let mut q2_seen = Vec::with_capacity(trials.len());
    let mut q2 = [0.5; 2];
    let mut q1 = [0.5; 2];
    for t in trials {
        if t.trial == 0 {
            q2 = [0.5; 2];
            q1 = [0.5; 2];
        }
        let a = t.choice as usize;
        let s = t.stage2;
        let r = t.rewarded as u8 as f64;
        let q1a = if model_based {
            p_common * q2[a] + (1.0 - p_common) * q2[1 - a]
        } else {
            q1[a]
        };
        q1_chosen.push(q1a);
        q2_seen.push(q2[s]);
        let d2 = q2[s] - q1a;
        let d3 = r - q2[s];
        if !model_based {
            q1[a] += alpha * (d2 + lambda * d3);
        }
        q2[s] += alpha * d3;
    }
    (0..trials.len())
        .map(|i| {
            let t = &trials[i];
            let next = match trials.get(i + 1) {
                Some(n) if n.trial != 0 && n.seed == t.seed && n.episode == t.episode => {
                    q1_chosen[i + 1]
                }
                _ => 0.0,
            };
            let r = t.rewarded as u8 as f64;
            (
                gamma * q2_seen[i] - q1_chosen[i],
                r + gamma * next - q2_seen[i],
            )
        })
        .collect()
}

/// Whether trial i has a successor in the same episode. The network cannot know
/// when an episode ends (its value at the last reward step still expects a next
/// trial), so the final trial of each episode is left out of the RPE regression.
fn has_next(trials: &[Trial], i: usize) -> bool {
    trials
        .get(i + 1)
        .is_some_and(|n| n.trial != 0 && n.seed == trials[i].seed && n.episode == trials[i].episode)
}

/// Best r² (over the learning-rate grid and, for model-free, λ ∈ {0, 0.5, 1})
/// of network RPE ~ learner RPE, stacking the stage-2 and reward steps. Returns
/// (r² both steps, r² stage-2 step, the learner RPEs of the best fit, the network RPEs).
fn rpe_fit(
    trials: &[Trial],
    model_based: bool,
    alphas: &[f64],
    p_common: f64,
    gamma: f64,
) -> (f64, f64, Vec<f64>, Vec<f64>) {
    let keep: Vec<usize> = (0..trials.len()).filter(|&i| has_next(trials, i)).collect();
    let net: Vec<f64> = keep
        .iter()
        .flat_map(|&i| [trials[i].rpe_stage2, trials[i].rpe_reward])
        .collect();
    let net2: Vec<f64> = keep.iter().map(|&i| trials[i].rpe_stage2).collect();
    let lambdas: &[f64] = if model_based {
        &[0.0]
    } else {
        &[0.0, 0.5, 1.0]
    };
    let mut best = (f64::NEG_INFINITY, 0.0, vec![]);
    for &alpha in alphas {
        for &lambda in lambdas {
            let rp = learner_rpes(trials, model_based, alpha, lambda, p_common, gamma);
            let both: Vec<f64> = keep.iter().flat_map(|&i| [rp[i].0, rp[i].1]).collect();
            let r2 = stats::fit_line(&both, &net).r2;
            if r2 > best.0 {
                let s2: Vec<f64> = keep.iter().map(|&i| rp[i].0).collect();
                best = (r2, stats::fit_line(&s2, &net2).r2, both);
            }
        }
    }
    (best.0, best.1, best.2, net)
}

/// The per-seed results of the analysis.
struct SeedAnalysis {
    stay: [f64; 4],
    /// Lag weights per trial type and lag.
    weights: Vec<Vec<f64>>,
    reward_rate: f64,
    /// r² of the RPE regression: model-based, model-free (both steps), then the stage-2 step only.
    r2: [f64; 4],
    /// The Daw-style fit of each model with its stage-2 and reward-step RPE r².
    daw: [(daw::Fit, f64, f64); 3],
    scatter: RpeScatter,
}

fn analyze_seed(
    seed: u64,
    trials: &[Trial],
    an: &Analysis,
    task: &TwoStepConfig,
    gamma: f64,
) -> Result<SeedAnalysis> {
    let few: Vec<Trial> = trials
        .iter()
        .filter(|t| (t.episode as usize) < an.rpe_episodes)
        .cloned()
        .collect();
    let (mb, mb2, mb_rpe, net_rpe) =
        rpe_fit(&few, true, &an.learner_alphas, task.common_prob, gamma);
    let (mf, mf2, mf_rpe, _) = rpe_fit(&few, false, &an.learner_alphas, task.common_prob, gamma);
    let fit_trials: Vec<Trial> = trials
        .iter()
        .filter(|t| (t.episode as usize) < an.fit_episodes)
        .cloned()
        .collect();
    let daw = daw::Model::ALL.map(|m| {
        let f = daw::fit(&fit_trials, m, task.common_prob);
        let (s2, rw) = daw::rpe_r2(&few, &f.params, task.common_prob, gamma);
        (f, s2, rw)
    });
    Ok(SeedAnalysis {
        stay: stay_probabilities(trials),
        weights: lag_weights(trials, an.lags, an.logistic_l2)?,
        reward_rate: trials.iter().filter(|t| t.rewarded).count() as f64 / trials.len() as f64,
        r2: [mb, mf, mb2, mf2],
        daw,
        scatter: RpeScatter {
            seed,
            n_episodes: an.rpe_episodes,
            // The fit stacks [stage-2 step, reward step] per trial.
            step: (0..net_rpe.len()).map(|i| (i % 2) as u8).collect(),
            network: net_rpe,
            model_based: mb_rpe,
            model_free: mf_rpe,
            r2_model_based: mb,
            r2_model_free: mf,
            r2_stage2_model_based: mb2,
            r2_stage2_model_free: mf2,
        },
    })
}

pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    let task = task_of(cfg)?;
    let an: Analysis = settings(&cfg.analysis.settings, "analysis")?;
    let fig: Figure = settings(&cfg.figure, "figure")?;
    let bootstrap = cfg.analysis.bootstrap;
    // Only the columns the analysis reads, the table freed once turned into
    // trials (peak memory, issue 12).
    let all = load_trials(&read_parquet_columns(
        &run_dir.join("trials.parquet"),
        &TRIAL_COLUMNS,
    )?)?;
    let mut seeds: Vec<u64> = all.iter().map(|t| t.seed).collect();
    seeds.dedup();
    let boot = |v: &[f64], i: u64| bootstrap_mean(v, bootstrap, 1000 + i);

    // Seeds are analysed in parallel; each seed's analysis is deterministic and
    // the results are collected in seed order, so the thread count changes nothing.
    // The table is written seed by seed, so a seed's trials are one contiguous
    // run, borrowed as it is. A table of several [[variants]] repeats the seeds;
    // then, as this analysis always did, each entry of `seeds` takes every row
    // of its seed (its runs joined in table order).
    let runs: Vec<&[Trial]> = all.chunk_by(|a, b| a.seed == b.seed).collect();
    let groups: Vec<std::borrow::Cow<[Trial]>> = seeds
        .iter()
        .map(|&s| {
            let mine: Vec<&[Trial]> = runs.iter().filter(|r| r[0].seed == s).copied().collect();
            match mine[..] {
                [one] => one.into(),
                _ => mine.concat().into(),
            }
        })
        .collect();
    let per_seed: Vec<SeedAnalysis> = groups
        .par_iter()
        .map(|trials| analyze_seed(trials[0].seed, trials, &an, task, cfg.training.gamma))
        .collect::<Result<_>>()?;
    drop(all);
    let stay: Vec<[f64; 4]> = per_seed.iter().map(|s| s.stay).collect();
    let weights: Vec<&Vec<Vec<f64>>> = per_seed.iter().map(|s| &s.weights).collect();
    let r2: Vec<[f64; 4]> = per_seed.iter().map(|s| s.r2).collect();
    let daw_fits: Vec<&[(daw::Fit, f64, f64); 3]> = per_seed.iter().map(|s| &s.daw).collect();
    let reward_rate: Vec<f64> = per_seed.iter().map(|s| s.reward_rate).collect();
    let scatter = per_seed.first().map(|s| s.scatter.clone());
    let mut out = Outcomes::new(cfg, seeds.clone());
    let desc = |name: &str| metric_description(&METRICS, name);
    let mut stay_est = vec![];
    for (k, name) in METRICS[..4].iter().enumerate() {
        let v: Vec<f64> = stay.iter().map(|s| s[k]).collect();
        let e = boot(&v, k as u64);
        out.add(name.0, name.1, e.clone());
        stay_est.push(e);
    }
    let mb_index: Vec<f64> = stay.iter().map(|s| (s[0] - s[1]) - (s[2] - s[3])).collect();
    let mb_est = boot(&mb_index, 10);
    out.add(
        "model_based_index",
        desc("model_based_index"),
        mb_est.clone(),
    );
    let mf_index: Vec<f64> = stay.iter().map(|s| (s[0] + s[1]) - (s[2] + s[3])).collect();
    out.add(
        "model_free_index",
        desc("model_free_index"),
        boot(&mf_index, 11),
    );
    let mut lag_series = vec![];
    for k in 0..4 {
        let per_lag: Vec<Estimate> = (0..an.lags)
            .map(|l| {
                let v: Vec<f64> = weights.iter().map(|w| w[k][l]).collect();
                boot(&v, 100 + (k * an.lags + l) as u64)
            })
            .collect();
        let name = METRICS[6 + k].0;
        out.add(name, METRICS[6 + k].1, per_lag[0].clone());
        lag_series.push(LagSeries {
            label: TYPE_LABELS[k].to_string(),
            weights: per_lag,
        });
    }
    let pick = |i: usize| -> Vec<f64> { r2.iter().map(|r| r[i]).collect() };
    out.add(
        "rpe_r2_model_based",
        desc("rpe_r2_model_based"),
        boot(&pick(0), 20),
    );
    out.add(
        "rpe_r2_model_free",
        desc("rpe_r2_model_free"),
        boot(&pick(1), 21),
    );
    let diff: Vec<f64> = r2.iter().map(|r| r[0] - r[1]).collect();
    out.add(
        "rpe_r2_mb_minus_mf",
        desc("rpe_r2_mb_minus_mf"),
        boot(&diff, 22),
    );
    out.add(
        "rpe_stage2_r2_model_based",
        desc("rpe_stage2_r2_model_based"),
        boot(&pick(2), 23),
    );
    out.add(
        "rpe_stage2_r2_model_free",
        desc("rpe_stage2_r2_model_free"),
        boot(&pick(3), 24),
    );
    out.add(
        "reward_per_trial",
        desc("reward_per_trial"),
        boot(&reward_rate, 25),
    );
    // (d) the Daw-style fits (streams 30..).
    let per_model = |m: usize, f: &dyn Fn(&(daw::Fit, f64, f64)) -> f64| -> Vec<f64> {
        daw_fits.iter().map(|s| f(&s[m])).collect()
    };
    let mut stream = 30;
    let mut add = |out: &mut Outcomes, name: &str, v: Vec<f64>| {
        out.add(name, desc(name), boot(&v, stream));
        stream += 1;
    };
    for (m, model) in daw::Model::ALL.iter().enumerate() {
        add(
            &mut out,
            &format!("daw_loglik_per_choice_{}", model.stem()),
            per_model(m, &|x| x.0.loglik_per_choice),
        );
    }
    let hybrid = 2;
    type Param = fn(&daw::Params) -> f64;
    let hybrid_params: [(&str, Param); 5] = [
        ("daw_hybrid_w", |p| p.w),
        ("daw_hybrid_alpha", |p| p.alpha),
        ("daw_hybrid_beta", |p| p.beta),
        ("daw_hybrid_kappa", |p| p.kappa),
        ("daw_hybrid_lambda", |p| p.lambda),
    ];
    for (name, param) in hybrid_params {
        add(&mut out, name, per_model(hybrid, &|x| param(&x.0.params)));
    }
    for (step, pick) in [("stage2", 1usize), ("reward", 2)] {
        let get = |x: &(daw::Fit, f64, f64)| if pick == 1 { x.1 } else { x.2 };
        for (m, model) in daw::Model::ALL.iter().enumerate() {
            add(
                &mut out,
                &format!("daw_rpe_{step}_r2_{}", model.stem()),
                per_model(m, &get),
            );
        }
    }
    for (step, pick) in [("stage2", 1usize), ("reward", 2)] {
        let get = |x: &(daw::Fit, f64, f64)| if pick == 1 { x.1 } else { x.2 };
        let (mb, mf) = (per_model(0, &get), per_model(1, &get));
        add(
            &mut out,
            &format!("daw_rpe_{step}_r2_mb_minus_mf"),
            mb.iter().zip(&mf).map(|(a, b)| a - b).collect(),
        );
    }

    let paper = &fig.paper_stay;
    let data = S4FigureData {
        title: cfg.experiment.title.clone(),
        n_seeds: seeds.len(),
        model_based_index: mb_est,
        stay: stay_est
            .into_iter()
            .enumerate()
            .map(|(k, e)| StayBar {
                label: [
                    "Rewarded, common",
                    "Rewarded, uncommon",
                    "Unrewarded, common",
                    "Unrewarded, uncommon",
                ][k]
                    .to_string(),
                estimate: e,
                paper: paper.get(k).copied(),
            })
            .collect(),
        lag_weights: lag_series,
        rpe: scatter.context("trial table holds no trials")?,
        daw: Some(DawPanel {
            steps: [("stage2", "stage-2 step"), ("reward", "reward step")]
                .iter()
                .map(|(step, label)| {
                    let get = |m: daw::Model| {
                        out.metrics[&format!("daw_rpe_{step}_r2_{}", m.stem())]
                            .estimate
                            .clone()
                    };
                    DawStep {
                        label: label.to_string(),
                        model_based: get(daw::Model::ModelBased),
                        model_free: get(daw::Model::ModelFree),
                        hybrid: get(daw::Model::Hybrid),
                    }
                })
                .collect(),
            hybrid_w: out.metrics["daw_hybrid_w"].estimate.clone(),
        }),
    };
    out.figure = serde_json::to_value(&data)?;
    Ok(out)
}

pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    let data: S4FigureData = serde_json::from_value(outcomes.figure.clone())
        .context("outcomes.json has no Simulation 4 figure data (re-run `metarl analyze`)")?;
    let stem = fig_dir.join(&cfg.experiment.name);
    figure::render(&data, &stem)?;
    Ok(vec![stem])
}
