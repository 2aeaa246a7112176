//! The RPE analysis closest to Daw et al. 2011: learners fitted to the
//! network's own choices by maximum likelihood, then the network's RPE
//! regressed on each fitted learner's RPE at the stage-2 step and at the reward
//! step separately.
//!
//! The learners (Daw et al. 2011's hybrid model, reduced to this task, where the
//! second stage has a single action): second-stage values Q2(s) by the delta
//! rule, Q2(s2) ← Q2(s2) + α (r − Q2(s2)); model-free stage-1 values by SARSA(λ),
//! Q_MF(a1) ← Q_MF(a1) + α (Q2(s2) − Q_MF(a1) + λ (r − Q2(s2))); model-based
//! stage-1 values through the known transitions, Q_MB(a) = p_c Q2(a) +
//! (1 − p_c) Q2(other); the stage-1 choice by a softmax on
//! Q(a) = w Q_MB(a) + (1 − w) Q_MF(a) with inverse temperature β and a
//! perseveration bonus κ for repeating the previous stage-1 choice (Daw's "p").
//! The model-based learner is w = 1, the model-free one w = 0, the hybrid fits
//! w. One α for both stages (Daw et al. fitted one per stage; a single one
//! here, as the second stage has no choice to fit it from). Values start at
//! 0.5 in every episode; the first trial of an episode has no previous choice.
//!
//! Fit: per seed, the parameters (α, β, κ, and λ and w where free) that maximise
//! the likelihood of the network's stage-1 choices over the seed's first
//! `fit_episodes` test episodes; Nelder–Mead on unbounded transforms
//! (α, λ, w logistic; β = exp, within [e^−6, 100]; κ within [−10, 10]) from two
//! starting points, keeping the better.
//!
//! Fitted learners' RPEs are defined like the network's and as in
//! `learner_rpes`: at the stage-2 step γ Q2(s2) − Q(a1), at the reward step
//! r + γ Q(a1') − Q2(s2), with Q the learner's (net) stage-1 value of the chosen
//! action and a1' the next trial's choice.

use super::{has_next, Trial};
use crate::stats::{self, nelder_mead};

/// Which learner is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    ModelBased,
    ModelFree,
    Hybrid,
}

impl Model {
    pub const ALL: [Model; 3] = [Model::ModelBased, Model::ModelFree, Model::Hybrid];

    /// Metric-name stem.
    pub fn stem(self) -> &'static str {
        match self {
            Model::ModelBased => "model_based",
            Model::ModelFree => "model_free",
            Model::Hybrid => "hybrid",
        }
    }
}

/// A learner's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    /// Perseveration bonus for repeating the previous stage-1 choice.
    pub kappa: f64,
    /// Eligibility of the reward for the model-free stage-1 value.
    pub lambda: f64,
    /// Weight of the model-based values (1 model-based, 0 model-free).
    pub w: f64,
}

const BETA_MAX: f64 = 100.0;
const KAPPA_MAX: f64 = 10.0;

/// [0, 1] from an unbounded coordinate: (1 + sin x) / 2 reaches both ends
/// smoothly, so a parameter at a bound (λ = 1, w = 0) is found at a finite x.
fn unit(x: f64) -> f64 {
    0.5 * (1.0 + x.sin())
}

#[cfg(test)]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// log σ(z), stable for large |z|.
fn log_sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        -(-z).exp().ln_1p()
    } else {
        z - z.exp().ln_1p()
    }
}

impl Params {
    /// From the unbounded search coordinates of `model` ([α, β, κ] and then λ, w where free).
    fn from_coords(model: Model, x: &[f64]) -> Self {
        Params {
            alpha: unit(x[0]),
            beta: x[1].clamp(-6.0, BETA_MAX.ln()).exp(),
            kappa: x[2].clamp(-KAPPA_MAX, KAPPA_MAX),
            lambda: if model == Model::ModelBased {
                0.0
            } else {
                unit(x[3])
            },
            w: match model {
                Model::ModelBased => 1.0,
                Model::ModelFree => 0.0,
                Model::Hybrid => unit(x[4]),
            },
        }
    }
}

/// Run a learner over `trials` (one seed, in table order); `visit(i, q, q2)` is
/// called for each trial before learning, with the net stage-1 values Q and
/// the second-stage values Q2.
fn run(
    trials: &[Trial],
    p: &Params,
    p_common: f64,
    mut visit: impl FnMut(usize, [f64; 2], [f64; 2]),
) {
    let (mut q_mf, mut q2) = ([0.5; 2], [0.5; 2]);
    for (i, t) in trials.iter().enumerate() {
        if t.trial == 0 {
            q_mf = [0.5; 2];
            q2 = [0.5; 2];
        }
        let q_mb = [
            p_common * q2[0] + (1.0 - p_common) * q2[1],
            p_common * q2[1] + (1.0 - p_common) * q2[0],
        ];
        let q = [
            p.w * q_mb[0] + (1.0 - p.w) * q_mf[0],
            p.w * q_mb[1] + (1.0 - p.w) * q_mf[1],
        ];
        visit(i, q, q2);
        let (a, s) = (t.choice as usize, t.stage2);
        let r = t.rewarded as u8 as f64;
        let d2 = q2[s] - q_mf[a];
        let d3 = r - q2[s];
        q_mf[a] += p.alpha * (d2 + p.lambda * d3);
        q2[s] += p.alpha * d3;
    }
}

/// Log-likelihood of the stage-1 choices of `trials` under the learner.
pub fn log_likelihood(trials: &[Trial], p: &Params, p_common: f64) -> f64 {
    let mut ll = 0.0;
    run(trials, p, p_common, |i, q, _| {
        let t = &trials[i];
        // Logit of choosing action 1.
        let mut z = p.beta * (q[1] - q[0]);
        if t.trial > 0 {
            z += p.kappa * if trials[i - 1].choice == 1 { 1.0 } else { -1.0 };
        }
        ll += log_sigmoid(if t.choice == 1 { z } else { -z });
    });
    ll
}

/// A fitted learner.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub params: Params,
    /// Mean log-likelihood per choice.
    pub loglik_per_choice: f64,
}

/// Maximum-likelihood fit of `model` to the stage-1 choices of `trials`.
pub fn fit(trials: &[Trial], model: Model, p_common: f64) -> Fit {
    let n = match model {
        Model::ModelBased => 3,
        Model::ModelFree => 4,
        Model::Hybrid => 5,
    };
    let nll = |x: &[f64]| -log_likelihood(trials, &Params::from_coords(model, x), p_common);
    // Starts: α 0.5 / 0.2, β 5 / 2, κ 0 / 0.5, λ 0.5 / 0.8, w 0.5 / 0.2.
    let x = |p: f64| (2.0 * p - 1.0).asin();
    let starts: [[f64; 5]; 2] = [
        [x(0.5), 5f64.ln(), 0.0, x(0.5), x(0.5)],
        [x(0.2), 2f64.ln(), 0.5, x(0.8), x(0.2)],
    ];
    let mut best: Option<(Vec<f64>, f64)> = None;
    for s in &starts {
        let (x, v) = nelder_mead(nll, &s[..n], &vec![1.0; n], 1e-4, 1e-3, 300 * n);
        if best.as_ref().is_none_or(|b| v < b.1) {
            best = Some((x, v));
        }
    }
    let (x, v) = best.expect("two starts");
    Fit {
        params: Params::from_coords(model, &x),
        loglik_per_choice: -v / trials.len().max(1) as f64,
    }
}

/// A fitted learner's TD errors (stage-2 step, reward step) of each trial.
pub fn learner_rpes(trials: &[Trial], p: &Params, p_common: f64, gamma: f64) -> Vec<(f64, f64)> {
    let mut q_chosen = vec![0.0; trials.len()];
    let mut q2_seen = vec![0.0; trials.len()];
    run(trials, p, p_common, |i, q, q2| {
        q_chosen[i] = q[trials[i].choice as usize];
        q2_seen[i] = q2[trials[i].stage2];
    });
    (0..trials.len())
        .map(|i| {
            let next = if has_next(trials, i) {
                q_chosen[i + 1]
            } else {
                0.0
            };
            let r = trials[i].rewarded as u8 as f64;
            (
                gamma * q2_seen[i] - q_chosen[i],
                r + gamma * next - q2_seen[i],
            )
        })
        .collect()
}

/// r² of the network's RPE on a fitted learner's RPE, at the stage-2 step and
/// at the reward step separately, over the trials of `rpe_trials` that have a
/// successor in their episode (as in the other RPE regression).
pub fn rpe_r2(rpe_trials: &[Trial], p: &Params, p_common: f64, gamma: f64) -> (f64, f64) {
    let rp = learner_rpes(rpe_trials, p, p_common, gamma);
    let keep: Vec<usize> = (0..rpe_trials.len())
        .filter(|&i| has_next(rpe_trials, i))
        .collect();
    let pick = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { keep.iter().map(|&i| f(i)).collect() };
    let stage2 = stats::fit_line(&pick(&|i| rp[i].0), &pick(&|i| rpe_trials[i].rpe_stage2)).r2;
    let reward = stats::fit_line(&pick(&|i| rp[i].1), &pick(&|i| rpe_trials[i].rpe_reward)).r2;
    (stage2, reward)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Simulate a hybrid learner on the two-step task (p_c 0.8, rewards 0.9 /
    /// 0.1 swapping with 0.025) and return its trials.
    fn simulate(p: &Params, episodes: u32, seed: u64) -> Vec<Trial> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = vec![];
        for e in 0..episodes {
            let (mut q_mf, mut q2) = ([0.5f64; 2], [0.5f64; 2]);
            let mut better = rng.random_range(0..2usize);
            let mut prev: Option<usize> = None;
            for t in 0..100u32 {
                let q_mb = [0.8 * q2[0] + 0.2 * q2[1], 0.8 * q2[1] + 0.2 * q2[0]];
                let q: Vec<f64> = (0..2)
                    .map(|a| p.w * q_mb[a] + (1.0 - p.w) * q_mf[a])
                    .collect();
                let mut z = p.beta * (q[1] - q[0]);
                if let Some(c) = prev {
                    z += p.kappa * if c == 1 { 1.0 } else { -1.0 };
                }
                let a = (rng.random::<f64>() < sigmoid(z)) as usize;
                let common = rng.random::<f64>() < 0.8;
                let s = if common { a } else { 1 - a };
                let r = rng.random::<f64>() < if s == better { 0.9 } else { 0.1 };
                out.push(Trial {
                    seed: 1,
                    episode: e,
                    trial: t,
                    choice: a as u32,
                    stage2: s,
                    common,
                    rewarded: r,
                    rpe_stage2: 0.0,
                    rpe_reward: 0.0,
                });
                let rr = r as u8 as f64;
                let d2 = q2[s] - q_mf[a];
                let d3 = rr - q2[s];
                q_mf[a] += p.alpha * (d2 + p.lambda * d3);
                q2[s] += p.alpha * d3;
                prev = Some(a);
                if rng.random::<f64>() < 0.025 {
                    better = 1 - better;
                }
            }
        }
        out
    }

    /// The fit recovers the weight of a simulated hybrid learner, and the
    /// model-based and model-free learners fit a pure learner of their own kind
    /// better than the other kind does.
    #[test]
    fn fits_recover_simulated_learners() {
        let truth = Params {
            alpha: 0.4,
            beta: 6.0,
            kappa: 0.3,
            lambda: 0.8,
            w: 0.6,
        };
        let trials = simulate(&truth, 60, 3);
        let f = fit(&trials, Model::Hybrid, 0.8);
        assert!((f.params.w - 0.6).abs() < 0.15, "{:?}", f.params);
        assert!((f.params.alpha - 0.4).abs() < 0.15, "{:?}", f.params);
        assert!((f.params.beta - 6.0).abs() < 2.0, "{:?}", f.params);
        for (w, better) in [(1.0, Model::ModelBased), (0.0, Model::ModelFree)] {
            let trials = simulate(&Params { w, ..truth }, 60, 4);
            let (mb, mf) = (
                fit(&trials, Model::ModelBased, 0.8),
                fit(&trials, Model::ModelFree, 0.8),
            );
            let (good, bad) = if better == Model::ModelBased {
                (mb, mf)
            } else {
                (mf, mb)
            };
            assert!(good.loglik_per_choice > bad.loglik_per_choice, "w = {w}");
        }
    }

    /// With the learner's own parameters, its RPEs are exactly those of
    /// `super::learner_rpes` for the pure learners.
    #[test]
    fn pure_learners_match_the_grid_learners() {
        let trials = simulate(
            &Params {
                alpha: 0.3,
                beta: 4.0,
                kappa: 0.0,
                lambda: 1.0,
                w: 1.0,
            },
            3,
            5,
        );
        for (w, mb) in [(1.0, true), (0.0, false)] {
            let p = Params {
                alpha: 0.3,
                beta: 1.0,
                kappa: 0.0,
                lambda: 0.5,
                w,
            };
            let a = learner_rpes(&trials, &p, 0.8, 0.9);
            let b = super::super::learner_rpes(&trials, mb, 0.3, 0.5, 0.8, 0.9);
            assert!(!a.is_empty() && a.len() == b.len());
            for (x, y) in a.iter().zip(&b) {
                assert!((x.0 - y.0).abs() < 1e-12 && (x.1 - y.1).abs() < 1e-12);
            }
        }
    }
}
