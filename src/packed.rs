//! [`Packed`]: a JSON value kept as its compact text.
//!
//! A course payload as a [`Value`] tree is many small allocations: about 20 KB of heap for a
//! realistic course, so 100,000 new courses held at once by a plan (or stored by the emulator)
//! took gigabytes. Packed, the same course costs its compact JSON size, and a reader parses it
//! when it needs the tree (to send it, to show it), one course at a time.
//!
//! It serializes as the value itself (not as a string, and formatted as the serializer formats
//! any value: pretty in a pretty document), so saved plans and the emulator's data files read
//! the same whether a value was packed or not.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Clone, Debug)]
pub struct Packed(Box<RawValue>);

impl Serialize for Packed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Packed, D::Error> {
        Value::deserialize(deserializer).map(|v| Packed::new(&v))
    }
}

impl Packed {
    pub fn new(value: &Value) -> Packed {
        // A `Value` always serializes (its map keys are strings); `null` is the unreachable
        // fallback, so that no input can make this panic.
        Packed(
            serde_json::value::to_raw_value(value)
                .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON")),
        )
    }

    /// The value, parsed anew.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// The compact JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// Changes the value through `f`.
    pub fn update(&mut self, f: impl FnOnce(&mut Value)) {
        let mut value = self.value();
        f(&mut value);
        *self = Packed::new(&value);
    }
}

impl From<&Value> for Packed {
    fn from(value: &Value) -> Packed {
        Packed::new(value)
    }
}

/// Equal when the values are equal.
impl PartialEq for Packed {
    fn eq(&self, other: &Packed) -> bool {
        self.0.get() == other.0.get() || self.value() == other.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_inline_and_compares_by_value() {
        let v = json!({"title": "课程", "lessons": [{"name": "a"}], "price": 4900});
        let p = Packed::new(&v);
        assert_eq!(p.value(), v);
        // Inline in a document, not a string.
        let doc =
            serde_json::to_string(&json!({"payload": serde_json::to_value(&p).unwrap()})).unwrap();
        assert!(doc.contains(r#""payload":{"#), "{doc}");
        // Formatted as any value is: a pretty document is pretty inside it too.
        assert_eq!(
            serde_json::to_string_pretty(&p).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
        let spaced: Packed = serde_json::from_str(
            r#"{ "title" : "课程", "lessons": [ {"name": "a"} ], "price": 4900 }"#,
        )
        .unwrap();
        assert_eq!(spaced, p);
        assert_ne!(Packed::new(&json!({"title": "x"})), p);
        let mut q = p.clone();
        q.update(|v| v["price"] = json!(1));
        assert_eq!(q.value()["price"], 1);
        assert_eq!(p.value()["price"], 4900);
    }
}
