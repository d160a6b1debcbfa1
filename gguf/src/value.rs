//! GGUF metadata values.

use std::fmt;

/// The type of a metadata value, with its GGUF type id (the `u32` stored before each value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Type id 0.
    U8,
    /// Type id 1.
    I8,
    /// Type id 2.
    U16,
    /// Type id 3.
    I16,
    /// Type id 4.
    U32,
    /// Type id 5.
    I32,
    /// Type id 6.
    F32,
    /// Type id 7 (one byte, 0 = false).
    Bool,
    /// Type id 8 (`u64` byte length, then UTF-8 bytes, no terminator).
    String,
    /// Type id 9 (`u32` element type id, `u64` count, then the elements).
    Array,
    /// Type id 10.
    U64,
    /// Type id 11.
    I64,
    /// Type id 12.
    F64,
}

impl ValueType {
    /// The type for a GGUF type id, or `None` for ids outside 0..=12.
    pub fn from_id(id: u32) -> Option<ValueType> {
        Some(match id {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::String,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    /// The GGUF type id.
    pub fn id(self) -> u32 {
        match self {
            ValueType::U8 => 0,
            ValueType::I8 => 1,
            ValueType::U16 => 2,
            ValueType::I16 => 3,
            ValueType::U32 => 4,
            ValueType::I32 => 5,
            ValueType::F32 => 6,
            ValueType::Bool => 7,
            ValueType::String => 8,
            ValueType::Array => 9,
            ValueType::U64 => 10,
            ValueType::I64 => 11,
            ValueType::F64 => 12,
        }
    }

    /// Lower-case name, as used in error messages (`u32`, `string`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "u8",
            ValueType::I8 => "i8",
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::F32 => "f32",
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Array => "array",
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
        }
    }

    /// Encoded size in bytes for fixed-size types; `None` for strings and arrays.
    pub fn fixed_size(self) -> Option<usize> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::String | ValueType::Array => None,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One metadata value.
///
/// Strings are decoded as UTF-8; invalid sequences (which the GGUF spec forbids but some
/// converters have produced in tokenizer vocabularies) are replaced by U+FFFD rather than
/// failing the whole file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Type id 0.
    U8(u8),
    /// Type id 1.
    I8(i8),
    /// Type id 2.
    U16(u16),
    /// Type id 3.
    I16(i16),
    /// Type id 4.
    U32(u32),
    /// Type id 5.
    I32(i32),
    /// Type id 6.
    F32(f32),
    /// Type id 7.
    Bool(bool),
    /// Type id 8.
    String(String),
    /// Type id 9: the element type (kept so that empty arrays round-trip) and the elements, all of
    /// that type.
    Array(ValueType, Vec<Value>),
    /// Type id 10.
    U64(u64),
    /// Type id 11.
    I64(i64),
    /// Type id 12.
    F64(f64),
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(..) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// The value as an `i128` if it is an integer of any width (not bool, not float).
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as a `u32` if it is an integer of any width holding a value in `u32`'s range.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_integer().and_then(|v| u32::try_from(v).ok())
    }

    /// The value as a `u64` if it is an integer of any width holding a non-negative value.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_integer().and_then(|v| u64::try_from(v).ok())
    }

    /// The value as an `i64` if it is an integer of any width holding a value in `i64`'s range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_integer().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as an `f64` if it is a float or an integer of any width.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_integer().map(|v| v as f64),
        }
    }

    /// The value as an `f32` if it is a float (f64 is rounded) or an integer of any width.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            _ => self.as_f64().map(|v| v as f32),
        }
    }

    /// The value if it is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements if the value is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(_, items) => Some(items),
            _ => None,
        }
    }

    /// A short description for error messages: the type and, for scalars, the value
    /// (`u32 value 7`, `string "llama"`, `array of 3 string`).
    pub fn describe(&self) -> String {
        match self {
            Value::String(s) => {
                let mut shown: String = s.chars().take(40).collect();
                if shown.len() < s.len() {
                    shown.push('…');
                }
                format!("string {shown:?}")
            }
            Value::Array(t, items) => format!("array of {} {}", items.len(), t),
            Value::U8(v) => format!("u8 value {v}"),
            Value::I8(v) => format!("i8 value {v}"),
            Value::U16(v) => format!("u16 value {v}"),
            Value::I16(v) => format!("i16 value {v}"),
            Value::U32(v) => format!("u32 value {v}"),
            Value::I32(v) => format!("i32 value {v}"),
            Value::U64(v) => format!("u64 value {v}"),
            Value::I64(v) => format!("i64 value {v}"),
            Value::F32(v) => format!("f32 value {v}"),
            Value::F64(v) => format!("f64 value {v}"),
            Value::Bool(v) => format!("bool value {v}"),
        }
    }
}
