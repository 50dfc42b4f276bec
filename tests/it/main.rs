//! The one integration-test binary: a module per feature.

mod apply;
mod apply_faults;
mod drift;
mod emulator;
mod import;
mod no_panic;
mod plan;
mod platform;
mod refresh;
mod roles;
mod state;
mod support;
mod tokens;
mod validate;
