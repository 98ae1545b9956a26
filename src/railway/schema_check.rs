//! Checks gantry's operation documents against Railway's published schema
//! (the introspection result in `../shared/data/railway/schema.json`, read
//! in place): every field exists on its type, every argument exists and
//! gets a value of its type, required arguments are given, variables are
//! declared with input types that fit where they are used, enum values are
//! values of their enum, and leaves are leaves.

use graphql_parser::query::{
    Definition, OperationDefinition, Selection, SelectionSet, Value, parse_query,
};
use serde_json::Value as Json;
use std::collections::HashMap;

/// The parts of an introspection result the checks need.
pub(super) struct Schema {
    types: HashMap<String, Json>,
    query: String,
    mutation: String,
}

impl Schema {
    pub(super) fn load(path: &std::path::Path) -> Schema {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let json: Json = serde_json::from_str(&text).expect("schema.json is JSON");
        let schema = &json["data"]["__schema"];
        let types = schema["types"]
            .as_array()
            .expect("__schema.types")
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
            .collect();
        Schema {
            types,
            query: schema["queryType"]["name"].as_str().unwrap().to_string(),
            mutation: schema["mutationType"]["name"].as_str().unwrap().to_string(),
        }
    }

    pub(super) fn enum_values(&self, name: &str) -> Vec<String> {
        self.types[name]["enumValues"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|e| e["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn kind(&self, name: &str) -> Option<&str> {
        self.types.get(name).and_then(|t| t["kind"].as_str())
    }

    fn field(&self, ty: &str, name: &str) -> Option<&Json> {
        self.types.get(ty)?["fields"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == name)
    }

    fn input_field(&self, ty: &str, name: &str) -> Option<&Json> {
        self.types.get(ty)?["inputFields"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == name)
    }
}

/// `String!`, `[Log!]!`: a type reference of the introspection result.
fn render(t: &Json) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", render(&t["ofType"])),
        Some("LIST") => format!("[{}]", render(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("?").to_string(),
    }
}

/// The named type inside `[X!]!`.
fn named(rendered: &str) -> &str {
    rendered.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

/// Whether a variable of type `var` may be used where `expected` goes: the
/// same type, or a non-null variable where a nullable one is accepted.
fn fits(var: &str, expected: &str) -> bool {
    var == expected || var.strip_suffix('!') == Some(expected)
}

/// Every error of one document; empty when it is valid.
pub(super) fn check(schema: &Schema, document: &str) -> Vec<String> {
    let doc = match parse_query::<&str>(document) {
        Ok(d) => d,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    let mut errors = Vec::new();
    for def in &doc.definitions {
        let (root, vars, set) = match def {
            Definition::Operation(OperationDefinition::Query(q)) => {
                (&schema.query, &q.variable_definitions, &q.selection_set)
            }
            Definition::Operation(OperationDefinition::Mutation(m)) => {
                (&schema.mutation, &m.variable_definitions, &m.selection_set)
            }
            _ => {
                errors.push("only named queries and mutations are sent".into());
                continue;
            }
        };
        let mut declared = HashMap::new();
        for v in vars {
            let ty = v.var_type.to_string();
            match schema.kind(named(&ty)) {
                Some("SCALAR" | "ENUM" | "INPUT_OBJECT") => {}
                Some(k) => errors.push(format!("${}: {ty} is an {k}, not an input type", v.name)),
                None => errors.push(format!("${}: unknown type {ty}", v.name)),
            }
            declared.insert(v.name.to_string(), (ty, false));
        }
        let mut cx = Cx {
            schema,
            declared,
            errors: &mut errors,
        };
        cx.selection(root, set, root);
        let unused: Vec<String> = cx
            .declared
            .iter()
            .filter(|(_, (_, used))| !used)
            .map(|(n, _)| format!("${n} is declared but never used"))
            .collect();
        errors.extend(unused);
    }
    errors
}

struct Cx<'s, 'e> {
    schema: &'s Schema,
    declared: HashMap<String, (String, bool)>,
    errors: &'e mut Vec<String>,
}

impl Cx<'_, '_> {
    fn selection<'a>(&mut self, ty: &str, set: &SelectionSet<'a, &'a str>, path: &str) {
        for sel in &set.items {
            let Selection::Field(f) = sel else {
                self.errors.push(format!("{path}: fragments are not used"));
                continue;
            };
            let at = format!("{path}.{}", f.name);
            if f.name == "__typename" {
                continue;
            }
            let Some(field) = self.schema.field(ty, f.name) else {
                self.errors
                    .push(format!("{at}: {ty} has no field `{}`", f.name));
                continue;
            };
            let args = field["args"].as_array().cloned().unwrap_or_default();
            for (name, value) in &f.arguments {
                match args.iter().find(|a| a["name"] == *name) {
                    Some(a) => self.value(&render(&a["type"]), value, &format!("{at}({name})")),
                    None => self.errors.push(format!("{at}: no argument `{name}`")),
                }
            }
            for a in &args {
                let required = a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null();
                let name = a["name"].as_str().unwrap_or("");
                if required && !f.arguments.iter().any(|(n, _)| *n == name) {
                    self.errors
                        .push(format!("{at}: required argument `{name}` is missing"));
                }
            }
            let result = render(&field["type"]);
            let inner = named(&result).to_string();
            match (self.schema.kind(&inner), f.selection_set.items.is_empty()) {
                (Some("OBJECT" | "INTERFACE" | "UNION"), true) => self
                    .errors
                    .push(format!("{at}: {inner} is an object: select its fields")),
                (Some("OBJECT" | "INTERFACE"), false) => {
                    self.selection(&inner, &f.selection_set, &at);
                }
                (Some(_), false) => self
                    .errors
                    .push(format!("{at}: {inner} is a leaf: it has no fields")),
                _ => {}
            }
        }
    }

    /// Checks a value given where type `expected` (rendered) goes.
    fn value<'a>(&mut self, expected: &str, value: &Value<'a, &'a str>, at: &str) {
        let inner = named(expected);
        match value {
            Value::Variable(name) => match self.declared.get_mut(*name) {
                Some((ty, used)) => {
                    *used = true;
                    if !fits(ty, expected) {
                        self.errors.push(format!(
                            "{at}: ${name} is {ty}, the argument takes {expected}"
                        ));
                    }
                }
                None => self.errors.push(format!("{at}: ${name} is not declared")),
            },
            Value::Null if expected.ends_with('!') => {
                self.errors.push(format!("{at}: null given for {expected}"));
            }
            Value::Null => {}
            Value::List(items) if expected.trim_end_matches('!').starts_with('[') => {
                let item =
                    &expected.trim_end_matches('!')[1..expected.trim_end_matches('!').len() - 1];
                for v in items {
                    self.value(item, v, at);
                }
            }
            Value::Enum(v) => {
                if self.schema.kind(inner) != Some("ENUM") {
                    self.errors
                        .push(format!("{at}: enum value {v} given for {expected}"));
                } else if !self.schema.enum_values(inner).iter().any(|e| e == v) {
                    self.errors.push(format!("{at}: {inner} has no value {v}"));
                }
            }
            Value::Object(fields) => {
                if self.schema.kind(inner) != Some("INPUT_OBJECT") {
                    self.errors
                        .push(format!("{at}: an object given for {expected}"));
                    return;
                }
                for (name, v) in fields {
                    match self.schema.input_field(inner, name) {
                        Some(f) => self.value(&render(&f["type"]), v, &format!("{at}.{name}")),
                        None => self
                            .errors
                            .push(format!("{at}: {inner} has no field `{name}`")),
                    }
                }
            }
            literal => {
                let ok = match literal {
                    Value::Boolean(_) => inner == "Boolean",
                    Value::Int(_) => matches!(inner, "Int" | "Float" | "ID" | "BigInt"),
                    Value::Float(_) => inner == "Float",
                    Value::String(_) => {
                        self.schema.kind(inner) == Some("SCALAR")
                            && !matches!(inner, "Int" | "Float" | "Boolean")
                    }
                    _ => false,
                };
                if !ok || expected.starts_with('[') {
                    self.errors
                        .push(format!("{at}: {literal} does not fit {expected}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::railway::{ops, watch};

    fn schema() -> Schema {
        Schema::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/railway/schema.json"),
        )
    }

    #[test]
    fn every_operation_gantry_sends_is_valid_against_railways_schema() {
        let Some(_) = crate::test_skip::shared_data("railway/schema.json") else {
            return;
        };
        let schema = schema();
        for op in ops::ALL {
            let errors = check(&schema, op.document);
            assert!(errors.is_empty(), "{}: {errors:#?}", op.name);
            let doc = parse_query::<&str>(op.document).unwrap();
            let (kind, name) = match &doc.definitions[0] {
                Definition::Operation(OperationDefinition::Query(q)) => (false, q.name),
                Definition::Operation(OperationDefinition::Mutation(m)) => (true, m.name),
                _ => unreachable!(),
            };
            assert_eq!(name, Some(op.name), "operationName matches the document");
            assert_eq!(kind, op.mutation, "{}: mutation flag", op.name);
        }
    }

    #[test]
    fn wrong_documents_are_rejected() {
        let Some(_) = crate::test_skip::shared_data("railway/schema.json") else {
            return;
        };
        let schema = schema();
        let cases = [
            (
                "query Q($id: String!) { deployment(id: $id) { id statuz } }",
                "has no field `statuz`",
            ),
            (
                "query Q($id: String!) { deployment(deploymentId: $id) { id } }",
                "no argument `deploymentId`",
            ),
            (
                "query Q { deployment { id } }",
                "required argument `id` is missing",
            ),
            (
                "query Q($id: Int!) { deployment(id: $id) { id } }",
                "$id is Int!, the argument takes String!",
            ),
            (
                "query Q($id: String) { deployment(id: $id) { id } }",
                "$id is String, the argument takes String!",
            ),
            (
                "query Q($id: String!) { deployment(id: $id) }",
                "select its fields",
            ),
            (
                "query Q($id: String!) { deployment(id: $id) { status { x } } }",
                "is a leaf",
            ),
            (
                "query Q($e: String!, $s: String!) { deployments(input: { environmentId: $e, serviceId: $s, status: { in: [FINISHED] } }) { edges { node { id } } } }",
                "DeploymentStatus has no value FINISHED",
            ),
            (
                "mutation M($e: String!, $s: String!) { serviceInstanceDeploy(environmentId: $e, serviceId: $s, latestCommit: \"yes\") }",
                "does not fit Boolean",
            ),
            (
                "mutation M($e: String!, $s: String!, $i: String!) { serviceInstanceUpdate(environmentId: $e, serviceId: $s, input: { source: { img: $i } }) }",
                "ServiceSourceInput has no field `img`",
            ),
            (
                "query Q($id: String!, $x: Int) { deployment(id: $id) { id } }",
                "$x is declared but never used",
            ),
            (
                "query Q { deployment(id: $nope) { id } }",
                "$nope is not declared",
            ),
            ("query Q { deployment(id: ", "does not parse"),
        ];
        for (doc, expected) in cases {
            let errors = check(&schema, doc);
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{doc}\nexpected an error containing {expected:?}, got {errors:#?}"
            );
        }
    }

    #[test]
    fn the_watcher_knows_every_deployment_status_railway_has() {
        let Some(_) = crate::test_skip::shared_data("railway/schema.json") else {
            return;
        };
        let known_going = [
            "BUILDING",
            "DEPLOYING",
            "INITIALIZING",
            "QUEUED",
            "REMOVING",
            "WAITING",
        ];
        for status in schema().enum_values("DeploymentStatus") {
            assert!(
                watch::classify(&status).is_some() || known_going.contains(&status.as_str()),
                "status {status} is neither an outcome nor known to be on its way"
            );
        }
    }
}
