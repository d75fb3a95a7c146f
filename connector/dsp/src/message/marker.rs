//! Zero-sized `@type` markers: a message struct holding one can only be built,
//! serialized and deserialized with its own `@type` value.

/// Declares a unit struct that (de)serializes only as the given string.
macro_rules! type_marker {
    ($(#[$doc:meta])* $name:ident = $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $name;

        impl $name {
            pub const VALUE: &'static str = $value;
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let found = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                if found == $value {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format!("`@type` must be `{}`, found `{}`", $value, found)))
                }
            }
        }
    };
}

pub(crate) use type_marker;
