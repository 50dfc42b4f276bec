//! The one integration-test binary: a module per feature.

mod apply;
mod emulator;
mod import;
mod platform;
mod refresh;
mod state;
mod support;
mod validate;
