//! Outcome regression for Simulation 4: trains for real (profile `quick`: seeds
//! 1 and 2 with the default training budget, 100 test episodes) and asserts the
//! paper's qualitative effect with a margin.
//!
//! Why the margins are robust: the model-based index of a random chooser is
//! 0 ± 0.03, but a pure model-free learner's is positive too (0.29 to 0.42 per
//! seed for the reference learners of experiments/s4_two_step.toml: its cached
//! values correlate with the transition type). So the test asks for the paper's
//! target, an index of at least 0.5, on every seed (at this budget 0.65 and
//! 0.71; the default 8-seed run's smallest per-seed index is 0.61), and for
//! the four lag-1 regression weights with the model-based signs, beyond ±0.5
//! (at this budget every one is beyond ±1.9): the two uncommon-transition
//! weights are what only a model-based learner gets right.

mod common;

#[test]
fn two_step_network_is_model_based_with_frozen_weights() {
    let (_dir, o) = common::run_profile("s4_two_step", "quick");
    let m = |name: &str| o.metrics[name].estimate.clone();
    let mb = m("model_based_index");
    println!("model-based index per seed: {:?}", mb.per_seed);
    assert_eq!(mb.per_seed.len(), 2);
    assert!(
        mb.per_seed.iter().all(|&v| v >= 0.5),
        "model-based index {:?}",
        mb.per_seed
    );
    // Lag-1 regression weights have the model-based signs on every seed.
    common::assert_model_based_lag1_weights(&o);
    // The network earns more than chance (0.5 reward per trial).
    assert!(m("reward_per_trial").per_seed.iter().all(|&v| v > 0.6));
}
