//! Contract tests: the clients' requests (bodies, query strings and path parameters) and the
//! simulators' responses, as exchanged in these tests, are validated against the vendors' full
//! official OpenAPI documents (test fixtures in `../shared/api-contracts/`, never shipped). OpenAPI 3.0 schemas are converted to JSON
//! Schema draft 4 deliberately, including the specs' known defects, and a schema that does not
//! compile fails the test instead of being skipped.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value, json};

use slipway_engine::platform::retry::RetryPolicy;
use slipway_sim::RecordedRequest;

fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/api-contracts")
}

struct Spec {
    name: &'static str,
    doc: Value,
    /// Known spec defect, handled here and nowhere else: response-only fields that the spec
    /// lists as required in request bodies (Cloudflare's DNS record schemas require `id`,
    /// `proxiable`, `created_on` and `modified_on` even on create). Dropped from `required`
    /// when validating requests only.
    response_only_required: &'static [&'static str],
    /// Known spec defect: Cloudflare declares its 4xx bodies as `allOf` the success envelope
    /// (`success: true`, a record) *and* the failure envelope (`success: false`, `result:
    /// null`), which nothing satisfies. Error bodies are validated against the failure
    /// envelope alone.
    error_envelope: Option<&'static str>,
}

impl Spec {
    fn load(name: &'static str, file: &str) -> Spec {
        let path = contracts_dir().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let response_only_required: &[&str] =
            if name == "cloudflare" { &["id", "proxiable", "created_on", "modified_on"] } else { &[] };
        let error_envelope =
            (name == "cloudflare").then_some("#/components/schemas/dns-records_api-response-common-failure");
        Spec { name, doc: serde_json::from_str(&text).unwrap(), response_only_required, error_envelope }
    }

    /// The spec's path template that `path` instantiates for `method`, and its operation.
    fn operation(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object()?;
        // Literal segments beat parameters (`/v1/projects/available-regions` vs `/{ref}`).
        let mut best: Option<(usize, &String, &Value)> = None;
        for (template, item) in paths {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            if parts.len() != actual.len() {
                continue;
            }
            let mut literal = 0;
            let matches = parts.iter().zip(&actual).all(|(t, a)| {
                if t.starts_with('{') {
                    true
                } else {
                    literal += 1;
                    t == a
                }
            });
            if let (true, Some(op)) = (matches, item.get(method.to_ascii_lowercase()))
                && best.is_none_or(|(l, _, _)| literal > l)
            {
                best = Some((literal, template, op));
            }
        }
        best.map(|(_, t, op)| (t.clone(), op))
    }

    /// A validator for `schema` (a node of this spec), with the spec's components as definitions.
    fn validator(&self, schema: &Value, context: &str) -> jsonschema::Validator {
        self.validator_for(schema, context, &[])
    }

    /// A validator for a request body (see `response_only_required`).
    fn request_validator(&self, schema: &Value, context: &str) -> jsonschema::Validator {
        self.validator_for(schema, context, self.response_only_required)
    }

    fn validator_for(&self, schema: &Value, context: &str, not_required: &[&str]) -> jsonschema::Validator {
        let definitions: Map<String, Value> = self.doc["components"]["schemas"]
            .as_object()
            .map(|all| all.iter().map(|(k, v)| (k.clone(), to_json_schema(v, not_required))).collect())
            .unwrap_or_default();
        let mut root = to_json_schema(schema, not_required);
        if let Value::Object(map) = &mut root {
            map.insert("definitions".into(), Value::Object(definitions));
        }
        jsonschema::draft4::new(&root)
            .unwrap_or_else(|e| panic!("{}: schema for {context} does not compile: {e}", self.name))
    }
}

/// OpenAPI 3.0 schema object → JSON Schema draft 4, leaving `not_required` out of `required`.
fn to_json_schema(schema: &Value, not_required: &[&str]) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "$ref" => {
                        let target =
                            value.as_str().unwrap_or_default().replace("#/components/schemas/", "#/definitions/");
                        out.insert(key.clone(), Value::String(target));
                    }
                    // OpenAPI-only annotations.
                    "nullable" | "discriminator" | "example" | "deprecated" | "readOnly" | "writeOnly" | "xml"
                    | "externalDocs" => {}
                    k if k.starts_with("x-") => {}
                    // Defect: duplicate entries make an invalid draft-4 enum.
                    "enum" => {
                        let mut seen = Vec::new();
                        for v in value.as_array().into_iter().flatten() {
                            if !seen.contains(v) {
                                seen.push(v.clone());
                            }
                        }
                        out.insert(key.clone(), Value::Array(seen));
                    }
                    // Defect: an empty oneOf/anyOf constrains nothing in intent but fails everything.
                    "oneOf" | "anyOf" | "allOf" if value.as_array().is_some_and(Vec::is_empty) => {}
                    // Known spec defect: `oneOf` alternatives that overlap (Vercel's env list is
                    // `oneOf` {envs} and {envs, pagination}), so a valid document matches several
                    // and `oneOf` fails it. `anyOf` keeps "matches at least one alternative".
                    "oneOf" => {
                        out.insert("anyOf".into(), to_json_schema(value, not_required));
                    }
                    // Property names are data, not schemas.
                    "properties" | "definitions" | "patternProperties" => {
                        let converted = value
                            .as_object()
                            .map(|m| m.iter().map(|(k, v)| (k.clone(), to_json_schema(v, not_required))).collect());
                        out.insert(key.clone(), Value::Object(converted.unwrap_or_default()));
                    }
                    "required" if value.is_array() => {
                        let kept: Vec<Value> = value
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|name| !name.as_str().is_some_and(|n| not_required.contains(&n)))
                            .cloned()
                            .collect();
                        if !kept.is_empty() {
                            out.insert(key.clone(), Value::Array(kept));
                        }
                    }
                    _ => {
                        out.insert(key.clone(), to_json_schema(value, not_required));
                    }
                }
            }
            declare_required_properties(&mut out);
            if map.get("nullable") == Some(&Value::Bool(true)) {
                return nullable(out);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|item| to_json_schema(item, not_required)).collect()),
        other => other.clone(),
    }
}

/// Known spec defect (ENDPOINTS.md §1.12): Vercel's createRecord TXT, SRV and HTTPS variants
/// require `name` without declaring it, under `additionalProperties: false`, so nothing
/// satisfies them, while the API needs `name`. A required property that a closed object does
/// not declare is declared as a string.
fn declare_required_properties(schema: &mut Map<String, Value>) {
    if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        return;
    }
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let properties = schema.entry("properties").or_insert_with(|| Value::Object(Map::new()));
    if let Some(properties) = properties.as_object_mut() {
        for name in required {
            properties.entry(name).or_insert_with(|| serde_json::json!({ "type": "string" }));
        }
    }
}

/// `nullable: true` → also accept `null`.
fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema.insert("type".into(), json!([t, "null"]));
            Value::Object(schema)
        }
        // Defect: `nullable` without `type` (or combined with oneOf/anyOf).
        _ => json!({ "anyOf": [Value::Object(schema), { "type": "null" }] }),
    }
}

/// Every contract violation in one exchange, as "operation: where: rule"; `checked` counts the
/// documents (request and response bodies) that had a schema to be validated against.
fn violations(spec: &Spec, exchange: &RecordedRequest, checked: &mut usize) -> Vec<String> {
    let Some((template, op)) = spec.operation(&exchange.method, &exchange.path) else {
        return vec![format!("{} {} {}: not in the spec", spec.name, exchange.method, exchange.path)];
    };
    let name = format!("{} {} {template}", spec.name, exchange.method);
    let mut found = Vec::new();
    let parameters = parameter_instances(spec, &template, op, exchange, &mut found, &name);
    let mut check = |schema: &Value, instance: &Value, what: &str| {
        let context = format!("{name} {what}");
        let validator = if what == "request body" {
            spec.request_validator(schema, &context)
        } else {
            spec.validator(schema, &context)
        };
        *checked += 1;
        for error in validator.iter_errors(instance) {
            found.push(format!("{name}: {what} at '{}': {error}", error.instance_path()));
        }
    };
    if let (Some(body), Some(schema)) = (&exchange.body, op.pointer("/requestBody/content/application~1json/schema")) {
        check(schema, body, "request body");
    }
    for (what, schema, instance) in parameters {
        check(&schema, &instance, &what);
    }
    let status = exchange.status.to_string();
    let class = format!("{}XX", exchange.status / 100);
    let response = op["responses"]
        .get(&status)
        .or_else(|| op["responses"].get(&class))
        .or_else(|| op["responses"].get(class.to_lowercase()))
        .or_else(|| op["responses"].get("default"));
    let declared = response.and_then(|r| r.pointer("/content/application~1json/schema")).cloned();
    let schema = match spec.error_envelope {
        Some(envelope) if exchange.status >= 400 && declared.is_some() => Some(json!({ "$ref": envelope })),
        _ => declared,
    };
    if let (Some(body), Some(schema)) = (&exchange.response, schema) {
        check(&schema, body, &format!("{status} response"));
    }
    found
}

/// The operation's parameters, path-level and operation-level (the latter win), `$ref`s followed.
fn parameters<'a>(spec: &'a Spec, template: &str, op: &'a Value) -> Vec<&'a Value> {
    let path_level = spec.doc["paths"][template]["parameters"].as_array().into_iter().flatten();
    let op_level: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().map(|p| resolve(spec, p)).collect();
    let key = |p: &Value| {
        (p["in"].as_str().unwrap_or_default().to_string(), p["name"].as_str().unwrap_or_default().to_string())
    };
    let mut all: Vec<&Value> =
        path_level.map(|p| resolve(spec, p)).filter(|p| !op_level.iter().any(|o| key(o) == key(p))).collect();
    all.extend(op_level);
    all
}

/// A query or path value as the JSON value `schema` types it: strings that are numbers or
/// booleans where the schema wants those, and strings otherwise (so a value of the wrong type
/// fails the schema instead of being coerced into passing it).
fn typed_value(spec: &Spec, schema: &Value, raw: &str) -> Value {
    let schema = resolve(spec, schema);
    let mut types: Vec<&str> = Vec::new();
    match &schema["type"] {
        Value::String(t) => types.push(t),
        Value::Array(ts) => types.extend(ts.iter().filter_map(Value::as_str)),
        _ => {}
    }
    for alternative in ["oneOf", "anyOf", "allOf"] {
        for option in schema[alternative].as_array().into_iter().flatten() {
            if let Some(t) = resolve(spec, option)["type"].as_str() {
                types.push(t);
            }
        }
    }
    for t in types {
        match t {
            "integer" | "number" => {
                if let Ok(n) = raw.parse::<i64>() {
                    return json!(n);
                }
                if let Some(n) = raw.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    return Value::Number(n);
                }
            }
            "boolean" if raw == "true" || raw == "false" => return json!(raw == "true"),
            _ => {}
        }
    }
    Value::String(raw.to_string())
}

/// The path and query parameters of `exchange` as (what, schema, instance) to validate, per the
/// operation's parameter declarations: an array parameter in `style: form` (the default for
/// queries) with `explode: true` (the default) is the key repeated, with `explode: false` one
/// comma-separated value. Violations no schema can state (an undeclared key, a scalar given
/// twice, a required parameter missing) go straight into `found`.
fn parameter_instances(
    spec: &Spec,
    template: &str,
    op: &Value,
    exchange: &RecordedRequest,
    found: &mut Vec<String>,
    name: &str,
) -> Vec<(String, Value, Value)> {
    let declared = parameters(spec, template, op);
    let mut instances = Vec::new();
    let segments: Vec<&str> = exchange.path.trim_matches('/').split('/').collect();
    for (part, actual) in template.trim_matches('/').split('/').zip(&segments) {
        let Some(param) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else { continue };
        let decoded = percent_decode(actual);
        match declared.iter().find(|p| p["in"] == "path" && p["name"] == param) {
            Some(p) => instances.push((
                format!("path parameter `{param}`"),
                p["schema"].clone(),
                typed_value(spec, &p["schema"], &decoded),
            )),
            None => found.push(format!("{name}: path parameter `{param}` is not declared")),
        }
    }
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://query.test/?{}", exchange.query))
        .map(|url| url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default();
    for (key, _) in &pairs {
        if !declared.iter().any(|p| p["in"] == "query" && p["name"] == key.as_str()) {
            found.push(format!("{name}: query key `{key}` is not a parameter of the operation"));
        }
    }
    for p in declared.iter().filter(|p| p["in"] == "query") {
        let key = p["name"].as_str().unwrap_or_default();
        let values: Vec<&str> = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect();
        if values.is_empty() {
            if p["required"] == true {
                found.push(format!("{name}: required query parameter `{key}` is missing"));
            }
            continue;
        }
        let schema = p["schema"].clone();
        let resolved = resolve(spec, &schema);
        let instance = if resolved["type"] == "array" {
            let style = p["style"].as_str().unwrap_or("form");
            let explode = p["explode"].as_bool().unwrap_or(style == "form");
            if style != "form" {
                found
                    .push(format!("{name}: query parameter `{key}` has style {style}, which this check does not read"));
                continue;
            }
            let items: Vec<&str> = if explode { values } else { values.iter().flat_map(|v| v.split(',')).collect() };
            Value::Array(items.iter().map(|v| typed_value(spec, &resolved["items"], v)).collect())
        } else if values.len() > 1 {
            found.push(format!("{name}: query parameter `{key}` is given {} times but is not an array", values.len()));
            continue;
        } else {
            typed_value(spec, &schema, values[0])
        };
        instances.push((format!("query parameter `{key}`"), schema, instance));
    }
    instances
}

/// A path segment with its `%XX` escapes decoded.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| segment.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Fails listing every contract violation in `exchanges`; returns how many documents had a
/// schema to be checked against.
fn assert_conforms(spec: &Spec, exchanges: &[RecordedRequest]) -> usize {
    let mut checked = 0;
    let found: Vec<String> = exchanges.iter().flat_map(|e| violations(spec, e, &mut checked)).collect();
    assert!(found.is_empty(), "{} contract violations:\n{}", found.len(), found.join("\n"));
    checked
}

/// The parameter check itself: query strings and path segments that break the spec's parameter
/// declarations are reported, the forms it declares are not.
#[test]
fn query_strings_and_path_parameters_are_checked_against_the_spec() {
    let spec = Spec::load("supabase", "supabase-management-openapi.json");
    let exchange = |path: &str, query: &str| RecordedRequest {
        method: "GET".into(),
        path: path.into(),
        endpoint: String::new(),
        at_ms: 0,
        query: query.into(),
        status: 200,
        body: None,
        response: None,
    };
    let health = "/v1/projects/abcdefghijklmnopqrst/health";
    let problems = |path: &str, query: &str| {
        let mut checked = 0;
        let found = violations(&spec, &exchange(path, query), &mut checked);
        (found, checked)
    };
    // The array declared `style: form, explode: true`: the key repeated.
    let (found, checked) = problems(health, "services=auth&services=db&timeout_ms=2000");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(checked, 3, "the path reference, services and timeout_ms");
    for (query, expected) in [
        ("services=auth,db", "query parameter `services`"),
        ("services=auth%2Cdb", "query parameter `services`"),
        ("services=dns", "query parameter `services`"),
        ("services=db&timeout_ms=soon", "query parameter `timeout_ms`"),
        ("services=db&timeout_ms=20000", "query parameter `timeout_ms`"),
        ("services=db&timeout_ms=1&timeout_ms=2", "given 2 times"),
        ("services=db&verbose=true", "query key `verbose` is not a parameter"),
        ("timeout_ms=2000", "required query parameter `services` is missing"),
    ] {
        let (found, _) = problems(health, query);
        assert!(found.iter().any(|f| f.contains(expected)), "{query}: {found:?}");
    }
    let (found, _) = problems("/v1/projects/NOT-A-REF/health", "services=db");
    assert!(found.iter().any(|f| f.contains("path parameter `ref`")), "{found:?}");
    let (found, _) = problems("/v1/projects/abcdefghijklmnopqrst/api-keys", "reveal=yes");
    assert!(found.iter().any(|f| f.contains("query parameter `reveal`")), "{found:?}");
}

/// A query string that does not parse gets the vendor's JSON error, not axum's text/plain, and
/// shows in the simulator's request log; Supabase health takes `services` both as repeated keys
/// (the spec's form) and comma-joined, with the same answer.
#[tokio::test]
async fn unparsable_queries_get_the_vendors_error_and_are_logged() {
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    use slipway_sim::faults::FaultPlan;
    use slipway_sim::supabase::{SupabaseSim, SupabaseSimConfig};
    use slipway_sim::vercel::VercelSim;
    let vercel = VercelSim::start("t", FaultPlan::default()).await.unwrap();
    let supabase = SupabaseSim::start(SupabaseSimConfig { ready_after: Duration::ZERO, ..SupabaseSimConfig::new("t") })
        .await
        .unwrap();
    let cloudflare = CloudflareSim::start(CloudflareSimConfig::new("t")).await.unwrap();
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http.get(url).bearer_auth("t").send().await.unwrap();
            let status = response.status().as_u16();
            let json = response.headers()["content-type"].to_str().unwrap().starts_with("application/json");
            (status, json, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, json, body) = get(format!("{}/v10/projects?limit=many", vercel.base_url())).await;
    assert!(status == 400 && json && body["error"]["code"] == "bad_request", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"), "{body}");
    let logged = vercel.requests();
    assert!(logged.iter().any(|r| r.query == "limit=many" && r.status == 400 && r.response == Some(body.clone())));

    let regions =
        format!("{}/v1/projects/available-regions?organization_slug=a&organization_slug=b", supabase.base_url());
    let (status, json, body) = get(regions).await;
    assert!(status == 400 && json && body["message"].as_str().unwrap().contains("organization_slug"), "{body}");
    assert!(supabase.requests().iter().any(|r| r.path == "/v1/projects/available-regions" && r.status == 400));

    let (status, json, body) = get(format!("{}/zones?page=first", cloudflare.base_url())).await;
    assert!(status == 400 && json && body["success"] == false && body["errors"][0]["code"].is_number(), "{body}");
    assert!(body["result"].is_null(), "{body}");
    assert!(cloudflare.requests().iter().any(|r| r.path == "/zones" && r.query == "page=first" && r.status == 400));

    let created: Value = http
        .post(format!("{}/v1/projects", supabase.base_url()))
        .bearer_auth("t")
        .json(&json!({"name": "health", "organization_slug": "sandbox-org", "db_pass": "pw-0123456789"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let health = format!("{}/v1/projects/{}/health", supabase.base_url(), created["ref"].as_str().unwrap());
    let (status, _, repeated) = get(format!("{health}?services=db&services=auth")).await;
    assert_eq!(status, 200, "{repeated}");
    let names = |answer: &Value| answer.as_array().unwrap().iter().map(|s| s["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&repeated), [json!("db"), json!("auth")]);
    let (status, _, joined) = get(format!("{health}?services=db,auth")).await;
    assert_eq!((status, names(&joined)), (200, names(&repeated)));
    let (status, _, refused) = get(format!("{health}?services=db&services=dns")).await;
    assert!(status == 400 && refused["message"].as_str().unwrap().contains("dns"), "{refused}");
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_total: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn vercel_exchanges_conform_to_the_official_spec() {
    use slipway_engine::platform::vercel::*;
    use slipway_sim::faults::FaultPlan;
    use slipway_sim::vercel::VercelSim;
    let spec = Spec::load("vercel", "vercel-openapi.json");
    let sim = VercelSim::start("contract-token", FaultPlan::default()).await.unwrap();
    let mut config = VercelConfig::new(sim.base_url(), SecretString::from("contract-token"));
    config.api.retry = fast_retries();
    let client = VercelClient::new(config).unwrap();

    let request = CreateProjectRequest {
        name: "contract-shop".into(),
        framework: Some("nextjs".into()),
        build_command: Some("next build".into()),
        install_command: Some("npm ci".into()),
        output_directory: Some(".next".into()),
        git_repository: Some(GitRepository { provider: GitProvider::Github, repo: "acme/shop".into() }),
        preview_deployments_disabled: Some(false),
        ..CreateProjectRequest::default()
    };
    let created = client.create_project(&request).await.unwrap();
    client.get_project(&created.id).await.unwrap();
    assert!(client.create_project(&request).await.is_err(), "409 for the duplicate");
    assert!(client.find_project("missing").await.unwrap().is_none());
    let secret = |key: &str, target| EnvVarInput {
        key: key.into(),
        value: SecretString::from("value-0123"),
        var_type: EnvVarType::Sensitive,
        target: vec![target],
        git_branch: None,
        comment: Some("from Supabase".into()),
        custom_environment_ids: Vec::new(),
    };
    client
        .create_env_vars(
            &created.id,
            &[secret("POSTGRES_URL", EnvTarget::Production), secret("POSTGRES_URL", EnvTarget::Preview)],
            true,
        )
        .await
        .unwrap();
    let partial =
        client.create_env_vars(&created.id, &[secret("POSTGRES_URL", EnvTarget::Production)], false).await.unwrap();
    assert_eq!(partial.failed.len(), 1);
    let envs = client.list_env_vars(&created.id).await.unwrap();
    let id = envs[0].id.clone().unwrap();
    client
        .edit_env_var(&created.id, &id, &EnvVarPatch { comment: Some("edited".into()), ..Default::default() })
        .await
        .unwrap();
    client.delete_env_var(&created.id, &id).await.unwrap();
    let staging = CreateCustomEnvironment {
        slug: "staging".into(),
        description: Some("Pre-production".into()),
        branch_matcher: Some(BranchMatcher { matcher: BranchMatcherType::StartsWith, pattern: "release/".into() }),
    };
    let environment = client.create_custom_environment(&created.id, &staging).await.unwrap();
    client.list_custom_environments(&created.id).await.unwrap();
    client.get_custom_environment(&created.id, "staging").await.unwrap();
    client.delete_custom_environment(&created.id, &environment.id).await.unwrap();
    sim.set_build_time(Duration::from_millis(60));
    let deploy = CreateDeploymentRequest {
        name: created.name.clone(),
        target: Some("production".into()),
        git_source: Some(GitSource {
            provider: GitProvider::Github,
            org: "acme".into(),
            repo: "shop".into(),
            git_ref: "main".into(),
            sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        }),
        ..CreateDeploymentRequest::default()
    };
    let deployment = client.create_deployment(&deploy).await.unwrap();
    client.cancel_deployment(&client.create_deployment(&deploy).await.unwrap().id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    client.get_deployment(&deployment.id).await.unwrap();
    let filter = DeploymentFilter { project_id: Some(created.id.clone()), limit: Some(1), ..Default::default() };
    client.list_deployments(&filter).await.unwrap();
    let patch = UpdateProjectRequest {
        build_command: Some(Some("pnpm build".into())),
        install_command: Some(None),
        node_version: Some("22.x".into()),
        ..Default::default()
    };
    client.update_project(&created.id, &patch).await.unwrap();
    let made = client.create_env_vars(&created.id, &[secret("SUPABASE_URL", EnvTarget::Preview)], true).await.unwrap();
    let env_id = made.created[0].id.clone().unwrap();
    client.get_env_var(&created.id, &env_id).await.unwrap();
    client.delete_env_vars(&created.id, &[&env_id]).await.unwrap();
    let environment = client.create_custom_environment(&created.id, &staging).await.unwrap();
    let matcher = BranchMatcher { matcher: BranchMatcherType::Equals, pattern: "staging".into() };
    let patch = UpdateCustomEnvironment { branch_matcher: Some(matcher), ..Default::default() };
    client.update_custom_environment(&created.id, &environment.id, &patch).await.unwrap();
    client.current_user().await.unwrap();
    let teams = client.list_teams().await.unwrap();
    client.get_team(&teams[0].id).await.unwrap();
    client.delete_project(&created.id).await.unwrap();

    let checked = assert_conforms(&spec, &sim.requests());
    // Project and env bodies and responses (the 404 and 409 have no response schema).
    assert!(checked >= 35, "only {checked} documents validated");
}

#[tokio::test]
async fn vercel_domain_exchanges_conform_to_the_official_spec() {
    use slipway_engine::platform::cloudflare::{self, CloudflareClient, CloudflareConfig};
    use slipway_engine::platform::vercel::*;
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    use slipway_sim::dns::SimDns;
    use slipway_sim::faults::FaultPlan;
    use slipway_sim::vercel::VercelSim;
    let spec = Spec::load("vercel", "vercel-openapi.json");
    let dns = SimDns::default();
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = VercelSim::start_with_dns(local, "t", FaultPlan::default(), dns.clone()).await.unwrap();
    let cf_sim = CloudflareSim::start(CloudflareSimConfig { dns, ..CloudflareSimConfig::new("t") }).await.unwrap();
    let mut config = VercelConfig::new(sim.base_url(), SecretString::from("t"));
    config.api.retry = fast_retries();
    let client = VercelClient::new(config).unwrap();
    let cloudflare =
        CloudflareClient::new(CloudflareConfig::with_token(cf_sim.base_url(), SecretString::from("t"))).unwrap();
    let zone = cloudflare.find_zone("example.com").await.unwrap().unwrap();
    let publish = |record_type, name: &str, content: &str| cloudflare::RecordInput {
        record_type,
        name: name.into(),
        content: content.into(),
        ttl: 1,
        proxied: false,
        comment: None,
    };

    let project = client.create_project(&CreateProjectRequest { name: "domains".into(), ..Default::default() }).await;
    let project = project.unwrap();
    let apex = client
        .add_project_domain(&project.id, &AddProjectDomain { name: "example.com".into(), ..Default::default() })
        .await
        .unwrap();
    let www = AddProjectDomain {
        name: "www.example.com".into(),
        redirect: Some("example.com".into()),
        redirect_status_code: Some(308),
        ..Default::default()
    };
    client.add_project_domain(&project.id, &www).await.unwrap();
    assert!(client.verify_project_domain(&project.id, "example.com").await.is_err());
    let challenge = &apex.verification[0];
    cloudflare
        .create_record(&zone.id, &publish(cloudflare::RecordType::Txt, &challenge.domain, &challenge.value))
        .await
        .unwrap();
    client.verify_project_domain(&project.id, "example.com").await.unwrap();
    client.get_project_domain(&project.id, "example.com").await.unwrap();
    client.list_project_domains(&project.id).await.unwrap();
    let patch = UpdateProjectDomain { redirect_status_code: Some(301), ..Default::default() };
    client.update_project_domain(&project.id, "www.example.com", &patch).await.unwrap();
    client.domain_config("example.com", Some(&project.id)).await.unwrap();
    cloudflare
        .create_record(&zone.id, &publish(cloudflare::RecordType::A, "example.com", "76.76.21.21"))
        .await
        .unwrap();
    client.domain_config("example.com", None).await.unwrap();
    let cert = client.issue_certificate(&["example.com"]).await.unwrap();
    client.get_certificate(&cert.id).await.unwrap();
    client.remove_project_domain(&project.id, "example.com", true).await.unwrap();

    client.add_domain("venture.dev").await.unwrap();
    client.find_domain("venture.dev").await.unwrap();
    client.list_domains().await.unwrap();
    let record = |name: &str, record_type, value: &str| DnsRecordInput {
        name: name.into(),
        record_type,
        value: value.into(),
        ttl: Some(60),
        mx_priority: None,
        comment: Some("managed by Slipway".into()),
    };
    // TXT with `name`: the documented spec defect, handled in `declare_required_properties`.
    let txt =
        client.create_dns_record("venture.dev", &record("_vercel", DnsRecordType::Txt, "vc-domain-verify=x")).await;
    client.create_dns_record("venture.dev", &record("", DnsRecordType::A, "76.76.21.21")).await.unwrap();
    client
        .create_dns_record("venture.dev", &record("www", DnsRecordType::Cname, "cname.vercel-dns.com"))
        .await
        .unwrap();
    let mx = DnsRecordInput { mx_priority: Some(10), ..record("", DnsRecordType::Mx, "mx.venture.dev") };
    client.create_dns_record("venture.dev", &mx).await.unwrap();
    client.list_dns_records("venture.dev").await.unwrap();
    let txt = txt.unwrap();
    client.update_dns_record(&txt, &DnsRecordPatch { ttl: Some(120), ..Default::default() }).await.unwrap();
    client.delete_dns_record("venture.dev", &txt).await.unwrap();
    client.delete_domain("venture.dev").await.unwrap();

    let checked = assert_conforms(&spec, &sim.requests());
    assert!(checked >= 30, "only {checked} documents validated");
}

#[tokio::test]
async fn supabase_exchanges_conform_to_the_official_spec() {
    use slipway_engine::platform::supabase::*;
    use slipway_sim::supabase::{SupabaseSim, SupabaseSimConfig};
    let spec = Spec::load("supabase", "supabase-management-openapi.json");
    let sim = SupabaseSim::start(SupabaseSimConfig {
        ready_after: Duration::from_millis(100),
        pitr_enabled: true,
        ..SupabaseSimConfig::new("t")
    })
    .await
    .unwrap();
    let mut config = SupabaseConfig::new(sim.base_url(), SecretString::from("t"));
    config.api.retry = fast_retries();
    let client = SupabaseClient::new(config).unwrap();

    client.list_organizations().await.unwrap();
    let created = client
        .create_project(&CreateProjectRequest {
            name: "contract-shop".into(),
            organization_slug: "sandbox-org".into(),
            db_pass: SecretString::from("pw-0123456789"),
            region_selection: Some(RegionSelection::SmartGroup("emea".into())),
            desired_instance_size: Some("micro".into()),
        })
        .await
        .unwrap();
    client.health(&created.reference, HEALTH_SERVICES).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.get_project(&created.reference).await.unwrap();
    client.list_projects().await.unwrap();
    client.health(&created.reference, &["db", "pooler"]).await.unwrap();
    client.api_keys(&created.reference).await.unwrap();
    client.pooler_config(&created.reference).await.unwrap();

    let reference = created.reference.as_str();
    client.get_organization("sandbox-org").await.unwrap();
    let other = CreateProjectRequest {
        name: "contract-other".into(),
        organization_slug: "sandbox-org".into(),
        db_pass: SecretString::from("pw-0123456789"),
        region_selection: Some(RegionSelection::Specific("eu-central-2".into())),
        desired_instance_size: None,
    };
    client.create_project(&other).await.unwrap();
    let paged =
        OrganizationProjectsQuery { limit: Some(1), sort: Some(ProjectSort::CreatedDesc), ..Default::default() };
    assert_eq!(client.organization_projects("sandbox-org", &paged).await.unwrap().len(), 2);
    let healthy = OrganizationProjectsQuery { statuses: vec![ProjectStatus::ActiveHealthy], ..Default::default() };
    client.organization_projects_page("sandbox-org", &healthy).await.unwrap();
    client.available_regions("sandbox-org").await.unwrap();
    let key = CreateApiKeyRequest {
        key_type: ApiKeyType::Secret,
        name: "contract_key".into(),
        description: Some("contract".into()),
        secret_jwt_template: Some(json!({"role": "service_role"}).as_object().unwrap().clone()),
    };
    let key = client.create_api_key(reference, &key).await.unwrap();
    let publishable = CreateApiKeyRequest {
        key_type: ApiKeyType::Publishable,
        name: "contract_web".into(),
        description: None,
        secret_jwt_template: None,
    };
    client.create_api_key(reference, &publishable).await.unwrap();
    let compromised = DeleteApiKeyOptions { was_compromised: true, reason: Some("rotating_key".into()) };
    client.delete_api_key(reference, key.id.as_deref().unwrap(), &compromised).await.unwrap();
    client.set_legacy_api_keys(reference, false).await.unwrap();
    client.legacy_api_keys_enabled(reference).await.unwrap();
    client.api_keys(reference).await.unwrap();
    let standby = CreateSigningKeyRequest { algorithm: SigningKeyAlgorithm::RS256, status: None };
    let next = client.create_signing_key(reference, &standby).await.unwrap();
    let in_use =
        CreateSigningKeyRequest { algorithm: SigningKeyAlgorithm::EdDSA, status: Some(SigningKeyStatus::InUse) };
    let current = client.create_signing_key(reference, &in_use).await.unwrap();
    client
        .create_signing_key(reference, &CreateSigningKeyRequest { algorithm: SigningKeyAlgorithm::HS256, ..standby })
        .await
        .unwrap();
    client.set_signing_key_status(reference, &next.id, SigningKeyStatus::InUse).await.unwrap();
    client.set_signing_key_status(reference, &current.id, SigningKeyStatus::Revoked).await.unwrap();
    client.signing_keys(reference).await.unwrap();
    client.reset_database_password(reference, &SecretString::from("pw-new-0123456789")).await.unwrap();
    let query = QueryRequest { parameters: vec![json!(1)], read_only: Some(true), ..QueryRequest::new("select $1") };
    client.run_query(reference, &query).await.unwrap();
    client.run_query(reference, &QueryRequest::new("select 1")).await.unwrap();
    client.auth_config(reference).await.unwrap();
    let auth = AuthConfigUpdate {
        site_url: Some("https://shop.example.com".into()),
        uri_allow_list: Some(vec!["https://shop.example.com/**".into(), "https://*.vercel.app/**".into()]),
        disable_signup: Some(false),
        external_email_enabled: Some(true),
        jwt_exp: Some(3600),
        external_google_enabled: Some(true),
        external_google_client_id: Some("google-id".into()),
        external_google_secret: Some(SecretString::from("google-secret")),
        external_github_enabled: Some(true),
        external_github_client_id: Some("github-id".into()),
        external_github_secret: Some(SecretString::from("github-secret")),
        external_azure_enabled: Some(true),
        external_azure_client_id: Some("azure-id".into()),
        external_azure_secret: Some(SecretString::from("azure-secret")),
        external_azure_url: Some("https://login.microsoftonline.com/tenant".into()),
    };
    client.update_auth_config(reference, &auth).await.unwrap();
    let backups = client.backups(reference).await.unwrap();
    let latest = backups.physical_backup_data.latest_physical_backup_date_unix.unwrap();
    client.restore_pitr(reference, latest).await.unwrap();
    client.backup_schedule(reference).await.unwrap();
    client.delete_project(reference).await.unwrap();

    let exchanges = sim.requests();
    let checked = assert_conforms(&spec, &exchanges);
    // Every request body and every response that has a schema (SQL and restore-pitr have none).
    assert!(checked > exchanges.len(), "only {checked} documents validated for {} exchanges", exchanges.len());
    let operations: std::collections::BTreeSet<String> = exchanges
        .iter()
        .filter_map(|e| spec.operation(&e.method, &e.path).map(|(template, _)| format!("{} {template}", e.method)))
        .collect();
    assert!(operations.len() >= 25, "{} operations exercised: {operations:?}", operations.len());
}

#[tokio::test]
async fn cloudflare_exchanges_conform_to_the_official_spec() {
    use slipway_engine::platform::cloudflare::*;
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    let spec = Spec::load("cloudflare", "cloudflare-openapi.json");
    let sim = CloudflareSim::start(CloudflareSimConfig::new("t")).await.unwrap();
    let mut config = CloudflareConfig::with_token(sim.base_url(), SecretString::from("t"));
    config.api.retry = fast_retries();
    let client = CloudflareClient::new(config).unwrap();

    let zone = client.find_zone("example.com").await.unwrap().unwrap();
    let record = |record_type, name: &str, content: &str| RecordInput {
        record_type,
        name: name.into(),
        content: content.into(),
        ttl: 1,
        proxied: false,
        comment: Some("managed by Slipway".into()),
    };
    let apex = client.create_record(&zone.id, &record(RecordType::A, "example.com", "76.76.21.21")).await.unwrap();
    client
        .create_record(&zone.id, &record(RecordType::Cname, "www.example.com", "cname.vercel-dns.com"))
        .await
        .unwrap();
    client
        .create_record(&zone.id, &record(RecordType::Txt, "_vercel.example.com", "vc-domain-verify=example.com,abc"))
        .await
        .unwrap();
    assert!(client.create_record(&zone.id, &record(RecordType::A, "www.example.com", "76.76.21.21")).await.is_err());
    client.list_records(&zone.id, &RecordFilter::default()).await.unwrap();
    client.update_record(&zone.id, &apex.id, &record(RecordType::A, "example.com", "76.76.21.22")).await.unwrap();
    client.delete_record(&zone.id, &apex.id).await.unwrap();

    let exchanges = sim.requests();
    let checked = assert_conforms(&spec, &exchanges);
    assert!(checked > exchanges.len(), "only {checked} documents validated for {} exchanges", exchanges.len());
}

/// For each operation with a JSON body: a body that breaks the spec (a required field removed,
/// an enum given a value outside it) is rejected by the spec's own schema *and* by the simulator.
#[tokio::test]
async fn the_simulators_reject_what_the_specs_reject() {
    use slipway_sim::faults::FaultPlan;
    use slipway_sim::supabase::{SupabaseSim, SupabaseSimConfig};
    use slipway_sim::vercel::VercelSim;
    let vercel = Spec::load("vercel", "vercel-openapi.json");
    let supabase = Spec::load("supabase", "supabase-management-openapi.json");
    let vercel_sim = VercelSim::start("t", FaultPlan::default()).await.unwrap();
    let supabase_sim = SupabaseSim::start(SupabaseSimConfig::new("t")).await.unwrap();
    // A project for the deployment case to deploy.
    reqwest::Client::new()
        .post(format!("{}/v11/projects", vercel_sim.base_url()))
        .bearer_auth("t")
        .json(&json!({"name": "deployable"}))
        .send()
        .await
        .unwrap();
    let mut checked = 0;
    let v = vercel_sim.base_url();
    checked += rejections(
        &vercel,
        &v,
        "POST",
        "/v11/projects",
        json!({"name": "valid-name", "framework": "nextjs",
            "gitRepository": {"type": "github", "repo": "acme/shop"}}),
        vec![],
    )
    .await;
    checked += rejections(
        &vercel,
        &v,
        "POST",
        "/v13/deployments",
        json!({"name": "deployable", "target": "production",
            "gitSource": {"type": "github", "org": "acme", "repo": "shop", "ref": "main"}}),
        vec![],
    )
    .await;
    checked += vercel_rejections(&vercel, &v).await;
    let s = supabase_sim.base_url();
    checked += rejections(
        &supabase,
        &s,
        "POST",
        "/v1/projects",
        json!({"name": "p", "organization_slug": "sandbox-org",
            "db_pass": "pw-0123456789", "desired_instance_size": "micro", "plan": "free"}),
        vec![],
    )
    .await;
    checked += cloudflare_rejections().await;
    assert!(checked >= 40, "{checked} cases");
}

/// Cloudflare's record create and replace: bodies are `oneOf` by record type, so every case is
/// written out.
async fn cloudflare_rejections() -> usize {
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    let spec = Spec::load("cloudflare", "cloudflare-openapi.json");
    let sim = CloudflareSim::start(CloudflareSimConfig::new("t")).await.unwrap();
    let zone = sim.zone_id("example.com").unwrap();
    let records = format!("/zones/{zone}/dns_records");
    let valid = json!({"type": "A", "name": "api.example.com", "content": "76.76.21.21", "ttl": 1, "proxied": false});
    let broken = || {
        vec![
            ("no `content`", json!({"type": "A", "name": "api.example.com"})),
            ("no `name`", json!({"type": "A", "content": "76.76.21.21"})),
            ("`type` outside its enum", json!({"type": "SPF", "name": "api.example.com", "content": "x"})),
            (
                "`ttl` neither 1 nor 30..86400",
                json!({"type": "A", "name": "api.example.com", "content": "76.76.21.21", "ttl": 5}),
            ),
            (
                "`proxied` not a boolean",
                json!({"type": "A", "name": "api.example.com", "content": "76.76.21.21", "proxied": "yes"}),
            ),
        ]
    };
    let mut checked = rejections(&spec, &sim.base_url(), "POST", &records, valid.clone(), broken()).await;
    let existing: Value = reqwest::Client::new()
        .post(format!("{}{records}", sim.base_url()))
        .bearer_auth("t")
        .json(&json!({"type": "TXT", "name": "note.example.com", "content": "hello"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = existing["result"]["id"].as_str().unwrap();
    let replace = json!({"type": "TXT", "name": "note.example.com", "content": "hello again", "ttl": 120});
    checked += rejections(&spec, &sim.base_url(), "PUT", &format!("{records}/{id}"), replace, broken()).await;
    checked
}

/// Every Vercel operation with a JSON body beyond project and deployment creation (a project
/// named `deployable` exists).
async fn vercel_rejections(spec: &Spec, base: &str) -> usize {
    let mut checked = 0;
    let project = "/v10/projects/deployable";
    // Make the objects the PATCH and DELETE cases act on.
    let http = reqwest::Client::new();
    let setup = |method: reqwest::Method, path: String, body: Value| {
        http.request(method, format!("{base}{path}")).bearer_auth("t").json(&body).send()
    };
    let envs: Value = setup(
        reqwest::Method::POST,
        format!("{project}/env"),
        json!([{"key": "A_KEY", "value": "v", "type": "plain", "target": ["preview"]}]),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let env_id = envs["created"][0]["id"].as_str().unwrap().to_string();
    setup(reqwest::Method::POST, "/v9/projects/deployable/custom-environments".into(), json!({"slug": "staging"}))
        .await
        .unwrap();
    setup(reqwest::Method::POST, format!("{project}/domains"), json!({"name": "example.com"})).await.unwrap();
    setup(reqwest::Method::POST, "/v7/domains".into(), json!({"name": "venture.dev"})).await.unwrap();
    let record: Value = setup(
        reqwest::Method::POST,
        "/v2/domains/venture.dev/records".into(),
        json!({"name": "", "type": "A", "value": "76.76.21.21"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let record_id = record["uid"].as_str().unwrap().to_string();

    let unknown = |valid: &Value| {
        let mut body = valid.clone();
        body["surprise"] = json!(true);
        body
    };
    let project_patch = json!({"buildCommand": "next build", "framework": "nextjs", "nodeVersion": "22.x"});
    checked += rejections(
        spec,
        base,
        "PATCH",
        "/v9/projects/deployable",
        project_patch.clone(),
        vec![
            ("an unknown field", unknown(&project_patch)),
            ("`buildCommand` over 256 characters", json!({"buildCommand": "x".repeat(257)})),
        ],
    )
    .await;
    let env = json!([{"key": "B_KEY", "value": "v", "type": "encrypted", "target": ["production"]}]);
    checked += rejections(
        spec,
        base,
        "POST",
        &format!("{project}/env"),
        env,
        vec![
            ("a variable without `type`", json!([{"key": "B_KEY", "value": "v", "target": ["production"]}])),
            (
                "`type` outside its enum",
                json!([{"key": "B_KEY", "value": "v", "type": "public", "target": ["production"]}]),
            ),
            ("a variable without a target", json!([{"key": "B_KEY", "value": "v", "type": "plain"}])),
        ],
    )
    .await;
    let env_patch = json!({"comment": "edited", "type": "encrypted"});
    checked += rejections(
        spec,
        base,
        "PATCH",
        &format!("/v9/projects/deployable/env/{env_id}"),
        env_patch.clone(),
        vec![("`comment` over 500 characters", json!({"comment": "c".repeat(501)}))],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "POST",
        "/v9/projects/deployable/custom-environments",
        json!({"slug": "qa", "branchMatcher": {"type": "startsWith", "pattern": "qa/"}}),
        vec![
            ("`slug` over 32 characters", json!({"slug": "s".repeat(33)})),
            (
                "`branchMatcher.type` outside its enum",
                json!({"slug": "qa", "branchMatcher": {"type": "regex", "pattern": "x"}}),
            ),
        ],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "PATCH",
        "/v9/projects/deployable/custom-environments/staging",
        json!({"description": "Pre-production"}),
        vec![("`description` over 256 characters", json!({"description": "d".repeat(257)}))],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "POST",
        &format!("{project}/domains"),
        json!({"name": "www.example.com", "redirect": "example.com", "redirectStatusCode": 308}),
        vec![(
            "`redirectStatusCode` outside its enum",
            json!({"name": "www.example.com", "redirect": "example.com", "redirectStatusCode": 303}),
        )],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "PATCH",
        "/v9/projects/deployable/domains/example.com",
        json!({"redirectStatusCode": 307}),
        vec![("`redirectStatusCode` outside its enum", json!({"redirectStatusCode": 200}))],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "POST",
        "/v7/domains",
        json!({"name": "another.dev", "method": "add"}),
        vec![
            ("no `name`", json!({"method": "add"})),
            ("an unknown field", json!({"name": "another.dev", "surprise": 1})),
        ],
    )
    .await;
    let a_record = json!({"name": "api", "type": "A", "value": "76.76.21.21", "ttl": 60});
    checked += rejections(
        spec,
        base,
        "POST",
        "/v2/domains/venture.dev/records",
        a_record.clone(),
        vec![
            ("no `type`", json!({"name": "api", "value": "76.76.21.21"})),
            ("`type` outside its enum", json!({"name": "api", "type": "SPF", "value": "x"})),
            ("`ttl` under 60", json!({"name": "api", "type": "A", "value": "76.76.21.21", "ttl": 30})),
            ("an MX record without `mxPriority`", json!({"name": "", "type": "MX", "value": "mx.venture.dev"})),
            ("an unknown field", unknown(&a_record)),
        ],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "PATCH",
        &format!("/v1/domains/records/{record_id}"),
        json!({"value": "76.76.21.22", "type": "A"}),
        vec![
            ("`ttl` under 60", json!({"ttl": 1})),
            ("`comment` over 500 characters", json!({"comment": "c".repeat(501)})),
        ],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "POST",
        "/v8/certs",
        json!({"cns": ["example.com"]}),
        vec![("`cns` not a list", json!({"cns": "example.com"}))],
    )
    .await;
    checked += rejections(
        spec,
        base,
        "DELETE",
        "/v1/projects/deployable/env",
        json!({"ids": [env_id]}),
        vec![("an unknown field", json!({"ids": [env_id], "surprise": 1}))],
    )
    .await;
    checked
}

/// Every Supabase operation with a JSON body added for keys, SQL, the password, auth config and
/// PITR: bodies the spec rejects get a 400 from the simulator too. Each valid body is sent first
/// and must succeed, so the 400s come from the broken part and not from the project's state.
#[tokio::test]
async fn supabase_simulator_rejects_what_the_spec_rejects() {
    use slipway_engine::platform::supabase::*;
    use slipway_sim::supabase::{SupabaseSim, SupabaseSimConfig};
    let spec = Spec::load("supabase", "supabase-management-openapi.json");
    let sim = SupabaseSim::start(SupabaseSimConfig {
        ready_after: Duration::from_millis(20),
        pitr_enabled: true,
        ..SupabaseSimConfig::new("t")
    })
    .await
    .unwrap();
    let mut config = SupabaseConfig::new(sim.base_url(), SecretString::from("t"));
    config.api.retry = fast_retries();
    let client = SupabaseClient::new(config).unwrap();
    let created = client
        .create_project(&CreateProjectRequest {
            name: "rejections".into(),
            organization_slug: "sandbox-org".into(),
            db_pass: SecretString::from("pw-0123456789"),
            region_selection: None,
            desired_instance_size: None,
        })
        .await
        .unwrap();
    while client.get_project(&created.reference).await.unwrap().status != ProjectStatus::ActiveHealthy {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = sim.base_url();
    let project = format!("/v1/projects/{}", created.reference);
    let http = reqwest::Client::new();
    // Sends a body the spec accepts and returns the simulator's answer, which must be a success.
    let accepted = |method: &'static str, path: String, body: Value| {
        let (http, base, spec) = (&http, &base, &spec);
        async move {
            let (_, op) = spec.operation(method, &path).unwrap();
            let schema = op.pointer("/requestBody/content/application~1json/schema").unwrap();
            assert!(spec.request_validator(schema, &path).is_valid(&body), "{method} {path}: {body} is valid");
            let response = http
                .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{base}{path}"))
                .bearer_auth("t")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let answer = response.json::<Value>().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{method} {path} {body}: {status} {answer}");
            answer
        }
    };
    let mut checked = 0;

    let path = format!("{project}/api-keys");
    let valid = json!({"type": "secret", "name": "ci_deploy_key", "description": "CI",
        "secret_jwt_template": {"role": "service_role"}});
    accepted("POST", path.clone(), valid.clone()).await;
    let with = |patch: Value| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        body
    };
    let extra = vec![
        ("`name` shorter than 4", with(json!({"name": "abc"}))),
        ("`name` longer than 64", with(json!({"name": "k".repeat(65)}))),
        ("`name` breaking its pattern", with(json!({"name": "CI-Deploy"}))),
        ("`name` starting with a digit", with(json!({"name": "9lives"}))),
        ("`description` not a string", with(json!({"description": 5}))),
        ("`secret_jwt_template` not an object", with(json!({"secret_jwt_template": "role=service_role"}))),
    ];
    // CreateApiKeyBody does not set additionalProperties: false, so no unknown-field case.
    checked += rejections(&spec, &base, "POST", &path, valid.clone(), extra).await;

    let path = format!("{project}/config/auth/signing-keys");
    let valid = json!({"algorithm": "ES256", "status": "standby"});
    let key = accepted("POST", path.clone(), valid.clone()).await;
    let imported = json!({"algorithm": "HS256", "private_jwk": {"kty": "oct", "k": "0123456789abcdef0123"}});
    accepted("POST", path.clone(), imported).await;
    let jwk = |jwk: Value| json!({"algorithm": "HS256", "private_jwk": jwk});
    let extra = vec![
        ("`status` revoked on creation", json!({"algorithm": "ES256", "status": "revoked"})),
        ("an unknown field", json!({"algorithm": "ES256", "comment": "rotation"})),
        ("`private_jwk` without its key", jwk(json!({"kty": "oct"}))),
        ("`private_jwk.k` shorter than 16", jwk(json!({"kty": "oct", "k": "too-short"}))),
        ("`private_jwk` with an unknown member", jwk(json!({"kty": "oct", "k": "0123456789abcdef0123", "x5c": "x"}))),
        ("`algorithm` null", json!({"algorithm": null})),
    ];
    checked += rejections(&spec, &base, "POST", &path, valid, extra).await;

    let path = format!("{project}/config/auth/signing-keys/{}", key["id"].as_str().unwrap());
    let valid = json!({"status": "standby"});
    accepted("PATCH", path.clone(), valid.clone()).await;
    let extra = vec![("an unknown field", json!({"status": "standby", "reason": "rotation"}))];
    checked += rejections(&spec, &base, "PATCH", &path, valid, extra).await;

    let path = format!("{project}/database/password");
    let valid = json!({"password": "correct-horse-battery-staple"});
    accepted("PATCH", path.clone(), valid.clone()).await;
    let extra = vec![
        ("`password` shorter than 4", json!({"password": "abc"})),
        ("`password` not a string", json!({"password": 12345})),
    ];
    checked += rejections(&spec, &base, "PATCH", &path, valid, extra).await;

    let path = format!("{project}/database/query");
    let valid = json!({"query": "select $1", "parameters": [1], "read_only": true});
    accepted("POST", path.clone(), valid.clone()).await;
    let extra = vec![
        ("`query` empty", json!({"query": ""})),
        ("`query` null", json!({"query": null})),
        ("`parameters` not an array", json!({"query": "select 1", "parameters": "1"})),
        ("`read_only` not a boolean", json!({"query": "select 1", "read_only": "yes"})),
    ];
    checked += rejections(&spec, &base, "POST", &path, valid, extra).await;

    let path = format!("{project}/config/auth");
    let valid = json!({"site_url": "https://example.com", "uri_allow_list": "https://example.com/callback",
        "jwt_exp": 3600, "external_google_enabled": true, "external_google_secret": "google-secret",
        "security_captcha_provider": "hcaptcha", "password_min_length": 8, "sessions_tags": "a, b",
        "sms_test_otp": "4152127777=123456", "external_azure_url": null});
    let answer = accepted("PATCH", path.clone(), valid.clone()).await;
    assert_eq!(answer["jwt_exp"], 3600);
    let with = |patch: Value| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        body
    };
    let extra = vec![
        ("`site_url` with a comma", with(json!({"site_url": "https://a.com,https://b.com"}))),
        ("`site_url` empty", with(json!({"site_url": ""}))),
        ("`jwt_exp` over a week", with(json!({"jwt_exp": 604_801}))),
        ("`jwt_exp` negative", with(json!({"jwt_exp": -1}))),
        ("`password_min_length` under 6", with(json!({"password_min_length": 5}))),
        ("`rate_limit_otp` under 1", with(json!({"rate_limit_otp": 0}))),
        ("`external_google_enabled` not a boolean", with(json!({"external_google_enabled": "yes"}))),
        ("`mailer_otp_exp` null", with(json!({"mailer_otp_exp": null}))),
        ("`sessions_tags` breaking its pattern", with(json!({"sessions_tags": "a b"}))),
        ("`sms_test_otp` breaking its pattern", with(json!({"sms_test_otp": "4152127777"}))),
    ];
    // UpdateAuthConfigBody does not set additionalProperties: false, so no unknown-field case.
    checked += rejections(&spec, &base, "PATCH", &path, valid, extra).await;

    let path = format!("{project}/database/backups/restore-pitr");
    let valid = json!({"recovery_time_target_unix": slipway_engine::time::now_ms() / 1000});
    accepted("POST", path.clone(), valid.clone()).await;
    let extra = vec![
        ("`recovery_time_target_unix` negative", json!({"recovery_time_target_unix": -1})),
        ("`recovery_time_target_unix` not an integer", json!({"recovery_time_target_unix": 1.5})),
        ("`recovery_time_target_unix` a string", json!({"recovery_time_target_unix": "1740787200"})),
    ];
    checked += rejections(&spec, &base, "POST", &path, valid, extra).await;

    assert_eq!(checked, 44, "generic and hand-written cases across the seven operations");
    assert_eq!(sim.pitr_restores(&created.reference).len(), 1, "only the valid restore went through");
    assert_eq!(sim.queries(&created.reference), ["select $1"], "only the valid query was recorded");
}

/// Breaks `valid` (a body the spec accepts for `method path`) once per required field and once
/// per enum-typed field it sets; each broken body must fail the spec's schema (else the case is
/// wrong) and get a 400 from the simulator at `base`. `extra` adds hand-written broken bodies
/// for rules the generic cases cannot reach (ranges, patterns, lengths, unknown fields).
/// Returns how many cases were checked.
async fn rejections(
    spec: &Spec,
    base: &str,
    method: &str,
    path: &str,
    valid: Value,
    extra: Vec<(&str, Value)>,
) -> usize {
    let (_, op) = spec.operation(method, path).unwrap_or_else(|| panic!("{method} {path} is not in the spec"));
    let schema = op.pointer("/requestBody/content/application~1json/schema").unwrap();
    let validator = spec.request_validator(schema, path);
    assert!(validator.is_valid(&valid), "the baseline body is valid for {method} {path}");
    let resolved = resolve(spec, schema);
    let mut broken = Vec::new();
    let required = resolved["required"].as_array().into_iter().flatten();
    // Response-only fields the spec wrongly requires of requests are not requirements.
    for field in required.filter(|f| !f.as_str().is_some_and(|f| spec.response_only_required.contains(&f))) {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field.as_str().unwrap());
        broken.push((format!("without required `{field}`"), body));
    }
    for (field, property) in resolved["properties"].as_object().into_iter().flatten() {
        if resolve(spec, property).get("enum").is_some() && valid.get(field).is_some() {
            let mut body = valid.clone();
            body[field] = json!("not-a-member-of-the-enum");
            broken.push((format!("`{field}` outside its enum"), body));
        }
    }
    broken.extend(extra.into_iter().map(|(what, body)| (what.to_string(), body)));
    assert!(!broken.is_empty(), "{method} {path}: nothing to break");
    let http = reqwest::Client::new();
    let method_value = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    for (what, body) in &broken {
        assert!(!validator.is_valid(body), "{method} {path} {what}: the spec accepts it, so the case is wrong");
        let response = http
            .request(method_value.clone(), format!("{base}{path}"))
            .bearer_auth("t")
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            400,
            "{} {method} {path} {what}: the simulator accepted a body the spec rejects",
            spec.name
        );
    }
    broken.len()
}

/// Follows a local `$ref`.
fn resolve<'a>(spec: &'a Spec, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => spec.doc.pointer(target.trim_start_matches('#')).unwrap_or(schema),
        None => schema,
    }
}

/// 200 scripted calls across the three clients while 20% of requests fail transiently: every
/// call ends in success, and the simulators hold exactly what the script created, once.
#[tokio::test]
async fn two_hundred_calls_through_twenty_percent_faults() {
    use slipway_engine::platform::{cloudflare, supabase, vercel};
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    use slipway_sim::faults::FaultPlan;
    use slipway_sim::supabase::{SupabaseSim, SupabaseSimConfig};
    use slipway_sim::vercel::VercelSim;
    let plan = |seed| FaultPlan {
        rate_limit_share: 0.1,
        server_error_share: 0.1,
        retry_after_secs: 0,
        seed,
        ..FaultPlan::default()
    };
    let retries = RetryPolicy {
        max_attempts: 12,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
        max_total: Duration::from_secs(30),
    };
    let vercel_sim = VercelSim::start("t", plan(1)).await.unwrap();
    let supabase_sim =
        SupabaseSim::start(SupabaseSimConfig { faults: plan(2), ..SupabaseSimConfig::new("t") }).await.unwrap();
    let cloudflare_sim =
        CloudflareSim::start(CloudflareSimConfig { faults: plan(3), ..CloudflareSimConfig::new("t") }).await.unwrap();
    let mut vc = vercel::VercelConfig::new(vercel_sim.base_url(), SecretString::from("t"));
    vc.api.retry = retries.clone();
    let mut sc = supabase::SupabaseConfig::new(supabase_sim.base_url(), SecretString::from("t"));
    sc.api.retry = retries.clone();
    let mut cc = cloudflare::CloudflareConfig::with_token(cloudflare_sim.base_url(), SecretString::from("t"));
    cc.api.retry = retries;
    let (vercel, supabase, cloudflare) = (
        vercel::VercelClient::new(vc).unwrap(),
        supabase::SupabaseClient::new(sc).unwrap(),
        cloudflare::CloudflareClient::new(cc).unwrap(),
    );

    let mut calls = 0;
    let zone = cloudflare.find_zone("example.com").await.unwrap().unwrap();
    calls += 1;
    for i in 0..20 {
        let name = format!("venture-{i}");
        let project = vercel
            .create_project(&vercel::CreateProjectRequest { name: name.clone(), ..Default::default() })
            .await
            .unwrap();
        vercel.get_project(&project.id).await.unwrap();
        vercel.get_project(&name).await.unwrap();
        let created = supabase
            .create_project(&supabase::CreateProjectRequest {
                name: name.clone(),
                organization_slug: "sandbox-org".into(),
                db_pass: SecretString::from("pw-0123456789"),
                region_selection: None,
                desired_instance_size: None,
            })
            .await
            .unwrap();
        supabase.get_project(&created.reference).await.unwrap();
        supabase.health(&created.reference, &["db"]).await.unwrap();
        supabase.pooler_config(&created.reference).await.unwrap();
        let record = cloudflare::RecordInput {
            record_type: cloudflare::RecordType::Txt,
            name: format!("{name}.example.com"),
            content: format!("owner={name}"),
            ttl: 1,
            proxied: false,
            comment: None,
        };
        let made = cloudflare.create_record(&zone.id, &record).await.unwrap();
        let again = cloudflare::RecordInput { content: format!("owner={name};v=2"), ..record };
        cloudflare.update_record(&zone.id, &made.id, &again).await.unwrap();
        cloudflare
            .list_records(&zone.id, &cloudflare::RecordFilter { name: Some(again.name.clone()), ..Default::default() })
            .await
            .unwrap();
        calls += 10;
    }
    supabase.list_projects().await.unwrap();
    supabase.list_organizations().await.unwrap();
    calls += 2;
    for _ in 0..7 {
        vercel.find_project("venture-0").await.unwrap();
        calls += 1;
    }
    assert!(calls >= 200, "{calls} calls");

    // Faults happened, and nothing was applied twice.
    let failed = |requests: Vec<RecordedRequest>| requests.iter().filter(|r| r.status >= 429).count();
    let injected = failed(vercel_sim.requests()) + failed(supabase_sim.requests()) + failed(cloudflare_sim.requests());
    assert!(injected >= 20, "only {injected} faults injected");
    assert_eq!(vercel_sim.projects().len(), 20);
    assert_eq!(supabase_sim.projects().len(), 20);
    let records = cloudflare_sim.records("example.com");
    assert_eq!(records.len(), 20);
    assert!(records.iter().all(|r| r["content"].as_str().unwrap().ends_with(";v=2")));
}
