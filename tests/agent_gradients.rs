//! The hand-written backpropagation through time against finite differences of
//! the whole A2C loss, for every parameter tensor; plus the structural bugs that
//! public reimplementations had (critic without gradient, softmax twice,
//! state not reset between episodes).

use metarl::agent::{a2c, A2cBuffers, A2cHyper, Params, RolloutData, Workspace};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const B: usize = 3;
const T: usize = 7;
const N_IN: usize = 5;
const H: usize = 6;
const A: usize = 3;
const HYPER: A2cHyper = A2cHyper {
    gamma: 0.9,
    value_cost: 0.4,
    entropy_cost: 0.3,
};

struct Fixture {
    params: Params,
    x: Vec<Array2<f32>>,
    actions: Vec<usize>,
    rewards: Vec<f32>,
    mask: Vec<f32>,
}

/// The encoder fixture: two images of 2×2 pixels, 3 hidden units, 2 features
/// each; the raw input is [image 1, image 2, 1 more input].
const ENC: (usize, usize, usize, usize) = (2, 4, 3, 2);

fn fixture() -> Fixture {
    fixture_with(false)
}

fn fixture_with(encoder: bool) -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (k, px, eh, ef) = ENC;
    let n_in = if encoder { k * ef + 1 } else { N_IN };
    let mut params = Params::init(n_in, H, A, &mut rng);
    if encoder {
        params.encoder = Some(metarl::agent::EncoderParams::init(k, px, eh, ef, &mut rng));
    }
    // Larger heads than the default init so that every term has a sizeable gradient.
    params.w_pi.mapv_inplace(|_| rng.random_range(-0.8..0.8));
    params.b_pi.mapv_inplace(|_| rng.random_range(-0.5..0.5));
    let n_raw = params.raw_input_dim();
    let x = (0..T)
        .map(|_| Array2::from_shape_fn((B, n_raw), |_| rng.random_range(-1.0..1.0)))
        .collect();
    let actions = (0..T * B).map(|_| rng.random_range(0..A)).collect();
    let rewards = (0..T * B).map(|_| rng.random_range(-1.0..1.0)).collect();
    // Episode 2 ends after 4 steps: its later rows are masked.
    let mask = (0..T * B)
        .map(|row| {
            if row % B == 2 && row / B >= 4 {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    Fixture {
        params,
        x,
        actions,
        rewards,
        mask,
    }
}

fn forward(p: &Params, f: &Fixture) -> Workspace {
    let mut ws = Workspace::new(p, B, T);
    for t in 0..T {
        ws.forward_step(p, t, f.x[t].view());
    }
    ws
}

/// The loss computed independently (f64), with the advantage held at `adv`
/// (the A2C gradient treats the advantage as a constant).
fn loss(p: &Params, f: &Fixture, adv: &[f64]) -> f64 {
    let ws = forward(p, f);
    let mut ret = vec![0.0f32; T * B];
    a2c::discounted_returns(&f.rewards, &f.mask, B, T, HYPER.gamma, &mut ret);
    let mut total = 0.0;
    for row in 0..T * B {
        if f.mask[row] == 0.0 {
            continue;
        }
        let probs: Vec<f64> = ws.probs.row(row).iter().map(|&v| v as f64).collect();
        let ent: f64 = -probs.iter().map(|p| p * p.ln()).sum::<f64>();
        let v = ws.value[row] as f64;
        total += -probs[f.actions[row]].ln() * adv[row]
            + HYPER.value_cost as f64 * 0.5 * (ret[row] as f64 - v).powi(2)
            - HYPER.entropy_cost as f64 * ent;
    }
    total / B as f64
}

fn analytic(f: &Fixture) -> (Params, Vec<f64>) {
    let mut ws = forward(&f.params, f);
    let mut bufs = A2cBuffers::new(&ws);
    let mut grad = f.params.zeros_like();
    let data = RolloutData {
        n_steps: T,
        actions: &f.actions,
        rewards: &f.rewards,
        mask: &f.mask,
    };
    a2c::loss_and_grad(&f.params, &mut ws, &mut bufs, &data, HYPER, &mut grad);
    let adv = (0..T * B)
        .map(|r| (bufs.returns[r] - ws.value[r]) as f64)
        .collect();
    (grad, adv)
}

#[test]
fn bptt_matches_finite_differences_for_every_tensor() {
    check_every_tensor(&fixture());
}

#[test]
fn bptt_through_the_image_encoder_matches_finite_differences() {
    let f = fixture_with(true);
    assert!(f.params.tensors()[6..].iter().all(|t| !t.is_empty()));
    check_every_tensor(&f);
}

fn check_every_tensor(f: &Fixture) {
    let (grad, adv) = analytic(f);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let eps = 5e-3f32;
    for (k, name) in metarl::agent::params::TENSOR_NAMES.iter().enumerate() {
        let n = f.params.tensors()[k].len();
        if n == 0 {
            continue; // a part this network does not have (e.g. no encoder)
        }
        // A random direction through the whole tensor, and a few single elements.
        let mut dirs: Vec<Vec<f32>> = vec![(0..n).map(|_| rng.random_range(-1.0..1.0)).collect()];
        for _ in 0..3 {
            let mut d = vec![0.0; n];
            d[rng.random_range(0..n)] = 1.0;
            dirs.push(d);
        }
        for d in dirs {
            let shifted = |s: f32| {
                let mut p = f.params.clone();
                for (v, dv) in p.tensors_mut()[k].iter_mut().zip(&d) {
                    *v += s * dv;
                }
                loss(&p, f, &adv)
            };
            let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
            let exact: f64 = grad.tensors()[k]
                .iter()
                .zip(&d)
                .map(|(g, dv)| (*g as f64) * (*dv as f64))
                .sum();
            let tol = 2e-3 + 2e-2 * exact.abs().max(numeric.abs());
            assert!(
                (numeric - exact).abs() < tol,
                "{name}: finite difference {numeric:.6} vs backprop {exact:.6}"
            );
        }
    }
}

#[test]
fn critic_receives_gradient_and_value_cost_scales_it() {
    let f = fixture();
    let (grad, _) = analytic(&f);
    assert!(
        grad.w_v.iter().any(|g| g.abs() > 1e-6),
        "value head got no gradient"
    );
    assert!(grad.b_v[0].abs() > 1e-6);
    // The value bias gradient is exactly value_cost · mean over episodes of Σ (v − R).
    let ws = forward(&f.params, &f);
    let mut ret = vec![0.0f32; T * B];
    a2c::discounted_returns(&f.rewards, &f.mask, B, T, HYPER.gamma, &mut ret);
    let expect: f64 = (0..T * B)
        .filter(|&r| f.mask[r] > 0.0)
        .map(|r| (ws.value[r] - ret[r]) as f64)
        .sum::<f64>()
        * HYPER.value_cost as f64
        / B as f64;
    assert!((grad.b_v[0] as f64 - expect).abs() < 1e-4 * (1.0 + expect.abs()));
}

#[test]
fn returns_are_discounted_within_each_episode_only() {
    // One episode of 3 steps then masked, one of 4 steps.
    let rewards = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 9.0, 1.0];
    let mask = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0];
    let mut out = [0.0f32; 8];
    a2c::discounted_returns(&rewards, &mask, 2, 4, 0.5, &mut out);
    // Episode 0 (rows 0,2,4): rewards 1,0,1 → returns 1.25, 0.5, 1.
    assert_eq!([out[0], out[2], out[4], out[6]], [1.25, 0.5, 1.0, 0.0]);
    // Episode 1 (rows 1,3,5,7): rewards 0,0,0,1 → 0.125, 0.25, 0.5, 1.
    assert_eq!([out[1], out[3], out[5], out[7]], [0.125, 0.25, 0.5, 1.0]);
}

#[test]
fn softmax_is_applied_exactly_once() {
    let f = fixture();
    let ws = forward(&f.params, &f);
    for row in 0..T * B {
        let h = ws.h.row(row);
        let logits: Vec<f64> = (0..A)
            .map(|k| (f.params.w_pi.row(k).dot(&h) + f.params.b_pi[k]) as f64)
            .collect();
        let z: f64 = logits.iter().map(|l| l.exp()).sum();
        for (k, l) in logits.iter().enumerate() {
            assert!((ws.probs[[row, k]] as f64 - l.exp() / z).abs() < 1e-5);
        }
        let s: f32 = ws.probs.row(row).sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
}

#[test]
fn state_is_reset_at_each_episode_start() {
    // The same inputs give the same first step whatever ran in the workspace before.
    let f = fixture();
    let mut ws = forward(&f.params, &f);
    let first: Vec<f32> = ws.hidden_state(0, 0).to_vec();
    for t in 0..T {
        ws.forward_step(&f.params, t, f.x[(t + 3) % T].view());
    }
    ws.forward_step(&f.params, 0, f.x[0].view());
    assert_eq!(ws.hidden_state(0, 0), &first[..]);
    // And the first step's recurrent input is zero.
    assert!(ws.z.row(0).iter().skip(N_IN).all(|&v| v == 0.0));
}
