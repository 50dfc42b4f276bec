//! The one integration-test binary: a module per feature.

mod platform;
mod support;
mod validate;
