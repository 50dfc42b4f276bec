//! The one integration-test binary: a module per feature.

mod apply;
mod apply_faults;
mod drift;
mod emulator;
mod fidelity;
mod first_time;
mod import;
mod plan;
mod platform;
mod probe;
mod refresh;
mod state;
mod support;
mod validate;
