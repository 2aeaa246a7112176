//! The network's parameters (and, with the same shapes, its gradients).

use super::encoder::EncoderParams;
use anyhow::{bail, Result};
use ndarray::{Array1, Array2};
use ndarray_rand::rand_distr::{Normal, Uniform};
use ndarray_rand::RandomExt;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// LSTM gate weights act on the concatenation z = [x, h_prev]; the gate rows are
/// ordered [input, forget, cell candidate, output], `hidden` rows each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub n_in: usize,
    pub hidden: usize,
    pub n_actions: usize,
    /// (4·hidden) × (n_in + hidden)
    pub w: Array2<f32>,
    /// 4·hidden
    pub b: Array1<f32>,
    /// Policy head: n_actions × hidden
    pub w_pi: Array2<f32>,
    pub b_pi: Array1<f32>,
    /// Value head: 1 × hidden
    pub w_v: Array2<f32>,
    pub b_v: Array1<f32>,
    /// Optional image encoder in front of the LSTM (`agent.encoder`); `n_in` then
    /// counts its output features, not the pixels. Absent from checkpoints without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderParams>,
}

/// The tensors in the order of `tensors()`; the encoder's are empty without an encoder.
pub const TENSOR_NAMES: [&str; N_TENSORS] = [
    "lstm.w",
    "lstm.b",
    "policy.w",
    "policy.b",
    "value.w",
    "value.b",
    "encoder.w1",
    "encoder.b1",
    "encoder.w2",
    "encoder.b2",
];
pub const N_TENSORS: usize = 10;

impl Params {
    pub fn zeros(n_in: usize, hidden: usize, n_actions: usize) -> Self {
        Params {
            n_in,
            hidden,
            n_actions,
            w: Array2::zeros((4 * hidden, n_in + hidden)),
            b: Array1::zeros(4 * hidden),
            w_pi: Array2::zeros((n_actions, hidden)),
            b_pi: Array1::zeros(n_actions),
            w_v: Array2::zeros((1, hidden)),
            b_v: Array1::zeros(1),
            encoder: None,
        }
    }

    /// LSTM weights and biases uniform in ±1/√hidden (the common PyTorch default);
    /// a small policy head (std 0.01) so that the first policy is near uniform;
    /// value head std 1/√hidden; head biases zero.
    pub fn init<R: Rng>(n_in: usize, hidden: usize, n_actions: usize, rng: &mut R) -> Self {
        let k = 1.0 / (hidden as f32).sqrt();
        let u = Uniform::new(-k, k).expect("valid range");
        let mut p = Params::zeros(n_in, hidden, n_actions);
        p.w = Array2::random_using(p.w.raw_dim(), u, rng);
        p.b = Array1::random_using(p.b.raw_dim(), u, rng);
        p.w_pi = Array2::random_using(p.w_pi.raw_dim(), Normal::new(0.0, 0.01).unwrap(), rng);
        p.w_v = Array2::random_using(p.w_v.raw_dim(), Normal::new(0.0, k).unwrap(), rng);
        p
    }

    pub fn zeros_like(&self) -> Self {
        let mut p = Params::zeros(self.n_in, self.hidden, self.n_actions);
        p.encoder = self.encoder.as_ref().map(EncoderParams::zeros_like);
        p
    }

    /// Width of the raw input the network reads: `n_in`, with the encoder's
    /// features replaced by the images' pixels.
    pub fn raw_input_dim(&self) -> usize {
        match &self.encoder {
            Some(e) => self.n_in - e.out_dim() + e.in_dim(),
            None => self.n_in,
        }
    }

    pub fn tensors(&self) -> [&[f32]; N_TENSORS] {
        let e = self.encoder.as_ref();
        [
            self.w.as_slice().unwrap(),
            self.b.as_slice().unwrap(),
            self.w_pi.as_slice().unwrap(),
            self.b_pi.as_slice().unwrap(),
            self.w_v.as_slice().unwrap(),
            self.b_v.as_slice().unwrap(),
            e.map_or(&[], |e| e.w1.as_slice().unwrap()),
            e.map_or(&[], |e| e.b1.as_slice().unwrap()),
            e.map_or(&[], |e| e.w2.as_slice().unwrap()),
            e.map_or(&[], |e| e.b2.as_slice().unwrap()),
        ]
    }

    pub fn tensors_mut(&mut self) -> [&mut [f32]; N_TENSORS] {
        let (w1, b1, w2, b2): (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) =
            match self.encoder.as_mut() {
                Some(e) => (
                    e.w1.as_slice_mut().unwrap(),
                    e.b1.as_slice_mut().unwrap(),
                    e.w2.as_slice_mut().unwrap(),
                    e.b2.as_slice_mut().unwrap(),
                ),
                None => (&mut [], &mut [], &mut [], &mut []),
            };
        [
            self.w.as_slice_mut().unwrap(),
            self.b.as_slice_mut().unwrap(),
            self.w_pi.as_slice_mut().unwrap(),
            self.b_pi.as_slice_mut().unwrap(),
            self.w_v.as_slice_mut().unwrap(),
            self.b_v.as_slice_mut().unwrap(),
            w1,
            b1,
            w2,
            b2,
        ]
    }

    pub fn fill_zero(&mut self) {
        for t in self.tensors_mut() {
            t.fill(0.0);
        }
    }

    pub fn global_norm(&self) -> f64 {
        self.tensors()
            .iter()
            .flat_map(|t| t.iter())
            .map(|&g| (g as f64) * (g as f64))
            .sum::<f64>()
            .sqrt()
    }

    pub fn scale(&mut self, s: f32) {
        for t in self.tensors_mut() {
            t.iter_mut().for_each(|g| *g *= s);
        }
    }

    pub fn all_finite(&self) -> bool {
        self.tensors()
            .iter()
            .all(|t| t.iter().all(|v| v.is_finite()))
    }

    pub fn save_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    pub fn load_json(text: &str) -> Result<Self> {
        let p: Params = serde_json::from_str(text)?;
        if p.w.dim() != (4 * p.hidden, p.n_in + p.hidden)
            || p.b.len() != 4 * p.hidden
            || p.w_pi.dim() != (p.n_actions, p.hidden)
            || p.b_pi.len() != p.n_actions
            || p.w_v.dim() != (1, p.hidden)
            || p.b_v.len() != 1
            || p.encoder
                .as_ref()
                .is_some_and(|e| !e.shapes_ok() || e.out_dim() > p.n_in)
        {
            bail!("checkpoint tensor shapes do not match its declared sizes");
        }
        Ok(p)
    }
}
