//! The one integration-test binary: a module per feature.

mod apply;
mod apply_faults;
mod completions;
mod drift;
mod emulator;
mod fidelity;
mod first_time;
mod import;
mod init;
mod no_panic;
mod plan;
mod platform;
mod probe;
mod refresh;
mod report;
mod roles;
mod schema;
mod state;
mod support;
mod terminal;
mod tokens;
mod validate;
