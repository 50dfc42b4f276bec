//! The catalog: TOML course files → raw serde types → validated model. Synchronous; the only
//! I/O is reading the catalog's files.

pub mod diagnostics;
