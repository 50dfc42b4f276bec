//! `validate`: every documented platform rule, offline — no state, no network, nothing written.

use crate::catalog::{self, CatalogError, Loaded};
use crate::settings::Settings;

/// Loads and checks the whole catalog; the findings are in the result.
pub fn validate(settings: &Settings) -> Result<Loaded, CatalogError> {
    catalog::load(&settings.catalog_dir, &settings.root)
}
