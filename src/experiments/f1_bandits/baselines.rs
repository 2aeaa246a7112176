//! Reference agents for the two-armed Bernoulli bandits of the paper's Fig. 1:
//! Gittins indices, Thompson sampling, UCB1 and the exact Bayes-optimal
//! finite-horizon policy, all playing exactly the same test episodes.
//!
//! **Common random numbers.** An [`Episode`] (defined with the task,
//! `tasks::bernoulli_bandit`) is the pair of arm probabilities and a table of
//! uniforms `u[arm][trial]`; pulling arm `a` at trial `t` pays 1 iff
//! `u[a][t] < p[a]`. Every agent therefore sees the same outcome whenever it
//! makes the same choice at the same trial, and differences between agents are
//! not blurred by reward noise.
//!
//! **Policies** see only the success/failure counts of both arms before the
//! trial ([`Counts`]), which is a sufficient statistic for all of them. Each
//! gets its own random stream ([`policy_rng`]); it is consumed by Thompson's
//! posterior samples and by tie-breaking only.
//!
//! **Tie-breaking (all policies).** When the two arms' scores are within
//! [`TIE_TOLERANCE`] of each other the arm is drawn uniformly at random with
//! one draw from the policy's stream; otherwise no draw is made. This matters:
//! on a fixed problem such as p = (0.25, 0.75) a "left on ties" rule would make
//! every index policy start on the worse arm.
//!
//! **Regret** over an episode is the paper's expected-reward loss,
//! Σ_t (max(p_L, p_R) − p_{chosen at t}); [`cumulative_regret`] returns it after
//! every trial.

pub use crate::tasks::bernoulli_bandit::{Episode, Prior};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Scores closer than this are a tie (broken at random). Index values and
/// posterior means are in [0, 1] and the Bayes-optimal action values in
/// [0, horizon]; their rounding errors are below 1e-12, and a true difference
/// below 1e-9 changes the expected reward by less than 1e-9 per decision.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Successes and failures of each arm (0 = left, 1 = right) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    pub successes: [u32; 2],
    pub failures: [u32; 2],
}

impl Counts {
    pub fn pulls(&self, arm: usize) -> u32 {
        self.successes[arm] + self.failures[arm]
    }
    pub fn total(&self) -> u32 {
        self.pulls(0) + self.pulls(1)
    }
    pub fn record(&mut self, arm: usize, reward: bool) {
        if reward {
            self.successes[arm] += 1;
        } else {
            self.failures[arm] += 1;
        }
    }
}

/// A bandit policy: a choice from the counts so far. `trial` (0-based) equals
/// `counts.total()`; `horizon` is the episode length.
pub trait BanditPolicy: Sync {
    fn name(&self) -> &'static str;
    fn choose(&self, counts: &Counts, trial: usize, horizon: usize, rng: &mut ChaCha8Rng) -> usize;
}

/// The random stream of one policy on one episode: a ChaCha8 generator seeded
/// with `seed` on stream `(agent + 1) · 2^32 + episode`, so that every (agent,
/// episode) pair has its own stream whatever order episodes are played in,
/// apart from the run's training and test streams (streams 1–5 of the same
/// seed, `train::stream`).
pub fn policy_rng(seed: u64, agent: u32, episode: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((agent as u64 + 1) << 32) | episode as u64);
    rng
}

/// The arm with the larger score; a tie (within [`TIE_TOLERANCE`]) is broken
/// uniformly at random with one draw from `rng`.
pub fn argmax2(score: [f64; 2], rng: &mut ChaCha8Rng) -> usize {
    let d = score[1] - score[0];
    if d.abs() <= TIE_TOLERANCE || (score[0].is_infinite() && score[0] == score[1]) {
        rng.random_range(0..2)
    } else {
        usize::from(d > 0.0)
    }
}

/// What a policy did in one episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Play {
    /// Arm chosen at each trial.
    pub choices: Vec<u8>,
    /// Reward (0/1) at each trial.
    pub rewards: Vec<u8>,
}

/// Play one episode with `policy`.
pub fn play(policy: &dyn BanditPolicy, episode: &Episode, rng: &mut ChaCha8Rng) -> Play {
    let horizon = episode.horizon();
    let mut counts = Counts::default();
    let mut choices = Vec::with_capacity(horizon);
    let mut rewards = Vec::with_capacity(horizon);
    for t in 0..horizon {
        let arm = policy.choose(&counts, t, horizon, rng);
        let r = episode.pays(arm, t);
        counts.record(arm, r);
        choices.push(arm as u8);
        rewards.push(r as u8);
    }
    Play { choices, rewards }
}

/// Cumulative expected-reward loss after each trial:
/// regret[t] = Σ_{k ≤ t} (max(p) − p[choice_k]).
pub fn cumulative_regret(p: [f64; 2], choices: &[u8]) -> Vec<f64> {
    let best = p[0].max(p[1]);
    let mut acc = 0.0;
    choices
        .iter()
        .map(|&c| {
            acc += best - p[c as usize];
            acc
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Thompson sampling and UCB1
// ---------------------------------------------------------------------------

/// Thompson sampling with a Beta(1, 1) prior on each arm: each trial draws
/// θ_L ~ Beta(s_L + 1, f_L + 1), then θ_R ~ Beta(s_R + 1, f_R + 1), and pulls
/// the larger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Thompson;

impl BanditPolicy for Thompson {
    fn name(&self) -> &'static str {
        "thompson"
    }
    fn choose(&self, c: &Counts, _trial: usize, _horizon: usize, rng: &mut ChaCha8Rng) -> usize {
        let mut theta = [0.0; 2];
        for (arm, th) in theta.iter_mut().enumerate() {
            let a = c.successes[arm] as f64 + 1.0;
            let b = c.failures[arm] as f64 + 1.0;
            *th = Beta::new(a, b)
                .expect("Beta parameters are at least 1")
                .sample(rng);
        }
        argmax2(theta, rng)
    }
}

/// UCB1 (Auer, Cesa-Bianchi & Fischer 2002): an arm never pulled has an
/// infinite index (so the first two trials pull each arm once, the first one
/// chosen at random); afterwards mean_a + sqrt(2 ln n / n_a), n = pulls so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ucb1;

impl BanditPolicy for Ucb1 {
    fn name(&self) -> &'static str {
        "ucb1"
    }
    fn choose(&self, c: &Counts, _trial: usize, _horizon: usize, rng: &mut ChaCha8Rng) -> usize {
        let n = c.total() as f64;
        let mut score = [0.0; 2];
        for (arm, s) in score.iter_mut().enumerate() {
            let na = c.pulls(arm) as f64;
            *s = if na == 0.0 {
                f64::INFINITY
            } else {
                c.successes[arm] as f64 / na + (2.0 * n.ln() / na).sqrt()
            };
        }
        argmax2(score, rng)
    }
}

/// Pulls the arm with the larger posterior mean (Beta(1, 1) prior); used as a
/// reference in tests (on correlated bandits it is the Bayes-optimal policy).
#[derive(Debug, Clone, Copy, Default)]
pub struct Greedy;

impl BanditPolicy for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }
    fn choose(&self, c: &Counts, _trial: usize, _horizon: usize, rng: &mut ChaCha8Rng) -> usize {
        let m = |a: usize| (c.successes[a] as f64 + 1.0) / (c.pulls(a) as f64 + 2.0);
        argmax2([m(0), m(1)], rng)
    }
}

// ---------------------------------------------------------------------------
// Gittins indices
// ---------------------------------------------------------------------------

/// The truncation depth of the calibration program for discount `beta` and
/// index tolerance `tol`: the smallest d with β^d / (2√d) ≤ tol / 10.
///
/// Why: the program replaces the value `d` pulls ahead by max(p, λ)/(1 − β),
/// i.e. it stops learning there. The lost value of further learning is at most
/// the value of perfect information, E max(θ, λ) − max(p, λ) ≤ sd(θ) ≤ 1/(2√d)
/// per step, discounted by β^d; scaled back to the per-step index this bounds
/// the error by β^d/(2√d).
pub fn gittins_depth(beta: f64, tol: f64) -> usize {
    let mut d = 1usize;
    while beta.powi(d as i32) / (2.0 * (d as f64).sqrt()) > tol / 10.0 && d < 100_000 {
        d += 1;
    }
    d
}

/// Scratch buffers of the calibration program (one level of values and of
/// their derivatives with respect to the retirement value, and the next).
#[derive(Debug, Default, Clone)]
pub struct CalibrationScratch {
    value: Vec<f64>,
    slope: Vec<f64>,
    next_value: Vec<f64>,
    next_slope: Vec<f64>,
}

/// The calibration problem of an arm with posterior Beta(a, b) against a
/// retirement reward λ per step (worth R = λ/(1 − β) for ever), discount β,
/// truncated `depth` pulls ahead, solved by backward induction:
/// V(x) = max(R, p_x + β (p_x V(x + success) + (1 − p_x) V(x + failure))),
/// with V = max(p_x, λ)/(1 − β) at the truncation depth (no more learning)
/// and the first pull forced at the root.
///
/// Returns (G, D): G = continuation value at the root − R (positive iff the
/// index exceeds λ) and D = dV_root/dR = E[β^τ] under the optimal stopping
/// time τ (the slope Newton's method needs).
///
/// Exact pruning: at every level the stopping states form the low-success
/// end. If both successors of a state stop, the state stops too (stopping at
/// a successor implies its posterior mean is at most λ, and the state's own
/// mean is lower), so each level is computed only from one below the lowest
/// continuing state of the level after it; every state below counts as
/// stopped (value R, slope 1).
pub fn calibration_pass(
    a: f64,
    b: f64,
    lambda: f64,
    beta: f64,
    depth: usize,
    s: &mut CalibrationScratch,
) -> (f64, f64) {
    assert!(depth >= 1);
    let retire = lambda / (1.0 - beta);
    let n = a + b;
    s.value.clear();
    s.slope.clear();
    s.value.resize(depth + 1, retire);
    s.slope.resize(depth + 1, 1.0);
    s.next_value.resize(depth + 1, retire);
    s.next_slope.resize(depth + 1, 1.0);
    // Truncation level: continue for ever (slope 0) iff the mean exceeds λ.
    let inv = 1.0 / (n + depth as f64);
    let mut lo = depth + 1;
    for i in (0..=depth).rev() {
        let p = (a + i as f64) * inv;
        if p > lambda {
            s.value[i] = p / (1.0 - beta);
            s.slope[i] = 0.0;
            lo = i;
        } else {
            break;
        }
    }
    // Levels depth − 1 … 1. `lo` is the lowest continuing state of the level
    // above; below it everything stops.
    for k in (1..depth).rev() {
        let inv = 1.0 / (n + k as f64);
        let start = lo.saturating_sub(1).min(k + 1);
        let mut new_lo = k + 1;
        for i in start..=k {
            let p = (a + i as f64) * inv;
            let (vf, sf) = if i < lo {
                (retire, 1.0)
            } else {
                (s.value[i], s.slope[i])
            };
            let (vs, ss) = (s.value[i + 1], s.slope[i + 1]);
            let c = p + beta * (vf + p * (vs - vf));
            if c > retire {
                s.next_value[i] = c;
                s.next_slope[i] = beta * (sf + p * (ss - sf));
                new_lo = new_lo.min(i);
            } else {
                s.next_value[i] = retire;
                s.next_slope[i] = 1.0;
            }
        }
        std::mem::swap(&mut s.value, &mut s.next_value);
        std::mem::swap(&mut s.slope, &mut s.next_slope);
        // Entries of the new level below `start` were not written: they stop.
        // Make sure reads below `new_lo` never happen.
        lo = new_lo;
    }
    // Root: the arm is pulled at least once.
    let p = a / n;
    let (vf, sf) = if lo > 0 {
        (retire, 1.0)
    } else {
        (s.value[0], s.slope[0])
    };
    let (vs, ss) = if lo > 1 {
        (retire, 1.0)
    } else {
        (s.value[1], s.slope[1])
    };
    (
        p + beta * (vf + p * (vs - vf)) - retire,
        beta * (sf + p * (ss - sf)),
    )
}

/// The Gittins index of a Bernoulli arm with posterior Beta(a, b), discount
/// `beta`, by calibration: the retirement reward λ at which retiring and
/// continuing are equally good, found by Newton's method on the retirement
/// value R = λ/(1 − β). The continuation value F(R) is a maximum of affine
/// functions of R (one per stopping rule), so G(R) = F(R) − R is convex and
/// decreasing; Newton's iteration from the posterior mean (where G ≥ 0)
/// rises monotonically to the root without overshooting and stops when the
/// optimal stopping rule no longer changes (typically 3–6 passes). The
/// truncation depth is [`gittins_depth`]`(beta, tol)`.
/// [`gittins_index_bisection`] is the plain bisection, kept as a reference.
pub fn gittins_index(a: f64, b: f64, beta: f64, tol: f64) -> f64 {
    let depth = gittins_depth(beta, tol);
    gittins_index_with(a, b, beta, tol, depth, &mut CalibrationScratch::default())
}

fn gittins_index_with(
    a: f64,
    b: f64,
    beta: f64,
    tol: f64,
    depth: usize,
    s: &mut CalibrationScratch,
) -> f64 {
    let mut lambda = a / (a + b);
    for _ in 0..100 {
        let (gap, slope) = calibration_pass(a, b, lambda, beta, depth, s);
        if gap <= 0.0 {
            return lambda;
        }
        // Newton step on R, expressed in λ = (1 − β) R.
        let step = (1.0 - beta) * gap / (1.0 - slope);
        lambda += step;
        if step < tol * 1e-3 {
            return lambda;
        }
    }
    // Not reached for any state tried (see the tests); fall back to bisection.
    gittins_index_bisection_with(a, b, beta, tol, depth, s)
}

/// The Gittins index by bisection on λ in [a/(a+b), 1] (the index is at least
/// the posterior mean) until the bracket is narrower than `tol`: the textbook
/// calibration, about −log2(tol) passes; the reference for [`gittins_index`].
pub fn gittins_index_bisection(a: f64, b: f64, beta: f64, tol: f64) -> f64 {
    let depth = gittins_depth(beta, tol);
    gittins_index_bisection_with(a, b, beta, tol, depth, &mut CalibrationScratch::default())
}

fn gittins_index_bisection_with(
    a: f64,
    b: f64,
    beta: f64,
    tol: f64,
    depth: usize,
    s: &mut CalibrationScratch,
) -> f64 {
    let (mut lo, mut hi) = (a / (a + b), 1.0);
    while hi - lo > tol {
        let mid = 0.5 * (lo + hi);
        if calibration_pass(a, b, mid, beta, depth, s).0 > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Gittins indices for every posterior reachable in `max_pulls` pulls of one
/// arm from a Beta(1, 1) prior: index(s, f) of Beta(s + 1, f + 1) for
/// s + f ≤ max_pulls. Computed once (states in parallel; each state's value
/// does not depend on the thread count).
#[derive(Debug, Clone)]
pub struct GittinsTable {
    pub beta: f64,
    pub tol: f64,
    pub max_pulls: u32,
    /// Row n = s + f starts at n(n+1)/2; entry s within the row.
    index: Vec<f64>,
}

impl GittinsTable {
    pub fn new(beta: f64, max_pulls: u32, tol: f64) -> GittinsTable {
        assert!(beta > 0.0 && beta < 1.0, "discount must be in (0, 1)");
        let depth = gittins_depth(beta, tol);
        let states: Vec<(u32, u32)> = (0..=max_pulls)
            .flat_map(|n| (0..=n).map(move |s| (s, n - s)))
            .collect();
        let index = states
            .par_iter()
            .map_init(CalibrationScratch::default, |scratch, &(s, f)| {
                gittins_index_with(s as f64 + 1.0, f as f64 + 1.0, beta, tol, depth, scratch)
            })
            .collect();
        GittinsTable {
            beta,
            tol,
            max_pulls,
            index,
        }
    }

    /// The table of `new`, computed once per process for each setting (about
    /// 4 CPU-seconds each; `metarl references` and `metarl controls` analyse
    /// many runs with the same settings). The table is a pure function of them.
    pub fn shared(beta: f64, max_pulls: u32, tol: f64) -> Arc<GittinsTable> {
        type Key = (u64, u32, u64);
        static TABLES: Mutex<Vec<(Key, Arc<GittinsTable>)>> = Mutex::new(Vec::new());
        let key = (beta.to_bits(), max_pulls, tol.to_bits());
        let find = |tables: &[(Key, Arc<GittinsTable>)]| {
            tables
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, t)| Arc::clone(t))
        };
        let lock = || TABLES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = find(&lock()) {
            return t;
        }
        // Computed without the lock (its rayon tasks must not wait on it); two
        // analyses that ask at once may both compute it, to the same table.
        let table = Arc::new(GittinsTable::new(beta, max_pulls, tol));
        let mut tables = lock();
        match find(&tables) {
            Some(t) => t,
            None => {
                tables.push((key, Arc::clone(&table)));
                table
            }
        }
    }

    /// Index after `s` successes and `f` failures (posterior Beta(s+1, f+1)).
    pub fn index(&self, s: u32, f: u32) -> f64 {
        let n = s + f;
        assert!(
            n <= self.max_pulls,
            "Gittins table holds up to {} pulls",
            self.max_pulls
        );
        self.index[(n * (n + 1) / 2 + s) as usize]
    }
}

/// The Gittins index policy: pull the arm with the larger index.
#[derive(Debug, Clone)]
pub struct Gittins {
    pub table: Arc<GittinsTable>,
}

impl BanditPolicy for Gittins {
    fn name(&self) -> &'static str {
        "gittins"
    }
    fn choose(&self, c: &Counts, _trial: usize, _horizon: usize, rng: &mut ChaCha8Rng) -> usize {
        let g = |a: usize| self.table.index(c.successes[a], c.failures[a]);
        argmax2([g(0), g(1)], rng)
    }
}

// ---------------------------------------------------------------------------
// Bayes-optimal finite-horizon policies
// ---------------------------------------------------------------------------

/// Decision of a Bayes-optimal table: 0 = left, 1 = right, 2 = tie.
const TIE: u8 = 2;

/// 2-bit decisions, four per byte.
#[derive(Debug, Clone, Default)]
struct Decisions(Vec<u8>);

impl Decisions {
    fn with_len(n: usize) -> Self {
        Decisions(vec![0; n.div_ceil(4)])
    }
    fn set(&mut self, i: usize, d: u8) {
        let (byte, shift) = (i / 4, 2 * (i % 4));
        self.0[byte] = (self.0[byte] & !(3 << shift)) | (d << shift);
    }
    fn get(&self, i: usize) -> u8 {
        (self.0[i / 4] >> (2 * (i % 4))) & 3
    }
}

fn decide(q: [f64; 2]) -> u8 {
    let d = q[1] - q[0];
    if d.abs() <= TIE_TOLERANCE {
        TIE
    } else {
        u8::from(d > 0.0)
    }
}

fn act(d: u8, rng: &mut ChaCha8Rng) -> usize {
    if d == TIE {
        rng.random_range(0..2)
    } else {
        d as usize
    }
}

/// The exact Bayes-optimal policy for `horizon` trials of a two-armed
/// Bernoulli bandit with independent uniform priors on p_L and p_R, by
/// backward induction over the posterior counts (s_L, f_L, s_R, f_R).
///
/// V_t(x) = max_a Q_t(x, a), Q_t(x, a) = m_a (1 + V_{t+1}(x + success_a))
/// + (1 − m_a) V_{t+1}(x + failure_a), m_a = (s_a + 1)/(n_a + 2), V_horizon = 0.
///
/// States at trial t are (n_L, s_L, s_R) with n_L + n_R = t: C(t + 3, 3) of
/// them, C(horizon + 3, 4) over the episode (4.4 million for 100 trials). Only
/// two levels of values are held during the induction; the table keeps the
/// decision (left/right/tie) in 2 bits per state (1.1 MB for 100 trials) and
/// the value at the start.
#[derive(Debug, Clone)]
pub struct BayesIndependent {
    horizon: usize,
    /// Offset of level t in the decision table.
    level_offset: Vec<usize>,
    /// block_offset[t·(horizon+1) + n_L]: offset of the n_L block within level t.
    block_offset: Vec<u32>,
    decisions: Decisions,
    /// Expected total reward of the optimal policy under the prior.
    value: f64,
    /// All state values (only when built with `keep_values`, for tests).
    values: Option<Vec<f64>>,
}

impl BayesIndependent {
    pub fn new(horizon: usize) -> Self {
        Self::build(horizon, false)
    }

    /// As `new`, keeping every state's value (8 bytes per state; tests only).
    pub fn with_values(horizon: usize) -> Self {
        Self::build(horizon, true)
    }

    fn level_size(t: usize) -> usize {
        (t + 1) * (t + 2) * (t + 3) / 6
    }

    fn build(horizon: usize, keep_values: bool) -> Self {
        assert!(horizon >= 1);
        let h1 = horizon + 1;
        let mut level_offset = Vec::with_capacity(h1);
        let mut block_offset = vec![0u32; h1 * h1];
        let mut total = 0usize;
        for t in 0..=horizon {
            level_offset.push(total);
            let mut acc = 0u32;
            for n_left in 0..=t {
                block_offset[t * h1 + n_left] = acc;
                acc += ((n_left + 1) * (t - n_left + 1)) as u32;
            }
            debug_assert_eq!(acc as usize, Self::level_size(t));
            total += Self::level_size(t);
        }
        let n_decisions = level_offset[horizon];
        let mut decisions = Decisions::with_len(n_decisions);
        let mut values = keep_values.then(|| vec![0.0; total]);
        let mut v_next = vec![0.0f64; Self::level_size(horizon)];
        let mut v_cur: Vec<f64> = Vec::with_capacity(Self::level_size(horizon));
        for t in (0..horizon).rev() {
            v_cur.clear();
            v_cur.resize(Self::level_size(t), 0.0);
            let bn = &block_offset[(t + 1) * h1..(t + 2) * h1];
            let bc = &block_offset[t * h1..(t + 1) * h1];
            for n_left in 0..=t {
                let n_right = t - n_left;
                let m_right_den = 1.0 / (n_right as f64 + 2.0);
                let m_left_den = 1.0 / (n_left as f64 + 2.0);
                for s_left in 0..=n_left {
                    let m_left = (s_left as f64 + 1.0) * m_left_den;
                    // Next-level offsets: after a left pull (n_L + 1, same n_R)
                    // and after a right pull (same n_L, n_R + 1).
                    let left_fail = bn[n_left + 1] as usize + s_left * (n_right + 1);
                    let left_succ = left_fail + (n_right + 1);
                    let right_base = bn[n_left] as usize + s_left * (n_right + 2);
                    let here = bc[n_left] as usize + s_left * (n_right + 1);
                    for s_right in 0..=n_right {
                        let m_right = (s_right as f64 + 1.0) * m_right_den;
                        let q_left = m_left * (1.0 + v_next[left_succ + s_right])
                            + (1.0 - m_left) * v_next[left_fail + s_right];
                        let q_right = m_right * (1.0 + v_next[right_base + s_right + 1])
                            + (1.0 - m_right) * v_next[right_base + s_right];
                        let i = here + s_right;
                        v_cur[i] = q_left.max(q_right);
                        decisions.set(level_offset[t] + i, decide([q_left, q_right]));
                    }
                }
            }
            if let Some(all) = values.as_mut() {
                let o = level_offset[t];
                all[o..o + v_cur.len()].copy_from_slice(&v_cur);
            }
            std::mem::swap(&mut v_cur, &mut v_next);
        }
        BayesIndependent {
            horizon,
            level_offset,
            block_offset,
            decisions,
            value: v_next[0],
            values,
        }
    }

    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Expected total reward of the optimal policy under the prior.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Bytes held by the decision table.
    pub fn table_bytes(&self) -> usize {
        self.decisions.0.len()
    }

    fn state_index(&self, c: &Counts) -> usize {
        let t = c.total() as usize;
        assert!(
            t <= self.horizon,
            "trial {t} beyond the horizon {}",
            self.horizon
        );
        let n_left = c.pulls(0) as usize;
        let n_right = t - n_left;
        self.level_offset[t]
            + self.block_offset[t * (self.horizon + 1) + n_left] as usize
            + c.successes[0] as usize * (n_right + 1)
            + c.successes[1] as usize
    }

    /// 0 = left, 1 = right, 2 = both optimal.
    pub fn decision(&self, c: &Counts) -> u8 {
        assert!((c.total() as usize) < self.horizon);
        self.decisions.get(self.state_index(c))
    }

    /// Optimal expected reward from state `c` to the end of the episode
    /// (only when built `with_values`).
    pub fn state_value(&self, c: &Counts) -> Option<f64> {
        self.values.as_ref().map(|v| v[self.state_index(c)])
    }
}

impl BanditPolicy for BayesIndependent {
    fn name(&self) -> &'static str {
        "bayes_independent"
    }
    fn choose(&self, c: &Counts, trial: usize, horizon: usize, rng: &mut ChaCha8Rng) -> usize {
        assert_eq!(horizon, self.horizon, "policy computed for another horizon");
        debug_assert_eq!(trial, c.total() as usize);
        act(self.decision(c), rng)
    }
}

/// The exact Bayes-optimal policy for `horizon` trials of the correlated
/// bandit (p_L uniform, p_R = 1 − p_L). A success on the left or a failure on
/// the right is evidence h for a high p_L, a failure on the left or a success
/// on the right evidence l against it; the posterior of p_L is Beta(h+1, l+1)
/// whatever arms produced the evidence, so the state is (h, l) with h + l = t.
///
/// Q(h, l, L) = m (1 + V(h+1, l)) + (1 − m) V(h, l+1),
/// Q(h, l, R) = (1 − m)(1 + V(h, l+1)) + m V(h+1, l), m = (h+1)/(t+2).
/// (Both arms give the same information, so Q_L − Q_R = 2m − 1: the optimal
/// policy is greedy; the tests check that the program finds this.)
#[derive(Debug, Clone)]
pub struct BayesCorrelated {
    horizon: usize,
    /// Value of (h, l) at row t = h + l, offset t(t+1)/2 + h; rows 0..=horizon.
    values: Vec<f64>,
    decisions: Vec<u8>,
}

impl BayesCorrelated {
    pub fn new(horizon: usize) -> Self {
        assert!(horizon >= 1);
        let idx = |t: usize, h: usize| t * (t + 1) / 2 + h;
        let n = idx(horizon + 1, 0);
        let mut values = vec![0.0; n];
        let mut decisions = vec![TIE; idx(horizon, 0)];
        for t in (0..horizon).rev() {
            let m_den = 1.0 / (t as f64 + 2.0);
            for h in 0..=t {
                let m = (h as f64 + 1.0) * m_den;
                let up = values[idx(t + 1, h + 1)];
                let down = values[idx(t + 1, h)];
                let q_left = m * (1.0 + up) + (1.0 - m) * down;
                let q_right = (1.0 - m) * (1.0 + down) + m * up;
                values[idx(t, h)] = q_left.max(q_right);
                decisions[idx(t, h)] = decide([q_left, q_right]);
            }
        }
        BayesCorrelated {
            horizon,
            values,
            decisions,
        }
    }

    /// The evidence counts (h, l) about p_L.
    pub fn evidence(c: &Counts) -> (usize, usize) {
        (
            (c.successes[0] + c.failures[1]) as usize,
            (c.failures[0] + c.successes[1]) as usize,
        )
    }

    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Expected total reward of the optimal policy under the prior.
    pub fn value(&self) -> f64 {
        self.values[0]
    }

    /// Optimal expected reward from evidence (h, l) to the end of the episode.
    pub fn state_value(&self, h: usize, l: usize) -> f64 {
        let t = h + l;
        self.values[t * (t + 1) / 2 + h]
    }

    pub fn decision(&self, c: &Counts) -> u8 {
        let (h, l) = Self::evidence(c);
        let t = h + l;
        assert!(t < self.horizon);
        self.decisions[t * (t + 1) / 2 + h]
    }
}

impl BanditPolicy for BayesCorrelated {
    fn name(&self) -> &'static str {
        "bayes_correlated"
    }
    fn choose(&self, c: &Counts, _trial: usize, horizon: usize, rng: &mut ChaCha8Rng) -> usize {
        assert_eq!(horizon, self.horizon, "policy computed for another horizon");
        act(self.decision(c), rng)
    }
}

#[cfg(test)]
mod tests;
