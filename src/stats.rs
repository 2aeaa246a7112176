//! Statistics shared by the analyses: bootstrap confidence intervals over seeds,
//! logistic and linear regression, correlations. Everything here is f64.

use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A number reported over seeds: the mean, its 95% percentile-bootstrap CI and
/// the per-seed values it was computed from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub per_seed: Vec<f64>,
}

impl Estimate {
    pub fn min_seed(&self) -> f64 {
        self.per_seed.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    pub fn max_seed(&self) -> f64 {
        self.per_seed
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Mean over seeds with a 95% percentile bootstrap CI (`n_boot` resamples,
/// fixed `seed` so that the report is reproducible). With one value the CI is
/// the value itself; NaN values are kept (they make the CI NaN, which fails
/// every check, rather than being silently dropped).
pub fn bootstrap_mean(values: &[f64], n_boot: usize, seed: u64) -> Estimate {
    let m = mean(values);
    let n = values.len();
    if n <= 1 || n_boot == 0 {
        return Estimate {
            mean: m,
            ci_low: m,
            ci_high: m,
            per_seed: values.to_vec(),
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..n_boot)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(|a, b| a.total_cmp(b));
    Estimate {
        mean: m,
        ci_low: quantile_sorted(&means, 0.025),
        ci_high: quantile_sorted(&means, 0.975),
        per_seed: values.to_vec(),
    }
}

/// Linear-interpolated quantile of sorted data.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let w = pos - lo as f64;
    sorted[lo] * (1.0 - w) + sorted[hi] * w
}

pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Simple least-squares line y = intercept + slope * x, with r².
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LineFit {
    pub slope: f64,
    pub intercept: f64,
    pub r2: f64,
}

pub fn fit_line(x: &[f64], y: &[f64]) -> LineFit {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
    }
    let slope = sxy / sxx;
    let r = pearson(x, y);
    LineFit {
        slope,
        intercept: my - slope * mx,
        r2: if r.is_nan() { 0.0 } else { r * r },
    }
}

/// Solve the symmetric positive-definite system A x = b in place (Cholesky).
fn solve_spd(a: &mut [f64], b: &mut [f64], n: usize) -> Result<()> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            bail!("matrix not positive definite (singular design?)");
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    Ok(())
}

/// Logistic regression by Newton's method (IRLS) with an intercept and a small
/// ridge penalty `l2` on the slopes (not the intercept) so that separable data
/// still give finite weights. `x` is row-major, `n_features` columns; `y` is 0/1.
/// Returns [intercept, w_1, ..., w_p].
pub fn logistic_regression(x: &[f64], y: &[f64], n_features: usize, l2: f64) -> Result<Vec<f64>> {
    let n = y.len();
    if x.len() != n * n_features {
        bail!(
            "design matrix has {} values, expected {}",
            x.len(),
            n * n_features
        );
    }
    let p = n_features + 1;
    let mut w = vec![0.0; p];
    let mut row = vec![0.0; p];
    for _iter in 0..100 {
        let mut hess = vec![0.0; p * p];
        let mut grad = vec![0.0; p];
        for i in 0..n {
            row[0] = 1.0;
            row[1..].copy_from_slice(&x[i * n_features..(i + 1) * n_features]);
            let z: f64 = row.iter().zip(&w).map(|(a, b)| a * b).sum();
            let mu = 1.0 / (1.0 + (-z).exp());
            let s = (mu * (1.0 - mu)).max(1e-12);
            for a in 0..p {
                grad[a] += (y[i] - mu) * row[a];
                for b in 0..=a {
                    hess[a * p + b] += s * row[a] * row[b];
                }
            }
        }
        for a in 1..p {
            grad[a] -= l2 * w[a];
            hess[a * p + a] += l2;
        }
        for a in 0..p {
            for b in 0..a {
                hess[b * p + a] = hess[a * p + b];
            }
        }
        let mut step = grad.clone();
        solve_spd(&mut hess, &mut step, p)?;
        let mut max_step: f64 = 0.0;
        for a in 0..p {
            w[a] += step[a];
            max_step = max_step.max(step[a].abs());
        }
        if max_step < 1e-9 {
            break;
        }
    }
    Ok(w)
}

/// Ordinary least squares with an intercept; returns ([intercept, w...], r²).
pub fn linear_regression(x: &[f64], y: &[f64], n_features: usize) -> Result<(Vec<f64>, f64)> {
    let n = y.len();
    if x.len() != n * n_features {
        bail!(
            "design matrix has {} values, expected {}",
            x.len(),
            n * n_features
        );
    }
    let p = n_features + 1;
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    let mut row = vec![0.0; p];
    for i in 0..n {
        row[0] = 1.0;
        row[1..].copy_from_slice(&x[i * n_features..(i + 1) * n_features]);
        for a in 0..p {
            xty[a] += row[a] * y[i];
            for b in 0..p {
                xtx[a * p + b] += row[a] * row[b];
            }
        }
    }
    for a in 1..p {
        xtx[a * p + a] += 1e-10;
    }
    solve_spd(&mut xtx, &mut xty, p)?;
    let my = mean(y);
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for i in 0..n {
        let mut pred = xty[0];
        for f in 0..n_features {
            pred += xty[f + 1] * x[i * n_features + f];
        }
        ss_res += (y[i] - pred).powi(2);
        ss_tot += (y[i] - my).powi(2);
    }
    Ok((xty, 1.0 - ss_res / ss_tot))
}

/// A fixed linear design (intercept + `n_features` regressors) for computing,
/// for many responses y, the partial correlation of y with each regressor
/// controlling for all the others. The design's inverse moment matrix is
/// computed once, so each response costs one pass over the data.
///
/// The partial correlation of y with regressor j given the rest equals the
/// correlation of the residuals of y and of x_j after regressing both on the
/// other regressors; from the full least-squares fit it is
/// r_j = (β_j / √c_jj) / √(β_j² / c_jj + SSR), with c = (XᵀX)⁻¹ and SSR the
/// residual sum of squares (equivalently t_j / √(t_j² + df)).
pub struct PartialCorrelation {
    x: Vec<f64>,
    n_features: usize,
    n: usize,
    /// (XᵀX)⁻¹ of the design with the intercept column first, p × p.
    inv: Vec<f64>,
}

impl PartialCorrelation {
    /// `x` row-major with `n_features` columns.
    pub fn new(x: &[f64], n_features: usize) -> Result<Self> {
        if n_features == 0 || !x.len().is_multiple_of(n_features) {
            bail!(
                "design matrix of {} values does not have {n_features} columns",
                x.len()
            );
        }
        let n = x.len() / n_features;
        let p = n_features + 1;
        if n <= p {
            bail!("partial correlation needs more than {p} rows, got {n}");
        }
        let mut xtx = vec![0.0; p * p];
        let mut row = vec![0.0; p];
        for i in 0..n {
            row[0] = 1.0;
            row[1..].copy_from_slice(&x[i * n_features..(i + 1) * n_features]);
            for a in 0..p {
                for b in 0..p {
                    xtx[a * p + b] += row[a] * row[b];
                }
            }
        }
        let mut inv = vec![0.0; p * p];
        for col in 0..p {
            let mut a = xtx.clone();
            let mut e = vec![0.0; p];
            e[col] = 1.0;
            solve_spd(&mut a, &mut e, p)?;
            for r in 0..p {
                inv[r * p + col] = e[r];
            }
        }
        Ok(PartialCorrelation {
            x: x.to_vec(),
            n_features,
            n,
            inv,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.n
    }

    /// Partial correlation of `y` with each regressor given the others. With
    /// `order`, y is read as `y[order[i]]` for row i (a permutation: the
    /// shuffled-trial null without copying). A constant y gives 0.
    pub fn of(&self, y: &[f64], order: Option<&[usize]>) -> Vec<f64> {
        let (nf, p) = (self.n_features, self.n_features + 1);
        let yi = |i: usize| match order {
            Some(o) => y[o[i]],
            None => y[i],
        };
        // A constant response (e.g. a saturated unit) has no correlation; catch it
        // before rounding noise in β and the SSR can masquerade as one.
        let my = (0..self.n).map(yi).sum::<f64>() / self.n as f64;
        let sst: f64 = (0..self.n).map(|i| (yi(i) - my).powi(2)).sum();
        if sst <= f64::EPSILON * self.n as f64 * my * my {
            return vec![0.0; nf];
        }
        let mut xty = vec![0.0; p];
        for i in 0..self.n {
            let v = yi(i);
            xty[0] += v;
            let row = &self.x[i * nf..(i + 1) * nf];
            for (acc, xv) in xty[1..].iter_mut().zip(row) {
                *acc += xv * v;
            }
        }
        let beta: Vec<f64> = (0..p)
            .map(|a| (0..p).map(|b| self.inv[a * p + b] * xty[b]).sum())
            .collect();
        let mut ssr = 0.0;
        for i in 0..self.n {
            let row = &self.x[i * nf..(i + 1) * nf];
            let pred = beta[0] + row.iter().zip(&beta[1..]).map(|(a, b)| a * b).sum::<f64>();
            ssr += (yi(i) - pred).powi(2);
        }
        (1..p)
            .map(|j| {
                let b = beta[j] / self.inv[j * p + j].sqrt();
                let d = (b * b + ssr).sqrt();
                if d > 0.0 && d.is_finite() {
                    b / d
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Residuals of `y` after least-squares regression on the `n_controls` columns
/// of `controls` (row-major) and an intercept.
pub fn residualize(y: &[f64], controls: &[f64], n_controls: usize) -> Result<Vec<f64>> {
    if n_controls == 0 {
        let m = mean(y);
        return Ok(y.iter().map(|v| v - m).collect());
    }
    let (w, _) = linear_regression(controls, y, n_controls)?;
    Ok(y.iter()
        .enumerate()
        .map(|(i, v)| {
            let row = &controls[i * n_controls..(i + 1) * n_controls];
            v - w[0] - row.iter().zip(&w[1..]).map(|(a, b)| a * b).sum::<f64>()
        })
        .collect())
}

/// Partial correlation of `x` and `y` controlling for the `n_controls` columns
/// of `controls`: the correlation of their residuals (the textbook definition;
/// `PartialCorrelation` computes the same for many responses at once).
pub fn partial_correlation(
    x: &[f64],
    y: &[f64],
    controls: &[f64],
    n_controls: usize,
) -> Result<f64> {
    Ok(pearson(
        &residualize(x, controls, n_controls)?,
        &residualize(y, controls, n_controls)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn bootstrap_ci_covers_mean_and_is_reproducible() {
        let v = [0.1, 0.4, 0.35, 0.8, 0.5, 0.45, 0.3, 0.6];
        let e = bootstrap_mean(&v, 5000, 7);
        assert!(e.ci_low < e.mean && e.mean < e.ci_high);
        assert_eq!(e, bootstrap_mean(&v, 5000, 7));
        assert_eq!(e.per_seed, v.to_vec());
    }

    #[test]
    fn logistic_regression_recovers_known_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let truth = [-0.5, 1.5, -1.0, 0.0];
        let n = 20_000;
        let mut x = Vec::with_capacity(n * 3);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let r: Vec<f64> = (0..3).map(|_| normal.sample(&mut rng)).collect();
            let z = truth[0] + truth[1] * r[0] + truth[2] * r[1] + truth[3] * r[2];
            y.push((rng.random::<f64>() < 1.0 / (1.0 + (-z).exp())) as u8 as f64);
            x.extend(r);
        }
        let w = logistic_regression(&x, &y, 3, 1e-6).unwrap();
        for (a, b) in w.iter().zip(truth) {
            assert!((a - b).abs() < 0.08, "recovered {w:?}, truth {truth:?}");
        }
    }

    #[test]
    fn linear_regression_recovers_line_and_r2() {
        let x: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.0 - 3.0 * v).collect();
        let (w, r2) = linear_regression(&x, &y, 1).unwrap();
        assert!((w[0] - 2.0).abs() < 1e-6 && (w[1] + 3.0).abs() < 1e-6);
        assert!((r2 - 1.0).abs() < 1e-9);
        let f = fit_line(&x, &y);
        assert!((f.slope + 3.0).abs() < 1e-9 && (f.r2 - 1.0).abs() < 1e-9);
    }

    /// y = x1 − 0.5·x2 + e with x1 = 0.6·x2 + 0.8·z and x2, z, e independent
    /// standard normals. Known partial correlations: r(y, x1 | x2) =
    /// 0.8·1 / √(0.64·1² + 1) = 0.6247 and r(y, x2 | x1) = 0.8·(−0.5) /
    /// √(0.64·0.25 + 1) = −0.3714. With n = 20,000 the sampling SE is about
    /// 0.006, so 0.03 is five SEs.
    #[test]
    fn partial_correlation_recovers_known_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let n = 20_000;
        let (mut x, mut y, mut x1s, mut x2s) = (vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let (x2, z, e): (f64, f64, f64) = (
                normal.sample(&mut rng),
                normal.sample(&mut rng),
                normal.sample(&mut rng),
            );
            let x1 = 0.6 * x2 + 0.8 * z;
            x.extend([x1, x2]);
            x1s.push(x1);
            x2s.push(x2);
            y.push(x1 - 0.5 * x2 + e);
        }
        let truth = [0.8 / 1.64f64.sqrt(), -0.4 / 1.16f64.sqrt()];
        let pc = PartialCorrelation::new(&x, 2).unwrap();
        let r = pc.of(&y, None);
        for (a, b) in r.iter().zip(truth) {
            assert!((a - b).abs() < 0.03, "recovered {r:?}, truth {truth:?}");
        }
        // The residual definition gives the same numbers (to rounding).
        let r1 = partial_correlation(&x1s, &y, &x2s, 1).unwrap();
        let r2 = partial_correlation(&x2s, &y, &x1s, 1).unwrap();
        assert!(
            (r1 - r[0]).abs() < 1e-9 && (r2 - r[1]).abs() < 1e-9,
            "{r1} {r2} {r:?}"
        );
        // Shuffling y against the design destroys the relation (|r| ~ 1/√n).
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let null = pc.of(&y, Some(&order));
        assert!(null.iter().all(|v| v.abs() < 0.03), "{null:?}");
        // A constant response has no correlation.
        assert_eq!(pc.of(&vec![2.0; n], None), vec![0.0, 0.0]);
    }
}
