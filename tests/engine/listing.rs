//! The ventures list a page at a time, newest first, narrowed by a search, on SQLite and on
//! PostgreSQL alike (a thousand ventures must not make the dashboard read a thousand).

use super::support::*;

async fn a_page_at_a_time_with_a_search(db_url: &str) {
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(db_url, "one").await;
    let casey = creator(&engine).await;
    for i in 0..120 {
        let repository = match i {
            7 => "acme/Under_Score".to_string(),
            8 => "acme/underxscore".to_string(),
            _ => format!("acme/shop-{i:03}"),
        };
        engine.create_venture(&casey, &NewVenture::new(&format!("shop-{i:03}"), &repository)).await.unwrap();
    }

    let first = engine.ventures_page(&casey, "", 0, 50).await.unwrap();
    assert_eq!(first.matching, 120);
    let names: Vec<_> = first.entries.iter().map(|e| e.venture.name.clone()).collect();
    assert_eq!(names.len(), 50);
    assert_eq!((names[0].as_str(), names[49].as_str()), ("shop-119", "shop-070"), "newest first");
    assert!(first.entries.iter().all(|e| e.steps_total > 0 && e.steps_done == 0), "queued, nothing done yet");
    let last = engine.ventures_page(&casey, "", 100, 50).await.unwrap();
    assert_eq!(last.entries.len(), 20);
    assert_eq!(last.entries.last().unwrap().venture.name, "shop-000");
    assert!(engine.ventures_page(&casey, "", 500, 50).await.unwrap().entries.is_empty());
    let capped = engine.ventures_page(&casey, "", 0, 10_000).await.unwrap();
    assert_eq!(capped.entries.len(), slipway_engine::engine::VENTURES_PAGE_MAX);

    // Name or repository, any letter case; `_` and `%` are letters, not wildcards.
    let found = |page: slipway_engine::engine::VenturesPage| {
        (page.matching, page.entries.into_iter().map(|e| e.venture.name).collect::<Vec<_>>())
    };
    assert_eq!(found(engine.ventures_page(&casey, "UNDER_", 0, 50).await.unwrap()), (1, vec!["shop-007".into()]));
    assert_eq!(found(engine.ventures_page(&casey, "%", 0, 50).await.unwrap()), (0, vec![]), "not every venture");
    assert_eq!(found(engine.ventures_page(&casey, " shop-11 ", 0, 50).await.unwrap()).0, 10, "shop-110 to shop-119");
    assert_eq!(found(engine.ventures_page(&casey, "nothing like it", 0, 50).await.unwrap()), (0, vec![]));
}

#[tokio::test]
async fn ventures_are_listed_a_page_at_a_time_on_sqlite() {
    let (_dir, db) = database();
    a_page_at_a_time_with_a_search(&db).await;
}

#[tokio::test]
async fn ventures_are_listed_a_page_at_a_time_on_postgres() {
    let database = super::postgres::TestDatabase::create().await;
    a_page_at_a_time_with_a_search(&database.url).await;
}
