//! Tests of the reference agents: Gittins indices against published values,
//! the Bayes-optimal programs against brute-force expectimax over histories
//! (with numerically integrated predictive probabilities) and known small
//! cases, Thompson sampling and UCB1 against hand-computed cases.

use super::*;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn counts(s: [u32; 2], f: [u32; 2]) -> Counts {
    Counts {
        successes: s,
        failures: f,
    }
}

// --- episodes, regret, tie-breaking -----------------------------------------

#[test]
fn episodes_pay_by_common_random_numbers() {
    let ep = Episode::draw(Prior::Independent, 100, &mut rng(1));
    assert_eq!(ep.horizon(), 100);
    for t in 0..100 {
        for arm in 0..2 {
            assert_eq!(ep.pays(arm, t), ep.u[arm][t] < ep.p[arm]);
        }
    }
    let c = Episode::draw(Prior::Correlated, 10, &mut rng(2));
    assert_eq!(c.p[0] + c.p[1], 1.0);
    // The draw order is two uniforms for p, then u_L, u_R per trial.
    let mut r = rng(3);
    let p_left: f64 = r.random();
    let p_right: f64 = r.random();
    let u_left0: f64 = r.random();
    let u_right0: f64 = r.random();
    let ep = Episode::draw(Prior::Independent, 1, &mut rng(3));
    assert_eq!(ep.p, [p_left, p_right]);
    assert_eq!([ep.u[0][0], ep.u[1][0]], [u_left0, u_right0]);
    // Same uniforms, different arm probabilities: only p matters for payment.
    let fixed = Episode::draw(Prior::Fixed([0.25, 0.75]), 100, &mut rng(4));
    assert_eq!(fixed.better_arm(), 1);
    let paid: usize = (0..100).map(|t| fixed.pays(1, t) as usize).sum();
    assert!((55..=95).contains(&paid), "{paid}");
}

#[test]
fn regret_is_the_expected_reward_loss() {
    let r = cumulative_regret([0.25, 0.75], &[0, 1, 1, 0]);
    assert_eq!(r, vec![0.5, 0.5, 0.5, 1.0]);
    let r = cumulative_regret([0.6, 0.4], &[1, 1, 0]);
    assert!((r[2] - 0.4).abs() < 1e-12);
}

#[test]
fn ties_are_broken_at_random_and_only_ties_draw() {
    let mut left = 0;
    for s in 0..2000 {
        let mut r = policy_rng(7, 0, s);
        left += (argmax2([0.5, 0.5], &mut r) == 0) as usize;
    }
    assert!((900..=1100).contains(&left), "{left}");
    // A clear winner consumes no random number.
    let mut a = policy_rng(7, 1, 0);
    let mut b = policy_rng(7, 1, 0);
    assert_eq!(argmax2([0.2, 0.7], &mut a), 1);
    assert_eq!(argmax2([0.7, 0.2], &mut a), 0);
    assert_eq!(a.random::<u64>(), b.random::<u64>());
    // Streams differ by agent and by episode.
    let x: u64 = policy_rng(1, 0, 0).random();
    assert_ne!(x, policy_rng(1, 1, 0).random::<u64>());
    assert_ne!(x, policy_rng(1, 0, 1).random::<u64>());
}

#[test]
fn play_is_deterministic_given_the_stream() {
    let ep = Episode::draw(Prior::Independent, 100, &mut rng(5));
    let a = play(&Thompson, &ep, &mut policy_rng(9, 2, 0));
    let b = play(&Thompson, &ep, &mut policy_rng(9, 2, 0));
    assert_eq!(a, b);
    let c = play(&Thompson, &ep, &mut policy_rng(9, 2, 1));
    assert_ne!(a.choices, c.choices);
    for (t, (&ch, &r)) in a.choices.iter().zip(&a.rewards).enumerate() {
        assert_eq!(r == 1, ep.pays(ch as usize, t));
    }
}

// --- Thompson and UCB1 ------------------------------------------------------

#[test]
fn thompson_chooses_with_the_posterior_probability_of_being_better() {
    // θ_L ~ Beta(4, 2), θ_R ~ Beta(1, 1): P(θ_L > θ_R) = E θ_L = 2/3.
    let c = counts([3, 0], [1, 0]);
    let n = 20_000;
    let mut left = 0;
    let mut r = rng(11);
    for _ in 0..n {
        left += (Thompson.choose(&c, 4, 100, &mut r) == 0) as usize;
    }
    let share = left as f64 / n as f64;
    let se = (2.0 / 9.0 / n as f64).sqrt();
    assert!((share - 2.0 / 3.0).abs() < 4.0 * se, "{share}");
}

#[test]
fn ucb1_pulls_each_arm_once_then_follows_its_index() {
    let mut first = [0; 2];
    for s in 0..200 {
        let mut r = policy_rng(3, 0, s);
        let a = Ucb1.choose(&Counts::default(), 0, 100, &mut r);
        first[a] += 1;
        // After one pull of `a` (success or failure) the other arm comes next.
        for reward in [true, false] {
            let mut c = Counts::default();
            c.record(a, reward);
            assert_eq!(Ucb1.choose(&c, 1, 100, &mut r), 1 - a);
        }
    }
    assert!(first[0] > 60 && first[1] > 60, "{first:?}");
    // n = 2: 1 + √(2 ln 2) against 0 + √(2 ln 2).
    assert_eq!(Ucb1.choose(&counts([1, 0], [0, 1]), 2, 100, &mut rng(0)), 0);
    // n = 6: 3/5 + √(2 ln 6 / 5) = 1.4466 against 1/1 + √(2 ln 6) = 2.893.
    assert_eq!(Ucb1.choose(&counts([3, 1], [2, 0]), 6, 100, &mut rng(0)), 1);
    // n = 20: 9/15 + √(2 ln 20 / 15) = 1.2311 against 1/5 + √(2 ln 20 / 5) = 1.2947.
    assert_eq!(
        Ucb1.choose(&counts([9, 1], [6, 4]), 20, 100, &mut rng(0)),
        1
    );
    // n = 20: 10/15 + 0.6311 = 1.2978 against 1.2947.
    assert_eq!(
        Ucb1.choose(&counts([10, 1], [5, 4]), 20, 100, &mut rng(0)),
        0
    );
}

// --- Gittins indices --------------------------------------------------------

/// Published Bernoulli Gittins indices, as (a, b, discount, index) for the
/// posterior Beta(a, b). Source: the tables of Gittins, Glazebrook & Weber
/// (2011), "Multi-armed Bandit Allocation Indices", 2nd ed., Wiley (Bernoulli
/// reward process, Beta prior), as reproduced in Christian & Griffiths (2016),
/// "Algorithms to Live By", ch. 2 (discount 0.9: record 0–0 → 0.7029, 1–1 →
/// 0.6346, 2–2 → 0.6010, 9 wins–1 loss → 0.8695; discount 0.99: 0–0 → 0.8699)
/// and in the test suite of the Julia package GittinsIndices.jl (discount 0.9:
/// Beta(2,1) 0.8001, Beta(3,1) 0.8452, Beta(1,2) 0.5001, Beta(1,3) 0.3796).
/// A record of w wins and l losses from the uniform prior is Beta(w+1, l+1).
const PUBLISHED: [(f64, f64, f64, f64); 10] = [
    (1.0, 1.0, 0.9, 0.7029),
    (2.0, 2.0, 0.9, 0.6346),
    (3.0, 3.0, 0.9, 0.6010),
    (10.0, 2.0, 0.9, 0.8695),
    (2.0, 1.0, 0.9, 0.8001),
    (3.0, 1.0, 0.9, 0.8452),
    (1.0, 2.0, 0.9, 0.5001),
    (1.0, 3.0, 0.9, 0.3796),
    (1.0, 1.0, 0.99, 0.8699),
    // The same arm with a myopic discount: the index is close to the mean.
    (1.0, 1.0, 0.01, 0.5),
];

#[test]
fn gittins_indices_match_published_values() {
    for &(a, b, beta, published) in &PUBLISHED[..9] {
        for (method, g) in [
            ("newton", gittins_index(a, b, beta, 1e-7)),
            ("bisection", gittins_index_bisection(a, b, beta, 1e-7)),
        ] {
            // Published to 4 decimals: within half a unit of the last digit
            // (plus the tolerance).
            assert!(
                (g - published).abs() <= 5e-5 + 1e-7,
                "Beta({a}, {b}), discount {beta}, {method}: computed {g:.6}, published {published}"
            );
        }
    }
    let (a, b, beta, mean) = PUBLISHED[9];
    let g = gittins_index(a, b, beta, 1e-9);
    assert!(g > mean && g - mean < 0.01, "{g}");
}

#[test]
fn gittins_truncation_is_deep_enough() {
    // Doubling the truncation depth moves the index by less than the tolerance.
    for &(a, b, beta) in &[(1.0, 1.0, 0.9), (3.0, 7.0, 0.95), (1.0, 1.0, 0.99)] {
        let tol = 1e-7;
        let d = gittins_depth(beta, tol);
        let mut s = CalibrationScratch::default();
        let g1 = gittins_index_with(a, b, beta, tol, d, &mut s);
        let g2 = gittins_index_with(a, b, beta, tol, 2 * d, &mut s);
        assert!((g1 - g2).abs() <= 2.0 * tol, "{a} {b} {beta}: {g1} vs {g2}");
    }
}

#[test]
fn gittins_newton_agrees_with_bisection() {
    // Every posterior within 12 pulls of the uniform prior, three discounts.
    let tol = 1e-7;
    for beta in [0.5, 0.9, 0.98] {
        for n in 0..=12u32 {
            for s in 0..=n {
                let (a, b) = (s as f64 + 1.0, (n - s) as f64 + 1.0);
                let g_newton = gittins_index(a, b, beta, tol);
                let g_bisect = gittins_index_bisection(a, b, beta, tol);
                assert!(
                    (g_newton - g_bisect).abs() <= tol,
                    "Beta({a}, {b}), discount {beta}: {g_newton} vs {g_bisect}"
                );
            }
        }
    }
}

#[test]
fn calibration_slope_is_the_derivative() {
    // D = dV/dR: compare with a finite difference away from kinks.
    let mut s = CalibrationScratch::default();
    let (beta, depth) = (0.9, 120);
    for lambda in [0.55, 0.62, 0.7] {
        let h = 1e-7;
        let (g0, d0) = calibration_pass(2.0, 3.0, lambda, beta, depth, &mut s);
        let (g1, _) = calibration_pass(2.0, 3.0, lambda + h, beta, depth, &mut s);
        // G = F − R, R = λ/(1 − β): dF/dR = 1 + dG/dR.
        let fd = 1.0 + (g1 - g0) / (h / (1.0 - beta));
        assert!((fd - d0).abs() < 1e-4, "λ {lambda}: {fd} vs {d0}");
    }
}

#[test]
fn gittins_table_is_consistent_and_monotone() {
    let tab = GittinsTable::new(0.9, 20, 1e-7);
    assert_eq!(tab.index(0, 0), gittins_index(1.0, 1.0, 0.9, 1e-7));
    assert_eq!(tab.index(3, 5), gittins_index(4.0, 6.0, 0.9, 1e-7));
    for n in 0..20u32 {
        for s in 0..=n {
            let f = n - s;
            let g = tab.index(s, f);
            let mean = (s as f64 + 1.0) / (n as f64 + 2.0);
            assert!(g > mean && g < 1.0, "({s}, {f}): {g}");
            // More successes raise the index, more failures lower it.
            assert!(
                tab.index(s + 1, f) > g && tab.index(s, f + 1) < g,
                "({s}, {f})"
            );
        }
    }
}

#[test]
fn gittins_policy_prefers_the_unexplored_arm_as_the_index_says() {
    // Discount 0.9: an untried arm (0.7029) against one success (Beta(2, 1),
    // 0.8001) and against one failure (Beta(1, 2), 0.5001).
    let pol = Gittins {
        table: GittinsTable::shared(0.9, 12, 1e-7),
    };
    let c = counts([0, 1], [0, 0]); // right: one success
                                    // Right has index(1, 0) = Beta(2,1) 0.8001 > left index(0,0) 0.7029.
    assert_eq!(pol.choose(&c, 1, 100, &mut rng(0)), 1);
    let c = counts([0, 0], [0, 1]); // right: one failure, Beta(1, 2) 0.5001
    assert_eq!(pol.choose(&c, 1, 100, &mut rng(0)), 0);
}

// --- Bayes-optimal, independent arms -----------------------------------------

/// ∫₀¹ g(θ) dθ by composite Simpson's rule (2000 intervals; exact to ~1e-12
/// for the low-degree polynomials used here).
fn integrate(g: impl Fn(f64) -> f64) -> f64 {
    let n = 2000;
    let h = 1.0 / n as f64;
    let mut acc = g(0.0) + g(1.0);
    for i in 1..n {
        acc += g(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    acc * h / 3.0
}

/// Brute-force expectimax over full histories (arm, reward), the probability
/// that an arm pays given the history integrated numerically from the
/// history's likelihood under the prior (`predictive`). Calls `visit` with
/// every history and its two action values; returns the optimal value.
type History = [(usize, bool)];

fn expectimax(
    history: &mut Vec<(usize, bool)>,
    remaining: usize,
    predictive: &dyn Fn(&History, usize) -> f64,
    visit: &mut dyn FnMut(&History, [f64; 2]),
) -> f64 {
    if remaining == 0 {
        return 0.0;
    }
    let mut q = [0.0; 2];
    for (arm, qa) in q.iter_mut().enumerate() {
        let m = predictive(history, arm);
        history.push((arm, true));
        let v_succ = expectimax(history, remaining - 1, predictive, visit);
        history.pop();
        history.push((arm, false));
        let v_fail = expectimax(history, remaining - 1, predictive, visit);
        history.pop();
        *qa = m * (1.0 + v_succ) + (1.0 - m) * v_fail;
    }
    visit(history, q);
    q[0].max(q[1])
}

fn counts_of(history: &[(usize, bool)]) -> Counts {
    let mut c = Counts::default();
    for &(a, r) in history {
        c.record(a, r);
    }
    c
}

/// Independent uniform priors: the posterior of the pulled arm's θ is the
/// prior times the likelihood of that arm's outcomes in the history (the other
/// arm's factor cancels); the predictive integrates θ against it numerically.
fn predictive_independent(history: &[(usize, bool)], arm: usize) -> f64 {
    let like = |theta: f64| {
        history
            .iter()
            .filter(|&&(a, _)| a == arm)
            .fold(1.0, |acc, &(_, r)| {
                acc * if r { theta } else { 1.0 - theta }
            })
    };
    integrate(|x| x * like(x)) / integrate(like)
}

/// Correlated prior: θ = p_L uniform, p_R = 1 − θ.
fn predictive_correlated(history: &[(usize, bool)], arm: usize) -> f64 {
    let p = |theta: f64, a: usize| if a == 0 { theta } else { 1.0 - theta };
    let like = |theta: f64| {
        history.iter().fold(1.0, |acc, &(a, r)| {
            acc * if r { p(theta, a) } else { 1.0 - p(theta, a) }
        })
    };
    integrate(|x| p(x, arm) * like(x)) / integrate(like)
}

#[test]
fn bayes_independent_known_small_horizons() {
    assert!((BayesIndependent::new(1).value() - 0.5).abs() < 1e-15);
    // Pull any arm (1/2); stay after a success (2/3), switch after a failure (1/2).
    assert!((BayesIndependent::new(2).value() - 13.0 / 12.0).abs() < 1e-14);
    let b = BayesIndependent::new(2);
    assert_eq!(b.decision(&Counts::default()), TIE);
    assert_eq!(b.decision(&counts([1, 0], [0, 0])), 0);
    assert_eq!(b.decision(&counts([0, 0], [1, 0])), 1);
    // Table sizes: C(horizon + 3, 4) decisions at 2 bits.
    let b = BayesIndependent::new(100);
    assert_eq!(b.level_offset[100], 4_421_275);
    assert_eq!(b.table_bytes(), 4_421_275usize.div_ceil(4));
}

#[test]
fn bayes_independent_matches_brute_force() {
    for horizon in 1..=4 {
        let dp = BayesIndependent::with_values(horizon);
        let mut checked = 0;
        let mut visit = |h: &[(usize, bool)], q: [f64; 2]| {
            let c = counts_of(h);
            let brute_v = q[0].max(q[1]);
            let dp_v = dp.state_value(&c).unwrap();
            assert!((brute_v - dp_v).abs() < 1e-9, "{h:?}: {brute_v} vs {dp_v}");
            let d = dp.decision(&c);
            if (q[0] - q[1]).abs() < 1e-9 {
                assert_eq!(d, TIE, "{h:?} {q:?}");
            } else {
                assert_eq!(d as usize, usize::from(q[1] > q[0]), "{h:?} {q:?}");
            }
            checked += 1;
        };
        let v = expectimax(
            &mut Vec::new(),
            horizon,
            &predictive_independent,
            &mut visit,
        );
        assert!(
            (v - dp.value()).abs() < 1e-9,
            "horizon {horizon}: {v} vs {}",
            dp.value()
        );
        assert!(checked > 0);
    }
}

#[test]
fn bayes_independent_stays_on_a_winner() {
    // Berry (1972): with independent arms, an arm that is optimal and pays
    // remains optimal.
    let horizon = 30;
    let dp = BayesIndependent::new(horizon);
    for t in 0..horizon - 1 {
        for n_left in 0..=t as u32 {
            let n_right = t as u32 - n_left;
            for s_left in 0..=n_left {
                for s_right in 0..=n_right {
                    let c = counts([s_left, s_right], [n_left - s_left, n_right - s_right]);
                    let d = dp.decision(&c);
                    if d == TIE {
                        continue;
                    }
                    let mut next = c;
                    next.record(d as usize, true);
                    let d2 = dp.decision(&next);
                    assert!(d2 == d || d2 == TIE, "{c:?}: {d} then {d2}");
                }
            }
        }
    }
}

#[test]
fn bayes_independent_value_matches_simulation_and_beats_the_others() {
    // Expected regret under the prior is horizon · E max(p_L, p_R) − V
    // = 100 · 2/3 − V. Simulated on 4000 episodes it must agree within 4 SE,
    // and the optimal policy's regret must be below Thompson's and UCB1's on
    // the same episodes (paired, by more than 4 SE of the difference).
    let horizon = 100;
    let dp = BayesIndependent::new(horizon);
    let expected_regret = horizon as f64 * 2.0 / 3.0 - dp.value();
    let mut r = rng(21);
    let n = 4000;
    let (mut reg, mut diff_ts, mut diff_ucb) = (Vec::new(), Vec::new(), Vec::new());
    for e in 0..n {
        let ep = Episode::draw(Prior::Independent, horizon, &mut r);
        let best = ep.p[0].max(ep.p[1]) * horizon as f64;
        let bayes = play(&dp, &ep, &mut policy_rng(1, 0, e));
        let total = bayes.rewards.iter().map(|&x| x as f64).sum::<f64>();
        // Realised regret (reward-based) has the same expectation.
        reg.push(best - total);
        let rb = *cumulative_regret(ep.p, &bayes.choices).last().unwrap();
        let rt = *cumulative_regret(
            ep.p,
            &play(&Thompson, &ep, &mut policy_rng(1, 1, e)).choices,
        )
        .last()
        .unwrap();
        let ru = *cumulative_regret(ep.p, &play(&Ucb1, &ep, &mut policy_rng(1, 2, e)).choices)
            .last()
            .unwrap();
        diff_ts.push(rt - rb);
        diff_ucb.push(ru - rb);
    }
    let stats = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        let v = x.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
        (m, (v / x.len() as f64).sqrt())
    };
    let (m, se) = stats(&reg);
    assert!(
        (m - expected_regret).abs() < 4.0 * se,
        "{m} ± {se} vs {expected_regret}"
    );
    let (m, se) = stats(&diff_ts);
    assert!(m > 4.0 * se, "Thompson − Bayes: {m} ± {se}");
    let (m, se) = stats(&diff_ucb);
    assert!(m > 4.0 * se, "UCB1 − Bayes: {m} ± {se}");
}

// --- Bayes-optimal, correlated arms -------------------------------------------

#[test]
fn bayes_correlated_matches_brute_force_and_is_greedy() {
    for horizon in 1..=5 {
        let dp = BayesCorrelated::new(horizon);
        let mut visit = |h: &[(usize, bool)], q: [f64; 2]| {
            let c = counts_of(h);
            let (e_h, e_l) = BayesCorrelated::evidence(&c);
            let brute_v = q[0].max(q[1]);
            assert!((brute_v - dp.state_value(e_h, e_l)).abs() < 1e-9, "{h:?}");
            let d = dp.decision(&c);
            if (q[0] - q[1]).abs() < 1e-9 {
                assert_eq!(d, TIE, "{h:?} {q:?}");
            } else {
                assert_eq!(d as usize, usize::from(q[1] > q[0]), "{h:?} {q:?}");
            }
        };
        let v = expectimax(&mut Vec::new(), horizon, &predictive_correlated, &mut visit);
        assert!((v - dp.value()).abs() < 1e-9, "horizon {horizon}");
    }
    // Horizon 1: 1/2. Horizon 2: 1/2 + E max(m, 1 − m) after one outcome = 1/2 + 2/3.
    assert!((BayesCorrelated::new(1).value() - 0.5).abs() < 1e-15);
    assert!((BayesCorrelated::new(2).value() - (0.5 + 2.0 / 3.0)).abs() < 1e-14);
    // Greedy on the evidence at every state of a 100-trial episode.
    let dp = BayesCorrelated::new(100);
    for t in 0..100usize {
        for h in 0..=t {
            let l = t - h;
            let m = (h as f64 + 1.0) / (t as f64 + 2.0);
            let want = if 2 * h == t { TIE } else { u8::from(m < 0.5) };
            let c = counts([h as u32, 0], [l as u32, 0]);
            assert_eq!(dp.decision(&c), want, "h {h}, l {l}");
        }
    }
}

#[test]
fn bayes_correlated_counts_evidence_from_both_arms() {
    // A failure on the right is evidence for the left, as a success on the left.
    assert_eq!(BayesCorrelated::evidence(&counts([2, 1], [3, 4])), (6, 4));
    let dp = BayesCorrelated::new(10);
    assert_eq!(dp.decision(&counts([0, 0], [0, 1])), 0);
    assert_eq!(dp.decision(&counts([0, 1], [0, 0])), 1);
    assert_eq!(dp.decision(&counts([0, 1], [0, 1])), TIE);
}
