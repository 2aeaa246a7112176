//! The hand-written backpropagation (src/agent/lstm.rs `backward_lstm`,
//! src/agent/a2c.rs `loss_and_grad`, both f32) against finite differences of an
//! independent, plainly written f64 reference of the forward pass and the A2C
//! loss, for every parameter tensor: every single element, random directions
//! within each tensor, and a random direction through all tensors at once. Plus
//! the structural bugs that public reimplementations had (critic without
//! gradient, advantage not held constant, returns discounted across episodes,
//! softmax applied twice, state not reset between episodes).
//!
//! Sharpness: `scripts/gradient_fault_injection.sh` multiplies single terms of
//! the backward pass by 1.01 and prints which test catches each; every one must
//! be caught.
//!
//! Adding an agent part (an image encoder in front of the LSTM, a second critic,
//! an RPE input, ...):
//!   1. its tensors appear in the production parameter list (`TENSOR_NAMES` and
//!      `Params::tensors()`, or the variant's own list passed to `Tensors::named`);
//!      the checks loop over those names, so nothing else in the checks changes;
//!   2. read the new tensors by name in `reference_forward` (or in a variant of
//!      it for the new agent) and write the part's forward pass there, plainly, in
//!      f64, from the paper/SPEC, never by transcribing the production code;
//!   3. if the loss gains a term (e.g. a second critic's value loss), add it to
//!      `reference_loss`, and give it a sizeable weight in the fixture.
//!
//! `every_tensor_moves_the_reference_loss` fails if the reference ignores a
//! tensor; `Tensors::get` panics if the reference asks for a name the
//! production does not have.

use metarl::agent::params::TENSOR_NAMES;
use metarl::agent::{
    a2c, critic, A2cBuffers, A2cHyper, CriticWorkspace, EncoderParams, Params, RolloutData,
    Workspace,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const B: usize = 4;
const T: usize = 12;
const N_IN: usize = 5;
const H: usize = 6;
const A: usize = 3;
/// Episode lengths of the batch rows: rows 2 and 3 end early, so their later
/// steps are masked (and carry random rewards and actions that must be ignored).
const LENGTHS: [usize; B] = [T, T, 5, 9];
/// Value and entropy costs larger than the training defaults (0.05) on purpose:
/// every term of the loss then carries a sizeable share of the gradient, so that
/// a 1% error in any single term of the backward pass is visible.
const HYPER: A2cHyper = A2cHyper {
    gamma: 0.9,
    value_cost: 0.4,
    entropy_cost: 0.3,
};
/// The RPE-input agent (src/agent/critic.rs): the critic's LSTM size (not H, so
/// that a mix-up of the two networks shows) and its loss weight (not value_cost,
/// for the same reason; sizeable, see HYPER).
const HC: usize = 5;
const CRITIC_COST: f32 = 0.7;

// ---------------------------------------------------------------------------
// Tolerances: the analytic gradient is computed in f32, the finite differences
// of the f64 reference are accurate to ~1e-10 absolute (see `fd_richardson`),
// so the error budget is the f32 rounding of the production gradient.
//
// f32 rounding: unit roundoff 6e-8; every analytic gradient element is a sum of
// T·B = 48 products of ~2T chained f32 factors, so its absolute error is a few
// 1e-7 of the sum of the absolute values of its terms, which is at most ~10× the
// largest element of its tensor. Measured on this fixture (printed by the tests
// with --nocapture): worst element error 3e-7 of the tensor's largest element,
// worst norm-wise error 2e-7, worst relative error of an element that is at
// least 1% of its tensor's largest 4e-6, worst directional error 1.5e-7 of
// Σ|g·d|.
//
// A 1% error in one term of the backward pass changes the elements of the
// tensors it feeds by ~1% of that term's share of them: 1e-3..1e-2 relative for
// the elements where the term dominates, and 1e-4..1e-2 of the tensor's norm.
// The tolerances sit between the two. Measured: the correct code uses at most
// 0.010 (elements) and 0.015 (directions) of them; each of the 15 faults of
// scripts/gradient_fault_injection.sh exceeds them at least 47× (elements) and
// 49× (directions).
/// Per element: |backprop − fd| ≤ REL·|fd| + ABS·max|fd over the tensor|.
const REL: f64 = 5e-4;
const ABS: f64 = 1e-5;
/// Per tensor: ‖backprop − fd‖₂ ≤ NORM·‖fd‖₂.
const NORM: f64 = 2e-5;
/// Per random direction d: |backprop·d − fd_d| ≤ DIR·Σ|backprop_i·d_i|.
const DIR: f64 = 1e-5;
// ---------------------------------------------------------------------------

struct Fixture {
    params: Params,
    /// Raw inputs per step, B × (with an encoder: the images' pixels, then the rest).
    x: Vec<Array2<f32>>,
    actions: Vec<usize>,
    rewards: Vec<f32>,
    mask: Vec<f32>,
    /// The RPE-input agent's critic and its inputs (the network reads `x`, whose
    /// outcome slot the rollout fills with the critic's RPE: data to the network).
    critic: Params,
    xc: Vec<Array2<f32>>,
}

/// The image-encoder fixture (src/agent/encoder.rs): two images of 2×2 pixels,
/// 3 hidden ReLU units and 2 linear features per image; the LSTM reads
/// [features of image 1, features of image 2, 1 more input] (N_IN = 5 again).
const ENC_IMAGES: usize = 2;
const ENC_PIXELS: usize = 4;
const ENC_HIDDEN: usize = 3;
const ENC_FEATURES: usize = 2;
/// No hidden pre-activation of the encoder fixture lies within this distance of
/// the ReLU's kink at 0, so that the finite differences (parameter shifts up to
/// 4·FD_STEP along directions with entries ≤ 1, moving a pre-activation by at
/// most 4·FD_STEP·(ENC_PIXELS + 1) = 0.02) never cross it.
const KINK_MARGIN: f32 = 0.05;

fn fixture() -> Fixture {
    fixture_with(false)
}

fn fixture_with(encoder: bool) -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut params = Params::init(N_IN, H, A, &mut rng);
    // Larger heads than the default init so that every term has a sizeable gradient.
    params.w_pi.mapv_inplace(|_| rng.random_range(-0.8..0.8));
    params.b_pi.mapv_inplace(|_| rng.random_range(-0.5..0.5));
    if encoder {
        let mut e = EncoderParams::init(ENC_IMAGES, ENC_PIXELS, ENC_HIDDEN, ENC_FEATURES, &mut rng);
        // Non-zero biases (the init leaves them at 0), so that their gradients are tested too.
        e.b1.mapv_inplace(|_| rng.random_range(-0.5..0.5));
        e.b2.mapv_inplace(|_| rng.random_range(-0.5..0.5));
        params.encoder = Some(e);
    }
    let n_raw = params.raw_input_dim();
    let x = (0..T)
        .map(|_| {
            let mut x = Array2::from_shape_fn((B, n_raw), |_| rng.random_range(-1.0..1.0));
            if let Some(e) = &params.encoder {
                // Redraw any image whose hidden pre-activations come near the kink.
                for mut row in x.rows_mut() {
                    for k in 0..ENC_IMAGES {
                        let mut img =
                            row.slice_mut(ndarray::s![k * ENC_PIXELS..(k + 1) * ENC_PIXELS]);
                        while (0..ENC_HIDDEN)
                            .any(|j| (e.w1.row(j).dot(&img) + e.b1[j]).abs() < KINK_MARGIN)
                        {
                            img.mapv_inplace(|_| rng.random_range(-1.0..1.0));
                        }
                    }
                }
            }
            x
        })
        .collect();
    let actions = (0..T * B).map(|_| rng.random_range(0..A)).collect();
    let rewards = (0..T * B).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mask = (0..T * B)
        .map(|row| if row / B < LENGTHS[row % B] { 1.0 } else { 0.0 })
        .collect();
    // Drawn after everything above, which is therefore unchanged by the critic.
    let mut critic = critic::init(N_IN, HC, &mut rng);
    critic.w_v.mapv_inplace(|_| rng.random_range(-0.8..0.8));
    critic.b_v.mapv_inplace(|_| rng.random_range(-0.5..0.5));
    let xc = (0..T)
        .map(|_| Array2::from_shape_fn((B, N_IN), |_| rng.random_range(-1.0..1.0)))
        .collect();
    Fixture {
        params,
        x,
        actions,
        rewards,
        mask,
        critic,
        xc,
    }
}

// ---------------------------------------------------------------------------
// The production side (f32).

fn forward(p: &Params, f: &Fixture) -> Workspace {
    let mut ws = Workspace::new(p, B, T);
    for t in 0..T {
        ws.forward_step(p, t, f.x[t].view());
    }
    ws
}

/// The production gradient, and the production advantages R_t − v_t.
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

/// The RPE-input agent's production gradients (network, critic), the critic's
/// values and the advantages (returns − critic values): the network's loss with
/// the critic's baseline and no value term, and the critic's value loss, as
/// `train::Trainer::update` computes them.
fn analytic_rpe(f: &Fixture) -> (Params, Params, Vec<f64>, Vec<f64>) {
    let mut ws = forward(&f.params, f);
    let mut cws = CriticWorkspace::new(&f.critic, B, T);
    for t in 0..T {
        cws.forward_step(&f.critic, t, f.xc[t].view());
    }
    let mut bufs = A2cBuffers::new(&ws);
    let data = RolloutData {
        n_steps: T,
        actions: &f.actions,
        rewards: &f.rewards,
        mask: &f.mask,
    };
    let hyper = A2cHyper {
        value_cost: 0.0,
        ..HYPER
    };
    let mut grad = f.params.zeros_like();
    a2c::loss_and_grad_with_baseline(
        &f.params,
        &mut ws,
        &mut bufs,
        &data,
        Some(cws.values()),
        hyper,
        &mut grad,
    );
    let mut cgrad = f.critic.zeros_like();
    cws.loss_and_grad(
        &f.critic,
        &bufs.returns,
        &f.mask,
        T,
        CRITIC_COST,
        &mut cgrad,
    );
    let values: Vec<f64> = cws.values()[..T * B].iter().map(|&v| v as f64).collect();
    let adv = (0..T * B)
        .map(|r| bufs.returns[r] as f64 - values[r])
        .collect();
    (grad, cgrad, values, adv)
}

/// The RPE-input agent's trained tensors by name: the network's LSTM and policy
/// head (its value head is unused and must get no gradient:
/// `rpe_input_agent_network_value_head_gets_no_gradient`) and the critic's.
fn rpe_tensors(net: &Params, critic: &Params) -> Tensors {
    let t = net.tensors();
    let mut names: Vec<&'static str> = TENSOR_NAMES[..4].to_vec();
    let mut tensors: Vec<&[f32]> = t[..4].to_vec();
    names.extend(critic::TENSOR_NAMES);
    tensors.extend(critic::tensors(critic));
    Tensors::named(&names, &tensors)
}

// ---------------------------------------------------------------------------
// The reference (f64), written from shared/SPEC.md and the docs of `Params`
// (gate rows [input, forget, cell candidate, output] acting on [x_t, h_{t−1}];
// softmax policy and linear value on h_t) and of `EncoderParams` (each image:
// a = relu(W1·image + b1), features = W2·a + b2, the same weights for every
// image; the LSTM reads [features of each image, the rest of the input]), not
// from the production code.

/// Parameters by name, in f64.
#[derive(Clone)]
struct Tensors(Vec<(&'static str, Vec<f64>)>);

impl Tensors {
    /// The production parameters (f32, converted exactly) under their names.
    fn named(names: &[&'static str], tensors: &[&[f32]]) -> Self {
        assert_eq!(names.len(), tensors.len());
        Tensors(
            names
                .iter()
                .zip(tensors)
                .map(|(n, t)| (*n, t.iter().map(|&v| v as f64).collect()))
                .collect(),
        )
    }

    /// The tensors this network has (the encoder's are empty without an encoder
    /// and left out).
    fn of(p: &Params) -> Self {
        let all = p.tensors();
        let (names, tensors): (Vec<&'static str>, Vec<&[f32]>) = TENSOR_NAMES
            .iter()
            .zip(all.iter())
            .filter(|(_, t)| !t.is_empty())
            .map(|(n, t)| (*n, *t))
            .unzip();
        Tensors::named(&names, &tensors)
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| *n == name)
    }

    fn index(&self, name: &str) -> usize {
        self.0
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no tensor `{name}`"))
    }

    fn get(&self, name: &str) -> &[f64] {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| &t[..])
            .unwrap_or_else(|| panic!("the production parameters have no tensor `{name}`"))
    }

    /// These tensors moved by s·dir, where dir has one entry per tensor
    /// (an empty entry leaves that tensor unchanged).
    fn shifted(&self, dir: &[Vec<f64>], s: f64) -> Self {
        let mut out = self.clone();
        for ((_, t), d) in out.0.iter_mut().zip(dir) {
            for (v, dv) in t.iter_mut().zip(d) {
                *v += s * dv;
            }
        }
        out
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The LSTM input for one raw input row: the row itself, or, with an encoder,
/// [features of image 1, features of image 2, the rest of the row].
fn reference_input(p: &Tensors, raw: &[f64]) -> Vec<f64> {
    if !p.has("encoder.w1") {
        return raw.to_vec();
    }
    let (w1, b1) = (p.get("encoder.w1"), p.get("encoder.b1"));
    let (w2, b2) = (p.get("encoder.w2"), p.get("encoder.b2"));
    let (n_hidden, n_feat) = (b1.len(), b2.len());
    let n_pix = w1.len() / n_hidden;
    let mut z = Vec::new();
    for k in 0..ENC_IMAGES {
        let img = &raw[k * n_pix..(k + 1) * n_pix];
        let a: Vec<f64> = (0..n_hidden)
            .map(|j| (b1[j] + (0..n_pix).map(|i| w1[j * n_pix + i] * img[i]).sum::<f64>()).max(0.0))
            .collect();
        z.extend((0..n_feat).map(|m| {
            b2[m]
                + (0..n_hidden)
                    .map(|j| w2[m * n_hidden + j] * a[j])
                    .sum::<f64>()
        }));
    }
    z.extend_from_slice(&raw[ENC_IMAGES * n_pix..]);
    z
}

/// What the reference computes at one step of one episode.
struct RefStep {
    log_probs: Vec<f64>,
    value: f64,
}

/// Runs every episode (batch row) separately from zero state for T steps;
/// returns the steps in rollout order, row t·B + b.
fn reference_forward(p: &Tensors, f: &Fixture) -> Vec<RefStep> {
    reference_network(p, "", &f.x)
}

/// The network whose tensors are named `<prefix>lstm.w` etc. on inputs `x`; a
/// network without a policy head (the critic) gets empty log-probabilities,
/// one without a value head (the RPE-input agent's network) value 0.
fn reference_network(p: &Tensors, prefix: &str, x: &[Array2<f32>]) -> Vec<RefStep> {
    let name = |n: &str| format!("{prefix}{n}");
    let (w, bias) = (p.get(&name("lstm.w")), p.get(&name("lstm.b")));
    let no_head: &[f64] = &[];
    let head = |n: &str| {
        if p.has(&name(n)) {
            p.get(&name(n))
        } else {
            no_head
        }
    };
    let (w_pi, b_pi) = (head("policy.w"), head("policy.b"));
    let (w_v, b_v) = (head("value.w"), head("value.b"));
    let hh = bias.len() / 4;
    let n_z = w.len() / (4 * hh);
    let n_a = b_pi.len();
    let mut out: Vec<Option<RefStep>> = (0..T * B).map(|_| None).collect();
    for b in 0..B {
        let mut h = vec![0.0f64; hh];
        let mut c = vec![0.0f64; hh];
        for t in 0..T {
            // z = [x_t, h_{t−1}]
            // The network's own encoder, if any (the critic has none).
            let raw: Vec<f64> = x[t].row(b).iter().map(|&v| v as f64).collect();
            let mut z = if prefix.is_empty() {
                reference_input(p, &raw)
            } else {
                raw
            };
            z.extend_from_slice(&h);
            assert_eq!(z.len(), n_z);
            let pre = |r: usize| bias[r] + (0..n_z).map(|k| w[r * n_z + k] * z[k]).sum::<f64>();
            for j in 0..hh {
                let input = sigmoid(pre(j));
                let forget = sigmoid(pre(hh + j));
                let candidate = pre(2 * hh + j).tanh();
                let output = sigmoid(pre(3 * hh + j));
                c[j] = forget * c[j] + input * candidate;
                h[j] = output * c[j].tanh();
            }
            let logits: Vec<f64> = (0..n_a)
                .map(|k| b_pi[k] + (0..hh).map(|j| w_pi[k * hh + j] * h[j]).sum::<f64>())
                .collect();
            let log_z = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
            let value = match b_v.first() {
                Some(b0) => b0 + (0..hh).map(|j| w_v[j] * h[j]).sum::<f64>(),
                None => 0.0,
            };
            out[t * B + b] = Some(RefStep {
                log_probs: logits.iter().map(|l| l - log_z).collect(),
                value,
            });
        }
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// Discounted returns R_t = r_t + γ R_{t+1} within each episode, 0 after its end.
fn reference_returns(f: &Fixture) -> Vec<f64> {
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

/// The advantage in the policy term.
#[derive(Clone, Copy)]
enum Advantage<'a> {
    /// Held at these values (A2C: no gradient flows through the advantage).
    Held(&'a [f64]),
    /// R_t − v_t recomputed from the parameters (the wrong gradient).
    Live,
}

/// The batch loss: mean over episodes of Σ_t over the episode's steps of
/// −A_t log π(a_t) + value_cost·½(R_t − v_t)² − entropy_cost·H(π_t).
fn reference_loss(p: &Tensors, f: &Fixture, adv: Advantage) -> f64 {
    let steps = reference_forward(p, f);
    let ret = reference_returns(f);
    let mut total = 0.0;
    for (b, &len) in LENGTHS.iter().enumerate() {
        for t in 0..len {
            let row = t * B + b;
            let s = &steps[row];
            let a_t = match adv {
                Advantage::Held(a) => a[row],
                Advantage::Live => ret[row] - s.value,
            };
            let entropy: f64 = -s.log_probs.iter().map(|lp| lp.exp() * lp).sum::<f64>();
            total += -a_t * s.log_probs[f.actions[row]]
                + HYPER.value_cost as f64 * 0.5 * (ret[row] - s.value).powi(2)
                - HYPER.entropy_cost as f64 * entropy;
        }
    }
    total / B as f64
}

/// The RPE-input agent's batch loss (src/agent/critic.rs): mean over episodes of
/// Σ_t over the episode's steps of −A_t log π(a_t) − entropy_cost·H(π_t) for the
/// network (no value term), with A_t held at R_t − v_t of the critic, plus
/// critic_cost·½(R_t − v_t)² for the critic, which reads `xc`.
fn reference_loss_rpe(p: &Tensors, f: &Fixture, adv: &[f64]) -> f64 {
    let net = reference_network(p, "", &f.x);
    let critic = reference_network(p, "critic.", &f.xc);
    let ret = reference_returns(f);
    let mut total = 0.0;
    for (b, &len) in LENGTHS.iter().enumerate() {
        for t in 0..len {
            let row = t * B + b;
            let lp = &net[row].log_probs;
            let entropy: f64 = -lp.iter().map(|l| l.exp() * l).sum::<f64>();
            total += -adv[row] * lp[f.actions[row]] - HYPER.entropy_cost as f64 * entropy
                + CRITIC_COST as f64 * 0.5 * (ret[row] - critic[row].value).powi(2);
        }
    }
    total / B as f64
}

/// R_t − v_t of the reference critic.
fn reference_critic_advantages(p: &Tensors, f: &Fixture) -> Vec<f64> {
    let critic = reference_network(p, "critic.", &f.xc);
    let ret = reference_returns(f);
    (0..T * B).map(|r| ret[r] - critic[r].value).collect()
}

fn reference_advantages(p: &Tensors, f: &Fixture) -> Vec<f64> {
    let steps = reference_forward(p, f);
    let ret = reference_returns(f);
    (0..T * B).map(|r| ret[r] - steps[r].value).collect()
}

// ---------------------------------------------------------------------------
// Finite differences and the comparison, generic over named tensors.

/// Richardson-extrapolated central difference of g at 0 with step h,
/// (8[g(h) − g(−h)] − [g(2h) − g(−2h)]) / 12h, and an estimate of its error,
/// |R(h) − R(2h)|.
///
/// f64 error analysis: the loss is ~10 in magnitude and is evaluated with a few
/// thousand f64 operations, so its rounding error δ ≲ 1e-13. R(h) has truncation
/// error h⁴|g⁽⁵⁾|/30 and rounding error ≤ 1.5·δ/h. With h = 1e-3 and |g⁽⁵⁾| ≲ 1e3
/// along a unit-size direction: truncation ≲ 3e-11, rounding ≲ 1.5e-10, so the
/// finite difference is accurate to ~1e-10 absolute, ≥ 10⁴× below every
/// tolerance above. The error estimate is asserted to be ≤ 1e-9 (`fd_gradient`,
/// `check_directions`), so this is checked, not assumed.
fn fd_richardson(g: impl Fn(f64) -> f64, h: f64) -> (f64, f64) {
    let d = |s: f64| g(s) - g(-s);
    let (d1, d2, d4) = (d(h), d(2.0 * h), d(4.0 * h));
    let r_h = (8.0 * d1 - d2) / (12.0 * h);
    let r_2h = (8.0 * d2 - d4) / (24.0 * h);
    (r_h, (r_h - r_2h).abs())
}
const FD_STEP: f64 = 1e-3;

/// How far the analytic gradient is from the finite differences; collects every
/// failure (one line each, `GRADCHECK FAIL <tensor> ...`) instead of stopping at
/// the first, so that a broken term shows the whole set of tensors it affects.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    lines: Vec<String>,
    /// The largest error as a multiple of its tolerance (< 1 passes).
    worst: f64,
}

impl Report {
    fn fail(&mut self, msg: String) {
        self.failures.push(format!("GRADCHECK FAIL {msg}"));
    }

    fn error_of_tolerance(&mut self, error: f64, tolerance: f64) {
        self.worst = self.worst.max(error / tolerance);
    }

    fn finish(self, what: &str) {
        for l in &self.lines {
            eprintln!("{l}");
        }
        eprintln!("{what}: worst error {:.3} × tolerance", self.worst);
        assert!(
            self.failures.is_empty(),
            "{what}: worst error {:.3} × tolerance; {} failure(s)\n{}",
            self.worst,
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// The full finite-difference gradient of `loss`, element by element, per tensor.
fn fd_gradient(
    base: &Tensors,
    loss: &impl Fn(&Tensors) -> f64,
    report: &mut Report,
) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for (k, (name, t)) in base.0.iter().enumerate() {
        let mut g = Vec::with_capacity(t.len());
        for i in 0..t.len() {
            let mut dir = vec![Vec::new(); base.0.len()];
            dir[k] = vec![0.0; t.len()];
            dir[k][i] = 1.0;
            let (v, err) = fd_richardson(|s| loss(&base.shifted(&dir, s)), FD_STEP);
            if err > 1e-9 {
                report.fail(format!(
                    "{name}[{i}]: finite-difference error estimate {err:.1e} too large"
                ));
            }
            g.push(v);
        }
        out.push(g);
    }
    out
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Compares `analytic` (production, f32, by name) with the element-wise finite
/// differences of `loss`: every element, and the whole tensor norm-wise.
fn check_elements(analytic: &Tensors, fd: &[Vec<f64>], report: &mut Report) {
    for ((name, g), fd) in analytic.0.iter().zip(fd) {
        assert_eq!(g.len(), fd.len(), "{name}: size");
        let scale = fd.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut worst_rel_big = 0.0f64;
        let mut worst_abs = 0.0f64;
        let mut bad = 0;
        for (i, (&a, &n)) in g.iter().zip(fd).enumerate() {
            let e = (a - n).abs();
            worst_abs = worst_abs.max(e / scale);
            if n.abs() >= 0.01 * scale {
                worst_rel_big = worst_rel_big.max(e / n.abs());
            }
            report.error_of_tolerance(e, REL * n.abs() + ABS * scale);
            if e > REL * n.abs() + ABS * scale {
                bad += 1;
                if bad <= 3 {
                    report.fail(format!(
                        "{name}[{i}]: backprop {a:.9e} vs finite difference {n:.9e} (error {:.2e} of it)",
                        e / n.abs()
                    ));
                }
            }
        }
        if bad > 3 {
            report.fail(format!("{name}: {bad} elements out of tolerance in all"));
        }
        let diff: Vec<f64> = g.iter().zip(fd).map(|(a, n)| a - n).collect();
        let rel_norm = norm(&diff) / norm(fd);
        report.error_of_tolerance(rel_norm, NORM);
        if rel_norm > NORM {
            report.fail(format!(
                "{name}: norm-wise error {rel_norm:.2e} > {NORM:.0e}"
            ));
        }
        report.lines.push(format!(
            "{name:>10}: {} elements, largest |grad| {scale:.2e}; worst error {worst_abs:.1e} of it; \
             worst relative error of elements ≥1% of it {worst_rel_big:.1e}; norm-wise {rel_norm:.1e}",
            g.len()
        ));
    }
}

/// Directional derivatives: `n_dirs` random directions in each tensor, and one
/// through all tensors at once.
fn check_directions(
    base: &Tensors,
    analytic: &Tensors,
    loss: &impl Fn(&Tensors) -> f64,
    n_dirs: usize,
    rng: &mut ChaCha8Rng,
    report: &mut Report,
) {
    let n_t = base.0.len();
    let mut cases: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    for k in 0..n_t {
        for j in 0..n_dirs {
            let mut dir = vec![Vec::new(); n_t];
            dir[k] = (0..base.0[k].1.len())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            cases.push((format!("{} direction {j}", base.0[k].0), dir));
        }
    }
    let all = base
        .0
        .iter()
        .map(|(_, t)| (0..t.len()).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    cases.push(("all tensors, one direction".into(), all));
    for (what, dir) in cases {
        let (fd, err) = fd_richardson(|s| loss(&base.shifted(&dir, s)), FD_STEP);
        let (mut exact, mut scale) = (0.0, 0.0);
        for ((_, g), d) in analytic.0.iter().zip(&dir) {
            for (a, dv) in g.iter().zip(d) {
                exact += a * dv;
                scale += (a * dv).abs();
            }
        }
        let e = (fd - exact).abs();
        if err > 1e-9 {
            report.fail(format!(
                "{what}: finite-difference error estimate {err:.1e} too large"
            ));
        }
        report.error_of_tolerance(e, DIR * scale);
        if e > DIR * scale {
            report.fail(format!(
                "{what}: backprop {exact:.9e} vs finite difference {fd:.9e} (error {:.1e} of Σ|g·d| = {scale:.2e})",
                e / scale
            ));
        }
        report
            .lines
            .push(format!("{what:>28}: error {:.1e} of Σ|g·d|", e / scale));
    }
}

// ---------------------------------------------------------------------------

fn element_check(f: &Fixture, what: &str) {
    let (grad, _) = analytic(f);
    let base = Tensors::of(&f.params);
    let adv = reference_advantages(&base, f);
    let loss = |p: &Tensors| reference_loss(p, f, Advantage::Held(&adv));
    let mut report = Report::default();
    let fd = fd_gradient(&base, &loss, &mut report);
    check_elements(&Tensors::of(&grad), &fd, &mut report);
    report.finish(what);
}

fn direction_check(f: &Fixture, what: &str) {
    let (grad, _) = analytic(f);
    let base = Tensors::of(&f.params);
    let adv = reference_advantages(&base, f);
    let loss = |p: &Tensors| reference_loss(p, f, Advantage::Held(&adv));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut report = Report::default();
    check_directions(&base, &Tensors::of(&grad), &loss, 4, &mut rng, &mut report);
    report.finish(what);
}

#[test]
fn backprop_matches_the_f64_reference_on_every_element() {
    element_check(&fixture(), "element-wise gradient check");
}

#[test]
fn backprop_matches_the_f64_reference_in_random_directions() {
    direction_check(&fixture(), "directional gradient check");
}

/// The image encoder in front of the LSTM (shared weights for the two images):
/// the LSTM's input gradient flows back through it, checked like the rest.
#[test]
fn backprop_through_the_image_encoder_matches_the_f64_reference_on_every_element() {
    let f = fixture_with(true);
    assert_eq!(Tensors::of(&f.params).0.len(), TENSOR_NAMES.len());
    element_check(&f, "element-wise gradient check with the image encoder");
}

#[test]
fn backprop_through_the_image_encoder_matches_the_f64_reference_in_random_directions() {
    direction_check(
        &fixture_with(true),
        "directional gradient check with the image encoder",
    );
}

/// Guards the check itself: the reference depends on every production tensor (a
/// tensor added to the agent but not to the reference fails here), and its
/// forward pass and advantages agree with the production ones; with and without
/// the encoder.
#[test]
fn every_tensor_moves_the_reference_loss() {
    for encoder in [false, true] {
        every_tensor_moves(&fixture_with(encoder));
    }
}

fn every_tensor_moves(f: &Fixture) {
    let base = Tensors::of(&f.params);
    let adv = reference_advantages(&base, f);
    let l0 = reference_loss(&base, f, Advantage::Held(&adv));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (k, (name, t)) in base.0.iter().enumerate() {
        let mut dir = vec![Vec::new(); base.0.len()];
        dir[k] = (0..t.len()).map(|_| rng.random_range(-0.1..0.1)).collect();
        let moved = reference_loss(&base.shifted(&dir, 1.0), f, Advantage::Held(&adv));
        assert!(
            (moved - l0).abs() > 1e-6,
            "the reference loss does not depend on `{name}`: add it to reference_forward"
        );
    }
    let ws = forward(&f.params, f);
    let steps = reference_forward(&base, f);
    let (_, prod_adv) = analytic(f);
    for row in 0..T * B {
        for k in 0..A {
            let lp = steps[row].log_probs[k];
            assert!(
                (ws.log_probs[[row, k]] as f64 - lp).abs() < 1e-5,
                "row {row}: log π"
            );
        }
        assert!(
            (ws.value[row] as f64 - steps[row].value).abs() < 1e-5,
            "row {row}: value"
        );
        if f.mask[row] > 0.0 {
            assert!(
                (prod_adv[row] - adv[row]).abs() < 1e-5,
                "row {row}: advantage"
            );
        }
    }
}

/// The advantage is a constant in the A2C gradient: the backprop gradient matches
/// the held-advantage loss (the tests above) and is far, for the value head and
/// the LSTM, from the gradient with the advantage differentiated through v_t.
#[test]
fn advantage_is_treated_as_a_constant() {
    let f = fixture();
    let (grad, _) = analytic(&f);
    let base = Tensors::of(&f.params);
    let live = |p: &Tensors| reference_loss(p, &f, Advantage::Live);
    let mut report = Report::default();
    let fd_live = fd_gradient(&base, &live, &mut report);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let analytic = Tensors::of(&grad);
    for (name, min) in [("value.w", 1e-2f64), ("value.b", 1e-2), ("lstm.w", 1e-3)] {
        let k = analytic.index(name);
        let diff: Vec<f64> = analytic.0[k]
            .1
            .iter()
            .zip(&fd_live[k])
            .map(|(a, n)| a - n)
            .collect();
        let rel = norm(&diff) / norm(&fd_live[k]);
        assert!(
            rel > min.max(100.0 * NORM),
            "{name}: backprop is within {rel:.1e} of the gradient through the advantage: \
             the fixture cannot tell the two apart"
        );
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

// ---------------------------------------------------------------------------
// The RPE-input agent (`agent.feedback = "rpe"`, src/agent/critic.rs): the same
// checks over the network's and the critic's tensors, against
// `reference_loss_rpe`.

#[test]
fn rpe_input_agent_backprop_matches_the_f64_reference_on_every_element() {
    let f = fixture();
    let (grad, cgrad, _, _) = analytic_rpe(&f);
    let base = rpe_tensors(&f.params, &f.critic);
    let adv = reference_critic_advantages(&base, &f);
    let loss = |p: &Tensors| reference_loss_rpe(p, &f, &adv);
    let mut report = Report::default();
    let fd = fd_gradient(&base, &loss, &mut report);
    check_elements(&rpe_tensors(&grad, &cgrad), &fd, &mut report);
    report.finish("RPE-input agent, element-wise gradient check");
}

#[test]
fn rpe_input_agent_backprop_matches_the_f64_reference_in_random_directions() {
    let f = fixture();
    let (grad, cgrad, _, _) = analytic_rpe(&f);
    let base = rpe_tensors(&f.params, &f.critic);
    let adv = reference_critic_advantages(&base, &f);
    let loss = |p: &Tensors| reference_loss_rpe(p, &f, &adv);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut report = Report::default();
    let analytic = rpe_tensors(&grad, &cgrad);
    check_directions(&base, &analytic, &loss, 4, &mut rng, &mut report);
    report.finish("RPE-input agent, directional gradient check");
}

/// Guards the RPE-input check itself, as `every_tensor_moves_the_reference_loss`:
/// every tensor moves the reference loss, and the reference critic's values and
/// advantages agree with the production ones.
#[test]
fn rpe_input_agent_every_tensor_moves_the_reference_loss() {
    let f = fixture();
    let base = rpe_tensors(&f.params, &f.critic);
    let adv = reference_critic_advantages(&base, &f);
    let l0 = reference_loss_rpe(&base, &f, &adv);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (k, (name, t)) in base.0.iter().enumerate() {
        let mut dir = vec![Vec::new(); base.0.len()];
        dir[k] = (0..t.len()).map(|_| rng.random_range(-0.1..0.1)).collect();
        let moved = reference_loss_rpe(&base.shifted(&dir, 1.0), &f, &adv);
        assert!(
            (moved - l0).abs() > 1e-6,
            "the RPE-input reference loss does not depend on `{name}`"
        );
    }
    let (_, _, values, prod_adv) = analytic_rpe(&f);
    let critic = reference_network(&base, "critic.", &f.xc);
    let mut masked = 0;
    for row in 0..T * B {
        assert!(
            (values[row] - critic[row].value).abs() < 1e-5,
            "row {row}: critic value"
        );
        if f.mask[row] > 0.0 {
            masked += 1;
            assert!(
                (prod_adv[row] - adv[row]).abs() < 1e-5,
                "row {row}: advantage (production returns − critic values against the reference)"
            );
        }
    }
    assert!(masked > 0);
}

#[test]
fn rpe_input_agent_network_value_head_gets_no_gradient() {
    let f = fixture();
    let (grad, cgrad, _, _) = analytic_rpe(&f);
    assert!(grad.w_v.iter().chain(grad.b_v.iter()).all(|&g| g == 0.0));
    // The critic has no policy head, and its value head gets gradient.
    assert!(cgrad.w_pi.is_empty() && cgrad.b_pi.is_empty());
    assert!(cgrad.b_v[0].abs() > 1e-6);
}

/// The network's advantage R_t − v_t is the discounted sum of the RPEs it
/// receives: Σ_k γ^k δ_{t+k} with δ_t = r_t + γ v_{t+1} − v_t (v = 0 after the end).
#[test]
fn the_critic_advantage_is_the_discounted_sum_of_its_rpes() {
    let f = fixture();
    let (_, _, v, _) = analytic_rpe(&f);
    let ret = reference_returns(&f);
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
