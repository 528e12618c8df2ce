//! The REST API (`/api/v1`): API tokens, roles, field-naming errors, idempotent creates, and
//! the venture's plan, state and log as JSON.

use super::common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use slipway_app::server::{AppState, router};
use slipway_engine::Engine;
use slipway_engine::auth::Role;
use tower::ServiceExt;

struct Api {
    app: Router,
    engine: Engine,
    creator: String,
    operator: String,
    _dir: tempfile::TempDir,
    _sims: slipway_sim::Sandbox,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let (engine, sims) = common::fast_sandbox_engine(&dir).await;
    let password = SecretString::from("a password long enough");
    engine.create_user_unchecked("casey", &password, Role::Creator).await.unwrap();
    engine.create_user_unchecked("otto", &password, Role::Operator).await.unwrap();
    let creator = engine.create_api_token_unchecked("casey", "generator", Role::Creator).await.unwrap();
    let operator = engine.create_api_token_unchecked("otto", "dashboard bot", Role::Operator).await.unwrap();
    let options = LeptosOptions::builder().output_name("slipway").site_root("target/site").site_pkg_dir("pkg").build();
    let state = AppState { engine: engine.clone(), served_over_https: false };
    Api {
        app: router(state, options),
        engine,
        creator: creator.expose_secret().to_string(),
        operator: operator.expose_secret().to_string(),
        _dir: dir,
        _sims: sims,
    }
}

async fn call(
    api: &Api,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let request = match body {
        Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn tokens_are_required_and_roles_are_checked() {
    let api = api().await;
    let (status, body) = call(&api, "GET", "/api/v1/ventures", None, None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let (status, _) = call(&api, "GET", "/api/v1/ventures", Some("slw_forged"), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let venture = json!({"name": "acme-shop", "repository": "acme/shop"});
    let (status, body) = call(&api, "POST", "/api/v1/ventures", Some(&api.operator), Some(venture), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, body) = call(&api, "GET", "/api/v1/ventures", Some(&api.operator), None, None).await;
    assert_eq!((status, body["ventures"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    // A token never acts above its user.
    let err = api.engine.create_api_token_unchecked("otto", "escalation", Role::Admin).await.unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err}");
}

#[tokio::test]
async fn bad_input_names_the_field_and_creates_nothing() {
    let api = api().await;
    let bad = json!({"name": "Not Valid", "repository": "nope", "supabase": {"region": "mars-1"}});
    let (status, body) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(bad), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "repository", "supabase.region"]);
    let typo = json!({"name": "shop", "repository": "acme/shop", "regoin": "x"});
    let (status, body) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(typo), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("unknown field `regoin`"), "{body}");
    // The database section: every broken table rule named, and still nothing created.
    let tables = json!({"name": "shop", "repository": "acme/shop", "database": {"tables": {
        "Orders": {"template": "owner"},
        "notes": {"template": "owners"},
        "audit": {"template": "private", "owner_column": "user_id"},
    }}});
    let (status, body) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(tables), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["database.tables.Orders", "database.tables.audit.owner_column", "database.tables.notes.template"]
    );
    let (_, list) = call(&api, "GET", "/api/v1/ventures", Some(&api.creator), None, None).await;
    assert_eq!(list["ventures"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_create_with_an_idempotency_key_happens_once() {
    let api = api().await;
    let venture = json!({"name": "acme-shop", "repository": "acme/shop"});
    let (first, created) =
        call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(venture.clone()), Some("gen-42")).await;
    assert_eq!(first, StatusCode::CREATED);
    let (again, replayed) =
        call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(venture), Some("gen-42")).await;
    assert_eq!(again, StatusCode::OK);
    assert_eq!(replayed["venture"]["id"], created["venture"]["id"]);
    let other = json!({"name": "other-shop", "repository": "acme/other"});
    let (status, body) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(other), Some("gen-42")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["fields"][0]["field"], "Idempotency-Key");
    let (_, list) = call(&api, "GET", "/api/v1/ventures", Some(&api.creator), None, None).await;
    assert_eq!(list["ventures"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_venture_is_planned_applied_followed_and_destroyed_over_json() {
    let api = api().await;
    let spec = json!({"name": "json-shop", "repository": "acme/json", "environments": {"staging": {"branch": "next"}}});
    let (status, plan) = call(&api, "POST", "/api/v1/plan", Some(&api.creator), Some(spec.clone()), None).await;
    assert_eq!(status, StatusCode::OK);
    // Everything is made (the staging project too) but row-level security and the domain: no
    // table and no domain is named.
    let quiet = |resource: &str| {
        resource.ends_with("row-level security") || resource == "Custom domains" || resource == "DNS records"
    };
    let actions: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !quiet(a["resource"].as_str().unwrap()))
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create"; 8], "the staging project too");

    let (_, created) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(spec), None).await;
    let id = created["venture"]["id"].as_str().unwrap().to_string();
    assert!(api.engine.runner().run_once().await.unwrap());
    let (status, detail) = call(&api, "GET", &format!("/api/v1/ventures/{id}"), Some(&api.operator), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["venture"]["status"], "ready");
    assert!(detail["steps"].as_array().unwrap().iter().all(|s| s["status"] == "done"), "{detail}");
    assert_eq!(detail["resources"]["vercel_staging"]["data"]["branch"], "next");
    assert!(detail["resources"]["supabase_project"]["id"].is_string());

    let (_, page) =
        call(&api, "GET", &format!("/api/v1/ventures/{id}/events?limit=3"), Some(&api.creator), None, None).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) =
        call(&api, "GET", &format!("/api/v1/ventures/{id}/events?after={after}"), Some(&api.creator), None, None).await;
    assert!(rest["events"].as_array().unwrap().iter().all(|e| e["id"].as_i64().unwrap() > after));
    let (status, _) =
        call(&api, "GET", &format!("/api/v1/ventures/{id}/events?limit=0"), Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, converged) =
        call(&api, "GET", &format!("/api/v1/ventures/{id}/plan"), Some(&api.creator), None, None).await;
    assert!(converged["actions"].as_array().unwrap().iter().all(|a| a["action"] == "no_change"), "{converged}");
    let (status, job) =
        call(&api, "POST", &format!("/api/v1/ventures/{id}/apply"), Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(job["job_id"].is_string());
    assert!(api.engine.runner().run_once().await.unwrap());

    let wrong = json!({"confirm": "not-the-name"});
    let (status, body) =
        call(&api, "POST", &format!("/api/v1/ventures/{id}/destroy"), Some(&api.creator), Some(wrong), None).await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("confirm"))
    );
    let right = json!({"confirm": "json-shop"});
    let (status, _) =
        call(&api, "POST", &format!("/api/v1/ventures/{id}/destroy"), Some(&api.creator), Some(right), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(api.engine.runner().run_once().await.unwrap());
    let (_, gone) = call(&api, "GET", &format!("/api/v1/ventures/{id}"), Some(&api.creator), None, None).await;
    assert_eq!(gone["venture"]["status"], "destroyed");
    let (status, connections) = call(&api, "POST", "/api/v1/connections/check", Some(&api.operator), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let connections = connections["connections"].as_array().unwrap();
    assert!(connections.iter().all(|c| c["connected"] == true), "{connections:?}");
    let platforms: Vec<&str> = connections.iter().map(|c| c["platform"].as_str().unwrap()).collect();
    assert_eq!(platforms, ["Vercel", "Supabase", "Cloudflare", "DNS"], "the doctor's resolvers too");
}

#[tokio::test]
async fn the_openapi_document_is_served_and_every_operation_in_it_exists() {
    let api = api().await;
    let (status, document) = call(&api, "GET", "/api/v1/openapi.json", None, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{document}");
    let generated: Value = serde_json::from_str(slipway_app::server::rest::openapi::document()).unwrap();
    assert_eq!(document, generated, "the served document is the one generated from the handlers");
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 30, "{paths:?}");
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "00000000-0000-0000-0000-000000000000")
            .replace("{key}", "A_KEY")
            .replace("{environment}", "production")
            .replace("{provider}", "github")
            .replace("{job_id}", "00000000-0000-0000-0000-000000000001");
        let methods = ["get", "post", "put", "delete"];
        for method in item.as_object().unwrap().keys().filter(|m| methods.contains(&m.as_str())) {
            operations += 1;
            let (status, _) = call(&api, &method.to_uppercase(), &concrete, None, None, None).await;
            let expected = if path.ends_with("openapi.json") { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
            assert_eq!(status, expected, "{method} {path} is routed and asks for a token");
        }
    }
    assert_eq!(operations, 32);
}

#[tokio::test]
async fn malformed_queries_and_bodies_get_json_errors_and_an_apply_waits_for_a_destroy() {
    let api = api().await;
    let token = Some(api.creator.as_str());
    let (status, created) = call(
        &api,
        "POST",
        "/api/v1/ventures",
        token,
        Some(json!({"name": "busy-shop", "repository": "acme/busy"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["venture"]["id"].as_str().unwrap().to_string();

    let (status, body) =
        call(&api, "GET", &format!("/api/v1/ventures/{id}/events?limit=many"), token, None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")), "{body}");
    let (status, _) = call(&api, "GET", &format!("/api/v1/ventures/{id}/events?limit=many"), None, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token is checked first");

    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/plan")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.creator))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b'{', 0xff, 0xfe, b'}']))
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "bad_body", "{body}");

    // No runner is working, so the apply stays queued: a destroy now stops it and takes its
    // place, and an apply asked for while the destroy is pending is refused, not dropped.
    let confirm = Some(json!({ "confirm": "busy-shop" }));
    let (status, body) = call(&api, "POST", &format!("/api/v1/ventures/{id}/destroy"), token, confirm, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = call(&api, "POST", &format!("/api/v1/ventures/{id}/apply"), token, None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("is being destroyed"), "{body}");

    // An organization Supabase does not know blocks the plan instead of failing it.
    let spec = json!({ "name": "lost-shop", "repository": "acme/lost", "supabase": { "organization": "no-such-org" } });
    let (status, body) = call(&api, "POST", "/api/v1/plan", token, Some(spec), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let supabase = body["actions"].as_array().unwrap().iter().find(|a| a["resource"] == "Supabase project").unwrap();
    assert_eq!(supabase["action"], "blocked", "{body}");
    assert!(supabase["detail"].as_str().unwrap().contains("no-such-org"), "{body}");
}

#[tokio::test]
async fn the_log_can_be_followed_live_with_an_api_token() {
    let api = api().await;
    let body = json!({"name": "live-shop", "repository": "acme/live"});
    let (_, created) = call(&api, "POST", "/api/v1/ventures", Some(&api.operator), Some(body.clone()), None).await;
    assert_eq!(created["error"]["code"], "forbidden", "operators watch, they do not create");
    let (_, created) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(body), None).await;
    let id = created["venture"]["id"].as_str().unwrap();
    let request = Request::builder()
        .uri(format!("/api/v1/ventures/{id}/events"))
        .header(header::AUTHORIZATION, format!("Bearer {}", api.operator))
        .header(header::ACCEPT, "text/event-stream")
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = String::from_utf8(frame.to_vec()).unwrap();
    assert!(first.contains("event: log") && first.contains("Provisioning job queued"), "{first}");
}

#[tokio::test]
async fn env_variables_are_declared_set_listed_revealed_and_removed_over_json() {
    let api = api().await;
    let password = SecretString::from("a password long enough");
    api.engine.create_user_unchecked("ada", &password, Role::Admin).await.unwrap();
    let admin = api.engine.create_api_token_unchecked("ada", "ops", Role::Admin).await.unwrap();
    let admin = admin.expose_secret().to_string();
    let spec = json!({"name": "env-api", "repository": "acme/shop",
        "env": {"AUTH_SECRET": {"description": "Auth.js secret", "secret": true, "generate": "random-32"}}});
    let (status, created) = call(&api, "POST", "/api/v1/ventures", Some(&api.creator), Some(spec), None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["venture"]["id"].as_str().unwrap().to_string();
    let env = format!("/api/v1/ventures/{id}/env");

    let stripe = json!({"description": "Stripe API key", "secret": true,
        "values": {"production": "sk_live_rest_1", "preview": "sk_test_rest_1"}});
    let (status, variable) =
        call(&api, "PUT", &format!("{env}/STRIPE_SECRET_KEY"), Some(&api.creator), Some(stripe), None).await;
    assert_eq!(status, StatusCode::OK, "{variable}");
    assert_eq!(variable["source"], "user");
    assert!(!variable.to_string().contains("sk_live_rest_1"), "the answer holds no secret: {variable}");

    // Refused whole, naming the field and the rule.
    let public = json!({"description": "Publishable", "secret": true, "values": {"production": "pk"}});
    let (status, refused) =
        call(&api, "PUT", &format!("{env}/NEXT_PUBLIC_STRIPE_KEY"), Some(&api.creator), Some(public), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["fields"][0]["field"], "key");
    let (status, _) =
        call(&api, "PUT", &format!("{env}/FLAG"), Some(&api.operator), Some(json!({"description": "x"})), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Each role's listing; none carries a secret or a digest of one.
    for token in [&api.creator, &api.operator, &admin] {
        let (status, listing) = call(&api, "GET", &env, Some(token), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let text = listing.to_string();
        assert!(text.contains("STRIPE_SECRET_KEY") && !text.contains("sk_live_rest_1"), "{text}");
        let (_, detail) = call(&api, "GET", &format!("/api/v1/ventures/{id}"), Some(token), None, None).await;
        assert!(!detail.to_string().contains("digest"), "{detail}");
    }

    // Reveal: admins only, never cached, audited.
    let reveal = format!("{env}/STRIPE_SECRET_KEY/reveal");
    let body = json!({"environment": "production"});
    let (status, _) = call(&api, "POST", &reveal, Some(&api.operator), Some(body.clone()), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, revealed) = call(&api, "POST", &reveal, Some(&admin), Some(body), None).await;
    assert_eq!((status, revealed["value"].as_str()), (StatusCode::OK, Some("sk_live_rest_1")));
    let (_, listing) = call(&api, "GET", &env, Some(&admin), None, None).await;
    assert_eq!(listing["reveals"][0]["revealed_by"], "ada");

    // History and rollback.
    let next = json!({"values": {"production": "sk_live_rest_2"}});
    call(&api, "PUT", &format!("{env}/STRIPE_SECRET_KEY"), Some(&api.creator), Some(next), None).await;
    let history = format!("{env}/STRIPE_SECRET_KEY/history?environment=production");
    let (_, versions) = call(&api, "GET", &history, Some(&api.operator), None, None).await;
    assert_eq!(versions["versions"].as_array().map(Vec::len), Some(2), "{versions}");
    let (status, _) =
        call(&api, "GET", &format!("{env}/STRIPE_SECRET_KEY/history?environment=qa"), Some(&admin), None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let back = json!({"environment": "production", "version": 1});
    let (status, _) =
        call(&api, "POST", &format!("{env}/STRIPE_SECRET_KEY/rollback"), Some(&api.creator), Some(back), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, revealed) =
        call(&api, "POST", &reveal, Some(&admin), Some(json!({"environment": "production"})), None).await;
    assert_eq!(revealed["value"], "sk_live_rest_1");

    // The .env.example: descriptions as comments, secrets empty, plain development values in.
    let flag =
        json!({"description": "Turns the new checkout on", "values": {"development": "on", "production": "off"}});
    call(&api, "PUT", &format!("{env}/FEATURE_CHECKOUT"), Some(&api.creator), Some(flag), None).await;
    let example = |token: String| {
        let request = Request::builder()
            .uri(format!("/api/v1/ventures/{id}/env.example"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let app = api.app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
            String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
        }
    };
    let file = example(api.creator.clone()).await;
    assert!(file.contains("\n# Stripe API key (secret)\nSTRIPE_SECRET_KEY=\n"), "{file}");
    assert!(file.contains("\n# Auth.js secret (secret)\nAUTH_SECRET=\n"), "{file}");
    assert!(file.contains("\n# Turns the new checkout on\nFEATURE_CHECKOUT='on'\n"), "{file}");
    assert!(file.contains("POSTGRES_URL=\n") && !file.contains("sk_live"), "{file}");
    let for_operator = example(api.operator.clone()).await;
    assert!(for_operator.contains("FEATURE_CHECKOUT=\n"), "operators get no value: {for_operator}");

    // A pull: a creator gets development's values, secrets too; an operator none; bad input
    // names the field.
    let pull = format!("/api/v1/ventures/{id}/environments/development/pull");
    let (status, pulled) = call(&api, "POST", &pull, Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::OK, "{pulled}");
    let auth = pulled["variables"].as_array().unwrap().iter().find(|v| v["key"] == "AUTH_SECRET").unwrap();
    assert!(auth["value"].as_str().is_some_and(|v| v.len() >= 43) && auth["withheld"].is_null(), "{auth}");
    let (status, _) = call(&api, "POST", &pull, Some(&api.operator), None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, refused) =
        call(&api, "POST", &format!("/api/v1/ventures/{id}/environments/qa/pull"), Some(&admin), None, None).await;
    assert_eq!(
        (status, &refused["error"]["fields"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("environment"))
    );
    let (_, listing) = call(&api, "GET", &env, Some(&admin), None, None).await;
    assert!(listing["reveals"].as_array().unwrap().iter().any(|r| r["via"] == "pull" && r["key"] == "AUTH_SECRET"));

    // A sync asked while the first apply is still queued is that apply (it syncs too), followed
    // by its id; a redeploy needs a deployment to renew.
    let (status, queued) =
        call(&api, "POST", &format!("/api/v1/ventures/{id}/sync-env"), Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let job = queued["job_id"].as_str().unwrap();
    let (status, state) =
        call(&api, "GET", &format!("/api/v1/ventures/{id}/jobs/{job}"), Some(&api.operator), None, None).await;
    assert_eq!((status, &state["kind"]), (StatusCode::OK, &json!("provision_venture")), "{state}");
    let redeploy = |environment: &str| format!("/api/v1/ventures/{id}/environments/{environment}/redeploy");
    let (status, refused) = call(&api, "POST", &redeploy("preview"), Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, _) = call(&api, "POST", &redeploy("production"), Some(&api.operator), None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Removing: the integration's variables are read-only.
    let (status, _) = call(&api, "DELETE", &format!("{env}/POSTGRES_URL"), Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = call(&api, "DELETE", &format!("{env}/STRIPE_SECRET_KEY"), Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listing) = call(&api, "GET", &env, Some(&api.creator), None, None).await;
    assert!(!listing.to_string().contains("STRIPE_SECRET_KEY"));
}

/// Sends a raw request to the API with the creator's token; returns the status, headers and body.
async fn raw(
    api: &Api,
    request: axum::http::request::Builder,
    body: Body,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let request = request.header(header::AUTHORIZATION, format!("Bearer {}", api.creator)).body(body).unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{status}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn every_refusal_at_the_apis_edges_is_json() {
    let api = api().await;
    let spec = json!({"name": "typed-shop", "repository": "acme/typed"}).to_string();

    // A body that is not declared JSON is refused, and nothing is created.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = Request::post("/api/v1/ventures");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let (status, _, body) = raw(&api, request, Body::from(spec.clone())).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
        );
        assert!(body["error"]["message"].as_str().unwrap().contains("must be JSON"), "{body}");
    }
    let creator = api.engine.login("casey", &SecretString::from("a password long enough"), "").await.unwrap().0;
    assert!(api.engine.list_ventures(&creator).await.unwrap().is_empty());
    let json_with_charset =
        Request::post("/api/v1/ventures").header(header::CONTENT_TYPE, "application/json; charset=utf-8");
    let (status, _, body) = raw(&api, json_with_charset, Body::from(spec.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // An unknown path, a method a path does not take, a body over the limit.
    let (status, _, body) = raw(&api, Request::get("/api/v1/nothing-here"), Body::empty()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert!(body["error"]["message"].as_str().unwrap().contains("GET /api/v1/nothing-here"), "{body}");
    let (status, headers, body) = raw(&api, Request::delete("/api/v1/ventures"), Body::empty()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    assert!(headers[header::ALLOW].to_str().unwrap().contains("POST"), "{headers:?}");
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let request = Request::post("/api/v1/plan").header(header::CONTENT_TYPE, "application/json");
    let (status, _, body) = raw(&api, request, Body::from(huge)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
}

#[tokio::test]
async fn connections_are_read_with_their_age_and_checked_on_demand_once_per_user_interval() {
    let api = api().await;
    // Nothing checked them yet (no background check in this test): listed, not connected.
    let (status, before) = call(&api, "GET", "/api/v1/connections", Some(&api.operator), None, None).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!((before["checked_at"].clone(), before["age_seconds"].clone()), (Value::Null, Value::Null));
    let listed = before["connections"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "{before}");
    assert!(listed.iter().all(|c| c["connected"] == false && c["detail"] == "not checked yet"), "{before}");

    let (status, checked) = call(&api, "POST", "/api/v1/connections/check", Some(&api.operator), None, None).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    let age = checked["age_seconds"].as_i64();
    assert!(checked["checked_at"].as_i64().is_some() && age.is_some_and(|s| (0..=5).contains(&s)), "{checked}");
    assert!(checked["connections"].as_array().unwrap().iter().all(|c| c["connected"] == true), "{checked}");
    let (_, read) = call(&api, "GET", "/api/v1/connections", Some(&api.operator), None, None).await;
    assert_eq!(read["checked_at"], checked["checked_at"]);

    // The same user again at once: 429 with Retry-After; another user is not held up by it.
    let request = Request::post("/api/v1/connections/check")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.operator))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let refusal: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(refusal["error"]["message"].as_str().unwrap().contains("once every 30 s per user"), "{refusal}");
    let (status, _) = call(&api, "POST", "/api/v1/connections/check", Some(&api.creator), None, None).await;
    assert_eq!(status, StatusCode::OK);
}
