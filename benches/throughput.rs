//! Training throughput at each shipped experiment's settings (the TOML's batch of
//! lock-step episodes), on one core: one A2C update = rollout, loss,
//! backpropagation through time, clipping and optimiser step. Criterion reports
//! time per update and network steps per second (elements = network steps per
//! update; a two-step trial is two network steps). `metarl bench` prints the
//! same throughput over a whole training run, in network steps/s and trials/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use metarl::train::Trainer;
use metarl::{config, experiments};

fn a2c_update(c: &mut Criterion) {
    for (name, _) in config::shipped() {
        let cfg = experiments::load(name, None)
            .expect("shipped experiment")
            .config;
        let cfg = cfg.training_variants().expect("variants").swap_remove(0).1;
        let mut trainer = Trainer::new(&cfg, 1);
        // Network steps per update, measured (episode lengths may vary).
        let steps: u64 = (0..8).map(|_| trainer.update().env_steps).sum::<u64>() / 8;
        let mut group = c.benchmark_group(*name);
        group.throughput(Throughput::Elements(steps));
        group.bench_function("a2c_update_network_steps", |b| b.iter(|| trainer.update()));
        group.finish();
    }
}

criterion_group!(benches, a2c_update);
criterion_main!(benches);
