//! The bandit with stable and volatile blocks of Simulation 2 against its
//! definition: block lengths, reversal counts, p(arm 0) + p(arm 1) = 1, the
//! paying arm's frequency within binomial bounds (4.5 standard errors, so a
//! correct task fails with probability < 1e-5 per check), the latents, common
//! random numbers across block orders, and the validation of its keys.

use metarl::experiments;
use metarl::tasks::volatile_bandit::{
    BlockKind, ScheduledTrial, VolatileBandit, VolatileBanditConfig, LATENTS,
};
use metarl::tasks::{Phase, Task, TaskSpec};
use metarl::train::rng_for;
use rand::Rng;

mod common;

fn within(count: f64, n: f64, p: f64) -> bool {
    let se = (p * (1.0 - p) / n).sqrt().max(1e-12);
    (count / n - p).abs() < 4.5 * se
}

fn paper_config() -> VolatileBanditConfig {
    use BlockKind::*;
    VolatileBanditConfig {
        stable_p: 0.75,
        volatile_p: 0.8,
        train_trials: 200,
        train_block_trials: [25, 75],
        train_volatile_share: 0.5,
        train_reversal_period: [10, 30],
        test_blocks: vec![Stable, Volatile, Volatile, Stable],
        test_block_trials: 50,
        test_reversal_period: 25,
        fixation_step: false,
    }
}

fn latent(name: &str) -> usize {
    LATENTS.iter().position(|l| l.name == name).unwrap()
}

/// Play an episode with random actions; check the step outcomes and that the
/// latents equal the schedule; return the schedule.
fn play(task: &mut VolatileBandit, rng: &mut metarl::tasks::TaskRng) -> Vec<ScheduledTrial> {
    let mut agent = rng_for(77, 1);
    task.reset(rng);
    let sched = task.schedule().to_vec();
    let mut lat = [0.0f64; LATENTS.len()];
    for (t, s) in sched.iter().enumerate() {
        assert_eq!(task.position(), (t as u32, 0));
        let a = agent.random_range(0..2);
        let out = task.step(a, rng, &mut lat);
        assert_eq!(out.done, t + 1 == sched.len());
        assert_eq!(out.reward, (a == s.rewarded_arm) as u8 as f32);
        assert_eq!(lat[latent("p_arm0")], s.p_arm0);
        assert_eq!(lat[latent("rewarded_arm")], s.rewarded_arm as f64);
        assert_eq!(lat[latent("block")], s.block as f64);
        assert_eq!(lat[latent("block_label")], s.block_label as f64);
        assert_eq!(lat[latent("volatile")], s.volatile as u8 as f64);
        assert_eq!(lat[latent("hazard")], s.hazard);
        assert_eq!(lat[latent("trial_in_block")], s.trial_in_block as f64);
    }
    sched
}

/// Trials within a block where p changed from the previous trial.
fn reversals_in(block: &[ScheduledTrial]) -> Vec<usize> {
    block
        .windows(2)
        .filter(|w| w[0].p_arm0 != w[1].p_arm0)
        .map(|w| w[1].trial_in_block)
        .collect()
}

fn blocks(sched: &[ScheduledTrial]) -> Vec<&[ScheduledTrial]> {
    sched.chunk_by(|a, b| a.block == b.block).collect()
}

/// The test episode, both orders: four 50-trial blocks in the configured
/// order; p(arm 0) + p(arm 1) = 1 with the better arm at 0.75 (stable) or 0.8
/// (volatile); one reversal at trial 25 of each volatile block and none in a
/// stable block; consecutive volatile blocks reverse at their boundary; labels
/// Stable 1 = 0, Volatile 1 = 1, Stable 2 = 2, Volatile 2 = 3; hazard 1/25 in
/// volatile blocks; arm 0 pays with frequency p (binomial bounds per p).
#[test]
fn test_episodes_follow_the_paper_schedule_in_both_orders() {
    use BlockKind::*;
    for (order, labels) in [
        (vec![Stable, Volatile, Volatile, Stable], [0, 1, 3, 2]),
        (vec![Volatile, Stable, Stable, Volatile], [1, 0, 2, 3]),
    ] {
        let cfg = VolatileBanditConfig {
            test_blocks: order.clone(),
            ..paper_config()
        };
        let mut task = VolatileBandit::new(cfg, Phase::Test);
        assert_eq!(
            (task.max_steps(), task.obs_dim(), task.n_actions()),
            (200, 0, 2)
        );
        let mut rng = rng_for(3, 50);
        let mut pays: std::collections::BTreeMap<u64, (f64, f64)> = Default::default();
        // Boundaries not between two volatile blocks: (count, reversals).
        let (mut free, mut free_reversals) = (0.0, 0.0);
        for _ in 0..2000 {
            let sched = play(&mut task, &mut rng);
            assert_eq!(sched.len(), 200);
            let bl = blocks(&sched);
            assert_eq!(bl.len(), 4);
            for (b, block) in bl.iter().enumerate() {
                assert_eq!(block.len(), 50);
                let volatile = order[b] == Volatile;
                let hi = if volatile { 0.8 } else { 0.75 };
                for t in block.iter() {
                    assert_eq!(t.volatile, volatile);
                    assert_eq!(t.block_label, labels[b]);
                    assert_eq!(t.hazard, if volatile { 1.0 / 25.0 } else { 0.0 });
                    assert!(
                        (t.p_arm0 - hi).abs() < 1e-12 || (t.p_arm0 - (1.0 - hi)).abs() < 1e-12,
                        "p(arm 0) = {} in a block with p = {hi}",
                        t.p_arm0
                    );
                }
                let rev = reversals_in(block);
                assert_eq!(rev, if volatile { vec![25] } else { vec![] });
                if b > 0 && volatile && order[b - 1] == Volatile {
                    // The alternation continues across the boundary.
                    assert_eq!(block[0].p_arm0, 1.0 - bl[b - 1][49].p_arm0);
                } else if b > 0 {
                    // Otherwise the better arm is drawn afresh: a reversal half the time.
                    free += 1.0;
                    free_reversals +=
                        ((block[0].p_arm0 > 0.5) != (bl[b - 1][49].p_arm0 > 0.5)) as u8 as f64;
                }
            }
            for t in &sched {
                let e = pays.entry((t.p_arm0 * 100.0).round() as u64).or_default();
                e.0 += 1.0;
                e.1 += (t.rewarded_arm == 0) as u8 as f64;
            }
        }
        for (p, (n, paid)) in pays {
            assert!(
                within(paid, n, p as f64 / 100.0),
                "p = {p}%: arm 0 paid {}",
                paid / n
            );
        }
        assert!(
            within(free_reversals, free, 0.5),
            "{free_reversals} of {free}"
        );
    }
}

/// Training episodes: 200 trials; blocks of 25–75 trials (the last one may be
/// cut at the episode end); each block volatile with probability 1/2; in a
/// volatile block of period k (10–30, uniform), p reverses exactly every k
/// trials and the hazard is 1/k; stable blocks never reverse inside.
#[test]
fn training_blocks_follow_their_ranges() {
    let mut task = VolatileBandit::new(paper_config(), Phase::Train);
    assert_eq!(task.max_steps(), 200);
    let mut rng = rng_for(5, 50);
    let (mut n_blocks, mut n_volatile) = (0.0, 0.0);
    let mut periods = [0usize; 31];
    let mut lengths = [0usize; 76];
    for _ in 0..3000 {
        let sched = play(&mut task, &mut rng);
        assert_eq!(sched.len(), 200);
        let bl = blocks(&sched);
        for (b, block) in bl.iter().enumerate() {
            let last = b + 1 == bl.len();
            assert!(
                block.len() <= 75 && (last || block.len() >= 25),
                "block of {}",
                block.len()
            );
            if !last {
                lengths[block.len()] += 1;
            }
            let rev = reversals_in(block);
            n_blocks += 1.0;
            if block[0].volatile {
                n_volatile += 1.0;
                let k = (1.0 / block[0].hazard).round() as usize;
                assert!((10..=30).contains(&k));
                periods[k] += 1;
                let expected: Vec<usize> = (1..)
                    .map(|i| i * k)
                    .take_while(|&t| t < block.len())
                    .collect();
                assert_eq!(rev, expected, "period {k}, block of {}", block.len());
            } else {
                assert!(rev.is_empty());
                assert_eq!(block[0].hazard, 0.0);
            }
        }
    }
    assert!(
        within(n_volatile, n_blocks, 0.5),
        "volatile share {}",
        n_volatile / n_blocks
    );
    assert!(periods[10..=30].iter().all(|&c| c > 0) && periods[..10].iter().all(|&c| c == 0));
    assert!(lengths[25] > 0 && lengths[75] > 0 && lengths[..25].iter().all(|&c| c == 0));
}

/// The two block orders see the same per-trial draws: arm 0 pays on a trial
/// when that trial's uniform u < p(arm 0), with the same u in both orders; so
/// where arm 0 pays under the lower p(arm 0) of the two orders, it pays under the
/// higher one too (independent draws would break this on about 1 trial in 6).
#[test]
fn block_orders_share_their_random_draws() {
    use BlockKind::*;
    let mk = |order: Vec<BlockKind>| {
        VolatileBandit::new(
            VolatileBanditConfig {
                test_blocks: order,
                ..paper_config()
            },
            Phase::Test,
        )
    };
    let mut a = mk(vec![Stable, Volatile, Volatile, Stable]);
    let mut b = mk(vec![Volatile, Stable, Stable, Volatile]);
    let (mut ra, mut rb) = (rng_for(9, 50), rng_for(9, 50));
    for _ in 0..200 {
        let (sa, sb) = (play(&mut a, &mut ra), play(&mut b, &mut rb));
        for (x, y) in sa.iter().zip(&sb) {
            let (lo, hi) = if x.p_arm0 <= y.p_arm0 { (x, y) } else { (y, x) };
            assert!(
                !(lo.rewarded_arm == 0 && hi.rewarded_arm == 1),
                "{x:?} vs {y:?}"
            );
        }
    }
}

/// With the fixation step each trial is a fixation step (cue 1, reward 0,
/// position (t, 0), latents of the trial) then the choice (cue 0, position (t, 1)).
#[test]
fn fixation_step_precedes_each_choice() {
    let cfg = VolatileBanditConfig {
        fixation_step: true,
        ..paper_config()
    };
    let mut task = VolatileBandit::new(cfg, Phase::Test);
    assert_eq!((task.max_steps(), task.obs_dim()), (400, 1));
    let mut rng = rng_for(4, 50);
    task.reset(&mut rng);
    let sched = task.schedule().to_vec();
    let (mut lat, mut obs) = ([0.0; LATENTS.len()], [f32::NAN]);
    for (t, s) in sched.iter().enumerate() {
        assert_eq!(task.position(), (t as u32, 0));
        task.observe(&mut obs);
        assert_eq!(obs, [1.0]);
        let out = task.step(s.rewarded_arm, &mut rng, &mut lat);
        assert_eq!((out.reward, out.done), (0.0, false));
        assert_eq!(lat[latent("p_arm0")], s.p_arm0);
        assert_eq!(task.position(), (t as u32, 1));
        task.observe(&mut obs);
        assert_eq!(obs, [0.0]);
        let out = task.step(s.rewarded_arm, &mut rng, &mut lat);
        assert_eq!((out.reward, out.done), (1.0, t + 1 == sched.len()));
    }
}

#[test]
fn invalid_keys_are_named() {
    let ok = paper_config();
    ok.validate().unwrap();
    let bad = |f: &dyn Fn(&mut VolatileBanditConfig), key: &str| {
        let mut c = paper_config();
        f(&mut c);
        let e = format!("{:#}", c.validate().expect_err(key));
        assert!(e.contains(key), "{key}: {e}");
    };
    bad(&|c| c.stable_p = 1.5, "task.stable_p");
    bad(&|c| c.volatile_p = -0.1, "task.volatile_p");
    bad(
        &|c| c.train_volatile_share = 2.0,
        "task.train_volatile_share",
    );
    bad(
        &|c| c.train_block_trials = [50, 300],
        "task.train_block_trials",
    );
    bad(
        &|c| c.train_block_trials = [0, 30],
        "task.train_block_trials",
    );
    bad(
        &|c| c.train_reversal_period = [30, 10],
        "task.train_reversal_period",
    );
    bad(&|c| c.test_blocks.clear(), "task.test_blocks");
    bad(&|c| c.test_block_trials = 0, "task.test_block_trials");
    bad(&|c| c.test_reversal_period = 0, "task.test_reversal_period");
    // An unknown block kind in the TOML is named.
    let text = common::experiment_text("s2_volatility");
    let e = common::error_of(&text.replacen(
        "test_blocks = [\"stable\", \"volatile\", \"volatile\", \"stable\"]",
        "test_blocks = [\"stable\", \"chaotic\"]",
        1,
    ));
    assert!(e.contains("test_blocks") && e.contains("chaotic"), "{e}");
}

/// The shipped experiment is valid with every profile; its conditions are the
/// two block orders; a test without a volatile block is refused by the analysis.
#[test]
fn shipped_experiment_is_valid() {
    let text = common::experiment_text("s2_volatility");
    experiments::parse(&text, "s2", None).unwrap();
    let cfg = experiments::parse(&text, "s2", Some("quick")).unwrap();
    let names: Vec<String> = cfg
        .test_conditions()
        .unwrap()
        .iter()
        .map(|c| c.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["stable_first", "volatile_first"]);
    let no_volatile = text.replace(
        "task = { test_blocks = [\"volatile\", \"stable\", \"stable\", \"volatile\"] }",
        "task = { test_blocks = [\"stable\", \"stable\"] }",
    );
    let e = format!(
        "{:#}",
        experiments::parse(&no_volatile, "s2", None).unwrap_err()
    );
    assert!(
        e.contains("test_blocks") && e.contains("volatile_first"),
        "{e}"
    );
}
