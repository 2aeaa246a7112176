//! Simulation 2: the learned learning rate adapts to volatility (paper Fig. 3;
//! Behrens et al. 2007), on the bandit with stable and volatile blocks
//! (`tasks::volatile_bandit`).
//!
//! Analyses, per seed over its frozen-weight test episodes (both block orders):
//! (a) learning rate per block: the maximum-likelihood (α, β) of a delta-rule
//!     learner with softmax choice (`fit`), fitted block by block on the
//!     network's choices pooled over the test episodes of one block order, each
//!     block entering with the value the earlier blocks left (see `fit` for what
//!     "per block" means). α of a block label (Stable 1, Volatile 1, ...) is the
//!     mean over the block orders; "α volatile − α stable" is, per order, the
//!     mean α of its volatile blocks minus that of its stable blocks, averaged
//!     over the orders.
//! (b) volatility decoded from the hidden state: ridge regression of the block's
//!     volatility label (1 volatile, 0 stable) on the 48 units over every test
//!     trial, cross-validated by episode (`units::decode`), reported as held-out
//!     accuracy (prediction > 0.5) and r², beside the same decoder trained and
//!     tested on shuffled block labels (`units`).
//! (c) the share of volatility units, by the criterion fixed in the TOML before
//!     the full run: a unit tracks volatility if the volatility coefficient of
//!     the least-squares regression of its activity on [volatility label,
//!     previous choice, previous reward, current choice] (trials 1.. of every
//!     test episode; ±1 codes), with standard errors clustered by episode, has
//!     a two-sided p < `unit_alpha` / 48 (Bonferroni over the units); beside the
//!     same criterion on shuffled block labels. The hidden state of a trial's row
//!     is the one its choice is read from: it has seen the previous choice and
//!     reward, not yet this trial's reward, which is therefore not a control.
//! (d) reward per trial of the network beside reference learners played on the
//!     same test episodes (`reference`): the best fixed-α delta rule (greedy,
//!     best α of a grid for this seed's episodes), the Bayesian volatility
//!     learner (greedy), and an oracle that knows p; and the per-block α fitted
//!     to the softmax choices (β = `reference_beta`) of the Bayesian volatility
//!     learner and of a Bayesian reversal learner with a fixed hazard
//!     (`reference_fixed_hazard`), which does not infer volatility: the control
//!     for how much of a higher α in volatile blocks needs no volatility
//!     inference at all.

pub mod figure;
pub mod figure_data;
pub mod fit;
pub mod reference;
pub mod reference_agents;
pub mod units;

use super::{
    metric_description, normalize_settings, require_hidden, runs_by, settings, wrong_task,
    Experiment, Outcomes,
};
use crate::config::Config;
use crate::record::{choice_rows, col_f64, col_str, col_u64, hidden_columns, read_parquet};
use crate::stats::{bootstrap_mean, Estimate};
use crate::tasks::{volatile_bandit::VolatileBanditConfig, TaskConfig};
use crate::validate;
use anyhow::{bail, Context, Result};
use figure_data::*;
use polars::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use reference::{BayesVolatility, ChoiceRule, Jump, ScheduleTrial};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use units::StateData;

/// Every metric this analysis writes to outcomes.json, with what it is.
pub const METRICS: [(&str, &str); 32] = [
    ("alpha_stable_1", "fitted delta-rule learning rate α in block Stable 1 (mean over block orders)"),
    ("alpha_volatile_1", "α in block Volatile 1"),
    ("alpha_volatile_2", "α in block Volatile 2"),
    ("alpha_stable_2", "α in block Stable 2"),
    ("alpha_stable", "mean α of the stable blocks"),
    ("alpha_volatile", "mean α of the volatile blocks"),
    (
        "alpha_volatile_minus_stable",
        "mean α of the volatile blocks − mean α of the stable blocks (per block order, averaged over orders)",
    ),
    (
        "alpha_volatile_minus_stable_se",
        "within-seed standard error of alpha_volatile_minus_stable from the fits' own standard errors (blocks treated as independent)",
    ),
    (
        "alpha_volatile_above_stable",
        "1 if the seed's α volatile − α stable > 0, else 0 (the mean is the share of seeds)",
    ),
    ("alpha_volatile_minus_stable_stable_first", "the same, test episodes that start with a stable block"),
    ("alpha_volatile_minus_stable_volatile_first", "the same, test episodes that start with a volatile block"),
    ("beta_stable", "fitted softmax inverse temperature β, mean over stable blocks"),
    ("beta_volatile", "β, mean over volatile blocks"),
    ("decoding_accuracy", "held-out accuracy of the linear decoder of the block's volatility from the LSTM state (chance 0.5)"),
    ("decoding_accuracy_null", "the same decoder on shuffled block labels"),
    ("decoding_accuracy_excess", "decoding_accuracy − decoding_accuracy_null"),
    ("decoding_r2", "held-out r² of the volatility decoder"),
    ("decoding_r2_null", "held-out r² on shuffled block labels"),
    ("volatility_unit_share", "share of units tracking volatility (clustered regression, Bonferroni)"),
    ("volatility_unit_share_null", "the same criterion on shuffled block labels"),
    ("volatility_unit_share_excess", "volatility_unit_share − volatility_unit_share_null"),
    ("reward_per_trial", "network's test reward per trial"),
    ("best_fixed_alpha", "learning rate of the best fixed-α delta rule (greedy) on the seed's test episodes"),
    ("best_fixed_alpha_reward_per_trial", "reward per trial of that delta rule on the same episodes"),
    ("reward_minus_best_fixed_alpha", "network reward per trial − best fixed-α delta rule's"),
    ("bayes_reward_per_trial", "reward per trial of the Bayesian volatility learner (greedy) on the same episodes"),
    ("oracle_reward_per_trial", "reward per trial of choosing the arm with the higher true p"),
    ("bayes_alpha_stable", "α fitted to the Bayesian learner's softmax choices, mean over stable blocks"),
    ("bayes_alpha_volatile", "the same, volatile blocks"),
    ("bayes_alpha_volatile_minus_stable", "the same difference as for the network"),
    (
        "fixed_hazard_alpha_volatile_minus_stable",
        "the same difference for a Bayesian reversal learner with a fixed hazard (no volatility inference)",
    ),
    ("test_trials_per_block", "trials per test block (for the record)"),
];

/// `[analysis]` keys of Simulation 2 (besides the common `bootstrap`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// Folds of the episode-wise cross-validation of the volatility decoder.
    #[serde(default = "default_folds")]
    pub decoder_folds: usize,
    /// Ridge penalty of the volatility decoder.
    #[serde(default = "default_ridge")]
    pub decoder_ridge: f64,
    /// Shuffles of the block labels averaged into the decoder's null.
    #[serde(default = "default_decoder_shuffles")]
    pub decoder_shuffles: usize,
    /// Shuffles of the block labels averaged into the unit-share null.
    #[serde(default = "default_unit_shuffles")]
    pub unit_shuffles: usize,
    /// Family-wise significance level of the volatility-unit criterion
    /// (Bonferroni: each unit is tested at unit_alpha / number of units).
    #[serde(default = "default_unit_alpha")]
    pub unit_alpha: f64,
    /// Softmax inverse temperature of the Bayesian reference learner's choices
    /// (to which the delta rule is fitted as to the network's).
    #[serde(default = "default_reference_beta")]
    pub reference_beta: f64,
    /// Reversal hazard per trial believed by the fixed-hazard reference learner
    /// (a Bayesian reversal learner that does not infer volatility).
    #[serde(default = "default_fixed_hazard")]
    pub reference_fixed_hazard: f64,
}

fn default_folds() -> usize {
    5
}
fn default_ridge() -> f64 {
    1.0
}
fn default_decoder_shuffles() -> usize {
    2
}
fn default_unit_shuffles() -> usize {
    20
}
fn default_unit_alpha() -> f64 {
    0.05
}
fn default_reference_beta() -> f64 {
    5.0
}
fn default_fixed_hazard() -> f64 {
    0.04
}

impl Analysis {
    fn validate(&self) -> Result<()> {
        validate::range(
            "analysis.decoder_folds",
            self.decoder_folds as f64,
            2.0,
            1e6,
            "at least 2",
        )?;
        validate::range(
            "analysis.decoder_ridge",
            self.decoder_ridge,
            0.0,
            1e12,
            ">= 0",
        )?;
        validate::positive("analysis.decoder_shuffles", self.decoder_shuffles)?;
        validate::positive("analysis.unit_shuffles", self.unit_shuffles)?;
        validate::range(
            "analysis.unit_alpha",
            self.unit_alpha,
            1e-12,
            1.0,
            "in (0, 1]",
        )?;
        validate::range(
            "analysis.reference_fixed_hazard",
            self.reference_fixed_hazard,
            0.0,
            1.0,
            "in [0, 1]",
        )?;
        validate::range(
            "analysis.reference_beta",
            self.reference_beta,
            0.0,
            fit::BETA_MAX,
            "in [0, 100]",
        )
    }
}

/// `[figure]` keys of Simulation 2.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The paper's share of volatility units (37%), marked on its panel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_unit_share: Option<f64>,
    /// Which test episode of the first seed and first condition panel b shows.
    #[serde(default)]
    pub example_episode: usize,
}

/// The registry entry of Simulation 2.
pub struct S2Volatility;

fn task_of(cfg: &Config) -> Result<&VolatileBanditConfig> {
    match &cfg.task {
        TaskConfig::VolatileBandit(t) => Ok(t),
        other => Err(wrong_task("s2_volatility", "volatile_bandit", other)),
    }
}

impl Experiment for S2Volatility {
    fn id(&self) -> &'static str {
        "s2_volatility"
    }
    fn metrics(&self) -> &'static [(&'static str, &'static str)] {
        &METRICS
    }
    fn normalize(&self, cfg: &mut Config) -> Result<()> {
        task_of(cfg)?;
        normalize_settings::<Analysis>(&mut cfg.analysis.settings, "analysis")?.validate()?;
        let fig: Figure = normalize_settings(&mut cfg.figure, "figure")?;
        if let Some(v) = fig.paper_unit_share {
            validate::prob("figure.paper_unit_share", v)?;
        }
        require_hidden(cfg, "s2_volatility")?;
        for cond in cfg.test_conditions()? {
            let TaskConfig::VolatileBandit(t) = &cond.task else {
                bail!("a test condition changed the task kind");
            };
            if !t.test_blocks.contains(&volatile_bandit_kind(false))
                || !t.test_blocks.contains(&volatile_bandit_kind(true))
            {
                bail!(
                    "key `task.test_blocks`{}: the s2_volatility analysis needs at least one stable and one volatile test block",
                    cond.name
                        .as_deref()
                        .map(|n| format!(" (condition {n:?})"))
                        .unwrap_or_default()
                );
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

fn volatile_bandit_kind(volatile: bool) -> crate::tasks::volatile_bandit::BlockKind {
    use crate::tasks::volatile_bandit::BlockKind;
    if volatile {
        BlockKind::Volatile
    } else {
        BlockKind::Stable
    }
}

/// The name of a block label (the task's `block_label` latent).
pub fn label_name(label: usize) -> String {
    format!(
        "{} {}",
        if label % 2 == 1 { "Volatile" } else { "Stable" },
        label / 2 + 1
    )
}

/// One choice trial of the test (one row of trials.parquet at the choice step).
#[derive(Debug, Clone)]
pub struct Row {
    pub seed: u64,
    /// Index of the test condition (order of `evaluation.conditions`; 0 without).
    pub condition: usize,
    pub episode: u64,
    pub trial: u64,
    pub choice: usize,
    pub rewarded: bool,
    /// The network's probability of choosing arm 0.
    pub policy_arm0: f64,
    pub p_arm0: f64,
    pub rewarded_arm: usize,
    pub block: usize,
    pub block_label: usize,
    pub volatile: bool,
}

impl Row {
    fn schedule(&self) -> ScheduleTrial {
        ScheduleTrial {
            block: self.block,
            volatile: self.volatile,
            p_arm0: self.p_arm0,
            rewarded_arm: self.rewarded_arm,
        }
    }
    fn fit_trial(&self) -> fit::Trial {
        fit::Trial::new(self.block, self.choice, self.rewarded)
    }
}

/// The choice rows sorted by (seed, condition, episode, trial) and the hidden
/// state columns h_0.. in the same order (one Vec per unit).
pub fn load_rows(
    cfg: &Config,
    df: &DataFrame,
    fixation_step: bool,
) -> Result<(Vec<Row>, Vec<Vec<f64>>)> {
    let seed = col_u64(df, "seed")?;
    let ep = col_u64(df, "episode")?;
    let tr = col_u64(df, "trial")?;
    let sit = col_u64(df, "step_in_trial")?;
    let action = col_u64(df, "action")?;
    let reward = col_f64(df, "reward")?;
    let policy = col_f64(df, "p_0")?;
    let p_arm0 = col_f64(df, "p_arm0")?;
    let rewarded_arm = col_u64(df, "rewarded_arm")?;
    let block = col_u64(df, "block")?;
    let label = col_u64(df, "block_label")?;
    let volatile = col_u64(df, "volatile")?;
    let names: Vec<String> = cfg
        .evaluation
        .conditions
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let condition: Vec<usize> = if names.is_empty() {
        vec![0; seed.len()]
    } else {
        col_str(df, "condition")?
            .iter()
            .map(|c| {
                names.iter().position(|n| n == c).with_context(|| {
                    format!("trials.parquet has condition {c:?}, not in the config")
                })
            })
            .collect::<Result<_>>()?
    };
    let mut order = choice_rows(&sit, fixation_step)?;
    order.sort_by_key(|&i| (seed[i], condition[i], ep[i], tr[i]));
    let rows = order
        .iter()
        .map(|&i| Row {
            seed: seed[i],
            condition: condition[i],
            episode: ep[i],
            trial: tr[i],
            choice: action[i] as usize,
            rewarded: reward[i] > 0.5,
            policy_arm0: policy[i],
            p_arm0: p_arm0[i],
            rewarded_arm: rewarded_arm[i] as usize,
            block: block[i] as usize,
            block_label: label[i] as usize,
            volatile: volatile[i] == 1,
        })
        .collect();
    Ok((rows, hidden_columns(df, &order)))
}

/// Contiguous index ranges of the episodes of `rows` (one seed, sorted).
fn episodes(rows: &[Row]) -> Vec<std::ops::Range<usize>> {
    runs_by(rows, |r| (r.condition, r.episode))
}

/// The kinds (volatile?) and labels of an episode's blocks, in order.
fn block_layout(ep: &[Row]) -> Layout {
    let mut out: Vec<(bool, usize)> = vec![];
    for r in ep {
        if r.block >= out.len() {
            out.resize(r.block + 1, (false, usize::MAX));
        }
        out[r.block] = (r.volatile, r.block_label);
    }
    out
}

/// The kind (volatile?) and label of each block of an episode, in order.
pub type Layout = Vec<(bool, usize)>;

/// An episode as the delta-rule fit reads it: its layout and its trials.
pub type FitEpisode = (Layout, Vec<fit::Trial>);

/// A delta-rule fit per block of one block order.
#[derive(Debug, Clone)]
pub struct OrderFit {
    /// (volatile, label) of each block.
    pub layout: Layout,
    pub fits: Vec<fit::Fit>,
}

impl OrderFit {
    /// Mean α of the volatile blocks − mean α of the stable blocks.
    pub fn alpha_difference(&self) -> f64 {
        self.mean_of(true, |f| f.alpha) - self.mean_of(false, |f| f.alpha)
    }
    /// Sampling variance of `alpha_difference` from the blocks' standard errors,
    /// treating the blocks' estimates as independent.
    pub fn alpha_difference_variance(&self) -> f64 {
        let count = |v: bool| self.layout.iter().filter(|l| l.0 == v).count() as f64;
        self.layout
            .iter()
            .zip(&self.fits)
            .map(|(l, f)| f.se_alpha.powi(2) / count(l.0).powi(2))
            .sum()
    }
    pub fn mean_of(&self, volatile: bool, f: impl Fn(&fit::Fit) -> f64) -> f64 {
        let v: Vec<f64> = self
            .layout
            .iter()
            .zip(&self.fits)
            .filter(|(l, _)| l.0 == volatile)
            .map(|(_, x)| f(x))
            .collect();
        crate::stats::mean(&v)
    }
}

/// Fit the delta rule per block, separately for each block order among `eps`
/// (episodes as fit trials, with their layouts). Orders sorted by layout.
pub fn fit_orders(eps: &[FitEpisode]) -> Result<Vec<OrderFit>> {
    let mut groups: BTreeMap<Layout, Vec<Vec<fit::Trial>>> = BTreeMap::new();
    for (layout, trials) in eps {
        groups
            .entry(layout.clone())
            .or_default()
            .push(trials.clone());
    }
    groups
        .into_iter()
        .map(|(layout, episodes)| {
            let fits = fit::fit_blocks(&episodes, layout.len())?;
            Ok(OrderFit { layout, fits })
        })
        .collect()
}

/// Per-label mean over orders of a per-block quantity.
fn by_label(orders: &[OrderFit], f: impl Fn(&fit::Fit) -> f64) -> BTreeMap<usize, f64> {
    let mut acc: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    for o in orders {
        for ((_, label), x) in o.layout.iter().zip(&o.fits) {
            let e = acc.entry(*label).or_default();
            e.0 += f(x);
            e.1 += 1.0;
        }
    }
    acc.into_iter().map(|(l, (s, n))| (l, s / n)).collect()
}

/// The mean over orders whose first block is (not) volatile of the α difference.
fn difference_by_first(orders: &[OrderFit], volatile_first: bool) -> f64 {
    let v: Vec<f64> = orders
        .iter()
        .filter(|o| o.layout.first().map(|l| l.0) == Some(volatile_first))
        .map(|o| o.alpha_difference())
        .collect();
    crate::stats::mean(&v)
}

/// Everything computed for one seed.
struct SeedResult {
    orders: Vec<OrderFit>,
    bayes_orders: Vec<OrderFit>,
    fixed_hazard_orders: Vec<OrderFit>,
    decoding: (f64, f64, f64, f64),
    unit_share: (f64, f64),
    reward: f64,
    best_fixed: (f64, f64),
    bayes_reward: f64,
    oracle_reward: f64,
    /// Held-out decoded volatility of each row (for the example episode).
    decoded: Vec<f64>,
}

fn analyze_seed(rows: &[Row], hidden: &[Vec<f64>], an: &Analysis, seed: u64) -> Result<SeedResult> {
    let eps = episodes(rows);
    // (a) α per block, per block order.
    let fit_eps: Vec<FitEpisode> = eps
        .iter()
        .map(|r| {
            let ep = &rows[r.clone()];
            (block_layout(ep), ep.iter().map(Row::fit_trial).collect())
        })
        .collect();
    let orders = fit_orders(&fit_eps).context("delta-rule fit of the network")?;

    // (d) reference learners on the same episodes.
    let schedule: Vec<Vec<ScheduleTrial>> = eps
        .iter()
        .map(|r| rows[r.clone()].iter().map(Row::schedule).collect())
        .collect();
    let best_fixed = reference::best_fixed_alpha(&schedule, &reference::alpha_grid());
    let mut rng = ChaCha8Rng::seed_from_u64(9_000 + seed);
    let mut bayes = BayesVolatility::standard(Jump::Reverse);
    let bayes_reward =
        reference::play(&mut bayes, &schedule, ChoiceRule::Greedy, &mut rng).reward_per_trial;
    let played = reference::play(
        &mut bayes,
        &schedule,
        ChoiceRule::Softmax(an.reference_beta),
        &mut rng,
    );
    let bayes_eps: Vec<FitEpisode> = fit_eps
        .iter()
        .zip(played.episodes)
        .map(|((layout, _), trials)| (layout.clone(), trials))
        .collect();
    let bayes_orders = fit_orders(&bayes_eps).context("delta-rule fit of the Bayesian learner")?;
    let mut fixed = BayesVolatility::new(vec![an.reference_fixed_hazard], 0.0, Jump::Reverse);
    let played = reference::play(
        &mut fixed,
        &schedule,
        ChoiceRule::Softmax(an.reference_beta),
        &mut rng,
    );
    let fixed_eps: Vec<FitEpisode> = fit_eps
        .iter()
        .zip(played.episodes)
        .map(|((layout, _), trials)| (layout.clone(), trials))
        .collect();
    let fixed_hazard_orders =
        fit_orders(&fixed_eps).context("delta-rule fit of the fixed-hazard learner")?;
    let n = rows.len() as f64;
    let reward = rows.iter().filter(|r| r.rewarded).count() as f64 / n;
    let oracle_reward = rows
        .iter()
        .map(|r| r.p_arm0.max(1.0 - r.p_arm0))
        .sum::<f64>()
        / n;

    // (b) decoding from every row.
    let episode_id: Vec<u64> = rows
        .iter()
        .map(|r| ((r.condition as u64) << 40) | r.episode)
        .collect();
    let block: Vec<usize> = rows.iter().map(|r| r.block).collect();
    let volatile: Vec<f64> = rows.iter().map(|r| r.volatile as u8 as f64).collect();
    let all = StateData {
        episode: &episode_id,
        block: &block,
        volatile: &volatile,
        controls: &[],
        n_controls: 0,
        hidden,
    };
    let (decoded, acc, r2) = units::decode(&all, &volatile, an.decoder_folds, an.decoder_ridge)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7_000 + seed);
    let (mut acc0, mut r20) = (0.0, 0.0);
    for _ in 0..an.decoder_shuffles {
        let lab = units::shuffled_labels(&all, &mut rng);
        let (_, a, r) = units::decode(&all, &lab, an.decoder_folds, an.decoder_ridge)?;
        acc0 += a / an.decoder_shuffles as f64;
        r20 += r / an.decoder_shuffles as f64;
    }

    // (c) volatility units: trials 1.. of each episode, controls ±1.
    let pm = |b: bool| if b { 1.0 } else { -1.0 };
    let keep: Vec<usize> = eps.iter().flat_map(|r| r.start + 1..r.end).collect();
    let mut controls = Vec::with_capacity(keep.len() * 3);
    for &i in &keep {
        let prev = &rows[i - 1];
        controls.extend([
            pm(prev.choice == 0),
            pm(prev.rewarded),
            pm(rows[i].choice == 0),
        ]);
    }
    let pick = |v: &[f64]| -> Vec<f64> { keep.iter().map(|&i| v[i]).collect() };
    let k_episode: Vec<u64> = keep.iter().map(|&i| episode_id[i]).collect();
    let k_block: Vec<usize> = keep.iter().map(|&i| block[i]).collect();
    let k_volatile = pick(&volatile);
    let k_hidden: Vec<Vec<f64>> = hidden.iter().map(|h| pick(h)).collect();
    let kept = StateData {
        episode: &k_episode,
        block: &k_block,
        volatile: &k_volatile,
        controls: &controls,
        n_controls: 3,
        hidden: &k_hidden,
    };
    let share = units::unit_share(&kept, &k_volatile, an.unit_alpha)?;
    let mut share0 = 0.0;
    for _ in 0..an.unit_shuffles {
        let lab = units::shuffled_labels(&kept, &mut rng);
        share0 += units::unit_share(&kept, &lab, an.unit_alpha)? / an.unit_shuffles as f64;
    }

    Ok(SeedResult {
        orders,
        bayes_orders,
        fixed_hazard_orders,
        decoding: (acc, acc0, r2, r20),
        unit_share: (share, share0),
        reward,
        best_fixed,
        bayes_reward,
        oracle_reward,
        decoded,
    })
}

pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    let task = task_of(cfg)?;
    let an: Analysis = settings(&cfg.analysis.settings, "analysis")?;
    an.validate()?;
    let fig: Figure = settings(&cfg.figure, "figure")?;
    let bootstrap = cfg.analysis.bootstrap;
    let df = read_parquet(&run_dir.join("trials.parquet"))?;
    let (all, hidden) = load_rows(cfg, &df, task.fixation_step)?;
    if hidden.is_empty() {
        bail!("trials.parquet has no hidden-state columns h_0..: set evaluation.record_hidden = true and re-run");
    }
    let mut seeds: Vec<u64> = all.iter().map(|t| t.seed).collect();
    seeds.dedup();

    // Seeds are independent: analysed in parallel, collected in seed order.
    let seed_rows = |seed: u64| {
        let lo = all.partition_point(|t| t.seed < seed);
        let hi = all.partition_point(|t| t.seed <= seed);
        lo..hi
    };
    let results: Vec<SeedResult> = seeds
        .par_iter()
        .map(|&seed| {
            let r = seed_rows(seed);
            let h: Vec<Vec<f64>> = hidden.iter().map(|u| u[r.clone()].to_vec()).collect();
            analyze_seed(&all[r], &h, &an, seed).with_context(|| format!("seed {seed}"))
        })
        .collect::<Result<_>>()?;
    let example = example_episode(
        &all[seed_rows(seeds[0])],
        &results[0].decoded,
        fig.example_episode,
    )?;

    let mut out = Outcomes::new(cfg, seeds.clone());
    let mut index = 0u64;
    let mut add = |out: &mut Outcomes, name: &str, v: Vec<f64>| -> Estimate {
        index += 1;
        let e = bootstrap_mean(&v, bootstrap, 1000 + index);
        out.add(name, metric_description(&METRICS, name), e.clone());
        e
    };
    let per = |f: &dyn Fn(&SeedResult) -> f64| -> Vec<f64> { results.iter().map(f).collect() };
    let label_alpha = |orders: &[OrderFit], label: usize| {
        by_label(orders, |f| f.alpha)
            .get(&label)
            .copied()
            .unwrap_or(f64::NAN)
    };
    // The figure's block order: the first condition's (the first order tested).
    let first_layout = block_layout(
        &all[..all
            .iter()
            .position(|r| {
                r.seed != all[0].seed
                    || r.episode != all[0].episode
                    || r.condition != all[0].condition
            })
            .unwrap_or(all.len())],
    );
    let mut alpha_blocks = vec![];
    for (name, label) in [
        ("alpha_stable_1", 0),
        ("alpha_volatile_1", 1),
        ("alpha_volatile_2", 3),
        ("alpha_stable_2", 2),
    ] {
        let e = add(&mut out, name, per(&|r| label_alpha(&r.orders, label)));
        let b = bootstrap_mean(
            &per(&|r| label_alpha(&r.bayes_orders, label)),
            bootstrap,
            2000 + label as u64,
        );
        let f = bootstrap_mean(
            &per(&|r| label_alpha(&r.fixed_hazard_orders, label)),
            bootstrap,
            2100 + label as u64,
        );
        if let Some(pos) = first_layout.iter().position(|l| l.1 == label) {
            alpha_blocks.push((pos, label_name(label), e, b, f));
        }
    }
    alpha_blocks.sort_by_key(|b| b.0);
    let mean_over = |orders: &[OrderFit], volatile: bool, f: &dyn Fn(&fit::Fit) -> f64| {
        crate::stats::mean(
            &orders
                .iter()
                .map(|o| o.mean_of(volatile, f))
                .collect::<Vec<_>>(),
        )
    };
    let diff = |orders: &[OrderFit]| {
        crate::stats::mean(
            &orders
                .iter()
                .map(OrderFit::alpha_difference)
                .collect::<Vec<_>>(),
        )
    };
    add(
        &mut out,
        "alpha_stable",
        per(&|r| mean_over(&r.orders, false, &|f| f.alpha)),
    );
    add(
        &mut out,
        "alpha_volatile",
        per(&|r| mean_over(&r.orders, true, &|f| f.alpha)),
    );
    let alpha_diff = add(
        &mut out,
        "alpha_volatile_minus_stable",
        per(&|r| diff(&r.orders)),
    );
    add(
        &mut out,
        "alpha_volatile_minus_stable_se",
        per(&|r| {
            let v: f64 = r
                .orders
                .iter()
                .map(OrderFit::alpha_difference_variance)
                .sum();
            v.sqrt() / r.orders.len() as f64
        }),
    );
    add(
        &mut out,
        "alpha_volatile_above_stable",
        per(&|r| (diff(&r.orders) > 0.0) as u8 as f64),
    );
    add(
        &mut out,
        "alpha_volatile_minus_stable_stable_first",
        per(&|r| difference_by_first(&r.orders, false)),
    );
    add(
        &mut out,
        "alpha_volatile_minus_stable_volatile_first",
        per(&|r| difference_by_first(&r.orders, true)),
    );
    add(
        &mut out,
        "beta_stable",
        per(&|r| mean_over(&r.orders, false, &|f| f.beta)),
    );
    add(
        &mut out,
        "beta_volatile",
        per(&|r| mean_over(&r.orders, true, &|f| f.beta)),
    );
    let acc = add(&mut out, "decoding_accuracy", per(&|r| r.decoding.0));
    let acc0 = add(&mut out, "decoding_accuracy_null", per(&|r| r.decoding.1));
    add(
        &mut out,
        "decoding_accuracy_excess",
        per(&|r| r.decoding.0 - r.decoding.1),
    );
    add(&mut out, "decoding_r2", per(&|r| r.decoding.2));
    add(&mut out, "decoding_r2_null", per(&|r| r.decoding.3));
    let share = add(&mut out, "volatility_unit_share", per(&|r| r.unit_share.0));
    let share0 = add(
        &mut out,
        "volatility_unit_share_null",
        per(&|r| r.unit_share.1),
    );
    add(
        &mut out,
        "volatility_unit_share_excess",
        per(&|r| r.unit_share.0 - r.unit_share.1),
    );
    let reward = add(&mut out, "reward_per_trial", per(&|r| r.reward));
    add(&mut out, "best_fixed_alpha", per(&|r| r.best_fixed.0));
    let fixed_reward = add(
        &mut out,
        "best_fixed_alpha_reward_per_trial",
        per(&|r| r.best_fixed.1),
    );
    add(
        &mut out,
        "reward_minus_best_fixed_alpha",
        per(&|r| r.reward - r.best_fixed.1),
    );
    let bayes_reward = add(&mut out, "bayes_reward_per_trial", per(&|r| r.bayes_reward));
    let oracle = add(
        &mut out,
        "oracle_reward_per_trial",
        per(&|r| r.oracle_reward),
    );
    add(
        &mut out,
        "bayes_alpha_stable",
        per(&|r| mean_over(&r.bayes_orders, false, &|f| f.alpha)),
    );
    add(
        &mut out,
        "bayes_alpha_volatile",
        per(&|r| mean_over(&r.bayes_orders, true, &|f| f.alpha)),
    );
    let bayes_diff = add(
        &mut out,
        "bayes_alpha_volatile_minus_stable",
        per(&|r| diff(&r.bayes_orders)),
    );
    let fixed_diff = add(
        &mut out,
        "fixed_hazard_alpha_volatile_minus_stable",
        per(&|r| diff(&r.fixed_hazard_orders)),
    );
    add(
        &mut out,
        "test_trials_per_block",
        vec![task.test_block_trials as f64; seeds.len()],
    );

    let data = S2FigureData {
        title: cfg.experiment.title.clone(),
        n_seeds: seeds.len(),
        example,
        alpha_blocks: alpha_blocks
            .into_iter()
            .map(|(_, label, network, bayes, fixed_hazard)| AlphaBlock {
                label,
                network,
                bayes,
                fixed_hazard,
            })
            .collect(),
        alpha_difference: alpha_diff,
        bayes_alpha_difference: bayes_diff,
        fixed_hazard_alpha_difference: fixed_diff,
        unit_share: share,
        unit_share_null: share0,
        paper_unit_share: fig.paper_unit_share,
        decoding_accuracy: acc,
        decoding_accuracy_null: acc0,
        reward,
        best_fixed_reward: fixed_reward,
        bayes_reward,
        oracle_reward: oracle,
    };
    out.figure = serde_json::to_value(&data)?;
    Ok(out)
}

/// Panel b's episode: the `index`-th test episode of the first condition.
fn example_episode(rows: &[Row], decoded: &[f64], index: usize) -> Result<ExampleEpisode> {
    let eps = episodes(rows);
    let first_condition = rows.first().map_or(0, |r| r.condition);
    let in_first: Vec<&std::ops::Range<usize>> = eps
        .iter()
        .filter(|r| rows[r.start].condition == first_condition)
        .collect();
    let r = in_first.get(index).with_context(|| {
        format!(
            "key `figure.example_episode` = {index}: the first condition has only {} test episodes",
            in_first.len()
        )
    })?;
    let ep = &rows[(*r).clone()];
    Ok(ExampleEpisode {
        seed: ep[0].seed,
        episode: ep[0].episode,
        p_arm0: ep.iter().map(|t| t.p_arm0).collect(),
        policy_arm0: ep.iter().map(|t| t.policy_arm0).collect(),
        choice: ep.iter().map(|t| t.choice as u8).collect(),
        rewarded: ep.iter().map(|t| t.rewarded).collect(),
        volatile: ep.iter().map(|t| t.volatile).collect(),
        decoded_volatility: decoded[(*r).clone()].to_vec(),
        block_labels: block_layout(ep).iter().map(|l| label_name(l.1)).collect(),
    })
}

pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    let data: S2FigureData = serde_json::from_value(outcomes.figure.clone())
        .context("outcomes.json has no Simulation 2 figure data (re-run `metarl analyze`)")?;
    let stem = fig_dir.join(&cfg.experiment.name);
    figure::render(&data, &stem)?;
    Ok(vec![stem])
}
