//! The critic of the RPE-input agent (`agent.feedback = "rpe"`; paper
//! Supplementary Fig. 9, shared/SPEC.md "Simulation 6"), in which dopamine plays
//! both of its roles.
//!
//! Design. The critic is a second, separate LSTM with a linear value head. It
//! reads what the standard agent reads — [observation, one-hot previous action,
//! previous reward, (time)] — and never the RPE, so that the RPE it produces is
//! well defined (a network whose value depends on its own RPE input would make
//! δ_t depend on itself). Its value v_t gives the RPE
//!
//! ```text
//! δ_t = r_t + γ v_{t+1} − v_t      (v = 0 after the episode's last step),
//! ```
//!
//! computed as soon as v_{t+1} exists, i.e. after the critic has read step t+1's
//! input, and before the actor acts at t+1. The RPE then has two roles:
//!   * input ("activity"): the actor network receives δ_{t−1} in the input slot
//!     where the standard agent receives the previous reward (and a test
//!     condition may add to it at chosen events: `train::LockStep`);
//!   * teaching signal ("plasticity"): the actor's policy-gradient advantage is
//!     R_t − v_t = Σ_k γ^k δ_{t+k}, the discounted sum of the very RPEs it
//!     receives (`a2c::loss_and_grad_with_baseline` with the critic's values).
//!
//! The actor's own value head is not used and gets no gradient (its value cost
//! is 0): one value estimate, one RPE. The critic learns by regressing its value
//! on the discounted return,
//!
//! ```text
//! L_critic = critic_cost · ½ Σ_t (R_t − v_t)²   (mean over the batch's episodes),
//! ```
//!
//! by hand-written backpropagation through time through the shared LSTM core.
//! `training.critic_cost` (default 1) is not the standard agent's value cost
//! (0.05), which balances the value term against the policy term of one shared
//! network. The critic has its own optimiser, so its weight only scales its
//! gradient, and that scale matters against RMSProp's ε, which sits inside the
//! square root (`optim.rs`): scaled by 0.05, most of the critic's LSTM gradients
//! fall below the ε floor and it learned far too slowly (Simulation 3: it never
//! learned which side pays; see README, Simulation 6).
//! No gradient flows from the actor into the critic through the RPE input: to
//! the actor, δ is data, as a reward is.
//!
//! Why a separate LSTM rather than, e.g., a second head on the actor: the
//! actor's state depends on its RPE inputs, so a value read from it cannot
//! produce those inputs; a feed-forward critic on the observation alone could
//! not track the within-episode values that the meta-learned tasks need (which
//! arm is better now), so the critic is recurrent and fed the reward, like the
//! standard agent. Its size is `agent.critic_hidden`.
//!
//! The critic's weights are a `Params` with no actions (its policy-head tensors
//! are empty), so it shares the LSTM core (`Workspace`), the optimisers and the
//! checkpoint format with the actor.

use super::lstm::Workspace;
use super::params::Params;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, Axis};
use rand::Rng;

/// The critic's parameter tensors that exist (its policy head is empty), by
/// name, in the order of `tensors`.
pub const TENSOR_NAMES: [&str; 4] = [
    "critic.lstm.w",
    "critic.lstm.b",
    "critic.value.w",
    "critic.value.b",
];

/// A fresh critic: LSTM and value head initialised as the actor's (see `Params::init`).
pub fn init<R: Rng>(n_in: usize, hidden: usize, rng: &mut R) -> Params {
    Params::init(n_in, hidden, 0, rng)
}

/// The critic's tensors in the order of `TENSOR_NAMES`.
pub fn tensors(p: &Params) -> [&[f32]; 4] {
    let [w, b, _, _, w_v, b_v, ..] = p.tensors();
    [w, b, w_v, b_v]
}

/// The critic's forward and backward buffers for B lock-step episodes,
/// allocated once.
pub struct CriticWorkspace {
    /// The LSTM core and value head (no policy: the critic has no actions).
    pub lstm: Workspace,
    /// d loss / d v_t, (T·B) × 1.
    dv: Array2<f32>,
}

impl CriticWorkspace {
    pub fn new(p: &Params, batch: usize, max_steps: usize) -> Self {
        assert_eq!(p.n_actions, 0, "a critic has no policy head");
        CriticWorkspace {
            lstm: Workspace::new(p, batch, max_steps),
            dv: Array2::zeros((batch * max_steps, 1)),
        }
    }

    /// Advance all B episodes by one step with inputs `x` (B × n_in): writes v_t.
    pub fn forward_step(&mut self, p: &Params, t: usize, x: ArrayView2<f32>) {
        self.lstm.forward_step(p, t, x);
    }

    /// The value v_t of episode `b`.
    #[inline]
    pub fn value(&self, t: usize, b: usize) -> f32 {
        self.lstm.value[t * self.lstm.batch + b]
    }

    /// The values of every step, row `t * batch + b`.
    pub fn values(&self) -> &[f32] {
        &self.lstm.value
    }

    /// The critic's loss for the finished forward pass, given the discounted
    /// returns (row `t * batch + b`, as `a2c::discounted_returns` writes them)
    /// and the mask of running episodes; writes its gradient into `grad`.
    /// Returns the mean over episodes of Σ_t ½ (R_t − v_t)² (before `cost`).
    pub fn loss_and_grad(
        &mut self,
        p: &Params,
        returns: &[f32],
        mask: &[f32],
        n_steps: usize,
        cost: f32,
        grad: &mut Params,
    ) -> f64 {
        let ws = &mut self.lstm;
        let rows = n_steps * ws.batch;
        let inv_b = 1.0 / ws.batch as f32;
        let mut loss = 0.0f64;
        for row in 0..rows {
            if mask[row] == 0.0 {
                self.dv[[row, 0]] = 0.0;
                continue;
            }
            let err = ws.value[row] - returns[row];
            loss += 0.5 * (err as f64) * (err as f64);
            // d(cost · ½ (R − v)²)/dv = cost · (v − R), averaged over episodes.
            self.dv[[row, 0]] = inv_b * cost * err;
        }
        let h = ws.h.slice(s![..rows, ..]);
        let dv = self.dv.slice(s![..rows, ..]);
        general_mat_mul(1.0, &dv.t(), &h, 0.0, &mut grad.w_v);
        grad.b_v.assign(&dv.sum_axis(Axis(0)));
        {
            let mut dh = ws.dh_heads.slice_mut(s![..rows, ..]);
            general_mat_mul(1.0, &dv, &p.w_v, 0.0, &mut dh);
        }
        ws.backward_lstm(p, grad, n_steps);
        loss / ws.batch as f64
    }
}
