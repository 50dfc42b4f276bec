//! `coursesync import --product-id N...`: records products that already exist on the platform in
//! state, without re-adding anything (see [`crate::ops::import`]).

use crate::adopt::Adopted;
use crate::exit;
use crate::ops::import::{self as op, Imported};
use crate::settings::Settings;

/// Options of `coursesync import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A product id on the platform (repeatable; several may follow one flag).
    #[arg(long = "product-id", value_name = "ID", required = true, num_args = 1..)]
    pub product_ids: Vec<i64>,
    /// Replace a course already in state, even one recorded with another product id.
    #[arg(long)]
    pub force: bool,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let events = super::events::Terminal::default();
    let report = op::import(settings, &args.product_ids, args.force, &events)?;
    for (_, imported) in &report.products {
        match imported {
            Imported::Recorded(a) => println!("imported {}", describe(a)),
            Imported::Unchanged {
                course_id,
                product_id,
            } => println!(
                "unchanged: {course_id} is already in state as product {product_id} (--force imports it again)"
            ),
            Imported::Failed(e) => println!("failed: {e:#}"),
        }
    }
    println!(
        "Imported {} of {} products, {} failed.",
        report.recorded(),
        report.products.len(),
        report.failed()
    );
    Ok(if report.failed() > 0 {
        exit::ERROR
    } else {
        exit::OK
    })
}

/// `py-101 (product 7301, approved, listed)`.
pub fn describe(a: &Adopted) -> String {
    format!(
        "{} (product {}, {}, {})",
        a.course_id,
        a.product_id,
        if a.approved { "approved" } else { "in review" },
        if a.listed { "listed" } else { "not listed" }
    )
}
