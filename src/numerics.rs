//! A fingerprint of the floating-point arithmetic that results depend on.
//!
//! The same config and seed give bit-identical results whatever the thread
//! count, but two machines agree only if their arithmetic does: the matrix
//! products go through `matrixmultiply`, which picks its kernel at its first
//! use (FMA and AVX2, AVX, or SSE2 on x86-64; NEON on ARM), and
//! `tanh`, `exp`, `ln_1p` come from the system's libm (glibc, which also picks
//! FMA variants of some functions at run time). The fingerprint hashes the
//! bits of a matrix product shaped like the LSTM's and of these functions over
//! a range of inputs: runs made where it is equal are expected to agree bit for
//! bit; where it differs they differ in bits (and, training being chaotic, in
//! per-seed values), though not in what the checks conclude (README,
//! "Reliability"). It is recorded in every run's manifest.json.

use ndarray::linalg::general_mat_mul;
use ndarray::Array2;

/// 16 hex digits (FNV-1a over the bits of the results below).
pub fn fingerprint() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |bits: u64| {
        for b in bits.to_le_bytes() {
            hash ^= b as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    // The LSTM's gate product: batch 16 × (input + hidden) times (input + hidden) × 4·48.
    let a = Array2::from_shape_fn((16, 61), |(i, j)| ((i * 61 + j) as f32 * 0.37).sin());
    let b = Array2::from_shape_fn((61, 192), |(i, j)| ((i * 192 + j) as f32 * 0.11).cos());
    let mut c = Array2::<f32>::zeros((16, 192));
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    for x in c.iter() {
        add(x.to_bits() as u64);
    }
    // Variants of a libm function differ on a small share of inputs (glibc's
    // f64 `exp` with and without FMA: about 1 in 1,000): many inputs, unevenly
    // spaced, over the ranges the agent and the analyses use (about 5 ms).
    for i in 0..65_536u32 {
        let y = (i as f64 - 32_768.0) * 0.00122 + 1e-9 * i as f64;
        add(y.exp().to_bits());
        add(y.abs().ln_1p().to_bits());
        add((y.abs() + 1e-3).ln().to_bits());
        add(y.tanh().to_bits());
        let x = y as f32;
        add(x.tanh().to_bits() as u64);
        add(x.exp().to_bits() as u64);
        add(x.exp_m1().to_bits() as u64);
        add(x.abs().ln_1p().to_bits() as u64);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fingerprint_is_stable_within_a_process() {
        let f = super::fingerprint();
        assert_eq!(f.len(), 16);
        assert_eq!(f, super::fingerprint());
    }
}
