//! A venture's custom domain applied end to end in the sandbox: the project's names (the other
//! one redirecting with 308), the records at the DNS provider with the values Vercel
//! recommends, verification, configuration and a certificate; records created once, a
//! re-apply changing nothing, others' records untouched, and conflicts blocking the plan.

use serde_json::Value;
use slipway_engine::domains::DomainInput;
use slipway_engine::domains::https::{Expect, HttpsSettings, probe};
use slipway_engine::domains::resolve::DnsSettings;
use slipway_engine::platform::rfc2136::{RecordKind, RrSet};
use slipway_engine::platform::vercel::{VercelClient, VercelConfig};
use slipway_engine::provision::{Action, PlannedAction};

use super::knot::{Knot, zone_file};
use super::support::*;

fn spec(name: &str, domain: &str, dns: &str) -> NewVenture {
    let mut spec = NewVenture::new(name, "acme/shop");
    spec.domain = Some(DomainInput {
        name: domain.into(),
        primary: None,
        dns: dns.into(),
        staging: None,
        allow_replace: Vec::new(),
    });
    spec
}

fn vercel(world: &World) -> VercelClient {
    let mut config = VercelConfig::new(world.vercel().base_url(), SecretString::from(world.token.clone()));
    config.team_id = Some(slipway_sim::SANDBOX_TEAM_ID.into());
    VercelClient::new(config).unwrap()
}

/// Where the sandbox's Vercel edge listens, which Vercel recommends for apex A records.
fn edge(world: &World) -> String {
    world.sims.edge.address().ip().to_string()
}

/// An HTTPS client that trusts the sandbox edge's CA and reaches every name at the edge.
fn visitor(world: &World, names: &[&str]) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(world.sims.edge.ca_pem().as_bytes()).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none());
    for name in names {
        builder = builder.resolve(name, world.sims.edge.address());
    }
    builder.build().unwrap()
}

fn row<'a>(plan: &'a [PlannedAction], resource: &str) -> &'a PlannedAction {
    plan.iter().find(|p| p.resource == resource).unwrap_or_else(|| panic!("no {resource} in {plan:?}"))
}

/// The zone's records at the Cloudflare simulator, as `TYPE name content [ours]`.
fn cloudflare_records(world: &World, zone: &str) -> Vec<String> {
    let mut records: Vec<String> = world
        .sims
        .cloudflare
        .records(zone)
        .iter()
        .map(|r: &Value| {
            let ours = r["comment"].as_str().is_some_and(|c| c.starts_with("managed by Slipway"));
            format!(
                "{} {} {}{}",
                r["type"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["content"].as_str().unwrap(),
                if ours { " [ours]" } else { "" }
            )
        })
        .collect();
    records.sort();
    records
}

/// Someone adds a record to the sandbox's Cloudflare zone `example.com` by hand.
async fn someone_adds(world: &World, record_type: &str, name: &str, content: &str) {
    let cloudflare = world.sims.cloudflare.base_url();
    let zone = world.sims.cloudflare.zone_id("example.com").unwrap();
    reqwest::Client::new()
        .post(format!("{cloudflare}/zones/{zone}/dns_records"))
        .bearer_auth(&world.token)
        .json(&serde_json::json!({ "type": record_type, "name": name, "content": content, "ttl": 1 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
async fn a_cloudflare_domain_gets_its_records_once_and_goes_live() {
    let world = World::new(FaultPlan::default()).await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    // A record of someone else's in the zone, which must stay as it is.
    someone_adds(&world, "A", "mail.example.com", "192.0.2.5").await;

    let venture = engine.create_venture(&user, &spec("example-shop", "example.com", "cloudflare")).await.unwrap();
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    assert_eq!(row(&plan, "Custom domains").action, Action::Create);
    let records = row(&plan, "DNS records");
    assert_eq!(records.action, Action::Create, "{plan:#?}");
    let lines: Vec<String> = records.records.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [format!("+ A example.com {}", edge(&world)), "+ CNAME www.example.com cname.vercel-dns.com".into()]
    );
    assert!(
        records.detail.ends_with("+ TXT _vercel.example.com (the challenge Vercel asks for)"),
        "{}",
        records.detail
    );

    engine.apply_venture(&user, &venture.id).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);

    let records = cloudflare_records(&world, "example.com");
    assert_eq!(records.len(), 5, "{records:?}");
    assert!(records.contains(&format!("A example.com {} [ours]", edge(&world))), "{records:?}");
    assert!(records.contains(&"CNAME www.example.com cname.vercel-dns.com [ours]".to_string()), "{records:?}");
    assert!(records.contains(&"A mail.example.com 192.0.2.5".to_string()), "someone else's record untouched");
    // One challenge per name on the project, both at the apex's `_vercel`.
    for name in ["example.com", "www.example.com"] {
        let challenge = format!("TXT _vercel.example.com vc-domain-verify={name},");
        assert!(records.iter().any(|r| r.starts_with(&challenge) && r.ends_with("[ours]")), "{records:?}");
    }

    let project = world.vercel().projects()[0]["id"].as_str().unwrap().to_string();
    let domains = vercel(&world).list_project_domains(&project).await.unwrap();
    let www = domains.iter().find(|d| d.name == "www.example.com").unwrap();
    assert_eq!((www.redirect.as_deref(), www.redirect_status_code), (Some("example.com"), Some(308)));
    assert!(domains.iter().all(|d| d.verified), "{domains:?}");

    // Converged: the plan changes nothing, and applying again writes no record.
    let engine = world.open_process(&db, "p1b").await;
    let converged = engine.plan_venture(&user, &venture.id).await.unwrap();
    for resource in ["Custom domains", "DNS records"] {
        assert_eq!(row(&converged, resource).action, Action::NoChange, "{resource}: {converged:#?}");
    }
    let seen = world.sims.cloudflare.requests().len();
    let engine = world.open_process(&db, "p2").await;
    engine.apply_venture(&user, &venture.id).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    assert_eq!(writes(&world.sims.cloudflare.requests()[seen..]), Vec::<String>::new());
    assert_eq!(cloudflare_records(&world, "example.com"), records);

    // The doctor, through the sandbox's real DNS server, with the venture's settings.
    let check = engine.check_domain(&user, "WWW.Example.com.").await.unwrap();
    assert_eq!((check.domain.as_str(), check.venture.as_deref()), ("example.com", Some("example-shop")));
    assert_eq!(check.provider, slipway_engine::domains::DnsProvider::Cloudflare);
    assert_eq!(check.report.findings, [], "{:#?}", check.report);
    let status = engine.venture_domain(&user, &venture.id).await.unwrap().unwrap();
    assert!(status.names.iter().all(|n| n.attached && n.verified && n.configured), "{:?}", status.names);
    assert!(status.certificate.is_some());
    // HTTPS, resolved through the sandbox's DNS and verified against the edge's CA: the site on
    // the apex, the redirect on www.
    let https: Vec<String> = status.names.iter().map(|n| n.https.as_ref().unwrap().line()).collect();
    assert_eq!(https, ["https://example.com → 200", "https://www.example.com → 308 https://example.com/"]);
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert!(
        log.iter().any(|e| e.message == "HTTPS: https://www.example.com → 308 https://example.com/"),
        "the apply checked HTTPS: {log:#?}"
    );

    let unknown = engine.check_domain(&user, "nobody-has-this.com").await.unwrap();
    assert_eq!(unknown.venture, None);
    assert_eq!(unknown.report.findings[0].check, "not_registered", "{:#?}", unknown.report);
    let shared = engine.check_domain(&user, "my-app.vercel.app").await.unwrap_err();
    assert!(shared.to_string().contains("invalid"), "{shared}");
}

#[tokio::test]
async fn the_edge_serves_only_names_with_a_certificate_and_redirects_with_the_status_vercel_was_given() {
    let world = World::new(FaultPlan::default()).await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let mut www_first = spec("www-shop", "example.com", "cloudflare");
    www_first.domain.as_mut().unwrap().primary = Some("www".into());
    let venture = engine.create_venture(&user, &www_first).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);

    let client = visitor(&world, &["example.com", "www.example.com", "shop.example.com"]);
    let apex = client.get("https://example.com/pricing?plan=pro").send().await.unwrap();
    assert_eq!(apex.status(), 308);
    assert_eq!(apex.headers()["location"], "https://www.example.com/pricing?plan=pro");
    let site = client.get("https://www.example.com/").send().await.unwrap();
    assert_eq!(site.status(), 200);
    let deployment = site.headers()["x-vercel-deployment"].to_str().unwrap().to_string();
    let newest = world.vercel().deployments().into_iter().rfind(|d| d["target"] == "production").unwrap();
    assert_eq!(newest["id"], deployment.as_str(), "the newest production deployment serves");

    // A name pointed at the edge that Vercel issued no certificate for: the handshake fails,
    // and the probe says so in words.
    someone_adds(&world, "A", "shop.example.com", &edge(&world)).await;
    let refused = client.get("https://shop.example.com/").send().await.unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");
    let https = HttpsSettings {
        port: world.sims.edge.address().port(),
        extra_roots: vec![world.sims.edge.ca_pem().to_string()],
        ..HttpsSettings::default()
    };
    let dns = DnsSettings { resolvers: vec![world.sims.dns.address()], ..DnsSettings::default() };
    let answer = probe(&https, &dns, "shop.example.com", &Expect::Site).await;
    assert_eq!((answer.address.as_deref(), answer.status), (Some(edge(&world).as_str()), None));
    let problem = answer.problem.unwrap();
    assert!(problem.contains("has no certificate for shop.example.com yet"), "{problem}");
}

#[tokio::test]
async fn a_conflicting_record_blocks_the_plan_with_the_fix_unless_allowed() {
    let world = World::new(FaultPlan::default()).await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    someone_adds(&world, "AAAA", "example.com", "2001:db8::1").await;

    // The plan of the spec, before anything is created, is blocked with the fix.
    let plan = engine.plan_new_venture(&user, &spec("example-shop", "example.com", "cloudflare")).await.unwrap();
    let records = row(&plan, "DNS records");
    assert_eq!(records.action, Action::Blocked, "{records:?}");
    assert!(records.detail.contains("IPv6 visitors would bypass Vercel"), "{}", records.detail);
    assert!(records.detail.contains("\"AAAA example.com\" in domain.allow_replace"), "{}", records.detail);

    let mut allowed = spec("example-two", "example.com", "cloudflare");
    allowed.domain.as_mut().unwrap().allow_replace = vec!["AAAA example.com".into()];
    let venture = engine.create_venture(&user, &allowed).await.unwrap();
    engine.apply_venture(&user, &venture.id).await.unwrap();
    let status = settle(&engine, &user, &venture.id).await;
    let events = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert_eq!(status, VentureStatus::Ready, "{:#?}", events.iter().map(|e| &e.message).collect::<Vec<_>>());
    assert!(!cloudflare_records(&world, "example.com").iter().any(|r| r.starts_with("AAAA")));
}

#[tokio::test]
async fn at_vercel_dns_the_zone_joins_the_account_and_no_record_is_written() {
    let world = World::new(FaultPlan::default()).await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let mut input = spec("acme-shop", "www.acme-shop.com", "vercel");
    input.environments.staging.enabled = true;
    input.domain.as_mut().unwrap().staging = Some("staging.acme-shop.com".into());
    let venture = engine.create_venture(&user, &input).await.unwrap();
    engine.apply_venture(&user, &venture.id).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);

    let client = vercel(&world);
    assert!(client.find_domain("acme-shop.com").await.unwrap().is_some(), "the apex is in the account");
    assert_eq!(client.list_dns_records("acme-shop.com").await.unwrap(), [], "Vercel DNS serves the names itself");
    let project = world.vercel().projects()[0]["id"].as_str().unwrap().to_string();
    let domains = client.list_project_domains(&project).await.unwrap();
    let apex = domains.iter().find(|d| d.name == "acme-shop.com").unwrap();
    assert_eq!(apex.redirect.as_deref(), Some("www.acme-shop.com"), "www is primary: the apex redirects");
    let staging = domains.iter().find(|d| d.name == "staging.acme-shop.com").unwrap();
    assert!(staging.custom_environment_id.is_some(), "{staging:?}");

    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    assert_eq!(row(&plan, "DNS records").detail, "Vercel DNS serves the project's names");
    assert_eq!(row(&plan, "Custom domains").action, Action::NoChange);
}

/// Record sets at the Knot server, as `TYPE name value`.
async fn knot_records(knot: &Knot, zone: &str, names: &[&str]) -> Vec<String> {
    let client = knot.client(zone);
    let mut found = Vec::new();
    for name in names {
        for kind in [RecordKind::A, RecordKind::Aaaa, RecordKind::Cname, RecordKind::Txt] {
            if let Some(set) = client.read(name, kind).await.unwrap() {
                found.extend(set.values.iter().map(|v| format!("{} {name} {v}", kind.as_str())));
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn an_rfc2136_server_gets_the_records_signed_and_keeps_the_rest() {
    let knot = Knot::start(&[
        ("acme-rfc.com", zone_file("acme-rfc.com", "mail A 192.0.2.5")),
        ("acme-clash.com", zone_file("acme-clash.com", "www A 192.0.2.1")),
    ]);
    let mut world = World::new(FaultPlan::default()).await;
    for zone in ["acme-rfc.com", "acme-clash.com"] {
        world.sims.dns.served().delegate(zone, knot.address);
    }
    world.rfc2136 = Some(knot.access());
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;

    // Someone else's www A is in the way of the CNAME: blocked before anything is made.
    let clash = engine.plan_new_venture(&user, &spec("acme-clash", "acme-clash.com", "rfc2136")).await.unwrap();
    let blocked = row(&clash, "DNS records");
    assert_eq!(blocked.action, Action::Blocked, "{blocked:?}");
    assert!(
        blocked.detail.contains("www.acme-clash.com has an A record (192.0.2.1) that Slipway did not create"),
        "{}",
        blocked.detail
    );

    let venture = engine.create_venture(&user, &spec("acme-rfc", "acme-rfc.com", "rfc2136")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let names = ["acme-rfc.com", "www.acme-rfc.com", "_vercel.acme-rfc.com", "mail.acme-rfc.com"];
    let records = knot_records(&knot, "acme-rfc.com", &names).await;
    assert_eq!(records.len(), 5, "{records:?}");
    assert!(records.contains(&format!("A acme-rfc.com {}", edge(&world))), "{records:?}");
    assert!(records.contains(&"CNAME www.acme-rfc.com cname.vercel-dns.com".to_string()), "{records:?}");
    assert!(records.contains(&"A mail.acme-rfc.com 192.0.2.5".to_string()), "theirs untouched: {records:?}");

    // Converged: nothing to change, and a re-apply writes nothing at the server.
    let engine = world.open_process(&db, "p2").await;
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    assert_eq!(row(&plan, "DNS records").action, Action::NoChange, "{plan:#?}");
    engine.apply_venture(&user, &venture.id).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    assert_eq!(knot_records(&knot, "acme-rfc.com", &names).await, records);
}

#[tokio::test]
async fn manual_dns_lists_the_records_to_add_and_waits_until_they_resolve() {
    let knot = Knot::start(&[("acme-manual.com", zone_file("acme-manual.com", ""))]);
    let world = World::new(FaultPlan::default()).await;
    world.sims.dns.served().delegate("acme-manual.com", knot.address);
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &spec("acme-manual", "acme-manual.com", "manual")).await.unwrap();
    let runner = engine.start_runner();

    // Once the names are on the project, the plan lists every record, challenges included.
    let mut wanted = Vec::new();
    wait_for("the records to add", async || {
        let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
        let records = row(&plan, "DNS records");
        wanted = records.records.clone();
        records.detail.starts_with("make these changes at your DNS provider")
            && wanted.iter().any(|r| r.kind == RecordKind::Txt)
    })
    .await;
    assert_eq!(engine.venture(&user, &venture.id).await.unwrap().status, VentureStatus::Provisioning, "it waits");

    // The user adds them at the registrar (here: the zone's server).
    let zone = knot.client("acme-manual.com");
    let mut sets: Vec<(String, RecordKind)> = wanted.iter().map(|r| (r.name.clone(), r.kind)).collect();
    sets.dedup();
    for (name, kind) in sets {
        let values = wanted.iter().filter(|r| r.name == name && r.kind == kind).filter_map(|r| r.new.clone()).collect();
        zone.replace(None, &RrSet { name, kind, ttl: 300, values }).await.unwrap();
    }
    wait_for("the venture to be ready", async || {
        engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Ready
    })
    .await;
    engine.shutdown();
    runner.await.unwrap();
}

#[tokio::test]
async fn a_domain_is_one_ventures_and_the_doctor_finds_which_even_in_a_database_from_before_the_column() {
    use slipway_engine::EngineError;
    let world = World::new(FaultPlan::default()).await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    engine.create_venture(&user, &spec("first-shop", "Example.COM.", "manual")).await.unwrap();

    // The same registrable domain, written another way: refused by field, nothing stored.
    let taken = |result: Result<_, EngineError>| match result {
        Err(EngineError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "domain.name");
            assert_eq!(errors[0].message, "example.com is already the domain of venture first-shop");
        }
        other => panic!("expected the domain refused, got {other:?}"),
    };
    taken(engine.create_venture(&user, &spec("second-shop", "www.example.com", "cloudflare")).await.map(|_| ()));
    assert_eq!(engine.list_ventures(&user).await.unwrap().len(), 1);
    let second = engine.create_venture(&user, &NewVenture::new("second-shop", "acme/second")).await.unwrap();
    let input = spec("second-shop", "example.com", "manual").domain;
    taken(engine.set_venture_domain(&user, &second.id, input).await.map(|_| ()));
    // Another domain is free.
    let other = spec("second-shop", "other-shop.com", "manual").domain;
    engine.set_venture_domain(&user, &second.id, other).await.unwrap();

    let found = engine.check_domain(&user, "www.EXAMPLE.com").await.unwrap();
    assert_eq!((found.domain.as_str(), found.venture.as_deref()), ("example.com", Some("first-shop")));
    assert_eq!(engine.check_domain(&user, "other-shop.com").await.unwrap().venture.as_deref(), Some("second-shop"));

    // Ventures stored before the column: opening the database indexes their domains again.
    engine.shutdown();
    drop(engine);
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let cleared = sqlx::query("UPDATE ventures SET domain = NULL").execute(&pool).await.unwrap();
    assert_eq!(cleared.rows_affected(), 2);
    pool.close().await;
    let engine = world.open_process(&db, "p2").await;
    let found = engine.check_domain(&user, "example.com").await.unwrap();
    assert_eq!(found.venture.as_deref(), Some("first-shop"));
    taken(engine.create_venture(&user, &spec("third-shop", "example.com", "manual")).await.map(|_| ()));
}
