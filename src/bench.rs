//! Training throughput on one core, shared by `metarl bench` and the criterion
//! benchmark. Two units, never mixed: network steps per second (one LSTM step
//! each) and task trials per second (a trial is one or more network steps,
//! depending on the task: two in the two-step task).

use crate::config::Config;
use crate::train;
use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub experiment: String,
    /// Network (LSTM) steps per second of training.
    pub network_steps_per_sec: f64,
    /// Task trials per second of training.
    pub trials_per_sec: f64,
    /// The same as `network_steps_per_sec` (the name used before trials were counted).
    pub env_steps_per_sec: f64,
    pub network_steps: u64,
    pub trials: u64,
    pub seconds: f64,
    pub episodes: usize,
    pub batch: usize,
    pub hidden: usize,
}

/// Train one seed for `episodes` episodes on the calling thread and time it
/// (rollout, loss, backpropagation through time and optimiser; no evaluation).
/// With training variants, the first variant is timed.
pub fn training_throughput(cfg: &Config, episodes: usize) -> Result<Throughput> {
    let mut cfg = cfg.training_variants()?.swap_remove(0).1;
    cfg.training.episodes = episodes;
    let trained = train::train_seed(&cfg, 12345, |_, _, _| {})?;
    let steps_per_sec = trained.env_steps as f64 / trained.seconds;
    Ok(Throughput {
        experiment: cfg.experiment.name.clone(),
        network_steps_per_sec: steps_per_sec,
        trials_per_sec: trained.trials as f64 / trained.seconds,
        env_steps_per_sec: steps_per_sec,
        network_steps: trained.env_steps,
        trials: trained.trials,
        seconds: trained.seconds,
        episodes,
        batch: cfg.training.batch,
        hidden: cfg.agent.hidden,
    })
}
