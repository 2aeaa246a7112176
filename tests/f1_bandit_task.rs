//! The Bernoulli bandit task of the introductory bandits (paper Fig. 1) end to
//! end on a tiny run of the shipped experiment: every variant and condition of
//! a seed plays the same episodes (the same uniforms per arm and trial), the
//! families' arm probabilities are as defined (the fixed problems on random
//! sides), every reward is what the
//! recorded uniforms say, and the analysis's per-seed regret of a network is
//! the regret computed directly from the table.

mod common;

use metarl::experiments::Outcomes;
use metarl::record::{col_f64, col_str, col_u64, read_parquet};
use metarl::run::{self, RunOptions};
use std::collections::BTreeMap;

#[test]
fn conditions_and_variants_replay_the_same_episodes() {
    let t = tempfile::tempdir().unwrap();
    let toml = t.path().join("f1_tiny.toml");
    let text = common::experiment_text("f1_bandits")
        .replace("episodes = 300 ", "episodes = 20 ")
        .replace("bootstrap = 10000", "bootstrap = 200");
    assert!(text.contains("episodes = 20 "));
    std::fs::write(&toml, text).unwrap();
    let dir = run::run(&RunOptions {
        experiment: toml.to_str().unwrap().into(),
        out: Some(t.path().join("run")),
        seeds: Some(2),
        episodes: Some(32),
        threads: Some(2),
        quiet: true,
        ..Default::default()
    })
    .unwrap();
    let df = read_parquet(&dir.join("trials.parquet")).unwrap();
    let (variant, condition) = (
        col_str(&df, "variant").unwrap(),
        col_str(&df, "condition").unwrap(),
    );
    let seed = col_u64(&df, "seed").unwrap();
    let episode = col_u64(&df, "episode").unwrap();
    let trial = col_u64(&df, "trial").unwrap();
    let action = col_u64(&df, "action").unwrap();
    let reward = col_f64(&df, "reward").unwrap();
    let f = |n: &str| col_f64(&df, n).unwrap();
    let (pl, pr, ul, ur) = (f("p_left"), f("p_right"), f("u_left"), f("u_right"));
    // 2 variants × 4 conditions × 2 seeds × 20 episodes × 100 trials.
    assert_eq!(df.height(), 2 * 4 * 2 * 20 * 100);

    // (seed, episode, trial) → the uniforms and the independent/correlated p_L.
    let mut uniforms: BTreeMap<(u64, u64, u64), (u64, u64)> = BTreeMap::new();
    let mut first_p: BTreeMap<(u64, u64), f64> = BTreeMap::new();
    for i in 0..df.height() {
        let key = (seed[i], episode[i], trial[i]);
        let u = (ul[i].to_bits(), ur[i].to_bits());
        assert_eq!(
            *uniforms.entry(key).or_insert(u),
            u,
            "row {i}: uniforms differ"
        );
        let a = action[i] as usize;
        let (p, u) = ([pl[i], pr[i]], [ul[i], ur[i]]);
        assert_eq!(
            reward[i] == 1.0,
            u[a] < p[a],
            "row {i}: reward against u < p"
        );
        match condition[i].as_str() {
            "fixed_25_75" => assert!(p == [0.25, 0.75] || p == [0.75, 0.25]),
            "fixed_60_40" => assert!(p == [0.6, 0.4] || p == [0.4, 0.6]),
            "correlated" => assert_eq!(p[1], 1.0 - p[0]),
            "independent" => assert!(p[0] != p[1]),
            other => panic!("unexpected condition {other}"),
        }
        // Independent and correlated episodes share their first uniform (p_L);
        // the fixed problems on random sides are swapped iff it is below 1/2.
        // (The conditions are tested in order, so the independent one is seen first.)
        if matches!(condition[i].as_str(), "independent" | "correlated") {
            let e = first_p.entry((seed[i], episode[i])).or_insert(p[0]);
            assert_eq!(*e, p[0], "row {i} ({}, {})", variant[i], condition[i]);
        } else {
            let z = first_p[&(seed[i], episode[i])];
            // As configured, the better arm is on the right in 0.25/0.75 and on the left in 0.6/0.4.
            let swapped = if condition[i] == "fixed_25_75" {
                p[0] > p[1]
            } else {
                p[0] < p[1]
            };
            assert_eq!(z < 0.5, swapped, "row {i}: sides against the first uniform");
        }
    }

    // The analysis's per-seed regret equals the regret computed from the table.
    let o = Outcomes::read(&dir.join("outcomes.json")).unwrap();
    for (v, metric) in [
        ("independent", "regret_independent_network_independent"),
        ("correlated", "regret_fixed_60_40_network_correlated"),
    ] {
        let cond = if v == "independent" {
            "independent"
        } else {
            "fixed_60_40"
        };
        for (k, s) in [1u64, 2].iter().enumerate() {
            let rows: Vec<usize> = (0..df.height())
                .filter(|&i| variant[i] == v && condition[i] == cond && seed[i] == *s)
                .collect();
            let regret: f64 = rows
                .iter()
                .map(|&i| pl[i].max(pr[i]) - if action[i] == 0 { pl[i] } else { pr[i] })
                .sum::<f64>()
                / 20.0;
            let reported = o.metrics[metric].estimate.per_seed[k];
            assert!(
                (regret - reported).abs() < 1e-9,
                "{metric} seed {s}: {regret} vs {reported}"
            );
        }
    }
    // The figure was written.
    assert!(dir.join("figures/f1_bandits.png").is_file());
}
