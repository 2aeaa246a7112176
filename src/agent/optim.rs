//! RMSProp and Adam over all parameter tensors, with global-norm clipping.

use super::params::Params;
use crate::config::Optimizer;

pub struct Optim {
    kind: Optimizer,
    lr: f32,
    decay: f32,
    eps: f32,
    /// RMSProp: running mean of g²; Adam: second moment.
    second: Params,
    /// Adam: first moment (unused by RMSProp).
    first: Params,
    step: i32,
}

impl Optim {
    pub fn new(kind: Optimizer, lr: f64, decay: f64, eps: f64, like: &Params) -> Self {
        Optim {
            kind,
            lr: lr as f32,
            decay: decay as f32,
            eps: eps as f32,
            second: like.zeros_like(),
            first: like.zeros_like(),
            step: 0,
        }
    }

    /// The optimiser's state: (first moment, second moment, steps taken), for
    /// resume checkpoints.
    pub fn state(&self) -> (&Params, &Params, i32) {
        (&self.first, &self.second, self.step)
    }

    /// Mutable access to the state, to restore it from a checkpoint.
    pub fn state_mut(&mut self) -> (&mut Params, &mut Params, &mut i32) {
        (&mut self.first, &mut self.second, &mut self.step)
    }

    /// Clip `grad` to global norm `clip` (0 = off); returns the norm before clipping.
    pub fn clip(grad: &mut Params, clip: f64) -> f64 {
        let norm = grad.global_norm();
        if clip > 0.0 && norm > clip {
            grad.scale((clip / norm) as f32);
        }
        norm
    }

    pub fn apply(&mut self, params: &mut Params, grad: &Params) {
        self.step += 1;
        let (lr, rho, eps) = (self.lr, self.decay, self.eps);
        match self.kind {
            Optimizer::Rmsprop => {
                for ((p, g), ms) in params
                    .tensors_mut()
                    .into_iter()
                    .zip(grad.tensors())
                    .zip(self.second.tensors_mut())
                {
                    for ((p, g), ms) in p.iter_mut().zip(g).zip(ms.iter_mut()) {
                        *ms = rho * *ms + (1.0 - rho) * g * g;
                        *p -= lr * g / (*ms + eps).sqrt();
                    }
                }
            }
            Optimizer::Adam => {
                let (b1, b2) = (0.9f32, 0.999f32);
                let c1 = 1.0 - b1.powi(self.step);
                let c2 = 1.0 - b2.powi(self.step);
                for (((p, g), m), v) in params
                    .tensors_mut()
                    .into_iter()
                    .zip(grad.tensors())
                    .zip(self.first.tensors_mut())
                    .zip(self.second.tensors_mut())
                {
                    for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        *m = b1 * *m + (1.0 - b1) * g;
                        *v = b2 * *v + (1.0 - b2) * g * g;
                        *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both optimisers drive every parameter of f(θ) = ½ Σ (θ − 1)² to its minimum,
    /// and clipping bounds the global norm.
    #[test]
    fn rmsprop_and_adam_minimise_a_quadratic_and_clip_bounds_the_norm() {
        for kind in [Optimizer::Rmsprop, Optimizer::Adam] {
            let mut p = Params::zeros(2, 3, 2);
            let mut opt = Optim::new(kind, 0.01, 0.99, 1e-8, &p);
            for _ in 0..3000 {
                let mut g = p.clone();
                for t in g.tensors_mut() {
                    t.iter_mut().for_each(|v| *v -= 1.0);
                }
                opt.apply(&mut p, &g);
            }
            let worst = p
                .tensors()
                .iter()
                .flat_map(|t| t.iter())
                .map(|v| (v - 1.0).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 0.05,
                "{kind:?}: farthest parameter {worst} from the minimum"
            );
        }
        let mut g = Params::zeros(2, 3, 2);
        g.w.fill(10.0);
        let before = Optim::clip(&mut g, 1.0);
        assert!(before > 1.0 && (g.global_norm() - 1.0).abs() < 1e-4);
    }
}
