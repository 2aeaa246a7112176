//! pfc-metarl: Wang et al. 2018, "Prefrontal cortex as a meta-reinforcement
//! learning system", reproduced. See README.md and shared/DESIGN.md.

/// A line on stderr, like `eprintln!`, that cannot panic: stderr may be gone
/// while the work goes on (a terminal closed by a hang-up, a pipe closed by
/// the same Ctrl-C as in `metarl sweep run ... 2>&1 | tee log`), and a stop
/// must still save its checkpoints. The line is then dropped.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod agent;
pub mod bench;
pub mod checks;
pub mod config;
pub mod controls;
pub mod curves;
pub mod experiments;
pub mod interrupt;
pub mod numerics;
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
