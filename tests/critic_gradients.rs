//! The RPE-input agent's gradients (src/agent/critic.rs, and the actor's loss
//! with the critic's baseline in src/agent/a2c.rs) against finite differences
//! of an independent, plainly written f64 reference of the forward passes and
//! losses, element by element:
//!   * critic: L_c = value_cost · mean over episodes of Σ_t ½ (R_t − v_t)², with
//!     v the critic LSTM's value head;
//!   * actor: L_a = mean over episodes of Σ_t [−A_t log π(a_t) − entropy_cost·H(π_t)]
//!     with A_t = R_t − v^critic_t held constant and the actor's own value head
//!     unused (value cost 0: its gradient must be exactly zero).
//!
//! The δ inputs of the actor are data here (no gradient flows through them into
//! the critic); `tests/rpe_manipulation.rs` checks that the rollout feeds the
//! actor the critic's δ.

use metarl::agent::{
    a2c, critic, A2cBuffers, A2cHyper, CriticWorkspace, Params, RolloutData, Workspace,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const B: usize = 4;
const T: usize = 10;
const N_IN: usize = 5;
/// Actor and critic sizes differ, so that a mix-up of the two shows.
const H: usize = 6;
const HC: usize = 5;
const A: usize = 3;
const LENGTHS: [usize; B] = [T, T, 4, 7];
/// Value and entropy costs larger than the training defaults so that every term
/// carries a sizeable share of the gradient.
const HYPER: A2cHyper = A2cHyper {
    gamma: 0.9,
    value_cost: 0.4,
    entropy_cost: 0.3,
};

// Tolerances as in tests/agent_gradients.rs: the analytic gradient is f32, the
// Richardson finite differences of the f64 reference are accurate to ~1e-10, and
// a 1% error in one backward term moves the elements it feeds by ≥ 1e-3 relative.
const REL: f64 = 5e-4;
const ABS: f64 = 1e-5;
const NORM: f64 = 2e-5;

struct Fixture {
    actor: Params,
    critic: Params,
    /// Inputs of the critic (with the reward) and of the actor (with δ), per step.
    xc: Vec<Array2<f32>>,
    xa: Vec<Array2<f32>>,
    actions: Vec<usize>,
    rewards: Vec<f32>,
    mask: Vec<f32>,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let mut actor = Params::init(N_IN, H, A, &mut rng);
    actor.w_pi.mapv_inplace(|_| rng.random_range(-0.8..0.8));
    actor.b_pi.mapv_inplace(|_| rng.random_range(-0.5..0.5));
    let mut critic = critic::init(N_IN, HC, &mut rng);
    critic.w_v.mapv_inplace(|_| rng.random_range(-0.8..0.8));
    critic.b_v.mapv_inplace(|_| rng.random_range(-0.5..0.5));
    let mut x = || -> Vec<Array2<f32>> {
        (0..T)
            .map(|_| Array2::from_shape_fn((B, N_IN), |_| rng.random_range(-1.0..1.0)))
            .collect()
    };
    let (xc, xa) = (x(), x());
    let actions = (0..T * B).map(|_| rng.random_range(0..A)).collect();
    let rewards = (0..T * B).map(|_| rng.random_range(-1.0..2.0)).collect();
    let mask = (0..T * B)
        .map(|row| if row / B < LENGTHS[row % B] { 1.0 } else { 0.0 })
        .collect();
    Fixture {
        actor,
        critic,
        xc,
        xa,
        actions,
        rewards,
        mask,
    }
}

/// The production gradients (f32): actor and critic, and the critic's values.
fn analytic(f: &Fixture) -> (Params, Params, Vec<f64>) {
    let mut ws = Workspace::new(&f.actor, B, T);
    let mut cws = CriticWorkspace::new(&f.critic, B, T);
    for t in 0..T {
        cws.forward_step(&f.critic, t, f.xc[t].view());
        ws.forward_step(&f.actor, t, f.xa[t].view());
    }
    let mut bufs = A2cBuffers::new(&ws);
    let data = RolloutData {
        n_steps: T,
        actions: &f.actions,
        rewards: &f.rewards,
        mask: &f.mask,
    };
    let mut ga = f.actor.zeros_like();
    let mut gc = f.critic.zeros_like();
    let hyper = A2cHyper {
        value_cost: 0.0,
        ..HYPER
    };
    a2c::loss_and_grad_with_baseline(
        &f.actor,
        &mut ws,
        &mut bufs,
        &data,
        Some(cws.values()),
        hyper,
        &mut ga,
    );
    cws.loss_and_grad(
        &f.critic,
        &bufs.returns,
        &f.mask,
        T,
        HYPER.value_cost,
        &mut gc,
    );
    let values = cws.values()[..T * B].iter().map(|&v| v as f64).collect();
    (ga, gc, values)
}

// ---------------------------------------------------------------------------
// The reference (f64), from the docs of `Params` (gate rows [input, forget,
// cell candidate, output] on [x_t, h_{t−1}]; softmax policy and linear value on
// h_t) and of `agent::critic`, not from the production code.

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Per row t·B + b: (log-probabilities, value) of a network with tensors
/// [w, b, w_pi, b_pi, w_v, b_v] (flattened row-major) on inputs `x`.
fn reference_forward(p: &[Vec<f64>], x: &[Array2<f32>]) -> Vec<(Vec<f64>, f64)> {
    let (w, bias, w_pi, b_pi, w_v, b_v) = (&p[0], &p[1], &p[2], &p[3], &p[4], &p[5]);
    let hh = bias.len() / 4;
    let n_z = w.len() / (4 * hh);
    let n_a = b_pi.len();
    let mut out = vec![(vec![], 0.0); T * B];
    for b in 0..B {
        let (mut h, mut c) = (vec![0.0f64; hh], vec![0.0f64; hh]);
        for t in 0..T {
            let mut z: Vec<f64> = x[t].row(b).iter().map(|&v| v as f64).collect();
            z.extend_from_slice(&h);
            let pre = |r: usize| bias[r] + (0..n_z).map(|k| w[r * n_z + k] * z[k]).sum::<f64>();
            for j in 0..hh {
                let (i, fg, g, o) = (
                    sigmoid(pre(j)),
                    sigmoid(pre(hh + j)),
                    pre(2 * hh + j).tanh(),
                    sigmoid(pre(3 * hh + j)),
                );
                c[j] = fg * c[j] + i * g;
                h[j] = o * c[j].tanh();
            }
            let logits: Vec<f64> = (0..n_a)
                .map(|k| b_pi[k] + (0..hh).map(|j| w_pi[k * hh + j] * h[j]).sum::<f64>())
                .collect();
            let log_z = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
            let value = b_v[0] + (0..hh).map(|j| w_v[j] * h[j]).sum::<f64>();
            out[t * B + b] = (logits.iter().map(|l| l - log_z).collect(), value);
        }
    }
    out
}

fn returns(f: &Fixture) -> Vec<f64> {
    let mut ret = vec![0.0; T * B];
    for (b, &len) in LENGTHS.iter().enumerate() {
        let mut r = 0.0;
        for t in (0..len).rev() {
            r = f.rewards[t * B + b] as f64 + HYPER.gamma as f64 * r;
            ret[t * B + b] = r;
        }
    }
    ret
}

/// The critic's loss: value_cost · mean over episodes of Σ_t ½ (R_t − v_t)².
fn critic_loss(p: &[Vec<f64>], f: &Fixture) -> f64 {
    let steps = reference_forward(p, &f.xc);
    let ret = returns(f);
    let mut total = 0.0;
    for (b, &len) in LENGTHS.iter().enumerate() {
        for t in 0..len {
            let row = t * B + b;
            total += 0.5 * (ret[row] - steps[row].1).powi(2);
        }
    }
    HYPER.value_cost as f64 * total / B as f64
}

/// The actor's loss with the advantage held at `adv` and no value term.
fn actor_loss(p: &[Vec<f64>], f: &Fixture, adv: &[f64]) -> f64 {
    let steps = reference_forward(p, &f.xa);
    let mut total = 0.0;
    for (b, &len) in LENGTHS.iter().enumerate() {
        for t in 0..len {
            let row = t * B + b;
            let lp = &steps[row].0;
            let entropy: f64 = -lp.iter().map(|l| l.exp() * l).sum::<f64>();
            total += -adv[row] * lp[f.actions[row]] - HYPER.entropy_cost as f64 * entropy;
        }
    }
    total / B as f64
}

fn to_f64(p: &Params) -> Vec<Vec<f64>> {
    p.tensors()
        .iter()
        .map(|t| t.iter().map(|&v| v as f64).collect())
        .collect()
}

/// Richardson-extrapolated central difference (see tests/agent_gradients.rs).
fn fd(g: impl Fn(f64) -> f64) -> f64 {
    let h = 1e-3;
    let d = |s: f64| g(s) - g(-s);
    (8.0 * d(h) - d(2.0 * h)) / (12.0 * h)
}

/// Compare every element of every named tensor with finite differences of `loss`.
fn check(
    names: &[&str],
    tensors: &[usize],
    analytic: &Params,
    base: &[Vec<f64>],
    loss: impl Fn(&[Vec<f64>]) -> f64,
) -> Vec<String> {
    let mut failures = vec![];
    for (name, &k) in names.iter().zip(tensors) {
        let g = analytic.tensors()[k];
        let numeric: Vec<f64> = (0..base[k].len())
            .map(|i| {
                fd(|s| {
                    let mut p = base.to_vec();
                    p[k][i] += s;
                    loss(&p)
                })
            })
            .collect();
        let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            scale > 1e-6,
            "{name}: the reference loss does not depend on it"
        );
        let mut sq = (0.0, 0.0);
        for (i, (&a, &n)) in g.iter().zip(&numeric).enumerate() {
            let e = (a as f64 - n).abs();
            sq.0 += e * e;
            sq.1 += n * n;
            if e > REL * n.abs() + ABS * scale {
                failures.push(format!(
                    "GRADCHECK FAIL {name}[{i}]: backprop {a:.9e} vs finite difference {n:.9e}"
                ));
            }
        }
        let rel_norm = (sq.0 / sq.1).sqrt();
        eprintln!(
            "{name:16} {:4} elements, norm-wise error {rel_norm:.1e}",
            g.len()
        );
        if rel_norm > NORM {
            failures.push(format!(
                "GRADCHECK FAIL {name}: norm-wise error {rel_norm:.2e}"
            ));
        }
    }
    failures
}

#[test]
fn critic_backprop_matches_finite_differences_of_its_value_loss() {
    let f = fixture();
    let (_, gc, _) = analytic(&f);
    // Critic tensors: [w, b, (empty policy head), w_v, b_v].
    let failures = check(
        &critic::TENSOR_NAMES,
        &[0, 1, 4, 5],
        &gc,
        &to_f64(&f.critic),
        |p| critic_loss(p, &f),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(gc.w_pi.is_empty() && gc.b_pi.is_empty());
}

#[test]
fn actor_backprop_with_the_critic_baseline_matches_finite_differences() {
    let f = fixture();
    let (ga, _, critic_values) = analytic(&f);
    let ret = returns(&f);
    // The advantage is R_t − v_t of the critic, held constant.
    let adv: Vec<f64> = ret.iter().zip(&critic_values).map(|(r, v)| r - v).collect();
    let failures = check(
        &["lstm.w", "lstm.b", "policy.w", "policy.b"],
        &[0, 1, 2, 3],
        &ga,
        &to_f64(&f.actor),
        |p| actor_loss(p, &f, &adv),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The actor's own value head is unused: exactly zero gradient.
    assert!(ga.w_v.iter().chain(ga.b_v.iter()).all(|&g| g == 0.0));
}

#[test]
fn the_critic_advantage_is_the_discounted_sum_of_its_rpes() {
    // R_t − v_t = Σ_k γ^k δ_{t+k} with δ_t = r_t + γ v_{t+1} − v_t, v = 0 after the end.
    let f = fixture();
    let (_, _, v) = analytic(&f);
    let ret = returns(&f);
    let g = HYPER.gamma as f64;
    for (b, &len) in LENGTHS.iter().enumerate() {
        let mut sum = 0.0;
        for t in (0..len).rev() {
            let row = t * B + b;
            let v_next = if t + 1 < len { v[row + B] } else { 0.0 };
            let delta =
                metarl::agent::rpe(f.rewards[row], v[row] as f32, v_next as f32, HYPER.gamma);
            sum = delta as f64 + g * sum;
            assert!(
                (sum - (ret[row] - v[row])).abs() < 1e-4,
                "episode {b} step {t}"
            );
        }
    }
}
