//! The reference agents of the introductory bandits (paper Fig. 1) on their
//! own: how long their tables take to compute, and their regret at trial 100
//! on random episodes of each family (a development set drawn from its own
//! seed, not the experiment's test episodes), including the Gittins policy
//! for several discounts.
//!
//! cargo run --release --example f1_baselines [episodes]

use metarl::experiments::f1_bandits::baselines::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

const HORIZON: usize = 100;

fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

fn main() {
    let n_episodes: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("episodes"))
        .unwrap_or(4000);

    let t0 = Instant::now();
    let bayes_ind = BayesIndependent::new(HORIZON);
    println!(
        "Bayes-optimal (independent), {HORIZON} trials: {:.3} s, table {:.2} MB, expected reward {:.4}, expected regret {:.4}",
        t0.elapsed().as_secs_f64(),
        bayes_ind.table_bytes() as f64 / 1e6,
        bayes_ind.value(),
        HORIZON as f64 * 2.0 / 3.0 - bayes_ind.value()
    );
    let t0 = Instant::now();
    let bayes_cor = BayesCorrelated::new(HORIZON);
    println!(
        "Bayes-optimal (correlated): {:.4} s, expected reward {:.4}, expected regret {:.4}",
        t0.elapsed().as_secs_f64(),
        bayes_cor.value(),
        HORIZON as f64 * 0.75 - bayes_cor.value()
    );

    let discounts = [0.8, 0.9, 0.95, 0.98, 0.99];
    let mut gittins = Vec::new();
    for &beta in &discounts {
        let t0 = Instant::now();
        let table = GittinsTable::new(beta, HORIZON as u32 - 1, 1e-6);
        println!(
            "Gittins table, discount {beta}: {:.2} s (depth {}, {} threads)",
            t0.elapsed().as_secs_f64(),
            gittins_depth(beta, 1e-6),
            rayon::current_num_threads()
        );
        gittins.push(Gittins {
            table: std::sync::Arc::new(table),
        });
    }

    let mut agents: Vec<(String, &dyn BanditPolicy)> = vec![
        ("bayes_independent".into(), &bayes_ind),
        ("bayes_correlated".into(), &bayes_cor),
        ("thompson".into(), &Thompson),
        ("ucb1".into(), &Ucb1),
        ("greedy".into(), &Greedy),
    ];
    for (g, beta) in gittins.iter().zip(discounts) {
        agents.push((format!("gittins {beta}"), g));
    }

    for family in [Prior::Independent, Prior::Correlated] {
        let mut rng = ChaCha8Rng::seed_from_u64(20_250_101);
        let episodes: Vec<Episode> = (0..n_episodes)
            .map(|_| Episode::draw(family, HORIZON, &mut rng))
            .collect();
        println!(
            "\n{family:?} bandits, {n_episodes} episodes: regret at trial {HORIZON} (mean ± SE)"
        );
        for (i, (name, agent)) in agents.iter().enumerate() {
            let t0 = Instant::now();
            let regret: Vec<f64> = episodes
                .iter()
                .enumerate()
                .map(|(e, ep)| {
                    let p = play(*agent, ep, &mut policy_rng(1, i as u32, e as u32));
                    *cumulative_regret(ep.p, &p.choices).last().unwrap()
                })
                .collect();
            let (m, se) = mean_se(&regret);
            println!(
                "  {name:<20} {m:7.3} ± {se:.3}   ({:.0} ms)",
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}
