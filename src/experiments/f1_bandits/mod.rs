//! The introductory bandits of the paper's Fig. 1: networks trained on
//! independent and on correlated two-armed Bernoulli bandits against Gittins
//! indices, Thompson sampling, UCB1 and the exact Bayes-optimal policy.
//!
//! The run trains two variants on the same seeds (`independent`,
//! `correlated`: the family of bandits trained on) and tests each in four
//! conditions replaying the same episodes per seed: random problems of each
//! family and the fixed problems 0.25/0.75 and 0.6/0.4. The analysis rebuilds
//! every test episode from the trial table (p and the per-trial uniforms, see
//! `tasks::bernoulli_bandit`) and plays the reference agents (`baselines`) on
//! exactly those episodes. Analyses, per seed and then over seeds:
//! (a) cumulative regret Σ_t (max p − p_chosen) at every trial, and at trial
//! 100 as a ratio to the Bayes-optimal policy's (of the condition's family);
//! (b) the probability of choosing the better arm at each trial, and the first
//! trial at which it reaches `analysis.better_arm_threshold`;
//! (c) PCA of the LSTM state on random correlated bandits: the state is
//! recomputed from the checkpoint on the recorded inputs (the replayed policy
//! must match the recorded one), PCA over all steps of the seed's episodes,
//! and the correlation of PC1 at the last trial with p_L;
//! (d) post hoc, added after the first full run and used by no check: each
//! network's greedy readout (the same frozen weights choosing the more
//! probable arm on the same episodes), to separate the cost of the sampled
//! policy's noise from that of its strategy.

pub mod baselines;
pub mod figure;
pub mod figure_data;
pub mod reference_agents;

use super::{normalize_settings, settings, wrong_task, Experiment, Outcomes};
use crate::agent::{Params, Workspace};
use crate::config::Config;
use crate::record::{col_f64, col_u64};
use crate::stats::{self, bootstrap_mean, Estimate, Pca};
use crate::tasks::bernoulli_bandit::{BernoulliBanditConfig, Episode, Family};
use crate::tasks::TaskConfig;
use crate::validate;
use anyhow::{bail, Context, Result};
use baselines::{
    cumulative_regret, play, policy_rng, BanditPolicy, BayesCorrelated, BayesIndependent, Gittins,
    GittinsTable, Thompson, Ucb1,
};
use figure_data::*;
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// `[analysis]` keys of the introductory bandits (besides the common `bootstrap`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// Discount of the Gittins indices (the index policy is optimal for
    /// infinite-horizon discounted reward; the test episodes have 100 trials).
    #[serde(default = "default_discount")]
    pub gittins_discount: f64,
    /// Accuracy of each Gittins index (and the truncation of its program).
    #[serde(default = "default_tolerance")]
    pub gittins_tolerance: f64,
    /// "Reaches the better arm" = the first trial at which the probability of
    /// choosing the better arm (over a seed's test episodes) is at least this.
    #[serde(default = "default_threshold")]
    pub better_arm_threshold: f64,
    /// Recompute the networks from checkpoints/ for the greedy readout and the
    /// PCA. False for a trial table without checkpoints (the reference agents of
    /// `metarl references`): those metrics are then undefined (NaN). Also
    /// off, whatever this says, with `evaluation.plastic` (no frozen network).
    #[serde(default = "default_true")]
    pub replay_networks: bool,
}

fn default_true() -> bool {
    true
}

fn default_discount() -> f64 {
    0.98
}
fn default_tolerance() -> f64 {
    1e-6
}
fn default_threshold() -> f64 {
    0.75
}

impl Analysis {
    fn validate(&self) -> Result<()> {
        validate::range(
            "analysis.gittins_discount",
            self.gittins_discount,
            0.01,
            0.995,
            "in [0.01, 0.995] (higher discounts make the index table slow to compute)",
        )?;
        validate::range(
            "analysis.gittins_tolerance",
            self.gittins_tolerance,
            1e-10,
            1e-2,
            "in [1e-10, 1e-2]",
        )?;
        validate::range(
            "analysis.better_arm_threshold",
            self.better_arm_threshold,
            0.5,
            1.0,
            "in [0.5, 1]",
        )
    }
}

/// `[figure]` keys of the introductory bandits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The seed whose correlated-trained network's PCA is drawn (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pca_seed: Option<u64>,
    /// Number of p_L bins of the mean state trajectories in the PCA panel.
    #[serde(default = "default_bins")]
    pub pca_bins: usize,
}

fn default_bins() -> usize {
    8
}

/// The training variants the analysis needs, by name: (name, family trained on).
pub const VARIANTS: [(&str, Family); 2] = [
    ("independent", Family::Independent),
    ("correlated", Family::Correlated),
];

/// The test conditions the analysis needs: (name, family, fixed p).
pub const CONDITIONS: [(&str, Family, Option<[f64; 2]>); 4] = [
    ("independent", Family::Independent, None),
    ("correlated", Family::Correlated, None),
    ("fixed_25_75", Family::Fixed, Some([0.25, 0.75])),
    ("fixed_60_40", Family::Fixed, Some([0.6, 0.4])),
];

/// Every agent: (id used in metric names, label). The first two are the
/// networks of the two variants; the others are the reference agents.
///
/// The last two are a post-hoc diagnostic added after the first full run (no
/// check uses them): the same frozen networks replayed on the same episodes
/// choosing their more probable arm at every trial instead of sampling from
/// their policy, which separates the cost of the policy's sampling noise
/// (kept stochastic by the entropy bonus) from that of its strategy.
pub const AGENTS: [(&str, &str); 9] = [
    ("network_independent", "network, independent-trained"),
    ("network_correlated", "network, correlated-trained"),
    ("bayes_independent", "Bayes-optimal (independent prior)"),
    ("bayes_correlated", "Bayes-optimal (correlated prior)"),
    ("gittins", "Gittins index"),
    ("thompson", "Thompson sampling"),
    ("ucb1", "UCB1"),
    (
        "network_independent_greedy",
        "network, independent-trained, greedy readout (post hoc)",
    ),
    (
        "network_correlated_greedy",
        "network, correlated-trained, greedy readout (post hoc)",
    ),
];
const NET_IND: usize = 0;
const NET_COR: usize = 1;
const BAYES_IND: usize = 2;
const BAYES_COR: usize = 3;
const GITTINS: usize = 4;
const THOMPSON: usize = 5;
const UCB1: usize = 6;
const NET_IND_GREEDY: usize = 7;
const NET_COR_GREEDY: usize = 8;

/// The Bayes-optimal agent of a random condition (its own family's prior).
fn bayes_of(condition: &str) -> Option<usize> {
    match condition {
        "independent" => Some(BAYES_IND),
        "correlated" => Some(BAYES_COR),
        _ => None,
    }
}

/// Every metric of the analysis, with what it is.
pub static METRICS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    let mut m: Vec<(String, String)> = vec![];
    for (c, _, fixed) in CONDITIONS {
        let what = match fixed {
            Some(p) => format!("the fixed problem p = {}/{}", p[0], p[1]),
            None => format!("random {c} bandits"),
        };
        for (a, label) in AGENTS {
            m.push((
                format!("regret_{c}_{a}"),
                format!("{label}: cumulative regret at the last trial on {what} (mean over test episodes)"),
            ));
        }
        if fixed.is_none() {
            for (a, label) in AGENTS {
                m.push((
                    format!("ratio_{c}_{a}"),
                    format!("{label}: regret at the last trial / the Bayes-optimal policy's ({c} prior), on {what}"),
                ));
            }
        } else {
            for (a, label) in AGENTS {
                m.push((
                    format!("trials_to_better_{c}_{a}"),
                    format!("{label}: first trial at which P(better arm) reaches analysis.better_arm_threshold on {what} (trials + 1 if never)"),
                ));
            }
        }
    }
    let named = [
        ("independent_network_minus_ucb1", "regret at the last trial on random independent bandits: independent-trained network − UCB1 (paired by seed)"),
        ("independent_network_over_gittins", "regret at the last trial on random independent bandits: independent-trained network / Gittins index policy"),
        ("fixed_25_75_independent_minus_correlated_network", "regret at the last trial on 0.25/0.75: independent-trained − correlated-trained network (paired by seed)"),
        ("correlated_network_trials_to_better_60_40_minus_25_75", "correlated-trained network: trials to reach the better arm on 0.6/0.4 − on 0.25/0.75"),
        ("pca_pc1_variance_network_correlated", "correlated-trained network on random correlated bandits: share of the LSTM state variance on PC1"),
        ("pca_pc1_abs_r_p_left_network_correlated", "correlated-trained network on random correlated bandits: |Pearson r| of PC1 at the last trial with p_L over episodes"),
        ("pca_pc1_variance_network_independent", "independent-trained network on random correlated bandits: share of the LSTM state variance on PC1"),
        ("pca_pc1_abs_r_p_left_network_independent", "independent-trained network on random correlated bandits: |Pearson r| of PC1 at the last trial with p_L over episodes"),
        ("reward_per_trial_independent_network_independent", "independent-trained network on random independent bandits: reward per trial"),
        ("reward_per_trial_correlated_network_correlated", "correlated-trained network on random correlated bandits: reward per trial"),
    ];
    m.extend(named.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    m.into_iter()
        .map(|(a, b)| -> (&'static str, &'static str) { (a.leak(), b.leak()) })
        .collect()
});

fn describe(name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|m| m.0 == name)
        .map(|m| m.1)
        .unwrap_or_else(|| panic!("metric {name} is not declared in METRICS"))
}

/// The registry entry of the introductory bandits.
pub struct F1Bandits;

fn task_of(cfg: &Config) -> Result<&BernoulliBanditConfig> {
    match &cfg.task {
        TaskConfig::BernoulliBandit(t) => Ok(t),
        other => Err(wrong_task("f1_bandits", "bernoulli_bandit", other)),
    }
}

fn bandit_of(task: &TaskConfig) -> Option<&BernoulliBanditConfig> {
    match task {
        TaskConfig::BernoulliBandit(t) => Some(t),
        _ => None,
    }
}

/// The variants and conditions the analysis reads must exist, with the right
/// families (extra ones are allowed and ignored).
fn check_design(cfg: &Config) -> Result<()> {
    task_of(cfg)?;
    // The greedy play and the state PCA replay the network from its
    // checkpoint with the previous reward as input; they know no critic. ("none",
    // the no-reward-input control, is replayed with the reward input's weights zeroed.)
    if cfg.agent.feedback == crate::config::Feedback::Rpe {
        bail!(
            "key `agent.feedback` = \"{}\": the f1_bandits analysis replays the network with the \
             previous reward as its input (greedy play, state PCA), so only \"reward\" (or \"none\") is supported",
            cfg.agent.feedback
        );
    }
    let variants = cfg.training_variants()?;
    for (name, family) in VARIANTS {
        let Some((_, vcfg)) = variants.iter().find(|(n, _)| n.as_deref() == Some(name)) else {
            bail!(
                "the f1_bandits analysis needs a [[variants]] entry named {name:?} (trained on {} bandits)",
                format!("{family:?}").to_lowercase()
            );
        };
        let t = task_of(vcfg)?;
        if t.family != family {
            bail!(
                "variant {name:?} must train on task.family = {:?}, not {:?}",
                format!("{family:?}").to_lowercase(),
                format!("{:?}", t.family).to_lowercase()
            );
        }
    }
    let conditions = cfg.test_conditions()?;
    let trials = task_of(cfg)?.trials;
    for (name, family, fixed) in CONDITIONS {
        let Some(c) = conditions.iter().find(|c| c.name.as_deref() == Some(name)) else {
            bail!(
                "the f1_bandits analysis needs an [[evaluation.conditions]] entry named {name:?}"
            );
        };
        let t = bandit_of(&c.task).context("condition task is not a bernoulli_bandit")?;
        let ok = t.family == family
            && fixed.is_none_or(|p| {
                let (l, r) = (t.p_left, t.p_right);
                (l == Some(p[0]) && r == Some(p[1]))
                    || (t.random_sides && l == Some(p[1]) && r == Some(p[0]))
            });
        if !ok {
            bail!(
                "condition {name:?} must have task.family = {:?}{} (random_sides optional)",
                format!("{family:?}").to_lowercase(),
                fixed
                    .map(|p| format!(", p_left = {}, p_right = {}", p[0], p[1]))
                    .unwrap_or_default()
            );
        }
        if t.trials != trials {
            bail!("condition {name:?}: task.trials must be the same as [task] ({trials})");
        }
        if c.seeds < cfg.seeds.count {
            bail!("condition {name:?} must test every seed (the analysis pairs by seed)");
        }
    }
    Ok(())
}

impl Experiment for F1Bandits {
    fn id(&self) -> &'static str {
        "f1_bandits"
    }
    fn metrics(&self) -> &'static [(&'static str, &'static str)] {
        METRICS.as_slice()
    }
    fn normalize(&self, cfg: &mut Config) -> Result<()> {
        check_design(cfg)?;
        if task_of(cfg)?.trials > 200 {
            bail!(
                "key `task.trials` = {}: the f1_bandits analysis computes the Bayes-optimal \
                 policy exactly, which needs C(trials + 3, 4) states; at most 200 trials",
                task_of(cfg)?.trials
            );
        }
        normalize_settings::<Analysis>(&mut cfg.analysis.settings, "analysis")?.validate()?;
        let fig: Figure = normalize_settings(&mut cfg.figure, "figure")?;
        validate::positive("figure.pca_bins", fig.pca_bins)?;
        if let Some(s) = fig.pca_seed {
            if !cfg.seed_list().contains(&s) {
                bail!("key `figure.pca_seed` = {s}: not a seed of this run");
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
    fn references(&self, cfg: &Config) -> Result<Vec<crate::references::Reference>> {
        reference_agents::references(cfg)
    }
}

// ---------------------------------------------------------------------------
// Reading the trial table
// ---------------------------------------------------------------------------

/// One test episode as a network played it.
#[derive(Debug, Clone)]
pub struct Played {
    pub episode: Episode,
    pub choices: Vec<u8>,
    pub rewards: Vec<u8>,
    /// The recorded policy's probability of the left arm at each trial.
    pub p_left_policy: Vec<f64>,
}

/// (variant, condition, seed) → that network's test episodes in order.
pub type PlayedTable = BTreeMap<(String, String, u64), Vec<Played>>;

/// A string column as small integer codes and the distinct values (the
/// `variant` and `condition` labels repeat on every row).
fn col_codes(df: &polars::prelude::DataFrame, name: &str) -> Result<(Vec<u16>, Vec<String>)> {
    let ca = df
        .column(name)
        .map_err(|_| anyhow::anyhow!("trial table has no column {name}"))?
        .str()?
        .clone();
    let mut values: Vec<String> = vec![];
    let mut codes = Vec::with_capacity(ca.len());
    for (i, v) in ca.iter().enumerate() {
        let v = v.with_context(|| format!("column {name} has a missing value at row {i}"))?;
        let code = match values.iter().position(|x| x == v) {
            Some(c) => c,
            None => {
                values.push(v.to_string());
                values.len() - 1
            }
        };
        codes.push(code as u16);
    }
    Ok((codes, values))
}

/// The columns of trials.parquet the analysis reads.
const COLUMNS: [&str; 12] = [
    "seed",
    "variant",
    "condition",
    "episode",
    "trial",
    "action",
    "reward",
    "p_0",
    "p_left",
    "p_right",
    "u_left",
    "u_right",
];

fn read_trials(path: &Path) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::{ParquetReader, SerReader};
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ParquetReader::new(f)
        .with_columns(Some(COLUMNS.iter().map(|c| c.to_string()).collect()))
        .finish()
        .map_err(|e| anyhow::anyhow!("cannot read {} as Parquet: {e}", path.display()))
}

/// Rebuild every test episode from the trial table, checking that each
/// episode is complete, that p is constant within it, and that every recorded
/// reward is what the recorded uniforms say (u_a < p_a).
pub fn load_played(df: &polars::prelude::DataFrame, trials: usize) -> Result<PlayedTable> {
    let variant = col_codes(df, "variant")?;
    let condition = col_codes(df, "condition")?;
    let seed = col_u64(df, "seed")?;
    let episode = col_u64(df, "episode")?;
    let trial = col_u64(df, "trial")?;
    let action = col_u64(df, "action")?;
    let reward = col_f64(df, "reward")?;
    let p_policy = col_f64(df, "p_0")?;
    let (pl, pr) = (col_f64(df, "p_left")?, col_f64(df, "p_right")?);
    let (ul, ur) = (col_f64(df, "u_left")?, col_f64(df, "u_right")?);
    let mut out: PlayedTable = BTreeMap::new();
    let mut i = 0;
    while i < seed.len() {
        let start = i;
        let key = (
            variant.1[variant.0[i] as usize].clone(),
            condition.1[condition.0[i] as usize].clone(),
            seed[i],
        );
        let (vc, cc) = (variant.0[i], condition.0[i]);
        let ep = episode[i];
        let mut played = Played {
            episode: Episode {
                p: [pl[i], pr[i]],
                u: [Vec::with_capacity(trials), Vec::with_capacity(trials)],
            },
            choices: Vec::with_capacity(trials),
            rewards: Vec::with_capacity(trials),
            p_left_policy: Vec::with_capacity(trials),
        };
        while i < seed.len()
            && episode[i] == ep
            && seed[i] == key.2
            && condition.0[i] == cc
            && variant.0[i] == vc
        {
            let t = i - start;
            if trial[i] as usize != t
                || pl[i] != played.episode.p[0]
                || pr[i] != played.episode.p[1]
            {
                bail!(
                    "trial table, {key:?} episode {ep}: row {i} breaks the episode (trial {} where {t} was expected, or p changed)",
                    trial[i]
                );
            }
            let a = action[i] as usize;
            if a > 1 {
                bail!("trial table row {i}: action {a} is not 0 or 1");
            }
            played.episode.u[0].push(ul[i]);
            played.episode.u[1].push(ur[i]);
            played.choices.push(a as u8);
            let r = reward[i] > 0.5;
            if r != played.episode.pays(a, t) {
                bail!(
                    "trial table row {i}: reward {} but u = {} against p = {} says otherwise",
                    reward[i],
                    played.episode.u[a][t],
                    played.episode.p[a]
                );
            }
            played.rewards.push(r as u8);
            played.p_left_policy.push(p_policy[i]);
            i += 1;
        }
        if played.choices.len() != trials {
            bail!(
                "trial table, {key:?} episode {ep}: {} trials, expected {trials}",
                played.choices.len()
            );
        }
        let list = out.entry(key.clone()).or_default();
        if list.len() as u64 != ep {
            bail!("trial table, {key:?}: episode {ep} out of order");
        }
        list.push(played);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Per-seed analysis
// ---------------------------------------------------------------------------

/// One agent's curves on one seed's episodes of one condition.
#[derive(Debug, Clone)]
pub struct AgentCurves {
    /// Mean cumulative regret after each trial.
    pub regret: Vec<f64>,
    /// Probability of choosing the better arm at each trial.
    pub better: Vec<f64>,
    /// Reward per trial.
    pub reward_rate: f64,
}

fn curves(episodes: &[Episode], choices: &[Vec<u8>], rewards: &[Vec<u8>]) -> AgentCurves {
    let horizon = episodes[0].horizon();
    let n = episodes.len() as f64;
    let mut regret = vec![0.0; horizon];
    let mut better = vec![0.0; horizon];
    let mut total_reward = 0.0;
    for ((e, c), r) in episodes.iter().zip(choices).zip(rewards) {
        for (t, v) in cumulative_regret(e.p, c).into_iter().enumerate() {
            regret[t] += v / n;
        }
        let b = e.better_arm() as u8;
        for (t, &ch) in c.iter().enumerate() {
            // Equal arms: either choice is "better" (measure-zero for random p).
            let good = ch == b || e.p[0] == e.p[1];
            better[t] += good as u8 as f64 / n;
        }
        total_reward += r.iter().map(|&x| x as f64).sum::<f64>();
    }
    AgentCurves {
        regret,
        better,
        reward_rate: total_reward / (n * horizon as f64),
    }
}

/// The reference agents, their tables computed once.
pub struct References {
    pub bayes_independent: BayesIndependent,
    pub bayes_correlated: BayesCorrelated,
    pub gittins: Gittins,
}

impl References {
    pub fn new(trials: usize, an: &Analysis) -> Self {
        References {
            bayes_independent: BayesIndependent::new(trials),
            bayes_correlated: BayesCorrelated::new(trials),
            gittins: Gittins {
                table: GittinsTable::shared(
                    an.gittins_discount,
                    trials.saturating_sub(1) as u32,
                    an.gittins_tolerance,
                ),
            },
        }
    }

    /// The reference agent of AGENTS[i] (None for the networks).
    fn policy(&self, i: usize) -> Option<&dyn BanditPolicy> {
        match i {
            BAYES_IND => Some(&self.bayes_independent),
            BAYES_COR => Some(&self.bayes_correlated),
            GITTINS => Some(&self.gittins),
            THOMPSON => Some(&Thompson),
            UCB1 => Some(&Ucb1),
            _ => None,
        }
    }
}

/// Every agent's curves on one seed's episodes of one condition: the networks
/// as recorded, the reference agents replayed on the same episodes (each on
/// its own random stream per episode, [`policy_rng`]), and the networks'
/// greedy readouts (`greedy`, played by [`play_network_greedy`]).
/// One episode's (choices, rewards), as the greedy readout replays them.
pub type Choices = (Vec<u8>, Vec<u8>);

pub fn seed_curves(
    seed: u64,
    networks: [&[Played]; 2],
    greedy: Option<[&[Choices]; 2]>,
    refs: &References,
) -> Result<Vec<AgentCurves>> {
    let episodes: Vec<Episode> = networks[0].iter().map(|p| p.episode.clone()).collect();
    if networks[1].len() != episodes.len()
        || networks[1]
            .iter()
            .zip(&episodes)
            .any(|(p, e)| &p.episode != e)
    {
        bail!("seed {seed}: the two networks were not tested on the same episodes");
    }
    (0..AGENTS.len())
        .map(|i| {
            let (choices, rewards): (Vec<Vec<u8>>, Vec<Vec<u8>>) = match refs.policy(i) {
                None if i >= NET_IND_GREEDY => match greedy {
                    Some(g) => g[i - NET_IND_GREEDY].iter().cloned().unzip(),
                    None => {
                        let horizon = episodes[0].horizon();
                        return Ok(AgentCurves {
                            regret: vec![f64::NAN; horizon],
                            better: vec![f64::NAN; horizon],
                            reward_rate: f64::NAN,
                        });
                    }
                },
                None => networks[i]
                    .iter()
                    .map(|p| (p.choices.clone(), p.rewards.clone()))
                    .unzip(),
                Some(policy) => episodes
                    .iter()
                    .enumerate()
                    .map(|(k, e)| {
                        let p = play(policy, e, &mut policy_rng(seed, i as u32, k as u32));
                        (p.choices, p.rewards)
                    })
                    .unzip(),
            };
            Ok(curves(&episodes, &choices, &rewards))
        })
        .collect()
}

/// First trial (1-based) at which `better` reaches `threshold`; trials + 1 if never.
pub fn trials_to_better(better: &[f64], threshold: f64) -> f64 {
    better
        .iter()
        .position(|&b| b >= threshold)
        .map_or(better.len() + 1, |t| t + 1) as f64
}

/// The LSTM state at every step of `played`, recomputed from the checkpoint
/// on the recorded inputs (previous action one-hot and previous reward, and
/// t/T with `time_input`), in batches of 50 episodes. Returns the states
/// (episode-major, then trial, then unit) and the largest difference between
/// the replayed and the recorded policy.
pub fn replay_states(
    params: &Params,
    played: &[Played],
    time_input: bool,
) -> Result<(Vec<f64>, f64)> {
    let horizon = played[0].choices.len();
    let n_in = 3 + time_input as usize;
    if params.n_in != n_in || params.n_actions != 2 {
        bail!(
            "checkpoint has {} inputs and {} actions; a two-armed bandit network has {n_in} and 2",
            params.n_in,
            params.n_actions
        );
    }
    let h = params.hidden;
    let mut states = Vec::with_capacity(played.len() * horizon * h);
    let mut max_diff: f64 = 0.0;
    for chunk in played.chunks(50) {
        let b = chunk.len();
        let mut ws = Workspace::new(params, b, horizon);
        let mut x = Array2::<f32>::zeros((b, n_in));
        for t in 0..horizon {
            x.fill(0.0);
            for (k, p) in chunk.iter().enumerate() {
                if t > 0 {
                    x[[k, p.choices[t - 1] as usize]] = 1.0;
                    x[[k, 2]] = p.rewards[t - 1] as f32;
                }
                if time_input {
                    x[[k, 3]] = t as f32 / horizon as f32;
                }
            }
            ws.forward_step(params, t, x.view());
            for (k, p) in chunk.iter().enumerate() {
                let d = (ws.policy(t, k)[0] as f64 - p.p_left_policy[t]).abs();
                max_diff = max_diff.max(d);
            }
        }
        for k in 0..b {
            for t in 0..horizon {
                states.extend(ws.hidden_state(t, k).iter().map(|&v| v as f64));
            }
        }
    }
    Ok((states, max_diff))
}

/// Play the frozen network on `episodes`, choosing at every trial the arm its
/// policy makes more probable (the left one if both are exactly equal), with
/// the same inputs as in the test (previous action one-hot, previous reward,
/// and t/T with `time_input`). Returns (choices, rewards) per episode.
pub fn play_network_greedy(
    params: &Params,
    episodes: &[Episode],
    time_input: bool,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let horizon = episodes[0].horizon();
    let n_in = 3 + time_input as usize;
    if params.n_in != n_in || params.n_actions != 2 {
        bail!(
            "checkpoint has {} inputs and {} actions; a two-armed bandit network has {n_in} and 2",
            params.n_in,
            params.n_actions
        );
    }
    let mut out = Vec::with_capacity(episodes.len());
    for chunk in episodes.chunks(50) {
        let b = chunk.len();
        let mut ws = Workspace::new(params, b, horizon);
        let mut x = Array2::<f32>::zeros((b, n_in));
        let mut plays: Vec<(Vec<u8>, Vec<u8>)> = vec![(vec![], vec![]); b];
        for t in 0..horizon {
            x.fill(0.0);
            for (k, (c, r)) in plays.iter().enumerate() {
                if t > 0 {
                    x[[k, c[t - 1] as usize]] = 1.0;
                    x[[k, 2]] = r[t - 1] as f32;
                }
                if time_input {
                    x[[k, 3]] = t as f32 / horizon as f32;
                }
            }
            ws.forward_step(params, t, x.view());
            for (k, (c, r)) in plays.iter_mut().enumerate() {
                let p = ws.policy(t, k);
                let a = usize::from(p[1] > p[0]);
                c.push(a as u8);
                r.push(chunk[k].pays(a, t) as u8);
            }
        }
        out.extend(plays);
    }
    Ok(out)
}

/// PCA of one network's states over one seed's episodes.
pub struct PcaResult {
    pub pca: Pca,
    /// (PC1, PC2) at every step, episode-major.
    pub coords: Vec<[f64; 2]>,
    /// |Pearson r| of PC1 at the last trial with p_L.
    pub abs_r: f64,
}

pub fn state_pca(states: &[f64], hidden: usize, played: &[Played]) -> Result<PcaResult> {
    let pca = Pca::fit(states, hidden, 2)?;
    let coords: Vec<[f64; 2]> = states
        .chunks(hidden)
        .map(|row| {
            let c = pca.project(row);
            [c[0], c[1]]
        })
        .collect();
    let horizon = played[0].choices.len();
    let last: Vec<f64> = (0..played.len())
        .map(|k| coords[k * horizon + horizon - 1][0])
        .collect();
    let p_left: Vec<f64> = played.iter().map(|p| p.episode.p[0]).collect();
    let abs_r = stats::pearson(&last, &p_left).abs();
    Ok(PcaResult { pca, coords, abs_r })
}

/// A bootstrap seed from a metric name (FNV-1a).
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn checkpoint(cfg: &Config, run_dir: &Path, variant: &str, seed: u64) -> Result<Params> {
    let path = run_dir
        .join("checkpoints")
        .join(variant)
        .join(format!("seed_{seed}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
    let mut params =
        Params::load_json(&text).with_context(|| format!("checkpoint {}", path.display()))?;
    // The no-reward-input control (agent.feedback = "none"): the replays feed the
    // reward, so the weights of the reward input (column 2: after the two action
    // inputs) are zeroed; the network then computes exactly what it did in the test.
    if cfg.agent.feedback == crate::config::Feedback::None {
        params.w.column_mut(2).fill(0.0);
    }
    Ok(params)
}

// ---------------------------------------------------------------------------
// The analysis
// ---------------------------------------------------------------------------

pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    let task = task_of(cfg)?;
    let an: Analysis = settings(&cfg.analysis.settings, "analysis")?;
    let fig: Figure = settings(&cfg.figure, "figure")?;
    let bootstrap = cfg.analysis.bootstrap;
    let trials = task.trials;
    let df = read_trials(&run_dir.join("trials.parquet"))?;
    let played = load_played(&df, trials)?;
    drop(df);
    // The seeds present for every variant and condition (a seed whose training
    // diverged in either variant has no pair and is left out).
    let seeds: Vec<u64> = cfg
        .seed_list()
        .into_iter()
        .filter(|&s| {
            VARIANTS.iter().all(|(v, _)| {
                CONDITIONS
                    .iter()
                    .all(|(c, _, _)| played.contains_key(&(v.to_string(), c.to_string(), s)))
            })
        })
        .collect();
    if seeds.is_empty() {
        bail!("trials.parquet holds no seed of this run with episodes of both variants in all four conditions");
    }
    let refs = References::new(trials, &an);
    // The greedy readout and the PCA replay the frozen network from its
    // checkpoint, which a network that learned during the test (the plastic
    // control) is not: those metrics are then undefined (NaN), as without replay.
    let replay = an.replay_networks && !cfg.evaluation.plastic;

    // Every (condition, seed): all agents' curves.
    let jobs: Vec<(usize, u64)> = (0..CONDITIONS.len())
        .flat_map(|c| seeds.iter().map(move |&s| (c, s)))
        .collect();
    let get = |variant: &str, condition: &str, seed: u64| -> Result<&Vec<Played>> {
        played
            .get(&(variant.to_string(), condition.to_string(), seed))
            .with_context(|| {
                format!("trial table has no episodes of variant {variant:?}, condition {condition:?}, seed {seed}")
            })
    };
    let results: Vec<Vec<AgentCurves>> = jobs
        .par_iter()
        .map(|&(c, seed)| {
            let cond = CONDITIONS[c].0;
            let nets = [
                get(VARIANTS[0].0, cond, seed)?.as_slice(),
                get(VARIANTS[1].0, cond, seed)?.as_slice(),
            ];
            let episodes: Vec<Episode> = nets[0].iter().map(|p| p.episode.clone()).collect();
            if !replay {
                return seed_curves(seed, nets, None, &refs);
            }
            let greedy = VARIANTS
                .iter()
                .map(|(v, _)| {
                    let params = checkpoint(cfg, run_dir, v, seed)?;
                    play_network_greedy(&params, &episodes, cfg.agent.time_input)
                })
                .collect::<Result<Vec<_>>>()?;
            seed_curves(seed, nets, Some([&greedy[0], &greedy[1]]), &refs)
        })
        .collect::<Result<_>>()?;
    // curves[c][s][agent]
    let per: Vec<&[Vec<AgentCurves>]> = results.chunks(seeds.len()).collect();

    // PCA on random correlated bandits, both networks, every seed.
    let pca_jobs: Vec<(usize, u64)> = [NET_COR, NET_IND]
        .iter()
        .flat_map(|&v| seeds.iter().map(move |&s| (v, s)))
        .collect();
    let pcas: Vec<(PcaResult, f64)> = pca_jobs
        .par_iter()
        .filter(|_| replay)
        .map(|&(v, seed)| {
            let variant = VARIANTS[v].0;
            let eps = get(variant, "correlated", seed)?;
            let params = checkpoint(cfg, run_dir, variant, seed)?;
            let (states, diff) = replay_states(&params, eps, cfg.agent.time_input)?;
            if diff > 1e-4 {
                bail!(
                    "variant {variant}, seed {seed}: the replayed network's policy differs from the recorded one by {diff:.2e}"
                );
            }
            Ok((state_pca(&states, params.hidden, eps)?, diff))
        })
        .collect::<Result<_>>()?;

    let mut out = Outcomes::new(cfg, seeds.clone());
    // Each metric's bootstrap stream is seeded from its name, so that adding
    // a metric does not change the others' intervals.
    let boot = |name: &str, v: &[f64]| bootstrap_mean(v, bootstrap, name_seed(name));
    let last = |c: &AgentCurves| *c.regret.last().unwrap();
    let mut regret_est: BTreeMap<(usize, usize), Estimate> = BTreeMap::new();
    let mut ratio_est: BTreeMap<(usize, usize), Estimate> = BTreeMap::new();
    for (c, (cond, _, fixed)) in CONDITIONS.iter().enumerate() {
        for (a, (agent, _)) in AGENTS.iter().enumerate() {
            let v: Vec<f64> = per[c].iter().map(|s| last(&s[a])).collect();
            let name = format!("regret_{cond}_{agent}");
            let e = boot(&name, &v);
            out.add(&name, describe(&name), e.clone());
            regret_est.insert((c, a), e);
        }
        if let Some(b) = bayes_of(cond) {
            for (a, (agent, _)) in AGENTS.iter().enumerate() {
                let v: Vec<f64> = per[c].iter().map(|s| last(&s[a]) / last(&s[b])).collect();
                let name = format!("ratio_{cond}_{agent}");
                let e = boot(&name, &v);
                out.add(&name, describe(&name), e.clone());
                ratio_est.insert((c, a), e);
            }
        }
        if fixed.is_some() {
            for (a, (agent, _)) in AGENTS.iter().enumerate() {
                let v: Vec<f64> = per[c]
                    .iter()
                    .map(|s| trials_to_better(&s[a].better, an.better_arm_threshold))
                    .collect();
                let name = format!("trials_to_better_{cond}_{agent}");
                out.add(&name, describe(&name), boot(&name, &v));
            }
        }
    }
    // PCA statistics of the correlated-trained (0) or independent-trained (1)
    // network per seed; undefined without the replay (`replay_networks = false`, plastic test).
    let pca_stat = |net: usize, f: &dyn Fn(&PcaResult) -> f64| -> Vec<f64> {
        if pcas.is_empty() {
            return vec![f64::NAN; seeds.len()];
        }
        pcas[net * seeds.len()..(net + 1) * seeds.len()]
            .iter()
            .map(|p| f(&p.0))
            .collect()
    };
    let (ind, cor, easy, hard) = (0, 1, 2, 3);
    let paired = |c: usize, f: &dyn Fn(&[AgentCurves]) -> f64| -> Vec<f64> {
        per[c].iter().map(|s| f(s)).collect()
    };
    let named: Vec<(&str, Vec<f64>)> = vec![
        (
            "independent_network_minus_ucb1",
            paired(ind, &|s| last(&s[NET_IND]) - last(&s[UCB1])),
        ),
        (
            "independent_network_over_gittins",
            paired(ind, &|s| last(&s[NET_IND]) / last(&s[GITTINS])),
        ),
        (
            "fixed_25_75_independent_minus_correlated_network",
            paired(easy, &|s| last(&s[NET_IND]) - last(&s[NET_COR])),
        ),
        (
            "correlated_network_trials_to_better_60_40_minus_25_75",
            (0..seeds.len())
                .map(|k| {
                    trials_to_better(&per[hard][k][NET_COR].better, an.better_arm_threshold)
                        - trials_to_better(&per[easy][k][NET_COR].better, an.better_arm_threshold)
                })
                .collect(),
        ),
        (
            "pca_pc1_variance_network_correlated",
            pca_stat(0, &|p| p.pca.explained[0]),
        ),
        (
            "pca_pc1_abs_r_p_left_network_correlated",
            pca_stat(0, &|p| p.abs_r),
        ),
        (
            "pca_pc1_variance_network_independent",
            pca_stat(1, &|p| p.pca.explained[0]),
        ),
        (
            "pca_pc1_abs_r_p_left_network_independent",
            pca_stat(1, &|p| p.abs_r),
        ),
        (
            "reward_per_trial_independent_network_independent",
            paired(ind, &|s| s[NET_IND].reward_rate),
        ),
        (
            "reward_per_trial_correlated_network_correlated",
            paired(cor, &|s| s[NET_COR].reward_rate),
        ),
    ];
    for (name, v) in &named {
        out.add(name, describe(name), boot(name, v));
    }

    // Figure data.
    let band = |c: usize, a: usize, f: &dyn Fn(&AgentCurves) -> &Vec<f64>| -> Curve {
        let stream = name_seed(&format!("curve_{}_{}", CONDITIONS[c].0, AGENTS[a].0));
        let ests: Vec<Estimate> = (0..trials)
            .map(|t| {
                let v: Vec<f64> = per[c].iter().map(|s| f(&s[a])[t]).collect();
                bootstrap_mean(&v, bootstrap, stream)
            })
            .collect();
        Curve {
            agent: AGENTS[a].0.to_string(),
            label: AGENTS[a].1.to_string(),
            mean: ests.iter().map(|e| e.mean).collect(),
            ci_low: ests.iter().map(|e| e.ci_low).collect(),
            ci_high: ests.iter().map(|e| e.ci_high).collect(),
        }
    };
    let panel_agents = |c: usize| -> Vec<usize> {
        let mut v = vec![NET_IND, NET_COR];
        // The greedy readouts exist only where the frozen networks were replayed.
        if replay {
            v.extend([NET_IND_GREEDY, NET_COR_GREEDY]);
        }
        v.push(bayes_of(CONDITIONS[c].0).unwrap_or(BAYES_COR));
        v.extend([GITTINS, THOMPSON, UCB1]);
        v
    };
    let regret_panels: Vec<CurvePanel> = [ind, cor]
        .iter()
        .map(|&c| CurvePanel {
            condition: CONDITIONS[c].0.to_string(),
            curves: panel_agents(c)
                .into_iter()
                .map(|a| band(c, a, &|s| &s.regret))
                .collect(),
            final_estimates: panel_agents(c)
                .into_iter()
                .map(|a| regret_est[&(c, a)].clone())
                .collect(),
            ratios: panel_agents(c)
                .into_iter()
                .map(|a| ratio_est.get(&(c, a)).map(|e| e.mean))
                .collect(),
        })
        .collect();
    let better_panels: Vec<CurvePanel> = [easy, hard]
        .iter()
        .map(|&c| CurvePanel {
            condition: CONDITIONS[c].0.to_string(),
            curves: [NET_IND, NET_COR, BAYES_COR, BAYES_IND, GITTINS, THOMPSON]
                .into_iter()
                .map(|a| band(c, a, &|s| &s.better))
                .collect(),
            final_estimates: vec![],
            ratios: vec![],
        })
        .collect();
    // (The declared seed may have failed in training: then the first one present.)
    let pca_seed = fig
        .pca_seed
        .filter(|s| seeds.contains(s))
        .unwrap_or(seeds[0]);
    let pca = if pcas.is_empty() {
        PcaPanel {
            seed: pca_seed,
            variant: VARIANTS[NET_COR].0.to_string(),
            explained: [f64::NAN; 2],
            abs_r: f64::NAN,
            max_policy_difference: f64::NAN,
            trajectories: vec![],
            last_trial: vec![],
        }
    } else {
        pca_panel(
            &pcas,
            &seeds,
            pca_seed,
            get(VARIANTS[NET_COR].0, "correlated", pca_seed)?,
            trials,
            fig.pca_bins,
        )
    };

    let expected = ExpectedRegret {
        bayes_independent: trials as f64 * 2.0 / 3.0 - refs.bayes_independent.value(),
        bayes_correlated: trials as f64 * 0.75 - refs.bayes_correlated.value(),
    };
    let data = F1FigureData {
        title: cfg.experiment.title.clone(),
        n_seeds: seeds.len(),
        episodes: get(VARIANTS[0].0, CONDITIONS[0].0, seeds[0])?.len(),
        trials,
        gittins_discount: an.gittins_discount,
        better_arm_threshold: an.better_arm_threshold,
        fixed_problems: cfg
            .test_conditions()?
            .iter()
            .filter_map(|c| {
                let t = bandit_of(&c.task)?;
                let name = c.name.clone()?;
                (t.family == Family::Fixed && CONDITIONS.iter().any(|k| k.0 == name)).then(|| {
                    FixedProblem {
                        condition: name,
                        p: [t.p_left.unwrap_or(f64::NAN), t.p_right.unwrap_or(f64::NAN)],
                        random_sides: t.random_sides,
                    }
                })
            })
            .collect(),
        expected_regret_under_prior: expected,
        regret: regret_panels,
        better: better_panels,
        pca,
    };
    out.figure = serde_json::to_value(&data)?;
    Ok(out)
}

/// The PCA panel of the figure: mean state trajectories by p_L bin and the
/// last-trial states of the correlated-trained network of `pca_seed`.
fn pca_panel(
    pcas: &[(PcaResult, f64)],
    seeds: &[u64],
    pca_seed: u64,
    eps: &[Played],
    trials: usize,
    bins: usize,
) -> PcaPanel {
    let k = seeds.iter().position(|&s| s == pca_seed).unwrap_or(0);
    let pr = &pcas[k].0;
    let mut traj = vec![(vec![[0.0f64; 2]; trials], 0usize); bins];
    for (e, p) in eps.iter().enumerate() {
        let bin = ((p.episode.p[0] * bins as f64) as usize).min(bins - 1);
        traj[bin].1 += 1;
        for t in 0..trials {
            let c = pr.coords[e * trials + t];
            traj[bin].0[t][0] += c[0];
            traj[bin].0[t][1] += c[1];
        }
    }
    PcaPanel {
        seed: pca_seed,
        variant: VARIANTS[NET_COR].0.to_string(),
        explained: [pr.pca.explained[0], pr.pca.explained[1]],
        abs_r: pr.abs_r,
        max_policy_difference: pcas.iter().map(|p| p.1).fold(0.0, f64::max),
        trajectories: traj
            .into_iter()
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(b, (sum, n))| PcaTrajectory {
                p_left_low: b as f64 / bins as f64,
                p_left_high: (b + 1) as f64 / bins as f64,
                episodes: n,
                pc: sum
                    .iter()
                    .map(|c| [c[0] / n as f64, c[1] / n as f64])
                    .collect(),
            })
            .collect(),
        last_trial: eps
            .iter()
            .enumerate()
            .map(|(e, p)| {
                let c = pr.coords[e * trials + trials - 1];
                [p.episode.p[0], c[0], c[1]]
            })
            .collect(),
    }
}

pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    let data: F1FigureData = serde_json::from_value(outcomes.figure.clone())
        .context("outcomes.json has no f1_bandits figure data (re-run `metarl analyze`)")?;
    let stem = fig_dir.join(&cfg.experiment.name);
    figure::render(&data, &stem)?;
    Ok(vec![stem])
}
