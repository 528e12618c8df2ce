//! Who may call what, as one table: every REST operation (read from the OpenAPI document the
//! router is built from) and every server function (read from the list whose arguments are
//! checked) is called by each kind of caller, and the answer must be a refusal exactly where the
//! table says so. A new operation or server function without a row fails the test.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use slipway_app::server::{AppState, router};
use slipway_engine::auth::Role;
use slipway_engine::venture::NewVenture;
use tower::ServiceExt;

use super::common;
use super::common::form_post;

const PASSWORD: &str = "a password long enough";

/// Who may make a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone, without a session or token.
    Open,
    /// Any signed-in user.
    Read,
    /// Creators and admins (a venture that does not exist yet).
    Create,
    /// The venture's creator and admins.
    Change,
    /// Admins only.
    Admin,
}

/// The callers, each against the venture `casey` created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    Operator,
    CreatorOwn,
    CreatorOther,
    Admin,
}

const CALLERS: [Caller; 5] =
    [Caller::Nobody, Caller::Operator, Caller::CreatorOwn, Caller::CreatorOther, Caller::Admin];

impl Rule {
    /// Whether `caller` gets past authorization (anything but 401 and 403).
    fn allows(self, caller: Caller) -> bool {
        match (self, caller) {
            (Rule::Open, _) => true,
            (_, Caller::Nobody) => false,
            (Rule::Read, _) => true,
            (Rule::Create, caller) => caller != Caller::Operator,
            (Rule::Change, caller) => matches!(caller, Caller::CreatorOwn | Caller::Admin),
            (Rule::Admin, caller) => caller == Caller::Admin,
        }
    }
}

/// REST operations by operationId: who may call it, and a body that parses (so that what
/// answers is authorization, not the body's shape).
fn rest_table() -> BTreeMap<&'static str, (Rule, Option<Value>)> {
    let new = || Some(json!({"name": "matrix-new", "repository": "acme/matrix"}));
    BTreeMap::from([
        ("openapi", (Rule::Open, None)),
        ("connections", (Rule::Read, None)),
        ("checkConnections", (Rule::Read, None)),
        ("checkDomain", (Rule::Read, None)),
        ("listVentures", (Rule::Read, None)),
        ("getVenture", (Rule::Read, None)),
        ("getSignIn", (Rule::Read, None)),
        ("getDatabase", (Rule::Read, None)),
        ("getDomain", (Rule::Read, None)),
        ("listEnv", (Rule::Read, None)),
        ("envExample", (Rule::Read, None)),
        ("envHistory", (Rule::Read, None)),
        ("listRotations", (Rule::Read, None)),
        ("ventureEvents", (Rule::Read, None)),
        ("getJob", (Rule::Read, None)),
        ("planVenture", (Rule::Read, None)),
        ("planNewVenture", (Rule::Create, new())),
        ("createVenture", (Rule::Create, new())),
        ("applyVenture", (Rule::Change, None)),
        ("retryVenture", (Rule::Change, None)),
        ("destroyVenture", (Rule::Change, Some(json!({"confirm": "not-its-name"})))),
        ("putEnv", (Rule::Change, Some(json!({"values": {}})))),
        ("deleteEnv", (Rule::Change, None)),
        ("rollbackEnv", (Rule::Change, Some(json!({"environment": "production", "version": 1})))),
        ("pullEnv", (Rule::Change, None)),
        ("redeploy", (Rule::Change, None)),
        ("syncEnv", (Rule::Change, None)),
        ("putSignInSecret", (Rule::Change, Some(json!({"value": "a-client-secret"})))),
        ("lintDatabase", (Rule::Change, None)),
        ("revealEnv", (Rule::Admin, Some(json!({"environment": "production"})))),
        ("auditLog", (Rule::Admin, None)),
        ("rotateSecret", (Rule::Admin, None)),
    ])
}

/// Server functions by path: who may call it, and its form body (`{id}` is the venture's id).
fn server_fn_table() -> BTreeMap<&'static str, (Rule, &'static str)> {
    let form = "venture%5Bname%5D=matrix-form&venture%5Brepository%5D=acme%2Fmatrix";
    BTreeMap::from([
        ("/api/current_user", (Rule::Open, "")),
        ("/api/login", (Rule::Open, "username=casey&password=a+password+long+enough")),
        ("/api/logout", (Rule::Open, "")),
        ("/api/form_choices", (Rule::Read, "")),
        ("/api/list_ventures", (Rule::Read, "")),
        ("/api/get_venture", (Rule::Read, "id={id}")),
        ("/api/venture_sign_in", (Rule::Read, "id={id}")),
        ("/api/venture_domain_tab", (Rule::Read, "id={id}")),
        ("/api/venture_rotations", (Rule::Read, "id={id}")),
        ("/api/venture_overview", (Rule::Read, "id={id}")),
        ("/api/connections", (Rule::Read, "")),
        ("/api/env_panel", (Rule::Read, "id={id}")),
        ("/api/create_venture", (Rule::Create, form)),
        ("/api/preview_plan", (Rule::Create, form)),
        ("/api/apply_venture", (Rule::Change, "id={id}")),
        ("/api/destroy_venture", (Rule::Change, "id={id}&confirm=not-its-name")),
        ("/api/save_env", (Rule::Change, "id={id}&variable%5Bkey%5D=MATRIX_KEY&variable%5Bdescription%5D=A+key")),
        ("/api/delete_env", (Rule::Change, "id={id}&key=MATRIX_KEY")),
        ("/api/env_job", (Rule::Change, "id={id}&job=sync")),
        ("/api/reveal_env", (Rule::Admin, "id={id}&key=MATRIX_KEY&environment=production")),
        ("/api/users_page", (Rule::Admin, "")),
        ("/api/audit_log", (Rule::Admin, "")),
    ])
}

struct World {
    app: Router,
    venture: String,
    tokens: BTreeMap<&'static str, String>,
    cookies: BTreeMap<&'static str, String>,
    _dir: tempfile::TempDir,
    _sims: slipway_sim::Sandbox,
}

fn who(caller: Caller) -> Option<&'static str> {
    match caller {
        Caller::Nobody => None,
        Caller::Operator => Some("otto"),
        Caller::CreatorOwn => Some("casey"),
        Caller::CreatorOther => Some("dana"),
        Caller::Admin => Some("ada"),
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (engine, sims) = common::fast_sandbox_engine(&dir).await;
    let mut tokens = BTreeMap::new();
    for (name, role) in
        [("ada", Role::Admin), ("casey", Role::Creator), ("dana", Role::Creator), ("otto", Role::Operator)]
    {
        let user = engine.create_user_unchecked(name, &SecretString::from(PASSWORD), role).await.unwrap();
        let token = engine.create_api_token_unchecked(&user.username, "matrix", role).await.unwrap();
        tokens.insert(name, token.expose_secret().to_string());
    }
    let casey = engine.login("casey", &SecretString::from(PASSWORD), "").await.unwrap().0;
    let venture = engine.create_venture(&casey, &NewVenture::new("caseys-shop", "acme/caseys")).await.unwrap();
    let options = LeptosOptions::builder().output_name("slipway").site_root("target/site").site_pkg_dir("pkg").build();
    let app = router(AppState { engine, served_over_https: false }, options);
    let mut cookies = BTreeMap::new();
    for name in ["ada", "casey", "dana", "otto"] {
        let request = form_post("/api/login", &format!("username={name}&password={PASSWORD}"), None);
        let response = app.clone().oneshot(request).await.unwrap();
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
        cookies.insert(name, cookie);
    }
    World { app, venture: venture.id, tokens, cookies, _dir: dir, _sims: sims }
}

async fn answer(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Checks one answer against the rule; returns a line for the report when it is wrong.
fn judge(what: &str, rule: Rule, caller: Caller, status: StatusCode, body: &str) -> Option<String> {
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    let expected = if rule.allows(caller) {
        !refused
    } else {
        // Nobody is asked to authenticate; the others are forbidden, the rule named.
        let wanted = if caller == Caller::Nobody { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
        status == wanted
    };
    (!expected)
        .then(|| format!("{what} as {caller:?} ({rule:?}): {status} {}", body.chars().take(160).collect::<String>()))
}

#[tokio::test]
async fn every_operation_and_server_function_answers_each_caller_as_the_table_says() {
    let w = world().await;
    let mut wrong = Vec::new();

    // REST: every operation of the document has a row, and every row an operation.
    let document: Value = serde_json::from_str(slipway_app::server::rest::openapi::document()).unwrap();
    let table = rest_table();
    let mut seen = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            seen.push(id.to_string());
            let Some((rule, body)) = table.get(id) else {
                wrong.push(format!("{id} ({} {path}) has no row in the table", method.to_uppercase()));
                continue;
            };
            let concrete = path
                .replace("{id}", &w.venture)
                .replace("{key}", "MATRIX_KEY")
                .replace("{environment}", "production")
                .replace("{provider}", "github")
                .replace("{domain}", "example.com")
                .replace("{name}", "SUPABASE_SECRET_KEY")
                .replace("{job_id}", "00000000-0000-0000-0000-000000000001");
            for caller in CALLERS {
                let mut request = Request::builder().method(method.to_uppercase().as_str()).uri(&concrete);
                if let Some(name) = who(caller) {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {}", w.tokens[name]));
                }
                let request = match body {
                    Some(body) => {
                        request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string()))
                    }
                    None => request.body(Body::empty()),
                }
                .unwrap();
                let (status, text) = answer(&w.app, request).await;
                wrong.extend(judge(id, *rule, caller, status, &text));
            }
        }
    }
    for id in table.keys() {
        if !seen.iter().any(|s| s == id) {
            wrong.push(format!("the table's {id} is no operation of the document"));
        }
    }

    // Server functions: every function whose arguments are checked has a row.
    let table = server_fn_table();
    for (path, _) in slipway_app::server::arguments::ARGUMENTS {
        let Some((rule, body)) = table.get(path) else {
            wrong.push(format!("server function {path} has no row in the table"));
            continue;
        };
        let body = body.replace("{id}", &w.venture);
        for caller in CALLERS {
            // Logging out ends the session: that caller's cookie is left alone.
            let cookie = who(caller).filter(|_| *path != "/api/logout").map(|name| w.cookies[name].as_str());
            let (status, text) = answer(&w.app, form_post(path, &body, cookie)).await;
            wrong.extend(judge(path, *rule, caller, status, &text));
        }
    }
    assert_eq!(table.len(), slipway_app::server::arguments::ARGUMENTS.len(), "a row for a function that is not listed");

    assert!(wrong.is_empty(), "{} answer(s) not as the table says:\n{}", wrong.len(), wrong.join("\n"));
}
