//! The LSTM core, batched: B episodes advance in lock-step so that every gate
//! product is a matrix-matrix product. All per-step values needed by
//! backpropagation through time are cached in buffers allocated once
//! (`Workspace::new`), indexed by row `t * B + b`.

use super::encoder::EncoderWorkspace;
use super::params::Params;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2};

pub struct Workspace {
    pub batch: usize,
    pub max_steps: usize,
    /// Width of the LSTM input x_t (with an encoder: its features, then the rest).
    pub n_in: usize,
    /// Width of the input given to `forward_step` (with an encoder: the images'
    /// pixels, then the rest); equal to `n_in` without an encoder.
    pub n_raw: usize,
    pub hidden: usize,
    pub n_actions: usize,
    /// The image encoder's buffers, if the network has an encoder.
    pub enc: Option<EncoderWorkspace>,
    /// z_t = [x_t, h_{t-1}] for every step, (T·B) × (n_in + hidden).
    pub z: Array2<f32>,
    /// Activated gates [i, f, g, o], (T·B) × 4H.
    pub gates: Array2<f32>,
    /// Cell state c_t and tanh(c_t), (T·B) × H.
    pub c: Array2<f32>,
    pub tanh_c: Array2<f32>,
    /// Hidden state h_t, (T·B) × H.
    pub h: Array2<f32>,
    /// Policy probabilities, (T·B) × A, and log-probabilities.
    pub probs: Array2<f32>,
    pub log_probs: Array2<f32>,
    /// State value, T·B.
    pub value: Vec<f32>,
    /// Gradients w.r.t. the gate pre-activations, (T·B) × 4H (filled by backward).
    pub dgates: Array2<f32>,
    /// Gradient reaching h_t from the heads, (T·B) × H (filled by the loss).
    pub dh_heads: Array2<f32>,
    /// Scratch for the recurrent gradient, B × (n_in + H) and B × H.
    dz: Array2<f32>,
    dh: Array2<f32>,
    dc: Array2<f32>,
}

/// The policy head supports at most this many actions (stack buffer, no allocation).
pub const MAX_ACTIONS: usize = 16;

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Workspace {
    pub fn new(params: &Params, batch: usize, max_steps: usize) -> Self {
        let (n_in, hh, a) = (params.n_in, params.hidden, params.n_actions);
        assert!(
            a <= MAX_ACTIONS,
            "a task may have at most {MAX_ACTIONS} actions"
        );
        let rows = batch * max_steps;
        Workspace {
            batch,
            max_steps,
            n_in,
            n_raw: params.raw_input_dim(),
            hidden: hh,
            n_actions: a,
            enc: params
                .encoder
                .as_ref()
                .map(|e| EncoderWorkspace::new(e, batch, max_steps)),
            z: Array2::zeros((rows, n_in + hh)),
            gates: Array2::zeros((rows, 4 * hh)),
            c: Array2::zeros((rows, hh)),
            tanh_c: Array2::zeros((rows, hh)),
            h: Array2::zeros((rows, hh)),
            probs: Array2::zeros((rows, a)),
            log_probs: Array2::zeros((rows, a)),
            value: vec![0.0; rows],
            dgates: Array2::zeros((rows, 4 * hh)),
            dh_heads: Array2::zeros((rows, hh)),
            dz: Array2::zeros((batch, n_in + hh)),
            dh: Array2::zeros((batch, hh)),
            dc: Array2::zeros((batch, hh)),
        }
    }

    /// Rows of step t.
    #[inline]
    pub fn rows(&self, t: usize) -> std::ops::Range<usize> {
        t * self.batch..(t + 1) * self.batch
    }

    /// Advance all B episodes by one step with inputs `x` (B × n_raw). At t = 0
    /// the previous hidden and cell states are zero: every episode starts fresh.
    /// With an encoder, the images at the start of `x` are encoded first and the
    /// LSTM reads [their features, the rest of x]. Writes h_t, the policy and the
    /// value of step t.
    pub fn forward_step(&mut self, p: &Params, t: usize, x: ArrayView2<f32>) {
        let (b, n_in, hh) = (self.batch, self.n_in, self.hidden);
        let r = self.rows(t);
        {
            let mut z = self.z.slice_mut(s![r.clone(), ..]);
            match (&mut self.enc, &p.encoder) {
                (Some(enc), Some(ep)) => {
                    let (out, inp) = (ep.out_dim(), ep.in_dim());
                    enc.forward_step(ep, t, x, z.slice_mut(s![.., ..out]));
                    z.slice_mut(s![.., out..n_in])
                        .assign(&x.slice(s![.., inp..]));
                }
                _ => z.slice_mut(s![.., ..n_in]).assign(&x),
            }
            if t == 0 {
                z.slice_mut(s![.., n_in..]).fill(0.0);
            } else {
                let prev = self.h.slice(s![r.start - b..r.start, ..]);
                z.slice_mut(s![.., n_in..]).assign(&prev);
            }
        }
        {
            let z = self.z.slice(s![r.clone(), ..]);
            let mut g = self.gates.slice_mut(s![r.clone(), ..]);
            general_mat_mul(1.0, &z, &p.w.t(), 0.0, &mut g);
        }
        let bias = p.b.as_slice().unwrap();
        for row in r.clone() {
            let g = self.gates.row_mut(row).into_slice().unwrap();
            for (k, v) in g.iter_mut().enumerate() {
                let pre = *v + bias[k];
                // Gate 2 (cell candidate) is tanh; the others are sigmoids.
                *v = if k / hh == 2 {
                    pre.tanh()
                } else {
                    sigmoid(pre)
                };
            }
            for j in 0..hh {
                let (i, f, gc, o) = (g[j], g[hh + j], g[2 * hh + j], g[3 * hh + j]);
                let c_prev = if t == 0 { 0.0 } else { self.c[[row - b, j]] };
                let c = f * c_prev + i * gc;
                let tc = c.tanh();
                self.c[[row, j]] = c;
                self.tanh_c[[row, j]] = tc;
                self.h[[row, j]] = o * tc;
            }
        }
        self.heads_forward(p, t);
    }

    /// Softmax policy (applied exactly once, to the logits) and linear value.
    fn heads_forward(&mut self, p: &Params, t: usize) {
        let a = self.n_actions;
        for row in self.rows(t) {
            let h = self.h.row(row);
            let mut max = f32::NEG_INFINITY;
            let mut logits = [0.0f32; MAX_ACTIONS];
            for (k, l) in logits.iter_mut().enumerate().take(a) {
                *l = p.w_pi.row(k).dot(&h) + p.b_pi[k];
                max = max.max(*l);
            }
            let mut sum = 0.0;
            for l in logits.iter_mut().take(a) {
                *l -= max;
                sum += l.exp();
            }
            let log_sum = sum.ln();
            for (k, l) in logits.iter().enumerate().take(a) {
                let lp = l - log_sum;
                self.log_probs[[row, k]] = lp;
                self.probs[[row, k]] = lp.exp();
            }
            self.value[row] = p.w_v.row(0).dot(&h) + p.b_v[0];
        }
    }

    /// The policy of episode `b` at step t.
    pub fn policy(&self, t: usize, b: usize) -> &[f32] {
        let row = t * self.batch + b;
        &self.probs.as_slice().unwrap()[row * self.n_actions..(row + 1) * self.n_actions]
    }

    pub fn hidden_state(&self, t: usize, b: usize) -> &[f32] {
        let row = t * self.batch + b;
        &self.h.as_slice().unwrap()[row * self.hidden..(row + 1) * self.hidden]
    }

    /// Backpropagation through time over steps 0..n_steps, given the gradient
    /// that reaches each h_t from the heads (`dh_heads`). Writes the LSTM weight
    /// gradients into `grad` (overwriting `grad.w` and `grad.b`) and, with an
    /// encoder, sends the gradient w.r.t. the LSTM's input features back through
    /// it (overwriting `grad.encoder`).
    pub fn backward_lstm(&mut self, p: &Params, grad: &mut Params, n_steps: usize) {
        let (b, n_in, hh) = (self.batch, self.n_in, self.hidden);
        self.dh.fill(0.0);
        self.dc.fill(0.0);
        for t in (0..n_steps).rev() {
            let r = self.rows(t);
            for row in r.clone() {
                let local = row - r.start;
                let g = self.gates.row(row);
                let g = g.as_slice().unwrap();
                let mut dg = self.dgates.row_mut(row);
                let dg = dg.as_slice_mut().unwrap();
                for j in 0..hh {
                    let (i, f, gc, o) = (g[j], g[hh + j], g[2 * hh + j], g[3 * hh + j]);
                    let tc = self.tanh_c[[row, j]];
                    let dh = self.dh[[local, j]] + self.dh_heads[[row, j]];
                    let dc = self.dc[[local, j]] + dh * o * (1.0 - tc * tc);
                    let c_prev = if t == 0 { 0.0 } else { self.c[[row - b, j]] };
                    dg[j] = dc * gc * i * (1.0 - i);
                    dg[hh + j] = dc * c_prev * f * (1.0 - f);
                    dg[2 * hh + j] = dc * i * (1.0 - gc * gc);
                    dg[3 * hh + j] = dh * tc * o * (1.0 - o);
                    self.dc[[local, j]] = dc * f;
                }
            }
            if t > 0 {
                let dgt = self.dgates.slice(s![r.clone(), ..]);
                general_mat_mul(1.0, &dgt, &p.w, 0.0, &mut self.dz);
                self.dh.assign(&self.dz.slice(s![.., n_in..]));
            }
        }
        // One large product for the weight gradient over all steps and episodes.
        let rows = n_steps * b;
        let dg = self.dgates.slice(s![..rows, ..]);
        let z = self.z.slice(s![..rows, ..]);
        general_mat_mul(1.0, &dg.t(), &z, 0.0, &mut grad.w);
        grad.b.assign(&dg.sum_axis(ndarray::Axis(0)));
        // The encoder: d features = dgates · W[:, features], one product for all
        // steps, then backpropagation through the encoder.
        if let (Some(enc), Some(ep), Some(eg)) = (&mut self.enc, &p.encoder, &mut grad.encoder) {
            let w_feat = p.w.slice(s![.., ..ep.out_dim()]);
            let mut df = enc.dfeatures_mut(n_steps);
            general_mat_mul(1.0, &dg, &w_feat, 0.0, &mut df);
            enc.backward(ep, eg, n_steps);
        }
    }
}
