//! The experiment TOMLs of `experiments/`, embedded at build time (build.rs).

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
