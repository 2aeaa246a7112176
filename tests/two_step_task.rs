//! Task statistics of the two-step task against its parameters, within
//! binomial bounds (4.5 standard errors, so a correct task fails with
//! probability < 1e-5 per check).

use metarl::tasks::two_step::TwoStepConfig;
use metarl::tasks::{two_step::TwoStep, Task};
use metarl::train::rng_for;
use rand::Rng;

fn within(count: f64, n: f64, p: f64) -> bool {
    let se = (p * (1.0 - p) / n).sqrt();
    (count / n - p).abs() < 4.5 * se
}

#[test]
fn transition_reward_and_swap_rates_match_the_parameters() {
    let cfg = TwoStepConfig {
        trials_per_episode: 100,
        common_prob: 0.8,
        reward_prob_high: 0.9,
        reward_prob_low: 0.1,
        swap_prob: 0.025,
    };
    let mut task = TwoStep::new(cfg);
    let mut rng = rng_for(7, 99);
    let mut agent = rng_for(8, 99);
    let mut lat = [0.0f64; 3];
    let mut obs = [0.0f32; 3];
    let (mut trials, mut common, mut swaps, mut swap_chances) = (0.0, 0.0, 0.0, 0.0);
    let (mut better_n, mut better_r, mut worse_n, mut worse_r) = (0.0, 0.0, 0.0, 0.0);
    for _ in 0..400 {
        task.reset(&mut rng);
        let mut prev_better: Option<i64> = None;
        for trial in 0..100u32 {
            assert_eq!(task.position(), (trial, 0));
            task.observe(&mut obs);
            assert_eq!(obs, [1.0, 0.0, 0.0], "the first-stage state is observed");
            let a = agent.random_range(0..2);
            let out = task.step(a, &mut rng, &mut lat);
            assert_eq!(out.reward, 0.0);
            let (s2, is_common, better) = (lat[0] as i64, lat[1] as i64, lat[2] as i64);
            assert_eq!(
                s2 == a as i64,
                is_common == 1,
                "common goes to the chosen action's own state"
            );
            trials += 1.0;
            common += is_common as f64;
            if let Some(pb) = prev_better {
                swap_chances += 1.0;
                swaps += (pb != better) as u8 as f64;
            }
            prev_better = Some(better);
            task.observe(&mut obs);
            assert_eq!(
                obs[1 + s2 as usize],
                1.0,
                "the second-stage state is observed"
            );
            let out = task.step(agent.random_range(0..2), &mut rng, &mut lat);
            assert_eq!(out.done, trial == 99);
            if s2 == better {
                better_n += 1.0;
                better_r += out.reward as f64;
            } else {
                worse_n += 1.0;
                worse_r += out.reward as f64;
            }
        }
    }
    assert!(
        within(common, trials, 0.8),
        "common rate {}",
        common / trials
    );
    assert!(
        within(swaps, swap_chances, 0.025),
        "swap rate {}",
        swaps / swap_chances
    );
    assert!(
        within(better_r, better_n, 0.9),
        "better-state reward rate {}",
        better_r / better_n
    );
    assert!(
        within(worse_r, worse_n, 0.1),
        "worse-state reward rate {}",
        worse_r / worse_n
    );
}
