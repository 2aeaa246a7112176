//! Simulation 5: learning to learn, the Harlow task with images (paper Fig. 6;
//! Harlow 1949), on `tasks::harlow`.
//!
//! Analyses, per seed over its frozen-weight test problems (choice steps only):
//! (a) accuracy (chose the rewarded image) on trials 1..n of held-out problems,
//!     whose two images come from the test pool and were never seen in training,
//!     at every training stage (`evaluation.stages`), as in the paper's Fig. 6c;
//! (b) maximal performance at the final stage: trial-1 accuracy within
//!     `maximal_trial1` (nothing can be known on trial 1, so chance) and every
//!     later trial at least `maximal_later`; the share of seeds that reach it;
//! (c) trial-2 accuracy across stages: its gain from the first to the final
//!     stage, and Spearman's rank correlation between stage and trial-2 accuracy;
//! (d) the same network tested on training images (`train_condition`): one-shot
//!     learning that holds on held-out images is not a memory of the training pool;
//! (e) the symbolic control (`control_variant`): networks of the same shape
//!     trained and tested with each image replaced by a fixed random binary code,
//!     so that any gap between (a) and (e) comes from vision, not memory;
//! (f) the training curve: mean reward per training episode, binned.

pub mod figure;
pub mod figure_data;
pub mod reference_agents;
pub mod sheet;

use super::{metric_description, normalize_settings, settings, wrong_task, Experiment, Outcomes};
use crate::config::Config;
use crate::record::{col_f64, col_str, col_u64, read_parquet};
use crate::stats::{bootstrap_mean, Estimate};
use crate::tasks::{harlow::HarlowConfig, TaskConfig};
use crate::validate;
use anyhow::{bail, Context, Result};
use figure_data::*;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every metric this analysis writes to outcomes.json, with what it is.
pub const METRICS: [(&str, &str); 15] = [
    (
        "trial1_accuracy",
        "final stage, held-out images: accuracy on trial 1 (chance 0.5; nothing is known yet)",
    ),
    (
        "trial2_accuracy",
        "final stage, held-out images: accuracy on trial 2 (after one outcome)",
    ),
    (
        "later_accuracy",
        "final stage, held-out images: mean accuracy over trials 2..n",
    ),
    (
        "min_later_accuracy",
        "final stage, held-out images: the lowest accuracy among trials 2..n",
    ),
    (
        "maximal",
        "1 if the seed reaches maximal performance at the final stage (trial 1 within analysis.maximal_trial1, every trial 2..n at least analysis.maximal_later), else 0; the mean is the share of seeds",
    ),
    (
        "first_stage_later_accuracy",
        "first stage, held-out images: mean accuracy over trials 2..n",
    ),
    (
        "trial2_gain",
        "trial-2 accuracy at the final stage minus at the first stage (held-out images)",
    ),
    (
        "trial2_stage_rank",
        "Spearman rank correlation between training stage and trial-2 accuracy (held-out images)",
    ),
    (
        "trial2_stage_order",
        "share of pairs of stages (earlier, later) in which trial-2 accuracy does not fall by more than two binomial standard errors (held-out images)",
    ),
    (
        "train_images_later_accuracy",
        "final stage, problems from the training pool: mean accuracy over trials 2..n",
    ),
    (
        "held_out_minus_train_later",
        "later_accuracy − train_images_later_accuracy (paired over seeds; < 0 = worse on new images)",
    ),
    (
        "symbols_trial1_accuracy",
        "symbolic control (images replaced by random codes), final stage, held-out codes: trial-1 accuracy",
    ),
    (
        "symbols_later_accuracy",
        "symbolic control, final stage, held-out codes: mean accuracy over trials 2..n",
    ),
    (
        "images_minus_symbols_later",
        "later_accuracy − symbols_later_accuracy (paired over seeds; < 0 = vision costs accuracy)",
    ),
    (
        "final_reward_per_episode",
        "mean reward per training episode over the last tenth of training (main variant)",
    ),
];

/// `[analysis]` keys of Simulation 5 (besides the common `bootstrap`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// The training variant analysed for the checks and Fig. 6c (when the
    /// experiment declares [[variants]]).
    #[serde(default = "default_main_variant")]
    pub main_variant: String,
    /// The variant of the symbolic control ("" = none).
    #[serde(default)]
    pub control_variant: String,
    /// The test condition with held-out images (when the experiment declares
    /// [[evaluation.conditions]]).
    #[serde(default = "default_held_out")]
    pub held_out_condition: String,
    /// The test condition with training-pool images ("" = none).
    #[serde(default)]
    pub train_condition: String,
    /// Maximal performance: trial-1 accuracy within [low, high] …
    #[serde(default = "default_maximal_trial1")]
    pub maximal_trial1: [f64; 2],
    /// … and every later trial at least this accurate.
    #[serde(default = "default_maximal_later")]
    pub maximal_later: f64,
    /// Bins of the training curve.
    #[serde(default = "default_curve_bins")]
    pub curve_bins: usize,
}

fn default_main_variant() -> String {
    "images".into()
}
fn default_held_out() -> String {
    "held_out".into()
}
fn default_maximal_trial1() -> [f64; 2] {
    [0.4, 0.6]
}
fn default_maximal_later() -> f64 {
    0.9
}
fn default_curve_bins() -> usize {
    25
}

impl Analysis {
    fn validate(&self) -> Result<()> {
        validate::prob("analysis.maximal_trial1[0]", self.maximal_trial1[0])?;
        validate::prob("analysis.maximal_trial1[1]", self.maximal_trial1[1])?;
        if self.maximal_trial1[0] > self.maximal_trial1[1] {
            bail!(
                "key `analysis.maximal_trial1` = {:?}: must be [low, high] with low <= high",
                self.maximal_trial1
            );
        }
        validate::prob("analysis.maximal_later", self.maximal_later)?;
        validate::positive("analysis.curve_bins", self.curve_bins)
    }

    /// The criterion of maximal performance, in words.
    pub fn criterion(&self, trials: usize) -> String {
        format!(
            "trial 1 in {:.0}–{:.0}%, trials 2–{trials} each ≥ {:.0}%; held-out images, final stage",
            100.0 * self.maximal_trial1[0],
            100.0 * self.maximal_trial1[1],
            100.0 * self.maximal_later
        )
    }
}

/// `[figure]` keys of Simulation 5.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// Images of each pool on the sample sheet.
    #[serde(default = "default_sheet_images")]
    pub sheet_images: usize,
    /// Random codes of the symbolic control on the sample sheet (0 = none).
    #[serde(default = "default_sheet_symbols")]
    pub sheet_symbols: usize,
    /// Images per row of the sample sheet.
    #[serde(default = "default_sheet_columns")]
    pub sheet_columns: usize,
}

fn default_sheet_images() -> usize {
    16
}
fn default_sheet_symbols() -> usize {
    8
}
fn default_sheet_columns() -> usize {
    8
}

impl Figure {
    fn validate(&self) -> Result<()> {
        validate::positive("figure.sheet_images", self.sheet_images)?;
        validate::positive("figure.sheet_columns", self.sheet_columns)?;
        if self.sheet_images > 64 || self.sheet_symbols > 64 || self.sheet_columns > 16 {
            bail!("keys `figure.sheet_*`: at most 64 images and 16 columns");
        }
        Ok(())
    }
}

/// The registry entry of Simulation 5.
pub struct S5Harlow;

fn task_of(cfg: &Config) -> Result<&HarlowConfig> {
    match &cfg.task {
        TaskConfig::Harlow(t) => Ok(t),
        other => Err(wrong_task("s5_harlow", "harlow", other)),
    }
}

impl Experiment for S5Harlow {
    fn id(&self) -> &'static str {
        "s5_harlow"
    }
    fn metrics(&self) -> &'static [(&'static str, &'static str)] {
        &METRICS
    }
    fn normalize(&self, cfg: &mut Config) -> Result<()> {
        task_of(cfg)?;
        let an: Analysis = normalize_settings(&mut cfg.analysis.settings, "analysis")?;
        an.validate()?;
        normalize_settings::<Figure>(&mut cfg.figure, "figure")?.validate()?;
        // The named variant and conditions must exist where the experiment declares them.
        let variants: Vec<&str> = cfg.variants.iter().map(|v| v.name.as_str()).collect();
        if !variants.is_empty() {
            for (key, name) in [
                ("analysis.main_variant", &an.main_variant),
                ("analysis.control_variant", &an.control_variant),
            ] {
                if !name.is_empty() && !variants.contains(&name.as_str()) {
                    bail!(
                        "key `{key}` = {name:?}: no such variant (declared: {})",
                        variants.join(", ")
                    );
                }
            }
        }
        let conditions: Vec<&str> = cfg
            .evaluation
            .conditions
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if !conditions.is_empty() {
            for (key, name) in [
                ("analysis.held_out_condition", &an.held_out_condition),
                ("analysis.train_condition", &an.train_condition),
            ] {
                if !name.is_empty() && !conditions.contains(&name.as_str()) {
                    bail!(
                        "key `{key}` = {name:?}: no such test condition (declared: {})",
                        conditions.join(", ")
                    );
                }
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

/// (variant, condition, stage, seed) → per trial (correct choices, choices).
type Tally = BTreeMap<(String, String, u64, u64), Vec<(f64, f64)>>;

/// Count correct choices per trial in the choice rows of the trial table.
pub fn tally(df: &DataFrame, trials: usize, final_stage: u64) -> Result<Tally> {
    let choice = df.column("choice_step")?.cast(&DataType::Int64)?;
    let df = df.filter(&choice.i64()?.equal(1))?;
    let n = df.height();
    let has = |name: &str| df.column(name).is_ok();
    let label = |name: &str| -> Result<Vec<String>> {
        if has(name) {
            col_str(&df, name)
        } else {
            Ok(vec![String::new(); n])
        }
    };
    let (variant, condition) = (label("variant")?, label("condition")?);
    let stage = if has("stage") {
        col_u64(&df, "stage")?
    } else {
        vec![final_stage; n]
    };
    let seed = col_u64(&df, "seed")?;
    let trial = col_u64(&df, "trial")?;
    let action = col_u64(&df, "action")?;
    let side = col_u64(&df, "correct_side")?;
    let mut out: Tally = BTreeMap::new();
    for i in 0..n {
        let t = trial[i] as usize;
        if t >= trials {
            bail!("trial table: trial {t} beyond task.trials = {trials}");
        }
        let cell = out
            .entry((variant[i].clone(), condition[i].clone(), stage[i], seed[i]))
            .or_insert_with(|| vec![(0.0, 0.0); trials]);
        cell[t].0 += (action[i] == side[i]) as u8 as f64;
        cell[t].1 += 1.0;
    }
    Ok(out)
}

/// Per seed, accuracy by trial in one (variant, condition, stage).
fn accuracy(tally: &Tally, variant: &str, condition: &str, stage: u64) -> BTreeMap<u64, Vec<f64>> {
    tally
        .iter()
        .filter(|((v, c, s, _), _)| v == variant && c == condition && *s == stage)
        .map(|((_, _, _, seed), cells)| {
            (*seed, cells.iter().map(|(c, n)| c / n.max(1.0)).collect())
        })
        .collect()
}

/// The share of pairs of stages (i earlier than j) in which the accuracy, from
/// (correct, choices) counts, does not fall by more than two standard errors of
/// the difference: p_j − p_i ≥ −2·√(p_i(1−p_i)/n_i + p_j(1−p_j)/n_j), with
/// p(1−p) taken at (c + ½)/(n + 1) so that an accuracy of 0 or 1 still has
/// sampling error. Missing stages count as out of order.
pub fn stage_order(counts: &[Option<(f64, f64)>]) -> f64 {
    let mut ordered = 0.0;
    let mut pairs = 0.0;
    for i in 0..counts.len() {
        for j in i + 1..counts.len() {
            pairs += 1.0;
            if let (Some((ci, ni)), Some((cj, nj))) = (counts[i], counts[j]) {
                let var = |c: f64, n: f64| {
                    let q = (c + 0.5) / (n + 1.0);
                    q * (1.0 - q) / n.max(1.0)
                };
                let (pi, pj) = (ci / ni.max(1.0), cj / nj.max(1.0));
                if pj - pi >= -2.0 * (var(ci, ni) + var(cj, nj)).sqrt() {
                    ordered += 1.0;
                }
            }
        }
    }
    if pairs > 0.0 {
        ordered / pairs
    } else {
        f64::NAN
    }
}

/// Spearman's rank correlation (average ranks for ties); 0 if either side is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            let avg = (i + j) as f64 / 2.0;
            for k in i..=j {
                r[idx[k]] = avg;
            }
            i = j + 1;
        }
        r
    }
    let r = crate::stats::pearson(&ranks(x), &ranks(y));
    if r.is_finite() {
        r
    } else {
        0.0
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// One variant's training curve and each seed's mean reward over the last tenth of training.
type VariantCurve = (String, TrainingCurve, BTreeMap<u64, f64>);

/// Mean reward per training episode, binned, per variant (none without a
/// training.parquet).
fn training_curves(
    run_dir: &Path,
    bins: usize,
    total: f64,
    boot: &dyn Fn(&[f64], u64) -> Estimate,
) -> Result<Vec<VariantCurve>> {
    let path = run_dir.join("training.parquet");
    if !path.exists() {
        // A trial table without training (a reference agent, `metarl references`).
        return Ok(vec![]);
    }
    let df = read_parquet(&path)?;
    let n = df.height();
    let variant = if df.column("variant").is_ok() {
        col_str(&df, "variant")?
    } else {
        vec![String::new(); n]
    };
    let seed = col_u64(&df, "seed")?;
    let episodes = col_f64(&df, "episodes")?;
    let reward = col_f64(&df, "mean_episode_reward")?;
    // (variant, seed, bin) → (sum, count)
    let mut cells: BTreeMap<(String, u64, usize), (f64, f64)> = BTreeMap::new();
    // Last tenth of training, per (variant, seed).
    let mut last: BTreeMap<(String, u64), (f64, f64)> = BTreeMap::new();
    for i in 0..n {
        let b = (((episodes[i] - 1.0).max(0.0) / total * bins as f64) as usize).min(bins - 1);
        let c = cells.entry((variant[i].clone(), seed[i], b)).or_default();
        c.0 += reward[i];
        c.1 += 1.0;
        if episodes[i] > 0.9 * total {
            let l = last.entry((variant[i].clone(), seed[i])).or_default();
            l.0 += reward[i];
            l.1 += 1.0;
        }
    }
    let variants: BTreeSet<String> = variant.iter().cloned().collect();
    let mut out = vec![];
    for (k, v) in variants.iter().enumerate() {
        let seeds: BTreeSet<u64> = cells
            .keys()
            .filter(|(cv, _, _)| cv == v)
            .map(|(_, s, _)| *s)
            .collect();
        let mut xs = vec![];
        let mut ys = vec![];
        for b in 0..bins {
            let per_seed: Vec<f64> = seeds
                .iter()
                .filter_map(|s| cells.get(&(v.clone(), *s, b)).map(|(a, c)| a / c))
                .collect();
            if per_seed.is_empty() {
                continue;
            }
            xs.push((b as f64 + 0.5) / bins as f64 * total);
            ys.push(boot(&per_seed, 5000 + (k * bins + b) as u64));
        }
        let final_reward = seeds
            .iter()
            .filter_map(|s| last.get(&(v.clone(), *s)).map(|(a, c)| (*s, a / c)))
            .collect();
        out.push((
            v.clone(),
            TrainingCurve {
                label: v.clone(),
                episodes: xs,
                reward: ys,
            },
            final_reward,
        ));
    }
    Ok(out)
}

pub fn analyze(cfg: &Config, run_dir: &Path) -> Result<Outcomes> {
    let task = task_of(cfg)?;
    let an: Analysis = settings(&cfg.analysis.settings, "analysis")?;
    let fig: Figure = settings(&cfg.figure, "figure")?;
    let n_trials = task.trials;
    if n_trials < 2 {
        bail!("the s5_harlow analysis needs task.trials >= 2");
    }
    let bootstrap = cfg.analysis.bootstrap;
    let boot = |v: &[f64], i: u64| bootstrap_mean(v, bootstrap, 1000 + i);
    let df = read_parquet(&run_dir.join("trials.parquet"))?;
    let final_stage = cfg.training.episodes as u64;
    let tally = tally(&df, n_trials, final_stage)?;

    let main = if cfg.variants.is_empty() {
        String::new()
    } else {
        an.main_variant.clone()
    };
    let has_conditions = !cfg.evaluation.conditions.is_empty();
    let held_out = if has_conditions {
        an.held_out_condition.clone()
    } else {
        String::new()
    };
    let stages: Vec<u64> = tally
        .keys()
        .filter(|(v, c, _, _)| *v == main && *c == held_out)
        .map(|(_, _, s, _)| *s)
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .collect();
    let (first, last) = match (stages.first(), stages.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => bail!("trial table holds no choices of variant {main:?} in condition {held_out:?}"),
    };
    let by_stage: Vec<BTreeMap<u64, Vec<f64>>> = stages
        .iter()
        .map(|&s| accuracy(&tally, &main, &held_out, s))
        .collect();
    let final_acc = by_stage.last().expect("at least one stage");
    let seeds: Vec<u64> = final_acc.keys().copied().collect();
    let later = |a: &[f64]| mean(&a[1..]);
    let per_seed = |f: &dyn Fn(u64) -> f64| -> Vec<f64> { seeds.iter().map(|&s| f(s)).collect() };

    let mut out = Outcomes::new(cfg, seeds.clone());
    let add = |out: &mut Outcomes, name: &str, values: Vec<f64>, i: u64| {
        let e = boot(&values, i);
        out.add(name, metric_description(&METRICS, name), e.clone());
        e
    };
    add(
        &mut out,
        "trial1_accuracy",
        per_seed(&|s| final_acc[&s][0]),
        0,
    );
    add(
        &mut out,
        "trial2_accuracy",
        per_seed(&|s| final_acc[&s][1]),
        1,
    );
    add(
        &mut out,
        "later_accuracy",
        per_seed(&|s| later(&final_acc[&s])),
        2,
    );
    let min_later = |a: &[f64]| a[1..].iter().cloned().fold(f64::INFINITY, f64::min);
    add(
        &mut out,
        "min_later_accuracy",
        per_seed(&|s| min_later(&final_acc[&s])),
        3,
    );
    let is_maximal = |a: &[f64]| {
        let [lo, hi] = an.maximal_trial1;
        (a[0] >= lo && a[0] <= hi && min_later(a) >= an.maximal_later) as u8 as f64
    };
    let maximal = add(
        &mut out,
        "maximal",
        per_seed(&|s| is_maximal(&final_acc[&s])),
        4,
    );
    let first_acc = &by_stage[0];
    let first_of = |s: u64| {
        first_acc
            .get(&s)
            .cloned()
            .unwrap_or(vec![f64::NAN; n_trials])
    };
    add(
        &mut out,
        "first_stage_later_accuracy",
        per_seed(&|s| later(&first_of(s))),
        5,
    );
    add(
        &mut out,
        "trial2_gain",
        per_seed(&|s| final_acc[&s][1] - first_of(s)[1]),
        6,
    );
    let stage_x: Vec<f64> = stages.iter().map(|&s| s as f64).collect();
    add(
        &mut out,
        "trial2_stage_rank",
        per_seed(&|s| {
            let y: Vec<f64> = by_stage
                .iter()
                .map(|m| m.get(&s).map_or(f64::NAN, |a| a[1]))
                .collect();
            spearman(&stage_x, &y)
        }),
        7,
    );
    let cells = |s: u64, stage: u64| {
        tally
            .get(&(main.clone(), held_out.clone(), stage, s))
            .map(|c| c[1])
    };
    add(
        &mut out,
        "trial2_stage_order",
        per_seed(&|s| {
            let counts: Vec<Option<(f64, f64)>> = stages.iter().map(|&st| cells(s, st)).collect();
            stage_order(&counts)
        }),
        14,
    );

    // The same networks on training images, and the symbolic control.
    let mut comparisons = vec![Comparison {
        label: "images, held-out pool".into(),
        accuracy: trial_estimates(final_acc, &seeds, n_trials, 100, &boot),
    }];
    if has_conditions && !an.train_condition.is_empty() {
        let train_acc = accuracy(&tally, &main, &an.train_condition, last);
        if !train_acc.is_empty() {
            let get = |s: u64| train_acc.get(&s).map_or(f64::NAN, |a| later(a));
            add(&mut out, "train_images_later_accuracy", per_seed(&get), 8);
            add(
                &mut out,
                "held_out_minus_train_later",
                per_seed(&|s| later(&final_acc[&s]) - get(s)),
                9,
            );
            comparisons.push(Comparison {
                label: "images, training pool".into(),
                accuracy: trial_estimates(&train_acc, &seeds, n_trials, 200, &boot),
            });
        }
    }
    if !an.control_variant.is_empty() && !cfg.variants.is_empty() {
        let sym_acc = accuracy(&tally, &an.control_variant, &held_out, last);
        if !sym_acc.is_empty() {
            let get = |s: u64, k: usize| sym_acc.get(&s).map_or(f64::NAN, |a| a[k]);
            let get_later = |s: u64| sym_acc.get(&s).map_or(f64::NAN, |a| later(a));
            add(
                &mut out,
                "symbols_trial1_accuracy",
                per_seed(&|s| get(s, 0)),
                10,
            );
            add(&mut out, "symbols_later_accuracy", per_seed(&get_later), 11);
            add(
                &mut out,
                "images_minus_symbols_later",
                per_seed(&|s| later(&final_acc[&s]) - get_later(s)),
                12,
            );
            comparisons.push(Comparison {
                label: "symbolic control (random codes), held-out".into(),
                accuracy: trial_estimates(&sym_acc, &seeds, n_trials, 300, &boot),
            });
        }
    }

    let curves = training_curves(run_dir, an.curve_bins, cfg.training.episodes as f64, &boot)?;
    if let Some((_, _, fin)) = curves.iter().find(|(v, _, _)| *v == main) {
        add(
            &mut out,
            "final_reward_per_episode",
            per_seed(&|s| fin.get(&s).copied().unwrap_or(f64::NAN)),
            13,
        );
    }
    let stage_curves = stages
        .iter()
        .zip(&by_stage)
        .enumerate()
        .map(|(k, (&s, acc))| StageCurve {
            episodes: s as usize,
            accuracy: trial_estimates(acc, &seeds, n_trials, 400 + 10 * k as u64, &boot),
        })
        .collect();
    let _ = (first, last);
    let data = S5FigureData {
        title: cfg.experiment.title.clone(),
        n_seeds: seeds.len(),
        stages: stage_curves,
        comparisons,
        training: curves.into_iter().map(|(_, c, _)| c).collect(),
        maximal,
        maximal_criterion: an.criterion(n_trials),
        sheet: sheet::SampleSheet::from_task(task, fig.sheet_images, fig.sheet_symbols),
    };
    out.figure = serde_json::to_value(&data)?;
    Ok(out)
}

/// Accuracy by trial over seeds (NaN for a seed missing from `acc`).
fn trial_estimates(
    acc: &BTreeMap<u64, Vec<f64>>,
    seeds: &[u64],
    n_trials: usize,
    boot_seed: u64,
    boot: &dyn Fn(&[f64], u64) -> Estimate,
) -> Vec<Estimate> {
    (0..n_trials)
        .map(|t| {
            let v: Vec<f64> = seeds
                .iter()
                .filter_map(|s| acc.get(s).map(|a| a[t]))
                .collect();
            boot(&v, boot_seed + t as u64)
        })
        .collect()
}

pub fn render(cfg: &Config, outcomes: &Outcomes, fig_dir: &Path) -> Result<Vec<PathBuf>> {
    let data: S5FigureData = serde_json::from_value(outcomes.figure.clone())
        .context("outcomes.json has no Simulation 5 figure data (re-run `metarl analyze`)")?;
    let fig: Figure = settings(&cfg.figure, "figure")?;
    let stem = fig_dir.join(&cfg.experiment.name);
    figure::render(&data, &stem, fig.sheet_columns)?;
    let sheet_stem = fig_dir.join(format!("{}_images", cfg.experiment.name));
    sheet::render_sheet(
        &data.sheet,
        &format!("{}: what the agent sees", cfg.experiment.title),
        fig.sheet_columns,
        &sheet_stem,
    )?;
    Ok(vec![stem, sheet_stem])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_order_allows_sampling_error_only() {
        let c = |p: f64| Some((p * 500.0, 500.0));
        // Rising, then a plateau with sampling noise: every pair in order.
        assert_eq!(
            stage_order(&[c(0.5), c(0.7), c(0.97), c(0.96), c(0.975)]),
            1.0
        );
        // A drop from 0.97 to 0.70 puts the pairs (0.97, 0.70) and (0.96, 0.70) out of order.
        let r = stage_order(&[c(0.5), c(0.97), c(0.96), c(0.70)]);
        assert!((r - 4.0 / 6.0).abs() < 1e-12, "{r}");
        // A missing stage is out of order.
        assert_eq!(stage_order(&[c(0.5), None]), 0.0);
    }

    #[test]
    fn spearman_ranks_with_ties() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[0.1, 0.5, 0.9]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[0.9, 0.5, 0.1]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[0.5, 0.5, 0.5]), 0.0);
        let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[0.1, 0.2, 0.2, 0.9]);
        assert!(r > 0.9 && r < 1.0, "{r}");
    }
}
