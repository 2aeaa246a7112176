//! Outcome regression for the introductory bandits (paper Fig. 1): trains for
//! real (profile `quick`: seeds 1 and 2 of both variants with the default
//! training budget, 100 test episodes per condition) and asserts that each
//! network has learned to exploit its family with frozen weights, with margins.
//!
//! Why the margins are robust: an agent choosing at random has an expected
//! regret at trial 100 of 100 · E|p_L − p_R| / 2 = 16.7 on independent and 25
//! on correlated bandits, and earns 0.5 per trial; UCB1 has about 5.6 and 6.0,
//! the Bayes-optimal policies 1.75 and 1.22. The test asks each network for
//! less than half of chance-level regret on its own family, below 8 and 5.
//! (Reward per trial is not asserted: it varies with the drawn p, by about
//! 0.024 over 100 episodes; regret is the measure that removes that.)
//! Those bounds a classic algorithm meets too; two assertions need more:
//! - the paper's first check, per seed: the independent-trained network's
//!   regret is below UCB1's on the same episodes by more than 1 (at this budget
//!   by 3.2 and 2.5; Thompson sampling, 2.7, also passes it);
//! - the family effect: on independent bandits the independent-trained network
//!   has lower regret than the correlated-trained one by more than 0.5 on each
//!   seed (at this budget 1.1 and 2.2; the default run, 3.71 against 2.87). A
//!   learner blind to the training family would train two equal networks.
//!   (The paper's 0.25/0.75 version of the family effect is not asserted: it is
//!   not significant at this budget, see README.)
//!
//! The correlated-trained network must encode p_L: |r| of the first principal
//! component of its state at the last trial with p_L above 0.5 (a network that
//! ignored its outcomes would have |r| ≈ 0, ± 0.1 over 100 episodes).

mod common;

#[test]
fn bandit_networks_exploit_their_family_with_frozen_weights() {
    let (_dir, o) = common::run_profile("f1_bandits", "quick");
    // Every metric asserted below has one value per seed.
    let m = |name: &str| {
        let e = o.metrics[name].estimate.clone();
        assert_eq!(e.per_seed.len(), 2, "{name}: {:?}", e.per_seed);
        e
    };
    for (name, below) in [
        ("regret_independent_network_independent", 8.0),
        ("regret_correlated_network_correlated", 5.0),
    ] {
        let e = m(name);
        println!("{name}: {:?}", e.per_seed);
        assert!(
            e.per_seed.iter().all(|&v| v < below),
            "{name}: {:?}",
            e.per_seed
        );
    }
    let vs_ucb = m("independent_network_minus_ucb1");
    println!("independent-trained network − UCB1: {:?}", vs_ucb.per_seed);
    assert!(
        vs_ucb.per_seed.iter().all(|&v| v < -1.0),
        "network − UCB1: {:?}",
        vs_ucb.per_seed
    );
    let own = m("regret_independent_network_independent").per_seed;
    let other = m("regret_independent_network_correlated").per_seed;
    println!("independent bandits: independent- / correlated-trained network {own:?} / {other:?}");
    assert!(
        own.iter().zip(&other).all(|(a, b)| b - a > 0.5),
        "independent bandits: independent-trained {own:?}, correlated-trained {other:?}"
    );
    let r = m("pca_pc1_abs_r_p_left_network_correlated");
    println!("|r|(PC1, p_L): {:?}", r.per_seed);
    assert!(
        r.per_seed.iter().all(|&v| v > 0.5),
        "|r|(PC1, p_L): {:?}",
        r.per_seed
    );
    // The reference agents ran on the same episodes: each condition's ratios
    // are taken to the Bayes-optimal policy of that condition's family (a ratio
    // of 1 for that policy; another yardstick would give another value), and
    // UCB1 is worse than it.
    for c in ["independent", "correlated"] {
        let own = m(&format!("ratio_{c}_bayes_{c}"));
        assert!(own.per_seed.iter().all(|&v| v == 1.0));
        let ucb = m(&format!("ratio_{c}_ucb1"));
        assert!(
            ucb.per_seed.iter().all(|&v| v > 1.5),
            "{c}: UCB1 {:?}",
            ucb.per_seed
        );
    }
}
