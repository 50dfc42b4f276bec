//! The one integration-test binary: a module per feature.

mod apply;
mod drift;
mod emulator;
mod platform;
mod refresh;
mod state;
mod support;
mod validate;
