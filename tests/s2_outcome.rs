//! Outcome regression for Simulation 2: trains for real (profile `quick`: seeds
//! 1 and 2 with the default training budget and the full test of 150 episodes
//! per block order) and asserts the paper's qualitative effect with a margin:
//! the learning rate fitted to the network's choices is higher in volatile than
//! in stable blocks on each seed.
//!
//! Why the margin: the effect in these networks is small (α about 0.26 in every
//! block, volatile − stable 0.008 and 0.012 on seeds 1 and 2) but measured
//! precisely: the within-seed standard error of the difference, from the fits'
//! own standard errors, is about 0.002 (the α-recovery test checks that those
//! standard errors match the spread of replicate fits). The test asks for a
//! difference of more than twice that standard error on each seed, so a network
//! whose α does not differ between blocks (0 ± 0.002) fails it.
//!
//! What it does not show: a learner that infers no volatility but updates more
//! after surprises (the fixed-hazard Bayesian reference learner) passes it too,
//! with a larger difference (0.020 in the default run; README, Simulation 2).
//! The test guards the paper's effect as the pre-registered check defines it.
//! The checks that need a volatility estimate (decoding and volatility units)
//! are too weak at this budget to assert on each seed (decoding accuracy above
//! the shuffled null by 0.007 and 0.030, no volatility unit on either seed).

mod common;

#[test]
fn learning_rate_is_higher_in_volatile_blocks() {
    let (_dir, o) = common::run_profile("s2_volatility", "quick");
    let m = |name: &str| o.metrics[name].estimate.clone();
    let diff = m("alpha_volatile_minus_stable");
    let se = m("alpha_volatile_minus_stable_se");
    println!(
        "α volatile − stable per seed: {:?} (SE {:?})",
        diff.per_seed, se.per_seed
    );
    assert_eq!(diff.per_seed.len(), 2);
    assert_eq!(se.per_seed.len(), 2);
    for (d, s) in diff.per_seed.iter().zip(&se.per_seed) {
        assert!(*s > 0.0 && *s < 0.01, "standard error {s}");
        assert!(
            *d > 2.0 * s,
            "α volatile − stable {d} is not above 2 SE ({s})"
        );
    }
    // The network learned the task: well above chance (0.5), near the best
    // fixed learning rate's reward on the same episodes (about 0.71).
    assert!(m("reward_per_trial").per_seed.iter().all(|&v| v > 0.65));
}
