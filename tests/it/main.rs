//! The one integration-test binary: a module per feature.

mod emulator;
mod platform;
mod support;
mod validate;
