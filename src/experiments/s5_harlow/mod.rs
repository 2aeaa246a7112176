//! Simulation 5: learning to learn, the Harlow task with images (paper Fig. 6).

pub mod sheet;
