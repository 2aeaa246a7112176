//! The image encoder of Simulation 5: a small two-layer perceptron in front of
//! the LSTM, applied with the same weights to every image of the observation
//! (the left and the right picture of the Harlow task):
//!
//!   a = relu(W1 · image + b1)        (hidden units)
//!   f = W2 · a + b2                  (features, given to the LSTM)
//!
//! The features are linear: a tanh there saturated during training (most
//! features at ±1, some constant), so that different images got the same
//! binary code and some seeds stayed at about 73% correct (README, Simulation 5).
//!
//! The LSTM reads [f(image 1), …, f(image k), the rest of the input]. It is
//! trained end to end: the LSTM's gradient with respect to its input features
//! flows back through the encoder (`backward`). Like the LSTM, it runs batched:
//! the images of all B lock-step episodes (and all k slots) of a step form one
//! matrix, and the backward pass is one matrix product per weight over the whole
//! episode. Buffers are allocated once (`EncoderWorkspace::new`); rows are
//! indexed `(t · B + b) · k + slot`, so that the k feature vectors of an episode's
//! step are contiguous, exactly as the LSTM input wants them.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use ndarray_rand::rand_distr::Uniform;
use ndarray_rand::RandomExt;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Encoder weights (and, with the same shapes, their gradients).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderParams {
    /// Images per observation, all encoded with these weights.
    pub images: usize,
    /// Pixels per image.
    pub pixels: usize,
    pub hidden: usize,
    pub features: usize,
    /// hidden × pixels
    pub w1: Array2<f32>,
    /// hidden
    pub b1: Array1<f32>,
    /// features × hidden
    pub w2: Array2<f32>,
    /// features
    pub b2: Array1<f32>,
}

impl EncoderParams {
    pub fn zeros(images: usize, pixels: usize, hidden: usize, features: usize) -> Self {
        EncoderParams {
            images,
            pixels,
            hidden,
            features,
            w1: Array2::zeros((hidden, pixels)),
            b1: Array1::zeros(hidden),
            w2: Array2::zeros((features, hidden)),
            b2: Array1::zeros(features),
        }
    }

    /// Weights uniform with the variance that keeps the signal's scale through
    /// each layer: 2/fan_in before the ReLU (He et al. 2015), 1/fan_in for the
    /// linear features (LeCun); biases zero. (With PyTorch's default, ±1/√fan_in,
    /// the features started about three times smaller, s.d. 0.10 against 0.34 over
    /// the test images, and weighed little against the LSTM's reward and action
    /// inputs; the networks learned later.)
    pub fn init<R: Rng>(
        images: usize,
        pixels: usize,
        hidden: usize,
        features: usize,
        rng: &mut R,
    ) -> Self {
        let mut p = EncoderParams::zeros(images, pixels, hidden, features);
        // Uniform on ±a has variance a²/3.
        let a1 = (6.0 / pixels as f32).sqrt();
        let a2 = (3.0 / hidden as f32).sqrt();
        let u1 = Uniform::new(-a1, a1).expect("valid range");
        let u2 = Uniform::new(-a2, a2).expect("valid range");
        p.w1 = Array2::random_using(p.w1.raw_dim(), u1, rng);
        p.w2 = Array2::random_using(p.w2.raw_dim(), u2, rng);
        p
    }

    pub fn zeros_like(&self) -> Self {
        EncoderParams::zeros(self.images, self.pixels, self.hidden, self.features)
    }

    /// Width of the encoder's output in the LSTM input (features of every image).
    pub fn out_dim(&self) -> usize {
        self.images * self.features
    }

    /// Width of the images in the raw input.
    pub fn in_dim(&self) -> usize {
        self.images * self.pixels
    }

    /// Whether the tensors have the declared shapes (checkpoints).
    pub fn shapes_ok(&self) -> bool {
        self.w1.dim() == (self.hidden, self.pixels)
            && self.b1.len() == self.hidden
            && self.w2.dim() == (self.features, self.hidden)
            && self.b2.len() == self.features
    }
}

/// Per-step values of the encoder kept for backpropagation, and scratch.
pub struct EncoderWorkspace {
    batch: usize,
    images: usize,
    pixels: usize,
    features: usize,
    /// The images, (T·B·k) × pixels.
    input: Array2<f32>,
    /// Hidden activations after the ReLU, (T·B·k) × hidden.
    a1: Array2<f32>,
    /// Features, (T·B·k) × features.
    feat: Array2<f32>,
    /// Gradient w.r.t. the features.
    dfeat: Array2<f32>,
    /// Gradient w.r.t. the hidden pre-activations.
    da1: Array2<f32>,
}

impl EncoderWorkspace {
    pub fn new(p: &EncoderParams, batch: usize, max_steps: usize) -> Self {
        let rows = max_steps * batch * p.images;
        EncoderWorkspace {
            batch,
            images: p.images,
            pixels: p.pixels,
            features: p.features,
            input: Array2::zeros((rows, p.pixels)),
            a1: Array2::zeros((rows, p.hidden)),
            feat: Array2::zeros((rows, p.features)),
            dfeat: Array2::zeros((rows, p.features)),
            da1: Array2::zeros((rows, p.hidden)),
        }
    }

    fn rows(&self, t: usize) -> std::ops::Range<usize> {
        let n = self.batch * self.images;
        t * n..(t + 1) * n
    }

    /// Encode the images of step t: `x` is B × raw input whose first k·pixels
    /// columns are the k images; the k feature vectors of each episode are written
    /// to `out` (B × k·features).
    pub fn forward_step(
        &mut self,
        p: &EncoderParams,
        t: usize,
        x: ArrayView2<f32>,
        mut out: ArrayViewMut2<f32>,
    ) {
        let r = self.rows(t);
        let (k, px, nf) = (self.images, self.pixels, self.features);
        for b in 0..self.batch {
            let xb = x.row(b);
            for slot in 0..k {
                self.input
                    .row_mut(r.start + b * k + slot)
                    .assign(&xb.slice(s![slot * px..(slot + 1) * px]));
            }
        }
        {
            let input = self.input.slice(s![r.clone(), ..]);
            let mut a1 = self.a1.slice_mut(s![r.clone(), ..]);
            general_mat_mul(1.0, &input, &p.w1.t(), 0.0, &mut a1);
            for mut row in a1.rows_mut() {
                for (v, b) in row.iter_mut().zip(p.b1.iter()) {
                    *v = (*v + b).max(0.0);
                }
            }
        }
        {
            let a1 = self.a1.slice(s![r.clone(), ..]);
            let mut f = self.feat.slice_mut(s![r.clone(), ..]);
            general_mat_mul(1.0, &a1, &p.w2.t(), 0.0, &mut f);
            for mut row in f.rows_mut() {
                row += &p.b2;
            }
        }
        for b in 0..self.batch {
            let mut o = out.row_mut(b);
            for slot in 0..k {
                o.slice_mut(s![slot * nf..(slot + 1) * nf])
                    .assign(&self.feat.row(r.start + b * k + slot));
            }
        }
    }

    /// The gradient w.r.t. the features of steps 0..n_steps, as the LSTM input
    /// sees them: (n_steps·B) × (k·features), to be filled by the caller.
    pub fn dfeatures_mut(&mut self, n_steps: usize) -> ArrayViewMut2<'_, f32> {
        let rows = n_steps * self.batch;
        let width = self.images * self.features;
        let flat = self
            .dfeat
            .as_slice_mut()
            .expect("contiguous buffer")
            .split_at_mut(rows * width)
            .0;
        ArrayViewMut2::from_shape((rows, width), flat).expect("shape of the feature gradient")
    }

    /// Backpropagate the feature gradient (set through `dfeatures_mut`) over steps
    /// 0..n_steps; writes the encoder's weight gradients into `grad`.
    pub fn backward(&mut self, p: &EncoderParams, grad: &mut EncoderParams, n_steps: usize) {
        let rows = n_steps * self.batch * self.images;
        let df = self.dfeat.slice(s![..rows, ..]);
        let a1 = self.a1.slice(s![..rows, ..]);
        general_mat_mul(1.0, &df.t(), &a1, 0.0, &mut grad.w2);
        grad.b2.assign(&df.sum_axis(Axis(0)));
        // Into the hidden layer, through the ReLU (a1 > 0 where it was active).
        let mut da1 = self.da1.slice_mut(s![..rows, ..]);
        general_mat_mul(1.0, &df, &p.w2, 0.0, &mut da1);
        da1.zip_mut_with(&a1, |d, &a| {
            if a <= 0.0 {
                *d = 0.0
            }
        });
        let input = self.input.slice(s![..rows, ..]);
        general_mat_mul(1.0, &da1.t(), &input, 0.0, &mut grad.w1);
        grad.b1.assign(&da1.sum_axis(Axis(0)));
    }

    /// The features of episode b at step t (k·features values, slot by slot).
    pub fn features(&self, t: usize, b: usize) -> ArrayView2<'_, f32> {
        let start = self.rows(t).start + b * self.images;
        self.feat.slice(s![start..start + self.images, ..])
    }
}
