//! Outcome regression for Simulation 4: trains for real (profile `quick`: seeds
//! 1 and 2 with the default training budget, 100 test episodes) and asserts the
//! paper's qualitative effect with a margin.
//!
//! Why the margins are robust: a network without the model-based pattern has a
//! model-based index of 0 ± 0.02 (sampling error of four stay probabilities over
//! ~10,000 test trials); the default 8-seed run's smallest per-seed index is 0.61.
//! The test asks for > 0.25 on every seed: more than 10 standard errors above
//! chance and well below what a trained network reaches.

mod common;

#[test]
fn two_step_network_is_model_based_with_frozen_weights() {
    let (_dir, o) = common::run_profile("s4_two_step", "quick");
    let m = |name: &str| o.metrics[name].estimate.clone();
    let mb = m("model_based_index");
    println!("model-based index per seed: {:?}", mb.per_seed);
    assert_eq!(mb.per_seed.len(), 2);
    assert!(
        mb.per_seed.iter().all(|&v| v > 0.25),
        "model-based index {:?}",
        mb.per_seed
    );
    // Lag-1 regression weights have the model-based signs on every seed.
    for (name, sign) in [
        ("lag1_common_rewarded", 1.0),
        ("lag1_uncommon_unrewarded", 1.0),
        ("lag1_uncommon_rewarded", -1.0),
        ("lag1_common_unrewarded", -1.0),
    ] {
        let w = m(name);
        assert!(
            w.per_seed.iter().all(|&v| v * sign > 0.5),
            "{name}: {:?}",
            w.per_seed
        );
    }
    // The network earns more than chance (0.5 reward per trial).
    assert!(m("reward_per_trial").per_seed.iter().all(|&v| v > 0.6));
}
