//! The paper reproduction checks: each experiment's pre-registered targets
//! (the `[[checks]]` of its TOML) evaluated on its outcomes.json.

use crate::config::{CheckConfig, Statistic};
use crate::experiments::Outcomes;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub metric: String,
    pub statistic: Statistic,
    pub compare: String,
    pub threshold: f64,
    /// The compared statistic of the metric (NaN if the metric is missing).
    pub value: f64,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub per_seed: Vec<f64>,
    pub paper: Option<f64>,
    pub passed: bool,
    pub description: String,
}

pub fn evaluate(checks: &[CheckConfig], outcomes: &Outcomes) -> Vec<CheckResult> {
    checks
        .iter()
        .map(|c| {
            let m = outcomes.metrics.get(&c.metric).map(|m| &m.estimate);
            let value = m.map_or(f64::NAN, |e| match c.statistic {
                Statistic::Mean => e.mean,
                Statistic::CiLow => e.ci_low,
                Statistic::CiHigh => e.ci_high,
                Statistic::MinSeed => e.min_seed(),
                Statistic::MaxSeed => e.max_seed(),
            });
            CheckResult {
                name: c.name.clone(),
                metric: c.metric.clone(),
                statistic: c.statistic,
                compare: c.compare.symbol().to_string(),
                threshold: c.threshold,
                value,
                mean: m.map_or(f64::NAN, |e| e.mean),
                ci_low: m.map_or(f64::NAN, |e| e.ci_low),
                ci_high: m.map_or(f64::NAN, |e| e.ci_high),
                per_seed: m.map_or(vec![], |e| e.per_seed.clone()),
                paper: c.paper,
                // NaN compares false, so a missing or undefined metric fails.
                passed: c.compare.holds(value, c.threshold),
                description: c.description.clone(),
            }
        })
        .collect()
}

fn stat_name(s: Statistic) -> &'static str {
    match s {
        Statistic::Mean => "mean",
        Statistic::CiLow => "CI low",
        Statistic::CiHigh => "CI high",
        Statistic::MinSeed => "min seed",
        Statistic::MaxSeed => "max seed",
    }
}

/// A plain-text table: one line per check.
pub fn table(run: &str, results: &[CheckResult]) -> String {
    let mut s = format!("{run}\n");
    s.push_str(&format!(
        "  {:<34} {:<22} {:>28} {:>14} {:>8}  {}\n",
        "check", "statistic", "mean [95% CI]", "target", "paper", "result"
    ));
    for r in results {
        s.push_str(&format!(
            "  {:<34} {:<22} {:>28} {:>14} {:>8}  {}\n",
            r.name,
            format!("{} = {:.3}", stat_name(r.statistic), r.value),
            format!("{:.3} [{:.3}, {:.3}]", r.mean, r.ci_low, r.ci_high),
            format!("{} {}", r.compare, r.threshold),
            r.paper.map_or("-".to_string(), |p| format!("{p}")),
            if r.passed { "PASS" } else { "FAIL" }
        ));
    }
    s
}
