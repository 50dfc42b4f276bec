//! The one integration-test binary: a module per feature.

mod emulator;
mod plan;
mod platform;
mod state;
mod support;
mod validate;
