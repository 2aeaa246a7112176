//! The advantage actor-critic loss (shared/SPEC.md, "The agent") and its
//! gradient by hand-written backpropagation through time.
//!
//! Per episode:  L = Σ_t [ −log π(a_t|h_t) · A_t
//!                         + value_cost · ½ (R_t − v_t)²
//!                         − entropy_cost · H(π(·|h_t)) ]
//! with R_t = r_t + γ R_{t+1} (R = 0 after the episode's last step) and the
//! advantage A_t = R_t − v_t treated as a constant. The batch loss is the mean of
//! the episode losses.

use super::lstm::Workspace;
use super::params::Params;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, Axis};

#[derive(Debug, Clone, Copy)]
pub struct A2cHyper {
    pub gamma: f32,
    pub value_cost: f32,
    pub entropy_cost: f32,
}

/// What one rollout did, row `t * batch + b`. `mask` is 1 while episode b is
/// still running at step t and 0 after it ended.
pub struct RolloutData<'a> {
    pub n_steps: usize,
    pub actions: &'a [usize],
    pub rewards: &'a [f32],
    pub mask: &'a [f32],
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LossStats {
    /// Mean over episodes of the summed terms (before the cost weights for value/entropy).
    pub policy_loss: f64,
    pub value_loss: f64,
    pub entropy: f64,
    /// The weighted total that is differentiated.
    pub total: f64,
}

/// Buffers for the loss gradient, allocated once.
pub struct A2cBuffers {
    pub returns: Vec<f32>,
    dlogits: Array2<f32>,
    dv: Array2<f32>,
}

impl A2cBuffers {
    pub fn new(ws: &Workspace) -> Self {
        let rows = ws.batch * ws.max_steps;
        A2cBuffers {
            returns: vec![0.0; rows],
            dlogits: Array2::zeros((rows, ws.n_actions)),
            dv: Array2::zeros((rows, 1)),
        }
    }
}

/// Discounted returns per episode, row-major as the rollout.
pub fn discounted_returns(
    rewards: &[f32],
    mask: &[f32],
    batch: usize,
    n_steps: usize,
    gamma: f32,
    out: &mut [f32],
) {
    for b in 0..batch {
        let mut ret = 0.0f32;
        for t in (0..n_steps).rev() {
            let row = t * batch + b;
            // Masked steps are after the episode's end: they contribute nothing
            // and the return restarts at zero at the last real step.
            ret = mask[row] * (rewards[row] + gamma * ret);
            out[row] = ret;
        }
    }
}

/// Compute the loss of a finished forward pass and write its gradient w.r.t.
/// every parameter into `grad`.
pub fn loss_and_grad(
    p: &Params,
    ws: &mut Workspace,
    bufs: &mut A2cBuffers,
    data: &RolloutData,
    hyper: A2cHyper,
    grad: &mut Params,
) -> LossStats {
    loss_and_grad_with_baseline(p, ws, bufs, data, None, hyper, grad)
}

/// As `loss_and_grad`, with the advantage's baseline taken from `baseline`
/// (row `t * batch + b`) instead of the network's own value head when given:
/// A_t = R_t − baseline_t. The RPE-input agent passes its separate critic's
/// values here (`agent::critic`); the value term still regresses the network's
/// own value head, weighted by `hyper.value_cost` (0 for that agent).
pub fn loss_and_grad_with_baseline(
    p: &Params,
    ws: &mut Workspace,
    bufs: &mut A2cBuffers,
    data: &RolloutData,
    baseline: Option<&[f32]>,
    hyper: A2cHyper,
    grad: &mut Params,
) -> LossStats {
    let (batch, a_n, n) = (ws.batch, ws.n_actions, data.n_steps);
    let rows = n * batch;
    discounted_returns(
        data.rewards,
        data.mask,
        batch,
        n,
        hyper.gamma,
        &mut bufs.returns,
    );
    let inv_b = 1.0 / batch as f32;
    let mut stats = LossStats::default();
    for row in 0..rows {
        let m = data.mask[row];
        let probs = ws.probs.row(row);
        let logp = ws.log_probs.row(row);
        let mut dl = bufs.dlogits.row_mut(row);
        if m == 0.0 {
            dl.fill(0.0);
            bufs.dv[[row, 0]] = 0.0;
            continue;
        }
        let ret = bufs.returns[row];
        let v = ws.value[row];
        let base = match baseline {
            Some(b) => b[row],
            None => v,
        };
        let adv = ret - base;
        let a = data.actions[row];
        let entropy: f32 = -(0..a_n).map(|k| probs[k] * logp[k]).sum::<f32>();
        stats.policy_loss += -(logp[a] * adv) as f64;
        stats.value_loss += 0.5 * ((ret - v) as f64).powi(2);
        stats.entropy += entropy as f64;
        for k in 0..a_n {
            let onehot = if k == a { 1.0 } else { 0.0 };
            // d(−A log π_a)/dlogit_k = −A (1[k=a] − π_k)
            // d(−c_e H)/dlogit_k   =  c_e π_k (log π_k + H)
            dl[k] = inv_b
                * (-adv * (onehot - probs[k])
                    + hyper.entropy_cost * probs[k] * (logp[k] + entropy));
        }
        bufs.dv[[row, 0]] = inv_b * hyper.value_cost * (v - ret);
    }
    let ib = inv_b as f64;
    stats.policy_loss *= ib;
    stats.value_loss *= ib;
    stats.entropy *= ib;
    stats.total = stats.policy_loss + hyper.value_cost as f64 * stats.value_loss
        - hyper.entropy_cost as f64 * stats.entropy;

    // Heads: gradients of their weights, and the gradient reaching h_t.
    let h = ws.h.slice(s![..rows, ..]);
    let dl = bufs.dlogits.slice(s![..rows, ..]);
    let dv = bufs.dv.slice(s![..rows, ..]);
    general_mat_mul(1.0, &dl.t(), &h, 0.0, &mut grad.w_pi);
    grad.b_pi.assign(&dl.sum_axis(Axis(0)));
    general_mat_mul(1.0, &dv.t(), &h, 0.0, &mut grad.w_v);
    grad.b_v.assign(&dv.sum_axis(Axis(0)));
    {
        let mut dh = ws.dh_heads.slice_mut(s![..rows, ..]);
        general_mat_mul(1.0, &dl, &p.w_pi, 0.0, &mut dh);
        general_mat_mul(1.0, &dv, &p.w_v, 1.0, &mut dh);
    }
    ws.backward_lstm(p, grad, n);
    stats
}
