//! The use cases, one module per command's workflow. Each takes settings and options, returns a
//! value (and reports progress through a callback where the work is long), and never prints:
//! `cli/` parses arguments, calls one function here and renders what it returns.

pub mod init;
pub mod schema;
