//! The risky/safe lever task of Simulation 6 against its definition: block
//! structure, forced trials, payouts, the payout rates per block within binomial
//! bounds (4.5 standard errors), the lever sides, and that every random draw is
//! made at reset (episodes do not depend on the agent's actions).

use metarl::tasks::risky_safe::{BlockOrder, RiskySafe, RiskySafeConfig, LEFT, RIGHT};
use metarl::tasks::{Phase, Task, TaskRng};
use metarl::train::rng_for;
use rand::Rng;

fn config() -> RiskySafeConfig {
    RiskySafeConfig {
        safe_reward: 1.0,
        risky_reward: 4.0,
        block_probs: vec![1.0, 0.5, 0.25, 0.125],
        train_order: BlockOrder::Shuffled,
        test_order: BlockOrder::AsListed,
        forced_trials: 8,
        free_trials: 10,
    }
}

fn within(count: f64, n: f64, p: f64) -> bool {
    let se = (p * (1.0 - p) / n).sqrt();
    (count / n - p).abs() <= 4.5 * se + 1e-12
}

/// Column indices of the task's latents.
fn col(task: &RiskySafe, name: &str) -> usize {
    task.latents().iter().position(|l| l.name == name).unwrap()
}

/// One episode with random presses: (observation, action, reward, latents) per trial.
fn episode(
    task: &mut RiskySafe,
    rng: &mut TaskRng,
    agent: &mut TaskRng,
) -> Vec<([f32; 2], usize, f32, Vec<f64>)> {
    task.reset(rng);
    let mut out = vec![];
    let mut obs = [0.0f32; 2];
    let mut lat = vec![0.0f64; task.latents().len()];
    for t in 0..task.max_steps() {
        assert_eq!(task.position(), (t as u32, 0));
        task.observe(&mut obs);
        let a = agent.random_range(0..2);
        let o = task.step(a, rng, &mut lat);
        assert_eq!(o.done, t + 1 == task.max_steps());
        out.push((obs, a, o.reward, lat.clone()));
    }
    out
}

#[test]
fn blocks_forced_trials_and_payouts_follow_the_definition() {
    let cfg = config();
    let mut task = RiskySafe::new(cfg.clone(), Phase::Test);
    assert_eq!(task.max_steps(), 4 * 18);
    let (block, prob, forced, side, would, chose, valid) = (
        col(&task, "block"),
        col(&task, "block_prob"),
        col(&task, "forced"),
        col(&task, "risky_side"),
        col(&task, "risky_would_pay"),
        col(&task, "chose_risky"),
        col(&task, "valid"),
    );
    let (win, loss, safe) = (
        col(&task, "risky_win"),
        col(&task, "risky_loss"),
        col(&task, "safe_win"),
    );
    let mut rng = rng_for(5, 77);
    let mut agent = rng_for(6, 77);
    let mut pays = [(0.0, 0.0); 4];
    let mut right_risky = 0.0;
    let n_episodes = 2000;
    for _ in 0..n_episodes {
        let ep = episode(&mut task, &mut rng, &mut agent);
        right_risky += (ep[0].3[side] == RIGHT as f64) as u8 as f64;
        for (t, (obs, a, r, l)) in ep.iter().enumerate() {
            let (b, k) = (t / 18, t % 18);
            assert_eq!(l[block], b as f64);
            // Test order: as listed.
            assert_eq!(l[prob], cfg.block_probs[b]);
            assert_eq!(
                l[side], ep[0].3[side],
                "the risky side is fixed within an episode"
            );
            let is_forced = k < 8;
            assert_eq!(l[forced], is_forced as u8 as f64);
            if is_forced {
                assert_eq!(obs[0] + obs[1], 1.0, "one lever on a forced trial");
            } else {
                assert_eq!(*obs, [1.0, 1.0], "both levers on a free trial");
            }
            let available = obs[*a] == 1.0;
            assert_eq!(l[valid], available as u8 as f64);
            let risky = *a as f64 == l[side];
            assert_eq!(l[chose], risky as u8 as f64);
            let expected = match (available, risky) {
                (false, _) => 0.0,
                (true, true) => 4.0 * l[would] as f32,
                (true, false) => 1.0,
            };
            assert_eq!(*r, expected, "trial {t}");
            assert_eq!(l[win], (available && risky && l[would] == 1.0) as u8 as f64);
            assert_eq!(
                l[loss],
                (available && risky && l[would] == 0.0) as u8 as f64
            );
            assert_eq!(l[safe], (available && !risky) as u8 as f64);
            pays[b].0 += l[would];
            pays[b].1 += 1.0;
        }
        // Each block's forced trials: half on each lever.
        for b in 0..4 {
            let left = (0..8).filter(|k| ep[b * 18 + k].0 == [1.0, 0.0]).count();
            assert_eq!(left, 4, "block {b}: forced trials on the left lever");
        }
        assert_eq!(LEFT, 0);
    }
    for (b, &(k, n)) in pays.iter().enumerate() {
        let p = cfg.block_probs[b];
        assert!(within(k, n, p), "block {b}: risky pays {k}/{n}, p = {p}");
    }
    assert!(
        within(right_risky, n_episodes as f64, 0.5),
        "right risky {right_risky}"
    );
}

#[test]
fn training_order_is_a_fresh_permutation_per_episode() {
    let cfg = config();
    let mut task = RiskySafe::new(cfg.clone(), Phase::Train);
    let mut rng = rng_for(9, 77);
    let mut agent = rng_for(10, 77);
    let mut first = [0.0; 4];
    let n = 4000;
    for _ in 0..n {
        let ep = episode(&mut task, &mut rng, &mut agent);
        let p = |b: usize| ep[b * 18].3[col(&task, "block_prob")];
        let mut order: Vec<f64> = (0..4).map(p).collect();
        let k = cfg.block_probs.iter().position(|&q| q == order[0]).unwrap();
        first[k] += 1.0;
        order.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(order, cfg.block_probs, "every block once");
    }
    for (k, &c) in first.iter().enumerate() {
        assert!(
            within(c, n as f64, 0.25),
            "p = {} first in {c} of {n}",
            cfg.block_probs[k]
        );
    }
}

#[test]
fn episodes_do_not_depend_on_the_agents_actions() {
    // Two agents acting differently on the same task seed see the same episode,
    // and the task draws nothing after reset.
    let mut task = RiskySafe::new(config(), Phase::Train);
    let (mut r1, mut r2) = (rng_for(11, 77), rng_for(11, 77));
    let a = episode(&mut task, &mut r1, &mut rng_for(1, 1));
    let b = episode(&mut task, &mut r2, &mut rng_for(2, 1));
    for name in [
        "block",
        "block_prob",
        "forced",
        "risky_side",
        "risky_would_pay",
    ] {
        let k = col(&task, name);
        let (x, y): (Vec<f64>, Vec<f64>) = a.iter().zip(&b).map(|(p, q)| (p.3[k], q.3[k])).unzip();
        assert_eq!(x, y, "{name}");
    }
    assert!(
        a.iter().zip(&b).any(|(p, q)| p.1 != q.1),
        "the agents acted differently"
    );
    assert_eq!(
        r1.random::<u64>(),
        r2.random::<u64>(),
        "no draws after reset"
    );
}
