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
    #[serde(with = "nan_as_null")]
    pub mean: f64,
    #[serde(with = "nan_as_null")]
    pub ci_low: f64,
    #[serde(with = "nan_as_null")]
    pub ci_high: f64,
    #[serde(with = "nan_as_null::vec")]
    pub per_seed: Vec<f64>,
}

/// JSON has no NaN: an undefined number (e.g. a statistic of an untrained
/// network) is written as `null` and read back as NaN, so that outcomes.json
/// always round-trips and an undefined value fails every check.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// A pair of values, each NaN ↔ null.
    pub mod pair {
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[f64; 2], s: S) -> Result<S::Ok, S::Error> {
            super::vec::serialize(v, s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
            let v = super::vec::deserialize(d)?;
            <[f64; 2]>::try_from(v)
                .map_err(|v| serde::de::Error::invalid_length(v.len(), &"a pair of numbers"))
        }
    }

    pub mod vec {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for x in v {
                seq.serialize_element(&x.is_finite().then_some(*x))?;
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Ok(Vec::<Option<f64>>::deserialize(d)?
                .into_iter()
                .map(|x| x.unwrap_or(f64::NAN))
                .collect())
        }
    }
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

/// Ridge regression with an unpenalised intercept: minimises
/// Σ (y − b − x·w)² + `lambda` |w|². `x` is row-major with `n_features`
/// columns; returns [b, w_1, ..., w_p].
pub fn ridge_regression(x: &[f64], y: &[f64], n_features: usize, lambda: f64) -> Result<Vec<f64>> {
    let n = y.len();
    if x.len() != n * n_features {
        bail!(
            "design matrix has {} values, expected {}",
            x.len(),
            n * n_features
        );
    }
    ridge_of_rows(x, y, n_features, lambda, 0..n)
}

/// `ridge_regression` on the rows `rows` of `x` and `y` only (in that order),
/// without copying them.
fn ridge_of_rows(
    x: &[f64],
    y: &[f64],
    n_features: usize,
    lambda: f64,
    rows: impl Iterator<Item = usize>,
) -> Result<Vec<f64>> {
    let p = n_features + 1;
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    let mut row = vec![0.0; p];
    for i in rows {
        row[0] = 1.0;
        row[1..].copy_from_slice(&x[i * n_features..(i + 1) * n_features]);
        for a in 0..p {
            xty[a] += row[a] * y[i];
            for b in 0..=a {
                xtx[a * p + b] += row[a] * row[b];
            }
        }
    }
    for a in 0..p {
        for b in 0..a {
            xtx[b * p + a] = xtx[a * p + b];
        }
    }
    for a in 1..p {
        xtx[a * p + a] += lambda.max(1e-10);
    }
    solve_spd(&mut xtx, &mut xty, p)?;
    Ok(xty)
}

/// Held-out predictions of a ridge regression by k-fold cross-validation in
/// which the rows of one group (e.g. one test episode) are always in the same
/// fold, so no episode is both trained and tested on. Groups go to folds in
/// the order they first appear, round robin (deterministic). Returns one
/// prediction per row, each from the model fitted without its fold.
pub fn cross_validated_ridge(
    x: &[f64],
    y: &[f64],
    n_features: usize,
    groups: &[u64],
    folds: usize,
    lambda: f64,
) -> Result<Vec<f64>> {
    let n = y.len();
    if groups.len() != n || x.len() != n * n_features {
        bail!("cross-validation: rows of x, y and groups differ");
    }
    let mut fold_of_group = std::collections::HashMap::new();
    let fold: Vec<usize> = groups
        .iter()
        .map(|g| {
            let next = fold_of_group.len();
            *fold_of_group.entry(*g).or_insert(next) % folds.max(1)
        })
        .collect();
    if fold_of_group.len() < folds.max(2) {
        bail!(
            "cross-validation needs at least {} groups, got {}",
            folds.max(2),
            fold_of_group.len()
        );
    }
    let mut pred = vec![0.0; n];
    for k in 0..folds {
        let w = ridge_of_rows(x, y, n_features, lambda, (0..n).filter(|&i| fold[i] != k))?;
        for i in (0..n).filter(|&i| fold[i] == k) {
            let row = &x[i * n_features..(i + 1) * n_features];
            pred[i] = w[0] + row.iter().zip(&w[1..]).map(|(a, b)| a * b).sum::<f64>();
        }
    }
    Ok(pred)
}

/// r² = 1 − SS_res / SS_tot of predictions against the truth (can be < 0 for
/// held-out predictions worse than the mean).
pub fn r_squared(truth: &[f64], pred: &[f64]) -> f64 {
    let m = mean(truth);
    let (mut res, mut tot) = (0.0, 0.0);
    for (t, p) in truth.iter().zip(pred) {
        res += (t - p).powi(2);
        tot += (t - m).powi(2);
    }
    1.0 - res / tot
}

/// Principal component analysis of the rows of `x` (row-major, `dim` columns).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pca {
    pub mean: Vec<f64>,
    /// Unit-length principal axes, largest variance first. Each axis's sign is
    /// fixed so that its largest-magnitude coordinate is positive.
    pub components: Vec<Vec<f64>>,
    /// Share of the total variance along each axis.
    pub explained: Vec<f64>,
}

impl Pca {
    /// The top `k` components of the centred data (eigenvectors of the
    /// covariance by cyclic Jacobi rotations; fine for the few hundred
    /// dimensions of an LSTM state).
    pub fn fit(x: &[f64], dim: usize, k: usize) -> Result<Pca> {
        if dim == 0 || !x.len().is_multiple_of(dim) || x.len() / dim < 2 {
            bail!("PCA needs at least two rows of {dim} values");
        }
        let n = x.len() / dim;
        let mut mean = vec![0.0; dim];
        for row in x.chunks(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n as f64;
            }
        }
        let mut cov = vec![0.0; dim * dim];
        for row in x.chunks(dim) {
            for a in 0..dim {
                let da = row[a] - mean[a];
                for b in 0..=a {
                    cov[a * dim + b] += da * (row[b] - mean[b]);
                }
            }
        }
        for a in 0..dim {
            for b in 0..=a {
                cov[a * dim + b] /= (n - 1) as f64;
                cov[b * dim + a] = cov[a * dim + b];
            }
        }
        let (values, vectors) = symmetric_eigen(cov, dim);
        let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let mut components = vec![];
        let mut explained = vec![];
        for &j in order.iter().take(k.min(dim)) {
            let mut axis: Vec<f64> = (0..dim).map(|i| vectors[i * dim + j]).collect();
            let big = axis
                .iter()
                .cloned()
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(1.0);
            if big < 0.0 {
                axis.iter_mut().for_each(|v| *v = -*v);
            }
            components.push(axis);
            explained.push(if total > 0.0 {
                values[j].max(0.0) / total
            } else {
                0.0
            });
        }
        Ok(Pca {
            mean,
            components,
            explained,
        })
    }

    /// Coordinates of one row along the components.
    pub fn project(&self, row: &[f64]) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| {
                c.iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(a, (v, m))| a * (v - m))
                    .sum()
            })
            .collect()
    }
}

/// Eigenvalues and eigenvectors (columns of the returned row-major matrix) of a
/// symmetric matrix, by cyclic Jacobi rotations.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-14 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Minimise `f` by the Nelder–Mead simplex method (reflection 1, expansion 2,
/// contraction 1/2, shrink 1/2), starting from `x0` and the simplex of steps
/// `step` along each coordinate. A NaN value counts as +∞. Stops when the
/// simplex's values span at most `ftol` and its points lie within `xtol` of the
/// best in every coordinate, or after `max_evals` evaluations. Returns (the
/// best point, its value). Deterministic.
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: &[f64],
    ftol: f64,
    xtol: f64,
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let n = x0.len();
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step[i];
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(p)).collect();
    let mut evals = n + 1;
    let along = |a: &[f64], b: &[f64], t: f64| -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect()
    };
    loop {
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        let spread = pts[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&pts[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if evals >= max_evals || ((vals[n] - vals[0]).abs() <= ftol && spread <= xtol) {
            return (pts[0].clone(), vals[0]);
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| pts[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
            .collect();
        let worst = pts[n].clone();
        let reflected = along(&centroid, &worst, -1.0);
        let fr = eval(&reflected);
        evals += 1;
        if fr < vals[0] {
            let expanded = along(&centroid, &worst, -2.0);
            let fe = eval(&expanded);
            evals += 1;
            if fe < fr {
                (pts[n], vals[n]) = (expanded, fe);
            } else {
                (pts[n], vals[n]) = (reflected, fr);
            }
            continue;
        }
        if fr < vals[n - 1] {
            (pts[n], vals[n]) = (reflected, fr);
            continue;
        }
        // Contract towards the better of the worst point and its reflection.
        let (toward, ft) = if fr < vals[n] {
            (reflected, fr)
        } else {
            (worst, vals[n])
        };
        let contracted = along(&centroid, &toward, 0.5);
        let fc = eval(&contracted);
        evals += 1;
        if fc < ft {
            (pts[n], vals[n]) = (contracted, fc);
            continue;
        }
        for i in 1..=n {
            pts[i] = along(&pts[0], &pts[i], 0.5);
            vals[i] = eval(&pts[i]);
        }
        evals += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn an_undefined_estimate_round_trips_through_json() {
        let e = Estimate {
            mean: f64::NAN,
            ci_low: 1.0,
            ci_high: f64::INFINITY,
            per_seed: vec![0.5, f64::NAN],
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"mean":null,"ci_low":1.0,"ci_high":null,"per_seed":[0.5,null]}"#
        );
        let back: Estimate = serde_json::from_str(&text).unwrap();
        assert!(back.mean.is_nan() && back.ci_high.is_nan() && back.per_seed[1].is_nan());
        assert_eq!((back.ci_low, back.per_seed[0]), (1.0, 0.5));
    }

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

    /// Data stretched along a known axis: PCA finds the axis and its share of
    /// the variance, and the projection of the mean is 0.
    #[test]
    fn pca_recovers_a_known_axis() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let axis = [0.6, 0.0, -0.8];
        let mut x = vec![];
        for _ in 0..5000 {
            let big: f64 = 3.0 * normal.sample(&mut rng);
            let noise: Vec<f64> = (0..3).map(|_| 0.3 * normal.sample(&mut rng)).collect();
            for d in 0..3 {
                x.push(1.0 + big * axis[d] + noise[d]);
            }
        }
        let pca = Pca::fit(&x, 3, 2).unwrap();
        let c = &pca.components[0];
        let dot: f64 = c.iter().zip(axis).map(|(a, b)| a * b).sum();
        assert!(dot.abs() > 0.999, "{c:?}");
        // Variance 9 along the axis + 0.09 per dimension: share ≈ 9.09 / 9.27.
        assert!(
            (pca.explained[0] - 9.09 / 9.27).abs() < 0.02,
            "{:?}",
            pca.explained
        );
        let p = pca.project(&pca.mean.clone());
        assert!(p.iter().all(|v| v.abs() < 1e-12));
    }

    /// A linear signal is decoded from held-out groups with the r² the noise
    /// allows; shuffled labels decode nothing.
    #[test]
    fn cross_validated_ridge_decodes_held_out_groups() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let (n, nf) = (4000, 5);
        let mut x = vec![];
        let mut y = vec![];
        let mut groups = vec![];
        for i in 0..n {
            let row: Vec<f64> = (0..nf).map(|_| normal.sample(&mut rng)).collect();
            // Signal variance 1 + 0.25 = 1.25, noise variance 0.25: r² = 0.833.
            y.push(row[0] - 0.5 * row[3] + 0.5 * normal.sample(&mut rng));
            x.extend(row);
            groups.push((i / 20) as u64);
        }
        let pred = cross_validated_ridge(&x, &y, nf, &groups, 5, 1e-3).unwrap();
        let r2 = r_squared(&y, &pred);
        assert!((r2 - 1.25 / 1.5).abs() < 0.03, "{r2}");
        let mut shuffled = y.clone();
        for i in (1..n).rev() {
            shuffled.swap(i, rng.random_range(0..=i));
        }
        let pred = cross_validated_ridge(&x, &shuffled, nf, &groups, 5, 1e-3).unwrap();
        assert!(r_squared(&shuffled, &pred) < 0.01);
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_rosenbrock_and_a_bowl() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (x, v) = nelder_mead(rosen, &[-1.2, 1.0], &[0.5, 0.5], 1e-14, 1e-8, 5000);
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] - 1.0).abs() < 1e-4,
            "{x:?}"
        );
        assert!(v < 1e-8);
        let bowl = |x: &[f64]| {
            (x[0] - 0.3).powi(2) + 2.0 * (x[1] + 1.0).powi(2) + 0.5 * (x[2] - 2.0).powi(2)
        };
        let (x, _) = nelder_mead(bowl, &[0.0; 3], &[1.0; 3], 1e-14, 1e-8, 5000);
        for (a, b) in x.iter().zip([0.3, -1.0, 2.0]) {
            assert!((a - b).abs() < 1e-5, "{x:?}");
        }
        // NaN counts as +inf: the search stays where the function is defined.
        let (x, v) = nelder_mead(
            |x: &[f64]| {
                if x[0] < 0.0 {
                    f64::NAN
                } else {
                    (x[0] - 1.0).powi(2)
                }
            },
            &[0.5],
            &[0.2],
            1e-14,
            1e-8,
            500,
        );
        assert!((x[0] - 1.0).abs() < 1e-5 && v.is_finite(), "{x:?} {v}");
    }
}
