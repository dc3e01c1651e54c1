//! The JSON Schema of the rule-set document, published for editors.

use crate::document::RuleSetDocument;

/// Returns the JSON Schema (draft 2020-12) of [`RuleSetDocument`].
pub fn rule_set_json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(RuleSetDocument);
    // A schema is plain JSON; converting it cannot fail.
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_formula_kinds() {
        let s = rule_set_json_schema().to_string();
        for kind in [
            "enum_map",
            "per_unit",
            "anchor_linear",
            "base_plus_excess",
            "count_with_cap",
            "product",
        ] {
            assert!(s.contains(kind), "{kind}");
        }
        assert!(s.contains("\"indicators\""));
    }
}
