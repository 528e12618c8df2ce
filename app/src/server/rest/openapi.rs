//! The frame of /api/v1's OpenAPI document (info, security, tags), the error body and the
//! shared error responses; the paths and schemas come from the handlers (see [`super::api`]).

use std::sync::LazyLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};

use slipway_engine::ErrorCode;
use slipway_engine::venture::FieldError;

use crate::server::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Slipway REST API",
        version = "1",
        description = "For machine clients: create, plan, apply, follow and destroy ventures. Errors are `{\"error\": {\"code\", \"message\", \"fields\"?}}`: 400 for a body or query that does not parse, 422 for rules broken (every field named)."
    ),
    servers((url = "/")),
    security(("bearerAuth" = [])),
    tags((name = "ventures"), (name = "env"), (name = "auth"), (name = "database"), (name = "domains"), (name = "plan"), (name = "meta")),
    components(
        schemas(ErrorBody),
        responses(BadBody, Unauthenticated, Forbidden, NotFound, Invalid, Platform, Conflict, Busy)
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The OpenAPI document of /api/v1, as served at `/api/v1/openapi.json`.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let mut json = super::api::<AppState>().into_openapi().to_pretty_json().expect("the document serializes");
        json.push('\n');
        json
    });
    &DOCUMENT
}

/// The `bearerAuth` scheme every operation but the document itself asks for.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("slw_…")
            .description(Some("An API token from `slipway token create`."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearerAuth", SecurityScheme::Http(scheme));
    }
}

/// What the document's own operation answers: an OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // schema only: the document is served as text
pub struct OpenApiDocument {
    openapi: String,
    info: serde_json::Value,
    paths: serde_json::Value,
}

/// Every refusal's body (written by `errors::Refusal`; this is its schema).
#[derive(utoipa::ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // schema only: `Refusal` writes the body
pub struct ErrorBody {
    #[schema(inline)]
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // schema only
pub struct ErrorDetail {
    #[schema(schema_with = error_codes)]
    code: String,
    message: String,
    /// With `invalid`: every broken rule, by field.
    #[schema(nullable = false)]
    fields: Option<Vec<FieldError>>,
}

/// Codes of input the HTTP layer refuses before the engine sees it (`Refusal::bad_request`).
const UNPARSABLE: [&str; 2] = ["bad_body", "bad_query"];

/// The `code` of an error body: the HTTP layer's own, then every engine error code.
fn error_codes() -> Object {
    let engine = ErrorCode::ALL.map(ErrorCode::as_str);
    slipway_engine::venture::wire::one_of(UNPARSABLE.into_iter().chain(engine)).build()
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build())
}

/// `components.responses`: a marker type per shared error response, each with the `Error` body.
macro_rules! error_responses {
    ($($name:ident => $description:literal),* $(,)?) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<utoipa::openapi::Response>) {
                (stringify!($name), error_response($description).build().into())
            }
        }
    )*};
}

error_responses! {
    BadBody => "The body is not valid JSON for this operation (`bad_body`; serde names the field).",
    Unauthenticated => "No valid API token (`unauthenticated`).",
    Forbidden => "The token's role may not do this (`forbidden`).",
    NotFound => "No such venture (`not_found`).",
    Invalid => "Rules broken (`invalid`), every field named in `fields`.",
    Platform => "A platform call failed (`platform`).",
    Conflict => "The venture is being destroyed or was destroyed: an apply or a second destroy is refused (create a new venture instead).",
}

/// Too soon: the platforms' budgets are in use for longer than a plan waits, or a user asks for
/// a connection check again within their interval. 429 with `Retry-After`.
pub struct Busy;

impl<'s> ToResponse<'s> for Busy {
    fn response() -> (&'s str, RefOr<utoipa::openapi::Response>) {
        let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1));
        let retry_after = HeaderBuilder::new()
            .schema(Some(seconds))
            .description(Some("Seconds until the request may succeed."))
            .build();
        let description = "The platforms' rate limits are in use for longer than this request waits, or (a connection check on demand) this user asked too recently; try again after `Retry-After` seconds.";
        ("Busy", error_response(description).header("Retry-After", retry_after).build().into())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use serde_json::Value;

    use super::*;

    type Routes = BTreeSet<(String, String)>;

    /// (path, METHOD) of every route an axum `Router` serves, read from its `Debug` output
    /// (axum 0.8 lists no routes otherwise). HEAD, which axum adds to every GET, is left out.
    /// Panics rather than passing when the layout is not the one expected.
    fn served(router: &axum::Router<AppState>) -> Routes {
        let debug = format!("{router:?}");
        let main = debug.split("fallback_router:").next().expect("a Router");
        let (routes, node) = main.split_once("node: Node { paths: {").expect("axum's Router Debug layout changed");
        let mut methods = HashMap::new();
        for chunk in routes.split("RouteId(").skip(1) {
            let id = chunk.split(')').next().expect("RouteId(n)").to_string();
            if let Some(allow) = chunk.split("allow_header: Bytes(b\"").nth(1) {
                methods.insert(id, allow.split('"').next().expect("a quoted allow header").to_string());
            }
        }
        let mut served = Routes::new();
        for chunk in node.split("RouteId(").skip(1) {
            let id = chunk.split(')').next().expect("RouteId(n)");
            let path = chunk.split('"').nth(1).expect("a quoted path").to_string();
            let allow =
                methods.get(id).unwrap_or_else(|| panic!("{path}: no MethodRouter (a layered or nested route?)"));
            for method in allow.split(',').filter(|m| *m != "HEAD") {
                served.insert((path.clone(), method.to_string()));
            }
        }
        assert!(!served.is_empty(), "no routes read from {debug}");
        served
    }

    /// (path, METHOD) of every operation a document names.
    fn documented(document: &Value) -> Routes {
        let mut documented = Routes::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&method.as_str()) {
                    documented.insert((path.clone(), method.to_uppercase()));
                }
            }
        }
        documented
    }

    fn parsed() -> Value {
        serde_json::from_str(document()).expect("the document is JSON")
    }

    #[test]
    fn the_router_serves_exactly_the_routes_the_document_names() {
        let (router, _) = super::super::api::<AppState>().split_for_parts();
        let document = parsed();
        let routes = served(&router);
        let operations = documented(&document);
        let undocumented: Vec<_> = routes.difference(&operations).collect();
        let unrouted: Vec<_> = operations.difference(&routes).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "served, not documented: {undocumented:?}; documented, not served: {unrouted:?}"
        );
        assert_eq!(routes.len(), 32, "{routes:?}");

        // The comparison sees a route beside the list, and a path missing from the document.
        let extra = router.route("/api/v1/undocumented", axum::routing::delete(|| async {}));
        let added: Vec<_> = served(&extra).difference(&operations).cloned().collect();
        assert_eq!(added, [("/api/v1/undocumented".to_string(), "DELETE".to_string())]);
        let mut fewer = document.clone();
        fewer["paths"].as_object_mut().unwrap().remove("/api/v1/connections");
        let missing: Vec<_> = routes.difference(&documented(&fewer)).cloned().collect();
        assert_eq!(missing, [("/api/v1/connections".to_string(), "GET".to_string())]);
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        fn walk(value: &Value, document: &Value, refs: &mut usize) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} is not local"));
                        assert!(document.pointer(pointer).is_some(), "{target} does not resolve");
                        *refs += 1;
                    }
                    map.values().for_each(|v| walk(v, document, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, document, refs)),
                _ => {}
            }
        }
        let document = parsed();
        let mut refs = 0;
        walk(&document, &document, &mut refs);
        assert!(refs > 50, "{refs} references");
    }

    #[test]
    fn every_operation_is_named_tagged_and_guarded_but_the_document() {
        let document = parsed();
        assert_eq!(document["security"], serde_json::json!([{ "bearerAuth": [] }]));
        let mut ids = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
                assert!(ids.insert(id.to_string()), "{id} twice");
                assert_eq!(operation["tags"].as_array().map(Vec::len), Some(1), "{id}");
                let open = operation.get("security") == Some(&serde_json::json!([{}]));
                assert_eq!(open, id == "openapi", "{id}: only the document needs no token");
                if id != "openapi" {
                    assert!(operation["responses"].get("401").is_some(), "{id} documents its 401");
                }
            }
        }
        assert_eq!(ids.len(), 32);
    }

    #[test]
    fn the_documented_rotatable_secrets_are_the_ones_the_engine_rotates() {
        let document = parsed();
        let operation = &document["paths"]["/api/v1/ventures/{id}/secrets/{name}/rotate"]["post"];
        let name = operation["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "name").unwrap();
        // Any variable's key, and the description names the platform secrets.
        assert_eq!(name["schema"]["pattern"], "^[A-Za-z_][A-Za-z0-9_]*$");
        let description = name["description"].as_str().unwrap();
        for (secret, _) in slipway_engine::engine::ROTATABLE {
            assert!(description.contains(&format!("`{secret}`")), "{secret} is documented: {description}");
        }
    }

    #[test]
    fn the_documented_log_levels_are_the_ones_the_engine_writes() {
        use slipway_engine::events::Level;
        let document = parsed();
        let documented = &document["components"]["schemas"]["Event"]["properties"]["level"]["enum"];
        let written: Vec<&str> = [Level::Info, Level::Warn, Level::Error].map(Level::as_str).to_vec();
        assert_eq!(documented, &serde_json::json!(written));
    }

    /// The committed `app/src/server/openapi.json` is the generated document, so API changes
    /// show in review. `UPDATE_OPENAPI=1 cargo test …` rewrites it.
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/server/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if committed != document() && std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, document()).unwrap();
            return;
        }
        assert!(
            committed == document(),
            "{path} is not the generated document; run with UPDATE_OPENAPI=1 to rewrite it"
        );
    }
}
