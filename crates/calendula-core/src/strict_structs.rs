//! [`StrictStructs`]: a deserializer that reads structs only from JSON objects.
//!
//! serde's derived structs also accept the array form, fields in declaration order
//! (`["ada", {"first": "A", "last": "L"}, null, ...]` is a user). No client writes that on
//! purpose, and the error for a wrong one talks about sequence lengths, so request bodies
//! and config sections are read through this wrapper: wherever a struct is expected, an
//! array is "invalid type: sequence, expected struct X", blamed on its path as any other
//! wrong type. Everything else passes straight through to the wrapped deserializer; the
//! wrapper follows every nested value (fields, list items, map values, externally tagged
//! enum contents).
//!
//! It cannot follow values serde buffers before it knows their type: the contents of
//! internally tagged and untagged enums, and flattened fields. Such a type is read as
//! [`ObjectOnly`] where it must be an object.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use schemars::gen::SchemaGenerator;
use schemars::schema::Schema;
use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, Error, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde::Deserialize;

/// Wraps a deserializer (or a seed) so that structs are read only from maps.
pub struct StrictStructs<T>(pub T);

/// A `T` that must be written as an object, for the types [`StrictStructs`] cannot follow
/// (an internally tagged enum reads `[tag, fields...]` too).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectOnly<T>(pub T);

impl<T> Deref for ObjectOnly<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(ObjectOnly)
    }
}

/// Hands a map on to `T` as it is, so the map's entries keep their paths.
struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

impl<T: JsonSchema> JsonSchema for ObjectOnly<T> {
    fn schema_name() -> String {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn is_referenceable() -> bool {
        T::is_referenceable()
    }

    fn json_schema(gen: &mut SchemaGenerator) -> Schema {
        T::json_schema(gen)
    }
}

/// A visitor that refuses sequences when it stands for a struct.
struct StrictVisitor<V> {
    visitor: V,
    is_struct: bool,
}

impl<V> StrictVisitor<V> {
    fn any(visitor: V) -> Self {
        Self {
            visitor,
            is_struct: false,
        }
    }

    fn for_struct(visitor: V) -> Self {
        Self {
            visitor,
            is_struct: true,
        }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* StrictVisitor::any(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for StrictStructs<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, StrictVisitor::for_struct(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: Error>(self, value: $ty) -> Result<V::Value, E> {
                self.visitor.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StrictVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(StrictStructs(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.visitor
            .visit_newtype_struct(StrictStructs(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.is_struct {
            return Err(A::Error::invalid_type(Unexpected::Seq, &self));
        }
        self.visitor.visit_seq(StrictStructs(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(StrictStructs(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(StrictStructs(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictStructs<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(StrictStructs(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictStructs<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictStructs(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictStructs<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(StrictStructs(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for StrictStructs<A> {
    type Error = A::Error;
    type Variant = StrictStructs<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, StrictStructs(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for StrictStructs<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(StrictStructs(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, StrictVisitor::any(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0
            .struct_variant(fields, StrictVisitor::for_struct(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Name {
        first: String,
        last: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Person {
        name: Name,
        tags: Vec<String>,
        friends: Vec<Name>,
        by_role: BTreeMap<String, Name>,
        nickname: Option<Name>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Plain,
        Pair(u8, u8),
        Named { inner: u8 },
    }

    fn read<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, String> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(StrictStructs(&mut deserializer))
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    const NAME: &str = r#"{"first": "A", "last": "L"}"#;

    fn person(name: &str, friend: &str, role: &str, nickname: &str, kind: &str) -> String {
        format!(
            r#"{{"name": {name}, "tags": ["x"], "friends": [{friend}], "by_role": {{"lead": {role}}}, "nickname": {nickname}, "kind": {kind}}}"#
        )
    }

    #[test]
    fn objects_lists_maps_options_and_enums_read_as_usual() {
        let json = person(NAME, NAME, NAME, NAME, r#""plain""#);
        let plain: Person = read(&json).unwrap();
        assert_eq!(
            plain.friends,
            [Name {
                first: "A".into(),
                last: "L".into()
            }]
        );
        assert_eq!(plain.kind, Kind::Plain);
        let pair = person(NAME, NAME, NAME, "null", r#"{"pair": [1, 2]}"#);
        assert_eq!(read::<Person>(&pair).unwrap().kind, Kind::Pair(1, 2));
        let named = person(NAME, NAME, NAME, "null", r#"{"named": {"inner": 3}}"#);
        assert_eq!(
            read::<Person>(&named).unwrap().kind,
            Kind::Named { inner: 3 }
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    enum Tagged {
        Pair { left: u8, right: u8 },
    }

    #[test]
    fn an_object_only_value_refuses_what_serde_buffers() {
        type Senders = BTreeMap<String, ObjectOnly<Tagged>>;
        let read_map = |json: &str| read::<Senders>(json);
        let pair = read_map(r#"{"a": {"kind": "pair", "left": 1, "right": 2}}"#).unwrap();
        assert_eq!(*pair["a"], Tagged::Pair { left: 1, right: 2 });
        // Without ObjectOnly, serde takes the array as [tag, fields...].
        assert!(read::<Tagged>(r#"["pair", 1, 2]"#).is_ok());
        let error = read_map(r#"{"a": ["pair", 1, 2]}"#).unwrap_err();
        assert!(
            error.starts_with("a: invalid type: sequence, expected a map"),
            "{error}"
        );
        let error = read_map(r#"{"a": {"kind": "pair", "left": 1}}"#).unwrap_err();
        assert!(error.starts_with("a: missing field `right`"), "{error}");
    }

    #[test]
    fn a_struct_written_as_an_array_is_refused_at_its_path() {
        let array = r#"["A", "L"]"#;
        let plain = r#""plain""#;
        for (json, path) in [
            (format!(r#"[{NAME}, [], [], {{}}, null, "plain"]"#), "."),
            (person(array, NAME, NAME, "null", plain), "name"),
            (person(NAME, array, NAME, "null", plain), "friends[0]"),
            (person(NAME, NAME, array, "null", plain), "by_role.lead"),
            (person(NAME, NAME, NAME, array, plain), "nickname"),
            (
                person(NAME, NAME, NAME, "null", r#"{"named": [3]}"#),
                "kind.named",
            ),
        ] {
            let error = read::<Person>(&json).unwrap_err();
            assert!(
                error.starts_with(&format!("{path}: invalid type: sequence, expected struct")),
                "{json}: {error}"
            );
        }
    }
}
