//! Maximum-likelihood fit of a delta-rule learner with softmax choice (the model
//! Behrens et al. 2007 fitted to their subjects), per block of a test episode.
//!
//! The learner. Arms 0 and 1 pay with probabilities p and 1 − p, and on every
//! trial exactly one of them pays, so whichever arm was chosen, the outcome says
//! whether arm 0 paid: o_t = 1 if (chose 0 and rewarded) or (chose 1 and not
//! rewarded), else 0. The learner keeps one value v, its estimate of p, starting
//! at v = 0.5 at the start of every test episode, and after each trial moves it
//! by the delta rule v ← v + α (o_t − v). It chooses arm 0 with the softmax
//! probability over the two arms' values v and 1 − v:
//! P(arm 0) = exp(βv) / (exp(βv) + exp(β(1 − v))) = σ(β (2v − 1)),
//! with the inverse temperature β ≥ 0 (capped at `BETA_MAX`) and 0 < α < 1.
//!
//! What "α per block" means. A block's trials are not the start of learning: the
//! learner enters the block with the value that the trials before it left. The
//! fit therefore goes through the blocks in episode order (`fit_blocks`): block b
//! is fitted on its own trials only (the log-likelihood is summed over the
//! choices of block b, pooled over the test episodes), and each episode's value
//! at the start of block b is obtained by running the delta rule from v = 0.5 at
//! the episode start through the earlier blocks, each with the α fitted to that
//! block. So a block's (α, β) describe how its own choices follow from the
//! outcomes seen so far, learning with α inside the block, and no later block
//! influences an earlier block's fit. (Running the earlier trials with the
//! block's own α instead would let a block's α be pulled by how well it explains
//! the carried-over value rather than learning within the block.)
//!
//! The method. For a fixed α the values are fixed, and the log-likelihood in β
//! is that of a logistic regression through the origin on x_t = 2v_t − 1, which
//! is concave: it is maximised exactly by a safeguarded Newton iteration on
//! [0, `BETA_MAX`] (the profile likelihood ℓ*(α) = max_β ℓ(α, β)). α is then
//! searched on a grid of `GRID` points evenly spaced in logit(α) over
//! [−`LOGIT_RANGE`, `LOGIT_RANGE`] (α from 0.0009 to 0.9991), and the best grid
//! point is refined by golden-section search between its neighbours. The
//! standard error of α comes from the curvature of the profile log-likelihood at
//! the optimum (observed information), by the delta method from logit(α).

use anyhow::{bail, Result};

/// The learner's value at the start of every episode (no preference).
pub const V0: f64 = 0.5;
/// Upper bound on the fitted inverse temperature.
pub const BETA_MAX: f64 = 100.0;
/// Number of α grid points.
pub const GRID: usize = 57;
/// The α grid spans logit(α) in [−LOGIT_RANGE, LOGIT_RANGE].
pub const LOGIT_RANGE: f64 = 7.0;

/// One trial as the learner sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    /// Index of the trial's block within its episode (0-based, non-decreasing
    /// along the episode).
    pub block: usize,
    /// The arm chosen: 0 or 1.
    pub choice: usize,
    /// 1 if arm 0 paid on this trial, else 0 (known whatever was chosen).
    pub outcome: f64,
}

impl Trial {
    /// From the choice and whether it was rewarded.
    pub fn new(block: usize, choice: usize, rewarded: bool) -> Self {
        let arm0_paid = (choice == 0) == rewarded;
        Trial {
            block,
            choice,
            outcome: arm0_paid as u8 as f64,
        }
    }
}

/// The delta rule: the value after an outcome.
pub fn update(v: f64, alpha: f64, outcome: f64) -> f64 {
    v + alpha * (outcome - v)
}

/// The softmax probability of choosing arm 0 with value `v` (arm 1 has 1 − v).
pub fn p_arm0(v: f64, beta: f64) -> f64 {
    sigmoid(beta * (2.0 * v - 1.0))
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// log σ(a), stable for large |a|.
fn log_sigmoid(a: f64) -> f64 {
    if a > 0.0 {
        -(-a).exp().ln_1p()
    } else {
        a - a.exp().ln_1p()
    }
}

/// The value after running the delta rule with `alpha` from `v` through `trials`.
pub fn run_values(mut v: f64, alpha: f64, trials: &[Trial]) -> f64 {
    for t in trials {
        v = update(v, alpha, t.outcome);
    }
    v
}

/// A stretch of consecutive trials of one episode and the learner's value when
/// it begins.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub v0: f64,
    pub trials: &'a [Trial],
}

/// A fitted learner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub alpha: f64,
    pub beta: f64,
    /// Standard error of α from the observed information of the profile
    /// log-likelihood (NaN if the curvature is not negative, e.g. at a grid end).
    pub se_alpha: f64,
    /// Maximised log-likelihood (natural log).
    pub log_lik: f64,
    pub n_trials: usize,
}

/// For each trial of `segments` (in order): z_t = s_t (2 v_t − 1), where v_t is
/// the value before trial t under `alpha` and s_t = +1 if arm 0 was chosen, −1
/// otherwise, so that the log-likelihood of the choices is Σ log σ(β z_t).
fn signed_inputs(segments: &[Segment], alpha: f64, z: &mut Vec<f64>) {
    z.clear();
    for s in segments {
        let mut v = s.v0;
        for t in s.trials {
            let x = 2.0 * v - 1.0;
            z.push(if t.choice == 0 { x } else { -x });
            v = update(v, alpha, t.outcome);
        }
    }
}

fn log_lik(z: &[f64], beta: f64) -> f64 {
    z.iter().map(|&zt| log_sigmoid(beta * zt)).sum()
}

/// max over β in [0, BETA_MAX] of Σ log σ(β z_t) (concave in β): (β, ℓ).
/// `start` is where the Newton iteration begins (any value; the answer does not
/// depend on it beyond the stopping tolerance).
fn best_beta(z: &[f64], start: f64) -> (f64, f64) {
    // ℓ'(β) = Σ z σ(−β z), ℓ''(β) = −Σ z² σ(β z) σ(−β z).
    let grad = |beta: f64| -> (f64, f64) {
        let (mut g, mut h) = (0.0, 0.0);
        for &zt in z {
            let s = sigmoid(-beta * zt);
            g += zt * s;
            h -= zt * zt * s * (1.0 - s);
        }
        (g, h)
    };
    if grad(0.0).0 <= 0.0 {
        return (0.0, log_lik(z, 0.0));
    }
    if grad(BETA_MAX).0 >= 0.0 {
        return (BETA_MAX, log_lik(z, BETA_MAX));
    }
    // The root of ℓ' lies in (lo, hi): Newton steps, bisection when a step leaves
    // the bracket.
    let (mut lo, mut hi) = (0.0, BETA_MAX);
    let mut beta = if start > 0.0 && start < BETA_MAX {
        start
    } else {
        1.0
    };
    for _ in 0..200 {
        let (g, h) = grad(beta);
        if g > 0.0 {
            lo = beta;
        } else {
            hi = beta;
        }
        let mut next = if h < 0.0 { beta - g / h } else { f64::NAN };
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        let done = (next - beta).abs() < 1e-10 * (1.0 + beta) || hi - lo < 1e-12;
        beta = next;
        if done {
            break;
        }
    }
    (beta, log_lik(z, beta))
}

/// The profile log-likelihood at logit(α) = `u`: (β, ℓ); `z` is scratch space
/// and `beta` the last β found (the Newton start), updated.
fn profile(segments: &[Segment], u: f64, z: &mut Vec<f64>, beta: &mut f64) -> f64 {
    signed_inputs(segments, sigmoid(u), z);
    let (b, ll) = best_beta(z, *beta);
    *beta = b;
    ll
}

/// Maximum-likelihood (α, β) of the delta-rule learner for the choices of
/// `segments`, each segment starting from its own value.
pub fn fit(segments: &[Segment]) -> Result<Fit> {
    let n_trials: usize = segments.iter().map(|s| s.trials.len()).sum();
    if n_trials == 0 {
        bail!("delta-rule fit: no trials");
    }
    if let Some(t) = segments
        .iter()
        .flat_map(|s| s.trials)
        .find(|t| t.choice > 1 || !(t.outcome == 0.0 || t.outcome == 1.0))
    {
        bail!("delta-rule fit: trial {t:?} is not a two-armed choice with a 0/1 outcome");
    }
    let mut z = Vec::with_capacity(n_trials);
    let mut beta = 1.0;
    let step = 2.0 * LOGIT_RANGE / (GRID - 1) as f64;
    let grid: Vec<f64> = (0..GRID).map(|i| -LOGIT_RANGE + step * i as f64).collect();
    let lls: Vec<f64> = grid
        .iter()
        .map(|&u| profile(segments, u, &mut z, &mut beta))
        .collect();
    let best = (0..GRID)
        .max_by(|&a, &b| lls[a].total_cmp(&lls[b]))
        .expect("grid is not empty");
    // Golden-section search for the maximum between the best point's neighbours.
    let (mut a, mut b) = (grid[best.saturating_sub(1)], grid[(best + 1).min(GRID - 1)]);
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let mut fc = profile(segments, c, &mut z, &mut beta);
    let mut fd = profile(segments, d, &mut z, &mut beta);
    while b - a > 1e-7 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = profile(segments, c, &mut z, &mut beta);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = profile(segments, d, &mut z, &mut beta);
        }
    }
    let mut u = 0.5 * (a + b);
    let mut ll = profile(segments, u, &mut z, &mut beta);
    if lls[best] > ll {
        // The refinement never loses to the grid (ties at a flat profile).
        u = grid[best];
        ll = profile(segments, u, &mut z, &mut beta);
    }
    let beta_hat = beta;
    // Observed information of logit(α) from the profile's curvature.
    let h = 1e-3;
    let lp = profile(segments, u + h, &mut z, &mut beta);
    let lm = profile(segments, u - h, &mut z, &mut beta);
    let curv = (lp - 2.0 * ll + lm) / (h * h);
    let alpha = sigmoid(u);
    let se_alpha = if curv < 0.0 {
        alpha * (1.0 - alpha) / (-curv).sqrt()
    } else {
        f64::NAN
    };
    Ok(Fit {
        alpha,
        beta: beta_hat,
        se_alpha,
        log_lik: ll,
        n_trials,
    })
}

/// One (α, β) per block, fitted block by block in episode order as the module
/// documentation says: block b on its own trials pooled over `episodes`, each
/// episode entering block b with the value left by the earlier blocks under
/// their fitted α (v = 0.5 at the episode start). Blocks are numbered 0..n_blocks
/// by `Trial::block`, non-decreasing within each episode; an episode may lack a
/// block, but every block must have trials in some episode.
pub fn fit_blocks(episodes: &[Vec<Trial>], n_blocks: usize) -> Result<Vec<Fit>> {
    for (e, ep) in episodes.iter().enumerate() {
        if let Some(w) = ep.windows(2).find(|w| w[1].block < w[0].block) {
            bail!(
                "episode {e}: block index goes back from {} to {}",
                w[0].block,
                w[1].block
            );
        }
        if let Some(t) = ep.iter().find(|t| t.block >= n_blocks) {
            bail!("episode {e}: block {} but only {n_blocks} blocks", t.block);
        }
    }
    let mut v = vec![V0; episodes.len()];
    let mut pos = vec![0usize; episodes.len()];
    let mut fits = Vec::with_capacity(n_blocks);
    for b in 0..n_blocks {
        let mut ends = Vec::with_capacity(episodes.len());
        let mut segments = vec![];
        for (e, ep) in episodes.iter().enumerate() {
            let end = pos[e] + ep[pos[e]..].partition_point(|t| t.block == b);
            ends.push(end);
            if end > pos[e] {
                segments.push(Segment {
                    v0: v[e],
                    trials: &ep[pos[e]..end],
                });
            }
        }
        if segments.is_empty() {
            bail!("block {b} has no trials in any episode");
        }
        let f = fit(&segments)?;
        for (e, ep) in episodes.iter().enumerate() {
            v[e] = run_values(v[e], f.alpha, &ep[pos[e]..ends[e]]);
            pos[e] = ends[e];
        }
        fits.push(f);
    }
    Ok(fits)
}

/// One (α, β) for whole episodes (every episode from v = 0.5).
pub fn fit_episodes(episodes: &[Vec<Trial>]) -> Result<Fit> {
    let segments: Vec<Segment> = episodes
        .iter()
        .filter(|ep| !ep.is_empty())
        .map(|ep| Segment { v0: V0, trials: ep })
        .collect();
    fit(&segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn outcome_says_whether_arm0_paid() {
        assert_eq!(Trial::new(0, 0, true).outcome, 1.0);
        assert_eq!(Trial::new(0, 0, false).outcome, 0.0);
        assert_eq!(Trial::new(0, 1, true).outcome, 0.0);
        assert_eq!(Trial::new(0, 1, false).outcome, 1.0);
    }

    #[test]
    fn beta_is_exact_on_a_known_profile() {
        // z = ±1 with 3 of 4 positive: ℓ'(β) = 3σ(−β) − σ(β) = 0 at β = ln 3.
        let z = [1.0, 1.0, 1.0, -1.0];
        let (beta, _) = best_beta(&z, 1.0);
        assert!((beta - 3f64.ln()).abs() < 1e-9, "{beta}");
        // Choices against the value: β clamps at 0; perfectly separated: at BETA_MAX.
        assert_eq!(best_beta(&[-1.0, -0.5], 1.0).0, 0.0);
        assert_eq!(best_beta(&[1.0, 0.5], 1.0).0, BETA_MAX);
        // The start does not matter.
        assert!((best_beta(&z, 50.0).0 - 3f64.ln()).abs() < 1e-9);
    }

    /// Random outcomes, choices from a known delta-rule learner (α = 0.3, β = 4)
    /// over 20,000 trials: the fit lands within 4 standard errors of the truth and
    /// its log-likelihood is at least that of the true parameters.
    #[test]
    fn fit_recovers_a_learner_on_random_outcomes() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (alpha, beta) = (0.3, 4.0);
        let mut episodes = vec![];
        for _ in 0..100 {
            let mut v = V0;
            let p = if rng.random::<bool>() { 0.8 } else { 0.2 };
            let ep: Vec<Trial> = (0..200)
                .map(|_| {
                    let choice = (rng.random::<f64>() >= p_arm0(v, beta)) as usize;
                    let outcome = (rng.random::<f64>() < p) as u8 as f64;
                    v = update(v, alpha, outcome);
                    Trial {
                        block: 0,
                        choice,
                        outcome,
                    }
                })
                .collect();
            episodes.push(ep);
        }
        let f = fit_episodes(&episodes).unwrap();
        assert!(
            (f.alpha - alpha).abs() < 4.0 * f.se_alpha,
            "{f:?} (truth α = {alpha})"
        );
        assert!(f.se_alpha < 0.03, "{f:?}");
        assert!((f.beta - beta).abs() < 0.5, "{f:?}");
        let segments: Vec<Segment> = episodes
            .iter()
            .map(|ep| Segment { v0: V0, trials: ep })
            .collect();
        let mut z = vec![];
        signed_inputs(&segments, alpha, &mut z);
        assert!(f.log_lik >= log_lik(&z, beta));
    }

    #[test]
    fn blocks_carry_values_over_and_are_checked() {
        let t = |block, choice, outcome| Trial {
            block,
            choice,
            outcome,
        };
        let bad = vec![vec![t(1, 0, 1.0), t(0, 0, 1.0)]];
        assert!(fit_blocks(&bad, 2).is_err());
        assert!(fit_blocks(&[vec![t(0, 0, 1.0)]], 2).is_err());
        assert!(fit(&[]).is_err());
        assert!(fit_blocks(&[vec![t(0, 2, 1.0)]], 1).is_err());
        assert!(fit_blocks(&[vec![t(2, 0, 1.0)]], 1).is_err());
    }
}
