//! RMSProp, Adam and global-norm clipping (src/agent/optim.rs, f32) against a
//! plain f64 reference, every parameter at every step, for one step and for
//! several steps with clipping inactive, off, and active (including a gradient
//! just above and one just below the clip).
//!
//! Sharpness: `scripts/gradient_fault_injection.sh` also injects 1% errors in
//! the learning rate, the decays, ε, the bias corrections and the clip, and
//! prints which test catches each.
//!
//! Tolerances. The parameters are compared through their per-step updates
//! Δ = θ_new − θ_old (exact in f64, both being f32), with the reference started
//! each step from the production's θ_old and keeping its own f64 moments. The
//! f32 update carries ~10 roundings (unit roundoff 6e-8) and the f32 moments a
//! few more per step, so its relative error is ≲ 1e-6; storing θ_new in f32 adds
//! at most half an ulp of θ. Hence |Δ − Δ_ref| ≤ REL·scale + ulp(θ) with
//! REL = 2e-5, where scale = |Δ_ref| (Adam: with m replaced by the same average of
//! |g|, since m may cancel), plus for Adam the f32 cancellation in 1 − β2^t (see
//! `bias_correction_allowance`). Measured (printed with --nocapture): the correct
//! code uses at most 0.47 of this tolerance, nearly all of it the rounding of
//! θ_new, which is at most 0.5 of it by construction. A 1% error in the learning
//! rate, ε (chosen here so that it matters for the small gradients), a decay, a
//! bias correction or the clip scale changes some updates by 2.5e-3..1e-2
//! relative, ≥ 100× REL (measured: every such fault exceeds the tolerance at
//! least 128×). The clipped gradient itself is one f32 multiply by a ratio
//! rounded to f32: relative error ≤ 1.2e-7, tolerance CLIP_REL = 1e-6.

use metarl::agent::{Optim, Params};
use metarl::config::Optimizer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N_IN: usize = 3;
const H: usize = 4;
const A: usize = 2;
const REL: f64 = 2e-5;
const CLIP_REL: f64 = 1e-6;

/// The reference, from the textbook definitions (t counts steps from 1):
///   RMSProp (Tieleman & Hinton 2012; ε inside the root, as in TensorFlow):
///     s ← ρ s + (1 − ρ) g²;   θ ← θ − lr · g / √(s + ε)
///   Adam (Kingma & Ba 2015, Algorithm 1, β1 = 0.9, β2 = 0.999; ρ unused):
///     m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²;
///     m̂ = m / (1 − β1^t);   v̂ = v / (1 − β2^t);   θ ← θ − lr · m̂ / (√v̂ + ε)
///   Global-norm clipping (0 = off): if ‖g‖₂ > clip, g ← g · clip / ‖g‖₂.
struct Reference {
    kind: Optimizer,
    lr: f64,
    decay: f64,
    eps: f64,
    m: Vec<f64>,
    s: Vec<f64>,
    /// Adam: the first moment of |g| (the rounding-error scale of m).
    m_abs: Vec<f64>,
    t: i32,
}

impl Reference {
    /// The hyperparameters are taken as the production holds them, rounded to f32
    /// (0.999 is 0.99900001287 in f32; in 1 − β2^t that alone is a 1.3e-5 relative
    /// difference at t = 2, which is not an error of the implementation).
    fn new(kind: Optimizer, lr: f64, decay: f64, eps: f64, n: usize) -> Self {
        let f32_rounded = |v: f64| v as f32 as f64;
        Reference {
            kind,
            lr: f32_rounded(lr),
            decay: f32_rounded(decay),
            eps: f32_rounded(eps),
            m: vec![0.0; n],
            s: vec![0.0; n],
            m_abs: vec![0.0; n],
            t: 0,
        }
    }

    /// The update Δθ for gradient g, and the scale of its f32 rounding error:
    /// |Δθ| for RMSProp; for Adam the update with m replaced by the same average
    /// of |g| (m can cancel across steps, and f32 rounds the terms, not the sum).
    fn step(&mut self, g: &[f64]) -> Vec<(f64, f64)> {
        self.t += 1;
        match self.kind {
            Optimizer::Rmsprop => g
                .iter()
                .zip(&mut self.s)
                .map(|(&g, s)| {
                    *s = self.decay * *s + (1.0 - self.decay) * g * g;
                    let d = -self.lr * g / (*s + self.eps).sqrt();
                    (d, d.abs())
                })
                .collect(),
            Optimizer::Adam => {
                let (b1, b2) = (0.9f32 as f64, 0.999f32 as f64);
                let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
                let mut out = Vec::with_capacity(g.len());
                for (i, &g) in g.iter().enumerate() {
                    let (m, v, ma) = (&mut self.m[i], &mut self.s[i], &mut self.m_abs[i]);
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *ma = b1 * *ma + (1.0 - b1) * g.abs();
                    let denom = (*v / c2).sqrt() + self.eps;
                    out.push((-self.lr * (*m / c1) / denom, self.lr * (*ma / c1) / denom));
                }
                out
            }
        }
    }

    /// The relative error of an f32 update that comes from Adam's second bias
    /// correction after the last step: 1 − β2^t cancels (it is ~0.001·t), so the
    /// f32 rounding of β2^t (≤ ε_f32/2) is relative error ε_f32/2/(1 − β2^t) in
    /// v̂, half of it in the update; allowed twice over: ε_f32/(1 − β2^t).
    /// (3e-5 at t = 2, an inherent limit of the f32 formula, not a bug.)
    fn bias_correction_allowance(&self) -> f64 {
        match self.kind {
            Optimizer::Rmsprop => 0.0,
            Optimizer::Adam => f32::EPSILON as f64 / (1.0 - (0.999f32 as f64).powi(self.t)),
        }
    }
}

/// Returns the norm before clipping.
fn reference_clip(g: &mut [f64], clip: f64) -> f64 {
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    if clip > 0.0 && norm > clip {
        g.iter_mut().for_each(|v| *v *= clip / norm);
    }
    norm
}

fn flat(p: &Params) -> Vec<f64> {
    p.tensors()
        .iter()
        .flat_map(|t| t.iter().map(|&v| v as f64))
        .collect()
}

fn params_from(v: &[f32]) -> Params {
    let mut p = Params::zeros(N_IN, H, A);
    let mut it = v.iter();
    for t in p.tensors_mut() {
        t.iter_mut().for_each(|x| *x = *it.next().unwrap());
    }
    assert!(it.next().is_none());
    p
}

fn n_params() -> usize {
    flat(&Params::zeros(N_IN, H, A)).len()
}

/// A gradient of global norm `norm` whose elements span four decades of
/// magnitude (so that ε matters for some of them), with a few exact zeros.
fn random_gradient(rng: &mut ChaCha8Rng, norm: f64) -> Vec<f32> {
    let g: Vec<f64> = (0..n_params())
        .map(|_| {
            if rng.random_bool(0.05) {
                0.0
            } else {
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                sign * 10f64.powf(rng.random_range(-4.0..0.0))
            }
        })
        .collect();
    let n = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    g.iter().map(|v| (v * norm / n) as f32).collect()
}

#[derive(Clone)]
struct Case {
    name: &'static str,
    kind: Optimizer,
    lr: f64,
    decay: f64,
    eps: f64,
    clip: f64,
    /// The gradient norm of each step (before clipping).
    norms: Vec<f64>,
}

/// Runs the production optimiser and the reference side by side; returns the
/// failures (`OPTCHECK FAIL ...`, all of them, not only the first) and the
/// largest error as a multiple of its tolerance.
fn run(case: &Case, seed: u64) -> (Vec<String>, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = n_params();
    let init: Vec<f32> = (0..n).map(|_| rng.random_range(-0.01..0.01)).collect();
    let mut params = params_from(&init);
    let mut opt = Optim::new(case.kind, case.lr, case.decay, case.eps, &params);
    let mut reference = Reference::new(case.kind, case.lr, case.decay, case.eps, n);
    let mut failures = Vec::new();
    let mut fail = |m: String| failures.push(format!("OPTCHECK FAIL {}: {m}", case.name));
    let (mut worst_update, mut worst_clip) = (0.0f64, 0.0f64);
    for (step, &target_norm) in case.norms.iter().enumerate() {
        let raw = random_gradient(&mut rng, target_norm);
        // Clipping.
        let mut grad = params_from(&raw);
        let norm = Optim::clip(&mut grad, case.clip);
        let mut g_ref: Vec<f64> = raw.iter().map(|&v| v as f64).collect();
        let norm_ref = reference_clip(&mut g_ref, case.clip);
        if (norm - norm_ref).abs() > 1e-12 * norm_ref {
            fail(format!(
                "step {step}: clip returned norm {norm} instead of {norm_ref}"
            ));
        }
        let clipped = flat(&grad);
        if case.clip > 0.0 && norm_ref > case.clip {
            for (i, (&c, &r)) in clipped.iter().zip(&g_ref).enumerate() {
                let e = (c - r).abs();
                worst_clip = worst_clip.max(e / (CLIP_REL * r.abs()).max(f64::MIN_POSITIVE));
                if e > CLIP_REL * r.abs() {
                    fail(format!(
                        "step {step}: clipped gradient [{i}] {c:e} vs reference {r:e}"
                    ));
                    break;
                }
            }
            let after = clipped.iter().map(|v| v * v).sum::<f64>().sqrt();
            if (after - case.clip).abs() > CLIP_REL * case.clip {
                fail(format!(
                    "step {step}: norm after clipping {after} instead of {}",
                    case.clip
                ));
            }
        } else if grad != params_from(&raw) {
            fail(format!(
                "step {step}: gradient of norm {norm_ref} changed by clip = {}",
                case.clip
            ));
        }
        // The update, from the same θ_old.
        let before = flat(&params);
        opt.apply(&mut params, &grad);
        let after = flat(&params);
        let delta_ref = reference.step(&g_ref);
        let allowance = reference.bias_correction_allowance();
        let mut bad = 0;
        for i in 0..n {
            let delta = after[i] - before[i];
            let ulp = f32::EPSILON as f64 * before[i].abs().max(after[i].abs());
            let (d_ref, scale) = delta_ref[i];
            let e = (delta - d_ref).abs();
            let floor = ulp + allowance * d_ref.abs();
            worst_update = worst_update.max(e / (REL * scale + floor));
            if e > REL * scale + floor {
                bad += 1;
                if bad <= 3 {
                    fail(format!(
                        "step {step}: parameter [{i}] moved by {delta:e}, reference {d_ref:e} \
                         (gradient {:e}; error {:.1e} of the update's scale)",
                        g_ref[i],
                        e / scale
                    ));
                }
            }
        }
        if bad > 3 {
            fail(format!(
                "step {step}: {bad} of {n} parameters out of tolerance"
            ));
        }
    }
    eprintln!(
        "{:>34}: worst update error {worst_update:.1e} of its tolerance, \
         worst clip error {worst_clip:.1e} of its tolerance",
        case.name
    );
    (failures, worst_update.max(worst_clip))
}

fn check(what: &str, cases: &[Case]) {
    let mut failures = Vec::new();
    let mut worst = 0.0f64;
    for (k, c) in cases.iter().enumerate() {
        let (f, w) = run(c, 100 + k as u64);
        failures.extend(f);
        worst = worst.max(w);
    }
    eprintln!("{what}: worst error {worst:.3} × tolerance");
    assert!(
        failures.is_empty(),
        "{what}: worst error {worst:.3} × tolerance\n{}",
        failures.join("\n")
    );
}

/// Clip 2 with gradient norms: above (clipped), below (not), just above (1.005×,
/// clipped), just below (0.995×, not), below, far above.
fn mixed() -> Vec<f64> {
    vec![3.0, 1.0, 2.01, 1.99, 0.5, 5.0]
}

/// `n` steps of gradients of norm 2, then `m` of norm 0.2: the second moment is
/// then dominated by the decayed first phase, so its decay rate shows in the
/// updates (within a few steps the bias correction hides it).
fn pulse(n: usize, m: usize) -> Vec<f64> {
    let mut v = vec![2.0; n];
    v.extend(std::iter::repeat_n(0.2, m));
    v
}

#[test]
fn rmsprop_matches_the_f64_reference() {
    let base = Case {
        name: "",
        kind: Optimizer::Rmsprop,
        lr: 0.05,
        decay: 0.9,
        eps: 1e-4,
        clip: 0.0,
        norms: vec![],
    };
    check(
        "rmsprop",
        &[
            Case {
                name: "rmsprop, one step, clip off",
                norms: vec![2.0],
                ..base.clone()
            },
            Case {
                name: "rmsprop, 6 steps, clip off",
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "rmsprop, 6 steps, clip inactive",
                clip: 100.0,
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "rmsprop, 6 steps, clip 2 (mixed)",
                clip: 2.0,
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "rmsprop, SPEC defaults, clip 2",
                lr: 7e-4,
                decay: 0.99,
                eps: 1e-5,
                clip: 2.0,
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "rmsprop, 300 steps, pulse",
                norms: pulse(100, 200),
                ..base.clone()
            },
        ],
    );
}

#[test]
fn adam_matches_the_f64_reference() {
    let base = Case {
        name: "",
        kind: Optimizer::Adam,
        lr: 0.05,
        decay: 0.9,
        eps: 1e-3,
        clip: 0.0,
        norms: vec![],
    };
    check(
        "adam",
        &[
            Case {
                name: "adam, one step, clip off",
                norms: vec![2.0],
                ..base.clone()
            },
            Case {
                name: "adam, 6 steps, clip off",
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "adam, 6 steps, clip inactive",
                clip: 100.0,
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "adam, 6 steps, clip 2 (mixed)",
                clip: 2.0,
                norms: mixed(),
                ..base.clone()
            },
            Case {
                name: "adam, 1500 steps, pulse (β2 window)",
                norms: pulse(500, 1000),
                ..base.clone()
            },
        ],
    );
}

/// Clipping alone: scales to the clip exactly when the norm exceeds it (also
/// just above), leaves the gradient bit-identical otherwise (also just below,
/// and with 0 = off), and returns the norm before clipping.
#[test]
fn clipping_matches_the_f64_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (norm, clip) in [
        (3.0, 2.0),
        (2.01, 2.0),
        (1.99, 2.0),
        (5.0, 0.0),
        (0.3, 100.0),
    ] {
        let raw = random_gradient(&mut rng, norm);
        let mut g = params_from(&raw);
        let before = Optim::clip(&mut g, clip);
        let mut r: Vec<f64> = raw.iter().map(|&v| v as f64).collect();
        let before_ref = reference_clip(&mut r, clip);
        assert!(
            (before - before_ref).abs() <= 1e-12 * before_ref,
            "norm {before} vs {before_ref}"
        );
        if clip > 0.0 && before_ref > clip {
            for (c, r) in flat(&g).iter().zip(&r) {
                assert!(
                    (c - r).abs() <= CLIP_REL * r.abs(),
                    "norm {norm}, clip {clip}: clipped element {c:e} vs reference {r:e}"
                );
            }
        } else {
            assert!(
                g == params_from(&raw),
                "norm {norm}, clip {clip}: gradient changed"
            );
        }
    }
}
