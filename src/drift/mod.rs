//! Drift: the platform's view of each course, mapped back to the canonical payload (see
//! `plan::canonical`), compared with what was last approved.
//!
//! [`check`] queries every course in state that has a live product id and [`compare`]s, per
//! course, the on-shelf version with the last *approved* payload (PRODUCT.md "Settled details":
//! a modify still in review is pending, not drift), plus the listing. It reads only.
//!
//! `drift --format json` prints a [`Report`]:
//!
//! ```text
//! {"format_version": 1,
//!  "courses": [{"course_id": "py-101", "product_id": 7001,
//!               "kind": "changed" | "listing" | "missing" | "pending",
//!               "changes": [{"path": "price.real_price", "platform": 3900, "applied": 4900}],
//!               "pending": false}]}
//! ```
//!
//! `kind`: `changed` the live content differs from the approved payload (a listing difference,
//! if any, is one more change with path `listed`); `listing` only the listing differs; `missing`
//! the platform no longer knows the product (or has no live version of an approved course);
//! `pending` no drift, but a modify is in review (`changes` then shows what it will change:
//! `platform` the live value, `applied` the value sent). A missing side of a change is `null`.
//! `pending` is true whenever a modify of the course is in review. Only `pending` entries are not
//! drift: `drift` exits 2 when any other entry exists.

mod check;
mod compare;
mod fold;
mod report;

pub use check::check;
pub use compare::{compare, is_checked, listed_of};
pub use fold::fold_into;
pub use report::{Change, CourseDrift, CourseError, FORMAT_VERSION, Kind, LISTED_PATH, Report};
