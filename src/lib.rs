//! pfc-metarl: Wang et al. 2018, "Prefrontal cortex as a meta-reinforcement
//! learning system", reproduced. See README.md and shared/DESIGN.md.

pub mod agent;
pub mod bench;
pub mod checks;
pub mod config;
pub mod experiments;
pub mod plot;
pub mod record;
pub mod run;
pub mod stats;
pub mod tasks;
pub mod train;

/// Where experiment TOMLs live (relative to the working directory; the
/// crate's own folder is the fallback).
pub const EXPERIMENTS_DIR: &str = "experiments";
