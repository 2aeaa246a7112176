//! pfc-metarl: Wang et al. 2018, "Prefrontal cortex as a meta-reinforcement
//! learning system", reproduced. See README.md and shared/DESIGN.md.

pub mod agent;
pub mod bench;
pub mod checks;
pub mod config;
pub mod controls;
pub mod curves;
pub mod experiments;
pub mod interrupt;
pub mod plastic;
pub mod plot;
pub mod record;
pub mod references;
pub mod report;
pub mod run;
pub mod shipped;
pub mod stats;
pub mod sweep;
pub mod tasks;
pub mod train;
pub mod validate;

/// Where experiment TOMLs live in the source tree (they are also embedded in
/// the binary; see `config::shipped`).
pub const EXPERIMENTS_DIR: &str = "experiments";
