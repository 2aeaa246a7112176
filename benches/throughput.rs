//! Training throughput at paper settings (48 units, the TOML's batch of
//! lock-step episodes), on one core: one A2C update = rollout, loss,
//! backpropagation through time, clipping and optimiser step. Criterion reports
//! time per update and env steps per second (elements = steps per update).
//! `metarl bench` prints the same throughput over a whole training run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use metarl::config;
use metarl::train::Trainer;

fn a2c_update(c: &mut Criterion) {
    for name in ["s4_two_step", "s1_reward_history"] {
        let cfg = config::load(name, None).expect("experiment file").config;
        let mut trainer = Trainer::new(&cfg, 1);
        // Steps per update, measured (episode lengths may vary).
        let steps: u64 = (0..8).map(|_| trainer.update().env_steps).sum::<u64>() / 8;
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(steps));
        group.bench_function("a2c_update_env_steps", |b| b.iter(|| trainer.update()));
        group.finish();
    }
}

criterion_group!(benches, a2c_update);
criterion_main!(benches);
