//! The one integration-test binary: a module per feature.

mod apply_faults;
mod emulator;
mod platform;
mod state;
mod support;
mod validate;
