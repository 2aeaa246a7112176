//! Training throughput (environment steps per second on one core), shared by
//! `metarl bench` and the criterion benchmark.

use crate::config::Config;
use crate::train;
use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub experiment: String,
    pub env_steps_per_sec: f64,
    pub env_steps: u64,
    pub seconds: f64,
    pub episodes: usize,
    pub batch: usize,
    pub hidden: usize,
}

/// Train one seed for `episodes` episodes on the calling thread and time it
/// (rollout, loss, backpropagation through time and optimiser; no evaluation).
pub fn training_throughput(cfg: &Config, episodes: usize) -> Result<Throughput> {
    let mut cfg = cfg.clone();
    cfg.training.episodes = episodes;
    let trained = train::train_seed(&cfg, 12345, |_, _, _| {})?;
    Ok(Throughput {
        experiment: cfg.experiment.name.clone(),
        env_steps_per_sec: trained.env_steps as f64 / trained.seconds,
        env_steps: trained.env_steps,
        seconds: trained.seconds,
        episodes,
        batch: cfg.training.batch,
        hidden: cfg.agent.hidden,
    })
}
