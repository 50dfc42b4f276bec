//! The course file's fields in their documented order (PRODUCT.md "Course file",
//! docs/catalog-format.md), read from the raw serde types themselves: they declare their fields
//! in that order, and serde hands a struct's field names to the deserializer in declaration
//! order. Plans show field changes in this order rather than alphabetically.

use serde::Deserialize;
use serde::de::{self, Visitor};

use super::raw::{
    RawAnchor, RawCourse, RawCourseParams, RawDetail, RawGift, RawLesson, RawPage, RawPrice,
    RawRefund,
};

/// The field names of the table at `prefix` (a dotted path with `[]` for array items:
/// `""`, `"price"`, `"lessons[]"`, `"course.refund"`), in declaration order; empty for a path
/// the format does not declare (the keys of `page.query` are the author's own).
pub fn of(prefix: &str) -> &'static [&'static str] {
    match prefix {
        "" => names::<RawCourse>(),
        "price" => names::<RawPrice>(),
        "page" => names::<RawPage>(),
        "lessons[]" => names::<RawLesson>(),
        "details[]" => names::<RawDetail>(),
        "anchor" => names::<RawAnchor>(),
        "gift" => names::<RawGift>(),
        "course" => names::<RawCourseParams>(),
        "course.refund" => names::<RawRefund>(),
        _ => &[],
    }
}

/// A sort key for a flattened payload path (`price.real_price`, `lessons[1].name`): each name
/// by its position among its table's fields (undeclared names after them, by name), each index
/// by number.
pub fn sort_key(path: &str) -> Vec<Part> {
    let mut key = Vec::new();
    let mut prefix = String::new();
    for (i, segment) in path.split('.').enumerate() {
        let (name, indices) = match segment.find('[') {
            Some(at) => segment.split_at(at),
            None => (segment, ""),
        };
        let fields = of(&prefix);
        key.push(Part::Name(
            fields.iter().position(|f| *f == name).unwrap_or(usize::MAX),
            name.to_string(),
        ));
        if i > 0 {
            prefix.push('.');
        }
        prefix.push_str(name);
        for index in indices.split('[').skip(1) {
            let number = index.trim_end_matches(']').parse().unwrap_or(u64::MAX);
            key.push(Part::Index(number));
            prefix.push_str("[]");
        }
    }
    key
}

/// One step of a [`sort_key`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// A field: its position among the table's fields, then its name.
    Name(usize, String),
    /// An array index.
    Index(u64),
}

/// The field names serde's derived `Deserialize` of `T` declares, in declaration order.
fn names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut found = None;
    let _ = T::deserialize(FieldNames(&mut found));
    found.unwrap_or(&[])
}

/// A deserializer that only records the field list a struct asks for, then fails.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_list_their_fields_in_the_documented_order() {
        assert_eq!(
            of(""),
            [
                "course_id",
                "title",
                "first_class",
                "second_class",
                "purchase_precaution",
                "cover",
                "listed",
                "price",
                "page",
                "lessons",
                "details",
                "anchor",
                "gift",
                "course"
            ]
        );
        assert_eq!(
            of("price"),
            [
                "unit",
                "price",
                "real_price",
                "range_min_price",
                "range_max_price"
            ]
        );
        assert_eq!(of("lessons[]"), ["name", "type", "file", "text"]);
        assert_eq!(
            of("course.refund"),
            ["days_unused", "progress_below_percent", "fixed"]
        );
        assert!(of("page.query").is_empty());
    }

    #[test]
    fn paths_sort_by_documented_order_then_index() {
        let mut paths = vec![
            "title",
            "course.start",
            "course.course_num",
            "lessons[10].name",
            "lessons[1].type",
            "lessons[1].name",
            "lessons[2].file",
            "page.query.zeta",
            "page.query.alpha",
            "page.path",
            "price.real_price",
            "price.price",
            "price.unit",
            "first_class",
            "course.refund.days_unused",
            "course.teacher_id",
        ];
        paths.sort_by_key(|p| sort_key(p));
        assert_eq!(
            paths,
            [
                "title",
                "first_class",
                "price.unit",
                "price.price",
                "price.real_price",
                "page.path",
                "page.query.alpha",
                "page.query.zeta",
                "lessons[1].name",
                "lessons[1].type",
                "lessons[2].file",
                "lessons[10].name",
                "course.teacher_id",
                "course.course_num",
                "course.refund.days_unused",
                "course.start",
            ]
        );
    }
}
