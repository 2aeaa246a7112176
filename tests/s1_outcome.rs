//! Outcome regression for Simulation 1: trains for real (profile `quick`: seeds 1
//! and 2, 30,000 training episodes instead of the default 60,000, 100 test
//! episodes) and asserts the paper's qualitative effects with a margin.
//!
//! Why the margins are robust: a network that ignored its reward history would
//! have a lag-1 reward weight of 0 ± 0.03 (the logistic-regression SE over
//! ~10,000 test trials) and a matching slope of 0 ± 0.1; at this budget the
//! per-seed lag-1 reward weights are 1.41 and 0.99 and the slopes 0.47 and 0.53
//! (with the fixation step of the shipped TOML; about 22 s on two cores). The test
//! asks for a lag-1 reward weight > 0.15 (more than 5 SEs above 0, less than half
//! the observed value) and a slope in [0.25, 1.2] on every seed: the matching
//! effect, not the SPEC's 0.5 lower bound, which the default-budget run's
//! `metarl check` holds (its slope is close to that bound; see README).

mod common;

#[test]
fn baited_bandit_network_matches_and_weighs_past_rewards() {
    let (tmp, o) = common::run_profile("s1_reward_history", "quick");
    let dir = tmp.path().join("s1_reward_history");
    let m = |name: &str| o.metrics[name].estimate.clone();
    let reward = m("lag1_reward_weight");
    let slope = m("matching_slope");
    println!("lag-1 reward weight per seed: {:?}", reward.per_seed);
    println!("matching slope per seed: {:?}", slope.per_seed);
    assert_eq!(reward.per_seed.len(), 2);
    assert!(
        reward.per_seed.iter().all(|&v| v > 0.15),
        "lag-1 reward weight {:?}",
        reward.per_seed
    );
    assert!(
        slope.per_seed.iter().all(|&v| (0.25..=1.2).contains(&v)),
        "matching slope {:?}",
        slope.per_seed
    );
    assert!(m("matching_correlation").per_seed.iter().all(|&v| v > 0.8));
    // Units code the previous action and reward far above the shuffled null.
    // An untrained LSTM does so too (it codes its own inputs; README, "Reference
    // agents"): these two guard the recording of the state and the coding
    // analysis, not learning, which the behavioural assertions above test.
    for name in ["coding_prev_action_excess", "coding_prev_reward_excess"] {
        assert!(m(name).per_seed.iter().all(|&v| v > 0.05), "{name}");
    }
    assert!(dir.join("figures/s1_reward_history.png").exists());
}
