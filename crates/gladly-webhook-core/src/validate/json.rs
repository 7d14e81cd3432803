//! Reads a subscription document in one pass, keeping what validation needs
//! of the known properties and skipping the rest.
//!
//! Repeated keys follow `serde_json::Value`: the last one wins, as it does
//! for any JSON Schema validator built on it.
//!
//! What is skipped (unknown properties, objects) is skipped by
//! `serde_json`'s own iterative skipper, which checks the grammar only: a
//! number beyond `f64`, a lone UTF-16 surrogate escape (`"\ud800"`) or
//! nesting of any depth there is valid JSON and valid against the schema,
//! and is accepted. Property names are read as bytes for the same reason.
//! What validation reads (the values of the known properties) goes through
//! `serde_json`'s typed reader, with its limits: see the divergences listed
//! in [`crate::validate`].

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON value, as much of it as validation needs: objects are skipped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object,
}

impl Json<'_> {
    /// The JSON type's name, with an article: "a string".
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object => "an object",
        }
    }

    /// The value for a message: its kind and, for scalars, the value itself
    /// (strings shortened), e.g. `the number 42`, `the string "x"`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Json::Null => "null".to_string(),
            Json::Bool(b) => format!("the boolean {b}"),
            Json::Number(n) => format!("the number {n}"),
            Json::String(s) => format!("the string {}", crate::echo::quote(s)),
            Json::Array(items) if items.len() == 1 => "an array of 1 item".to_string(),
            Json::Array(items) => format!("an array of {} items", items.len()),
            Json::Object => "an object".to_string(),
        }
    }
}

/// The subscription's properties, each with its position among the
/// document's keys (for reporting in document order).
#[derive(Debug, Default)]
pub(crate) struct Properties<'a> {
    pub id: Option<(usize, Json<'a>)>,
    pub url: Option<(usize, Json<'a>)>,
    pub events: Option<(usize, Json<'a>)>,
    pub secret: Option<(usize, Json<'a>)>,
    pub active: Option<(usize, Json<'a>)>,
    pub created_at: Option<(usize, Json<'a>)>,
    pub modified_at: Option<(usize, Json<'a>)>,
}

/// A whole document: an object's properties, or the value that is there
/// instead of an object.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per call, on the stack: boxing would only add an allocation
pub(crate) enum Document<'a> {
    Object(Properties<'a>),
    NotObject(Json<'a>),
}

/// Reads `text` as JSON.
pub(crate) fn read(text: &str) -> Result<Document<'_>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document = deserializer.deserialize_any(DocumentVisitor)?;
    deserializer.end()?;
    Ok(document)
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut properties = Properties::default();
        let mut position = 0;
        while let Some(key) = map.next_key_seed(PropertyName)? {
            position += 1;
            let slot = match key {
                Some(Known::Id) => &mut properties.id,
                Some(Known::Url) => &mut properties.url,
                Some(Known::Events) => &mut properties.events,
                Some(Known::Secret) => &mut properties.secret,
                Some(Known::Active) => &mut properties.active,
                Some(Known::CreatedAt) => &mut properties.created_at,
                Some(Known::ModifiedAt) => &mut properties.modified_at,
                None => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some((position, map.next_value_seed(AnyJson)?));
        }
        Ok(Document::Object(properties))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        JsonVisitor.visit_seq(seq).map(Document::NotObject)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Document::NotObject(Json::Null))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Document::NotObject(Json::Bool(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Document::NotObject(Json::Number(v.into())))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Document::NotObject(Json::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        JsonVisitor.visit_f64(v).map(Document::NotObject)
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Document::NotObject(Json::String(Cow::Owned(v.to_string()))))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Document::NotObject(Json::String(Cow::Borrowed(v))))
    }
}

/// A property the schema names.
enum Known {
    Id,
    Url,
    Events,
    Secret,
    Active,
    CreatedAt,
    ModifiedAt,
}

/// Reads a property name as bytes (so a name with a lone surrogate escape
/// is read, not refused): the schema's property it is, if any.
struct PropertyName;

impl<'de> DeserializeSeed<'de> for PropertyName {
    type Value = Option<Known>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for PropertyName {
    type Value = Option<Known>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(match v {
            b"id" => Some(Known::Id),
            b"url" => Some(Known::Url),
            b"events" => Some(Known::Events),
            b"secret" => Some(Known::Secret),
            b"active" => Some(Known::Active),
            b"createdAt" => Some(Known::CreatedAt),
            b"modifiedAt" => Some(Known::ModifiedAt),
            _ => None,
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_bytes(v.as_bytes())
    }
}

/// Reads any JSON value into a [`Json`].
struct AnyJson;

impl<'de> DeserializeSeed<'de> for AnyJson {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_string())))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(AnyJson)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(Json::Object)
    }
}
