//! Checks of TOML values shared by the common schema (`config`), the tasks and
//! the experiments. Each error names the key (as `section.field`) and what is allowed.

use anyhow::{bail, Result};

/// A probability in [0, 1].
pub fn prob(key: &str, v: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&v) || v.is_nan() {
        bail!("key `{key}` = {v}: must be a probability in [0, 1]");
    }
    Ok(())
}

/// A count of at least 1.
pub fn positive(key: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("key `{key}` = 0: must be at least 1");
    }
    Ok(())
}

/// A number in [lo, hi]; `allowed` says so in words (e.g. "in (0, 1]").
pub fn range(key: &str, v: f64, lo: f64, hi: f64, allowed: &str) -> Result<()> {
    if !(v >= lo && v <= hi) {
        bail!("key `{key}` = {v}: must be {allowed}");
    }
    Ok(())
}

/// A finite number.
pub fn finite(key: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        bail!("key `{key}` = {v}: must be a finite number");
    }
    Ok(())
}

/// An integer range [min, max] with 1 <= min <= max <= `most`.
pub fn count_range(key: &str, [lo, hi]: [usize; 2], most: usize) -> Result<()> {
    positive(key, lo)?;
    if lo > hi {
        bail!("key `{key}` = [{lo}, {hi}]: must be [min, max] with min <= max");
    }
    if hi > most {
        bail!("key `{key}` = [{lo}, {hi}]: at most {most}");
    }
    Ok(())
}

/// A non-empty list of [low, high] probability bands with low <= high <= `most`.
pub fn prob_bands(key: &str, bands: &[[f64; 2]], most: f64) -> Result<()> {
    if bands.is_empty() {
        bail!("key `{key}`: must list at least one [low, high] band");
    }
    for (i, &[lo, hi]) in bands.iter().enumerate() {
        prob(&format!("{key}[{i}][0]"), lo)?;
        prob(&format!("{key}[{i}][1]"), hi)?;
        if lo > hi {
            bail!("key `{key}[{i}]` = [{lo}, {hi}]: must be [low, high] with low <= high");
        }
        if hi > most {
            bail!("key `{key}[{i}]` = [{lo}, {hi}]: the upper end may not exceed {most}");
        }
    }
    Ok(())
}

/// A name usable as a file or column label: non-empty letters, digits, '_' or '-'.
pub fn name(key: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!("key `{key}` = {v:?}: must be non-empty letters, digits, '_' or '-'");
    }
    Ok(())
}
