//! Serialising to JSON with struct members at their default value left out, as the protobuf
//! JSON mapping allows, in one pass: a [`Serializer`] adapter around serde_json's that asks each
//! struct field, before writing it, whether it is at its default (`null`, `false`, `0`, `""`, an
//! empty list) and skips it if so.
//!
//! [`super::otlp::encode`] writes spans with it. It replaces a round trip through
//! `serde_json::Value` (serialise, walk, serialise again, drop), which cost about a fifth of an
//! unobserved dispatch's instructions. The document is the same; members keep the generated
//! code's order instead of being sorted.
//!
//! The rules (`otlp`'s tests check them against a `Value`-based oracle):
//! * a struct field is left out when its value serialises as `null` (`None`, unit), `false`, a
//!   zero, an empty string or byte string, or an empty sequence or tuple;
//! * messages (structs, maps) are never at their default, even empty (`"status": {}` stays);
//! * sequence elements and map entries are never left out. In the OTLP messages the only maps
//!   are the flattened oneof of `AnyValue`, whose members are data even at their default (an
//!   attribute whose value is `""` or `0`);
//! * the members of the messages in [`WHOLE`] are all written: their generated deserializers
//!   (which `trace dump` and the tests read chunks back with) require every member.

use std::fmt;

use serde::ser::{
    self, Impossible, Serialize, SerializeMap, SerializeSeq, SerializeStruct,
    SerializeStructVariant, SerializeTuple, SerializeTupleStruct, SerializeTupleVariant,
    Serializer,
};

/// `value` as JSON, without the struct members at their default value.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4096);
    value.serialize(Omit(&mut serde_json::Serializer::new(&mut out)))?;
    Ok(out)
}

/// The adapter: forwards everything to the serializer it holds, and what it writes inside
/// compounds goes through the adapter too.
struct Omit<S>(S);

/// A value written through the adapter (a field, element or entry of a compound).
struct Wrap<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Wrap<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Omit(serializer))
    }
}

/// Messages written with all their members: `opentelemetry-proto`'s deserializers have no
/// `#[serde(default)]` on these, so an omitted `values: []` (an empty array attribute) or
/// `key: ""` would make a chunk unreadable to them.
pub(crate) const WHOLE: &[&str] = &["ArrayValue", "KeyValueList", "KeyValue"];

/// A compound being written by the serializer it holds, its members through the adapter; `.1`
/// is whether members at their default are left out.
struct Compound<C>(C, bool);

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$method($($arg),*)
        })*
    };
}

impl<S: Serializer> Serializer for Omit<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Wrap(value))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Wrap(value))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Wrap(value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(|c| Compound(c, true))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(|c| Compound(c, true))
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0
            .serialize_tuple_struct(name, len)
            .map(|c| Compound(c, true))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(|c| Compound(c, true))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(|c| Compound(c, true))
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        // The length is a hint; serde_json writes `{}` at once for 0, when there is nothing to
        // leave out either.
        let omit = !WHOLE.contains(&name);
        self.0
            .serialize_struct(name, len)
            .map(|c| Compound(c, omit))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(|c| Compound(c, true))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! elements {
    ($trait:ident, $method:ident) => {
        impl<C: $trait> $trait for Compound<C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
                self.0.$method(&Wrap(value))
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.0.end()
            }
        }
    };
}

elements!(SerializeSeq, serialize_element);
elements!(SerializeTuple, serialize_element);
elements!(SerializeTupleStruct, serialize_field);
elements!(SerializeTupleVariant, serialize_field);

macro_rules! fields {
    ($trait:ident) => {
        impl<C: $trait> $trait for Compound<C> {
            type Ok = C::Ok;
            type Error = C::Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), C::Error> {
                if self.1 && is_default(value) {
                    return Ok(());
                }
                self.0.serialize_field(key, &Wrap(value))
            }

            fn end(self) -> Result<C::Ok, C::Error> {
                self.0.end()
            }
        }
    };
}

fields!(SerializeStruct);
fields!(SerializeStructVariant);

impl<C: SerializeMap> SerializeMap for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.0.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_value(&Wrap(value))
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

/// Why a probe stopped: the value is not at its default (or could not be looked at).
#[derive(Debug)]
struct NotDefault;

impl fmt::Display for NotDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not at its default")
    }
}

impl std::error::Error for NotDefault {}

impl ser::Error for NotDefault {
    fn custom<M: fmt::Display>(_: M) -> Self {
        NotDefault
    }
}

/// Whether `value` serialises as a default: `null`, `false`, a zero, `""`, or an empty list.
/// Stops at the first sign that it does not (a message, a non-empty list), without writing it.
fn is_default<T: Serialize + ?Sized>(value: &T) -> bool {
    value.serialize(Probe).is_ok()
}

/// A serializer that succeeds for a default value and fails fast for anything else.
struct Probe;

fn default_if(yes: bool) -> Result<(), NotDefault> {
    if yes {
        Ok(())
    } else {
        Err(NotDefault)
    }
}

macro_rules! probe_numbers {
    ($($method:ident($ty:ty, $zero:expr);)*) => {
        $(fn $method(self, v: $ty) -> Result<(), NotDefault> {
            default_if(v == $zero)
        })*
    };
}

impl Serializer for Probe {
    type Ok = ();
    type Error = NotDefault;
    type SerializeSeq = EmptyList;
    type SerializeTuple = EmptyList;
    type SerializeTupleStruct = Impossible<(), NotDefault>;
    type SerializeTupleVariant = Impossible<(), NotDefault>;
    type SerializeMap = Impossible<(), NotDefault>;
    type SerializeStruct = Impossible<(), NotDefault>;
    type SerializeStructVariant = Impossible<(), NotDefault>;

    probe_numbers! {
        serialize_i8(i8, 0);
        serialize_i16(i16, 0);
        serialize_i32(i32, 0);
        serialize_i64(i64, 0);
        serialize_i128(i128, 0);
        serialize_u8(u8, 0);
        serialize_u16(u16, 0);
        serialize_u32(u32, 0);
        serialize_u64(u64, 0);
        serialize_u128(u128, 0);
        serialize_f32(f32, 0.0);
        serialize_f64(f64, 0.0);
    }

    fn serialize_bool(self, v: bool) -> Result<(), NotDefault> {
        default_if(!v)
    }

    fn serialize_char(self, _: char) -> Result<(), NotDefault> {
        Err(NotDefault)
    }

    fn serialize_str(self, v: &str) -> Result<(), NotDefault> {
        default_if(v.is_empty())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), NotDefault> {
        default_if(v.is_empty())
    }

    fn serialize_none(self) -> Result<(), NotDefault> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotDefault> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), NotDefault> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotDefault> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), NotDefault> {
        // serde_json writes the variant's name.
        default_if(variant.is_empty())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotDefault> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotDefault> {
        Err(NotDefault)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<EmptyList, NotDefault> {
        default_if(len.unwrap_or(0) == 0).map(|()| EmptyList)
    }

    fn serialize_tuple(self, len: usize) -> Result<EmptyList, NotDefault> {
        default_if(len == 0).map(|()| EmptyList)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotDefault> {
        Err(NotDefault)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotDefault> {
        Err(NotDefault)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotDefault> {
        Err(NotDefault)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotDefault> {
        Err(NotDefault)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotDefault> {
        Err(NotDefault)
    }

    fn is_human_readable(&self) -> bool {
        // As serde_json: a value that serialises differently for humans is probed as written.
        true
    }
}

/// A list probed for being empty: any element means it is not.
struct EmptyList;

macro_rules! empty_list {
    ($($trait:ident),*) => {$(
        impl $trait for EmptyList {
            type Ok = ();
            type Error = NotDefault;

            fn serialize_element<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), NotDefault> {
                Err(NotDefault)
            }

            fn end(self) -> Result<(), NotDefault> {
                Ok(())
            }
        }
    )*};
}

empty_list!(SerializeSeq, SerializeTuple);
