//! Declared flow variables: their types ([`VarType`]) and defaults ([`VarDecl`]). A leaf:
//! the model, the loader and the call's variables all read it.

/// Declared type of a flow variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Integer,
    Boolean,
    Json,
}

impl VarType {
    pub(crate) fn parse(s: &str) -> Option<VarType> {
        Some(match s {
            "string" => VarType::String,
            "integer" => VarType::Integer,
            "boolean" => VarType::Boolean,
            "json" => VarType::Json,
            _ => return None,
        })
    }

    /// The value a variable of this type has when nothing set it.
    pub(crate) fn zero(self) -> serde_json::Value {
        match self {
            VarType::String => serde_json::Value::String(String::new()),
            VarType::Integer => serde_json::Value::from(0),
            VarType::Boolean => serde_json::Value::Bool(false),
            VarType::Json => serde_json::Value::Null,
        }
    }
}

/// A declared variable.
#[derive(Debug, Clone, PartialEq)]
pub struct VarDecl {
    pub ty: VarType,
    pub default: serde_json::Value,
}
