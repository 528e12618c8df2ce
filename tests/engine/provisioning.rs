//! Acceptance tests of provisioning: apply, resume, adopt, plan, drift, destroy, faults and
//! master-key rotation, against the simulators.

use super::support::*;

#[tokio::test]
async fn a_venture_goes_from_spec_to_a_ready_deployment_and_applying_again_writes_nothing() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    // Not Vercel's default Node.js version, so the apply has to set it.
    let mut spec = NewVenture::new("acme-shop", "acme/shop");
    spec.framework.node_version = "20.x".into();
    let venture = engine.create_venture(&user, &spec).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);

    let projects = world.vercel().projects();
    assert_eq!(projects.len(), 1);
    let project_id = projects[0]["id"].as_str().unwrap();
    assert_eq!(
        (projects[0]["framework"].as_str(), projects[0]["nodeVersion"].as_str()),
        (Some("nextjs"), Some("20.x"))
    );
    // The production project and, for staging, previews and development, its staging twin.
    let supabase = world.supabase().projects();
    let mut names: Vec<&str> = supabase.iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["acme-shop", "acme-shop-staging"]);
    let reference = supabase.iter().find(|p| p["name"] == "acme-shop").unwrap()["ref"].as_str().unwrap();

    // Every variable, with its value, type and targets.
    let vars = world.vercel().env_vars(project_id);
    // Staging as Vercel holds it: the custom environment, fed by the spec's branch.
    let environments = world.vercel().custom_environments(project_id);
    let staging = environments.iter().find(|e| e["slug"] == "staging").expect("a staging environment at Vercel");
    assert_eq!(staging["branchMatcher"]["pattern"], "staging");
    let staging_id = staging["id"].as_str().unwrap().to_string();
    // One entry per environment, each where it belongs: secrets write-only (sensitive) but in
    // development (Vercel allows none there), the others plain.
    for var in slipway_engine::env::INTEGRATION {
        let entries: Vec<_> = vars.iter().filter(|v| v["key"] == var.key).collect();
        let place = |target: &str| {
            entries.iter().filter(|v| v["target"].as_array().unwrap().iter().any(|t| t == target)).collect::<Vec<_>>()
        };
        for target in ["production", "preview", "development"] {
            let found = place(target);
            assert_eq!(found.len(), 1, "{}: one {target} entry", var.key);
            assert_eq!(found[0]["target"].as_array().unwrap().len(), 1, "{}: {target} alone", var.key);
            let wanted = match (var.secret, target) {
                (false, _) => "plain",
                (true, "development") => "encrypted",
                (true, _) => "sensitive",
            };
            assert_eq!(found[0]["type"], wanted, "{} in {target}", var.key);
        }
        let staged: Vec<_> = entries.iter().filter(|v| v["customEnvironmentIds"][0] == staging_id.as_str()).collect();
        assert_eq!(staged.len(), 1, "{}: one staging entry", var.key);
        assert_eq!(entries.len(), 4, "{}: nothing else", var.key);
    }
    let entry = |key: &str| {
        vars.iter().find(|v| v["key"] == key && v["type"] == "sensitive" && v["target"][0] == "production").cloned()
    };
    let pooled = entry("POSTGRES_URL").expect("POSTGRES_URL is sensitive");
    let admin =
        engine.create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin).await.unwrap();
    assert!(engine.reveal_secret(&user, &venture.id, "SUPABASE_DB_PASSWORD").await.is_err(), "admins only");
    let password = engine.reveal_secret(&admin, &venture.id, "SUPABASE_DB_PASSWORD").await.unwrap();
    let url = pooled["value"].as_str().unwrap();
    assert!(url.contains(password.expose_secret()) && url.contains(":6543/") && url.contains(reference), "{url}");
    assert!(!url.contains("[YOUR-PASSWORD]"));
    assert!(entry("SUPABASE_SERVICE_ROLE_KEY").is_some() && entry("SUPABASE_SECRET_KEY").is_some());
    let public =
        vars.iter().find(|v| v["key"] == "NEXT_PUBLIC_SUPABASE_URL" && v["target"][0] == "production").unwrap();
    assert_eq!(public["value"], format!("https://{reference}.supabase.co"));
    assert_eq!(public["type"], "plain");

    // Nothing secret reached the log.
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    let text = format!("{log:?}");
    assert!(!text.contains(password.expose_secret()), "the log carries no password");
    assert!(log.iter().any(|e| e.step == "vercel.deploy" && e.message.contains("Production is live")), "{log:#?}");

    // Applying again converges with reads only.
    let before = world.vercel().requests().len() + world.supabase().requests().len();
    let seen_vercel = world.vercel().requests().len();
    let seen_supabase = world.supabase().requests().len();
    engine.apply_venture(&user, &venture.id).await.unwrap();
    let engine = world.open_process(&db, "process-a2").await;
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let again: Vec<_> = world.vercel().requests()[seen_vercel..]
        .iter()
        .chain(&world.supabase().requests()[seen_supabase..])
        .cloned()
        .collect();
    assert!(world.vercel().requests().len() + world.supabase().requests().len() > before, "it did look");
    assert_eq!(writes(&again), Vec::<String>::new(), "a converged venture needs no write");
}

#[tokio::test]
async fn a_job_killed_mid_create_resumes_and_adopts_what_it_made() {
    let (_dir, db) = database();
    // Creates land at once but answers take a while: the crash below falls between.
    let world = World::new(FaultPlan { latency: Duration::from_millis(400), ..FaultPlan::default() }).await;
    let first = world.open_process(&db, "process-a").await;
    let user = creator(&first).await;
    let venture = first.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
    let runner = first.runner();
    let crashed = tokio::spawn(async move { runner.run_once().await });
    wait_for("both projects to exist", async || {
        !world.vercel().projects().is_empty() && !world.supabase().projects().is_empty()
    })
    .await;
    crashed.abort(); // the process dies with the create answers in flight
    let _ = crashed.await;
    drop(first);

    let second = world.open_process(&db, "process-b").await;
    assert_eq!(settle(&second, &user, &venture.id).await, VentureStatus::Ready);
    assert_eq!(world.vercel().projects().len(), 1, "exactly one Vercel project");
    assert_eq!(world.supabase().projects().len(), 2, "exactly one Supabase project, and its staging twin");
    let creates = |requests: Vec<slipway_sim::RecordedRequest>, path: &str| {
        requests.iter().filter(|r| r.method == "POST" && r.path == path).count()
    };
    assert_eq!(creates(world.vercel().requests(), "/v11/projects"), 1, "looked up, not created again");
    assert_eq!(creates(world.supabase().requests(), "/v1/projects"), 2, "looked up, not created again");
    let log = second.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert!(log.iter().filter(|e| e.message.contains("Adopting")).count() >= 2, "{log:#?}");
    assert!(log.iter().any(|e| e.message.contains("attempt 2")), "{log:#?}");
}

#[tokio::test]
async fn a_foreign_project_stops_its_branch_and_the_other_branch_still_finishes() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    reqwest::Client::new()
        .post(format!("{}/v11/projects?teamId={}", world.vercel().base_url(), slipway_sim::SANDBOX_TEAM_ID))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "taken"}))
        .send()
        .await
        .unwrap();
    let taken = engine.create_venture(&user, &NewVenture::new("taken", "acme/taken")).await.unwrap();
    assert_eq!(settle(&engine, &user, &taken.id).await, VentureStatus::Failed);
    let log = engine.venture_events(&user, &taken.id, 0, 1000).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.level, "error");
    assert!(last.message.contains("already exists") && last.message.contains("another name"), "{}", last.message);
    // The Supabase branches went on and are recorded: applying again after a rename adopts them.
    assert_eq!(world.supabase().projects().len(), 2);
    let resources = engine.venture_resources(&user, &taken.id).await.unwrap();
    let supabase =
        resources.iter().find(|(kind, _)| kind == slipway_engine::provision::kind::SUPABASE_PROJECT).unwrap();
    assert!(supabase.1.external_id.is_some());
    assert_eq!(world.vercel().projects().len(), 1, "the foreign project was left alone");
}

#[tokio::test]
async fn transient_failures_and_a_lost_answer_are_retried_until_ready() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    // More consecutive 503s than one call's retry budget allows: the job itself retries,
    // then the create's answer is lost: the next attempt looks the project up.
    let mut faults = vec![Fault::ServerError(503); 4];
    faults.push(Fault::Dropped { handled: true });
    world.vercel().queue_faults_for("POST", "/v11/projects", faults);
    world.supabase().queue_faults_for("POST", "/v1/projects", [Fault::Dropped { handled: true }]);
    let venture = engine.create_venture(&user, &NewVenture::new("flaky", "acme/flaky")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    assert_eq!(world.vercel().projects().len(), 1);
    assert_eq!(world.supabase().projects().len(), 2, "the project and its staging twin, once each");
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.level == "warn" && e.message.contains("Retrying")), "{log:#?}");
    assert!(log.iter().any(|e| e.message.contains("Adopting")), "{log:#?}");
}

#[tokio::test]
async fn a_supabase_project_that_fails_to_start_fails_with_what_to_do() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    world.supabase().fail_next_project_init();
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("doomed", "acme/doomed")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Failed);
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    let failure = log.iter().find(|e| e.level == "error").unwrap();
    assert!(failure.message.contains("InitFailed") && failure.message.contains("apply again"), "{}", failure.message);
    assert_eq!(world.vercel().projects().len(), 1, "the Vercel branch finished");
    assert!(writes(&world.vercel().requests()).iter().all(|w| !w.contains("/env")), "nothing wired without keys");
}

#[tokio::test]
async fn the_plan_shows_creates_then_nothing_then_the_drift_an_apply_repairs() {
    use slipway_engine::provision::Action;
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let input = NewVenture::new("planned", "acme/planned");
    let actions = |plan: &[slipway_engine::provision::PlannedAction]| plan.iter().map(|a| a.action).collect::<Vec<_>>();

    let before = engine.plan_new_venture(&user, &input).await.unwrap();
    // Every resource is made, but row-level security and the domain: this spec names no table
    // and no domain.
    let quiet = |resource: &str| {
        resource.ends_with("row-level security") || resource == "Custom domains" || resource == "DNS records"
    };
    let creates: Vec<_> = before.iter().filter(|a| !quiet(&a.resource)).collect();
    assert!(creates.len() == 8 && creates.iter().all(|a| a.action == Action::Create), "{before:#?}");
    let unchanged: Vec<_> = before.iter().filter(|a| quiet(&a.resource)).collect();
    assert!(unchanged.len() == 4 && unchanged.iter().all(|a| a.action == Action::NoChange), "{before:#?}");
    assert!(writes(&world.vercel().requests()).is_empty(), "planning writes nothing");

    let venture = engine.create_venture(&user, &input).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let converged = engine.plan_venture(&user, &venture.id).await.unwrap();
    assert_eq!(actions(&converged), [Action::NoChange; 12], "{converged:#?}");

    // Someone in the studio's team changes the build command and deletes a variable in Vercel's
    // dashboard.
    let http = reqwest::Client::new();
    let project = world.vercel().projects()[0]["id"].as_str().unwrap().to_string();
    http.patch(format!("{}/v9/projects/{project}?teamId={}", world.vercel().base_url(), slipway_sim::SANDBOX_TEAM_ID))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"buildCommand": "rm -rf /"}))
        .send()
        .await
        .unwrap();
    let victim = world.vercel().env_vars(&project).iter().find(|v| v["key"] == "SUPABASE_URL").unwrap()["id"].clone();
    http.delete(format!(
        "{}/v9/projects/{project}/env/{}?teamId={}",
        world.vercel().base_url(),
        victim.as_str().unwrap(),
        slipway_sim::SANDBOX_TEAM_ID
    ))
    .bearer_auth(TOKEN)
    .send()
    .await
    .unwrap();
    let drifted = engine.plan_venture(&user, &venture.id).await.unwrap();
    let by_resource = |plan: &[slipway_engine::provision::PlannedAction], resource: &str| {
        plan.iter().find(|a| a.resource == resource).unwrap().clone()
    };
    let vercel = by_resource(&drifted, "Vercel project");
    assert_eq!((vercel.action, vercel.detail.as_str()), (Action::Update, "change build command"));
    assert_eq!(by_resource(&drifted, "Environment variables").action, Action::Update);
    assert_eq!(by_resource(&drifted, "Production deployment").action, Action::Update);
    assert_eq!(by_resource(&drifted, "Supabase project").action, Action::NoChange);

    engine.apply_venture(&user, &venture.id).await.unwrap();
    let engine = world.open_process(&db, "process-a2").await;
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let repaired = engine.plan_venture(&user, &venture.id).await.unwrap();
    assert_eq!(actions(&repaired), [Action::NoChange; 12], "{repaired:#?}");
    assert!(world.vercel().projects()[0]["buildCommand"].is_null());

    // A name held by someone else's project is shown before anything is created.
    http.post(format!("{}/v11/projects?teamId={}", world.vercel().base_url(), slipway_sim::SANDBOX_TEAM_ID))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "squatted"}))
        .send()
        .await
        .unwrap();
    let blocked = engine.plan_new_venture(&user, &NewVenture::new("squatted", "acme/squatted")).await.unwrap();
    let vercel = by_resource(&blocked, "Vercel project");
    assert_eq!(vercel.action, Action::Blocked, "{blocked:#?}");
    assert!(vercel.detail.contains("already exists"));

    // A name that is already a Slipway venture: the plan says what create would say.
    let same = NewVenture::new("planned", "acme/planned");
    let (planned, created) = (engine.plan_new_venture(&user, &same).await, engine.create_venture(&user, &same).await);
    for refused in [planned.map(|_| ()), created.map(|_| ())] {
        match refused {
            Err(slipway_engine::EngineError::Invalid(errors)) => {
                assert_eq!(
                    (errors[0].field.as_str(), errors[0].message.as_str()),
                    ("name", "is already used by another venture")
                );
            }
            other => panic!("an existing venture's name must be refused: {other:?}"),
        }
    }
}

#[tokio::test]
async fn destroy_needs_the_name_repeated_and_removes_everything_it_made() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("short-lived", "acme/short")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    assert_eq!((world.vercel().projects().len(), world.supabase().projects().len()), (1, 2));

    match engine.destroy_venture(&user, &venture.id, "short-lived-typo").await {
        Err(slipway_engine::EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "confirm"),
        other => panic!("a wrong confirmation must be refused: {other:?}"),
    }
    assert_eq!(world.vercel().projects().len(), 1, "nothing happened");

    engine.destroy_venture(&user, &venture.id, "short-lived").await.unwrap();
    let engine = world.open_process(&db, "process-a2").await;
    let runner = engine.start_runner();
    // Destroyed, and its job over (the status is set just before the job's last log line).
    wait_for("the venture to be destroyed", async || {
        engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Destroyed
            && !engine.has_active_job(&user, &venture.id).await.unwrap()
    })
    .await;
    engine.shutdown();
    runner.await.unwrap();
    assert!(world.vercel().projects().is_empty());
    assert!(world.supabase().projects().is_empty());
    assert!(engine.venture_resources(&user, &venture.id).await.unwrap().is_empty());
    assert!(engine.secret_names(&user, &venture.id).await.unwrap().is_empty());
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.message == "short-lived is destroyed"), "{log:#?}");

    // Destroying it again is refused (nothing is queued), and so is an apply.
    match engine.destroy_venture(&user, &venture.id, "short-lived").await {
        Err(slipway_engine::EngineError::Conflict(message)) => {
            assert!(message.contains("already destroyed"), "{message}")
        }
        other => panic!("a second destroy must be refused: {other:?}"),
    }
    assert!(!engine.has_active_job(&user, &venture.id).await.unwrap());
    assert!(matches!(engine.apply_venture(&user, &venture.id).await, Err(slipway_engine::EngineError::Conflict(_))));
}

#[tokio::test]
async fn a_destroy_during_an_apply_stops_it_and_removes_what_it_made_in_flight_creates_included() {
    let (_dir, db) = database();
    // Creates land at once, but their answers come only after the apply has been stopped
    // (its lease renewal fails within 300 ms): only the intents are recorded, and the
    // destroy must find the projects by name.
    let world = World::new(FaultPlan { latency: Duration::from_millis(1500), ..FaultPlan::default() }).await;
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("change-of-mind", "acme/mind")).await.unwrap();
    let runner = engine.start_runner();
    wait_for("both creates to land", async || {
        !world.vercel().projects().is_empty() && !world.supabase().projects().is_empty()
    })
    .await;
    let job = engine.destroy_venture(&user, &venture.id, "change-of-mind").await.expect("not refused");
    wait_for("the venture to be destroyed", async || {
        engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Destroyed
            && !engine.has_active_job(&user, &venture.id).await.unwrap()
    })
    .await;
    engine.shutdown();
    runner.await.unwrap();

    assert!(world.vercel().projects().is_empty(), "{:#?}", world.vercel().projects());
    assert!(world.supabase().projects().is_empty(), "{:#?}", world.supabase().projects());
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.step == "cancelled"), "{log:#?}");
    let destroyed_at = log.iter().find(|e| e.job_id.as_deref() == Some(job.as_str()) && e.step == "destroy");
    let apply_after = log.iter().filter(|e| {
        e.job_id.as_deref() != Some(job.as_str()) && (e.step.starts_with("vercel.") || e.step.starts_with("supabase."))
    });
    let last_apply_line = apply_after.map(|e| e.id).max().unwrap_or(0);
    assert!(destroyed_at.unwrap().id > last_apply_line, "the apply said nothing once the destroy began: {log:#?}");
}

/// The fault drill: 50 ventures applied while 10% of all platform requests fail
/// transiently (429, 5xx, connections dropped before or after the request took effect).
/// All converge, and each platform holds exactly one project per venture.
#[tokio::test]
async fn fifty_ventures_converge_through_ten_percent_faults() {
    let (_dir, db) = database();
    let faults = FaultPlan {
        rate_limit_share: 0.03,
        server_error_share: 0.04,
        dropped_share: 0.03,
        retry_after_secs: 0,
        seed: 50,
        ..FaultPlan::default()
    };
    let mut world = World::new(faults).await;
    // Polls at a pace the documented per-endpoint budgets allow for 50 ventures at once.
    world.polling = Duration::from_millis(150);
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let mut ids = Vec::new();
    for i in 0..50 {
        let venture = engine.create_venture(&user, &NewVenture::new(&format!("drill-{i:02}"), "acme/drill")).await;
        ids.push(venture.unwrap().id);
    }
    // Several runners, as several processes would have.
    let runners: Vec<_> = (0..4).map(|_| engine.start_runner()).collect();
    wait_for("every venture to settle", async || {
        let mut settled = 0;
        for id in &ids {
            if engine.venture(&user, id).await.unwrap().status != VentureStatus::Provisioning {
                settled += 1;
            }
        }
        settled == ids.len()
    })
    .await;
    engine.shutdown();
    for runner in runners {
        runner.await.unwrap();
    }
    for id in &ids {
        let venture = engine.venture(&user, id).await.unwrap();
        let log = engine.venture_events(&user, id, 0, 1000).await.unwrap();
        assert_eq!(venture.status, VentureStatus::Ready, "{}: {:#?}", venture.name, log.last());
    }
    let names = |projects: Vec<serde_json::Value>| {
        let mut names: Vec<String> = projects.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    };
    let expected: Vec<String> = (0..50).map(|i| format!("drill-{i:02}")).collect();
    assert_eq!(names(world.vercel().projects()), expected, "one Vercel project per venture, none orphaned");
    let twins: Vec<String> = expected.iter().flat_map(|n| [n.clone(), format!("{n}-staging")]).collect();
    assert_eq!(names(world.supabase().projects()), twins, "two Supabase projects per venture, none orphaned");
    let failed = |requests: Vec<slipway_sim::RecordedRequest>| requests.iter().filter(|r| r.status >= 429).count();
    assert!(failed(world.vercel().requests()) + failed(world.supabase().requests()) >= 50, "faults happened");
}

#[tokio::test]
async fn after_a_master_key_rotation_every_value_is_resealed_and_opens_with_the_new_key_alone() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let before = world.open_process(&db, "process-a").await;
    let user = creator(&before).await;
    let venture = before.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
    assert_eq!(settle(&before, &user, &venture.id).await, VentureStatus::Ready);
    let names = before.secret_names(&user, &venture.id).await.unwrap();
    assert!(names.len() >= 5, "{names:?}");
    drop(before);

    let new_key = slipway_engine::vault::generate_key();
    let rotated = VaultSettings::Key { current: new_key.clone(), previous: vec![world.key.clone()] };
    let during = world.open_process_with(&db, "process-b", rotated).await;
    let admin =
        during.create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin).await.unwrap();
    let old_values: Vec<String> = {
        let mut values = Vec::new();
        for name in &names {
            values.push(during.reveal_secret(&admin, &venture.id, name).await.unwrap().expose_secret().to_string());
        }
        values
    };
    let report = during.reseal_secrets().await.unwrap();
    assert_eq!(report.resealed, names.len());
    assert!(report.unreadable.is_empty());
    assert_eq!(
        report.per_key,
        vec![(report.current_key_id.clone(), names.len() as i64)],
        "none left under the old key"
    );
    assert_eq!(during.reseal_secrets().await.unwrap().resealed, 0, "a second run has nothing to do");
    drop(during);

    let after =
        world.open_process_with(&db, "process-c", VaultSettings::Key { current: new_key, previous: vec![] }).await;
    for (name, old) in names.iter().zip(&old_values) {
        let value = after.reveal_secret(&admin, &venture.id, name).await.unwrap();
        assert_eq!(value.expose_secret(), old, "{name} survives the rotation unchanged");
    }

    // A process that lost the old key before re-sealing cannot read, and says which values.
    let (_dir2, db2) = database();
    let stale = world.open_process(&db2, "process-d").await;
    let user = creator(&stale).await;
    let venture = stale.create_venture(&user, &NewVenture::new("acme-blog", "acme/blog")).await.unwrap();
    assert_eq!(settle(&stale, &user, &venture.id).await, VentureStatus::Ready);
    drop(stale);
    let forgetful = VaultSettings::Key { current: slipway_engine::vault::generate_key(), previous: vec![] };
    let report = world.open_process_with(&db2, "process-e", forgetful).await.reseal_secrets().await.unwrap();
    assert_eq!(report.resealed, 0);
    assert!(report.unreadable.iter().any(|u| u.contains("SUPABASE_DB_PASSWORD")), "{:?}", report.unreadable);
}

#[tokio::test]
async fn a_repository_the_github_app_cannot_see_stops_with_what_to_do() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    world.vercel().hide_repository("acme/private");
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("secretive", "acme/private")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Failed);
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    let failure = log.iter().find(|e| e.level == "error").expect("the failure is in the log");
    assert!(
        failure.message.contains("Vercel cannot link github.com/acme/private")
            && failure.message.contains("Install the Vercel GitHub app"),
        "{}",
        failure.message
    );
    assert!(world.vercel().projects().is_empty(), "no project without its repository");
}

#[tokio::test]
async fn a_repository_whose_default_branch_is_not_the_production_branch_is_warned_about() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    world.vercel().set_default_branch("acme/trunk", "trunk");
    let engine = world.open_process(&db, "process-a").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("trunky", "acme/trunk")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    let warning = log.iter().find(|e| e.level == "warn" && e.step == "vercel.project").expect("a warning");
    assert!(warning.message.contains("Vercel deploys production from trunk, not main"), "{}", warning.message);
}
