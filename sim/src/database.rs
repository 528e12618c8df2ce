//! Real PostgreSQL behind the Supabase simulator's `database/query`: one database per simulated
//! project on the server it is given, made on first use in Supabase's shape
//! ([`DATABASE_SHAPE`]) and dropped with its project or with the simulator.
//! The answers are the real API's: the last statement's rows as JSON objects, and a failed
//! statement as `400 {"message": "Failed to run sql query: ERROR:  <code>: <message>"}`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Column, Connection, Either, Executor, Row, TypeInfo};
use tokio::sync::Mutex;

/// The shape of a Supabase project's database (roles, `auth` functions, default grants,
/// `pgrst.db_schemas`) for running a project's SQL on real PostgreSQL; idempotent.
pub const DATABASE_SHAPE: &str = include_str!("../sql/supabase_shape.sql");

pub(crate) struct Databases {
    /// A URL of the server (any database on it; the simulator creates its own beside it).
    server: String,
    /// One connection per project: its queries run one at a time, as a session would.
    open: Mutex<HashMap<String, Arc<Mutex<PgConnection>>>>,
}

fn database_name(reference: &str) -> String {
    // References are 20 lowercase letters (checked before any query), so the name needs no quoting.
    format!("slipway_sim_{reference}")
}

impl Databases {
    pub(crate) fn new(server: String) -> Databases {
        Databases { server, open: Mutex::new(HashMap::new()) }
    }

    fn url_of(&self, database: &str) -> String {
        let (base, query) = match self.server.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (self.server.as_str(), None),
        };
        let base = base.rsplit_once('/').map(|(base, _)| base).unwrap_or(base);
        match query {
            Some(query) => format!("{base}/{database}?{query}"),
            None => format!("{base}/{database}"),
        }
    }

    async fn connection(&self, reference: &str) -> Result<Arc<Mutex<PgConnection>>, String> {
        let mut open = self.open.lock().await;
        if let Some(connection) = open.get(reference) {
            return Ok(connection.clone());
        }
        let name = database_name(reference);
        let mut admin = PgConnection::connect(&self.server).await.map_err(|e| format!("PostgreSQL: {e}"))?;
        let exists: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
            .bind(&name)
            .fetch_optional(&mut admin)
            .await
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        if exists.is_none() {
            admin.execute(format!("create database {name}").as_str()).await.map_err(|e| e.to_string())?;
        }
        let _ = admin.close().await;
        let mut connection =
            PgConnection::connect(&self.url_of(&name)).await.map_err(|e| format!("PostgreSQL: {e}"))?;
        connection.execute(DATABASE_SHAPE).await.map_err(|e| format!("the Supabase shape: {e}"))?;
        // `pgrst.db_schemas` was set on the database; sessions read such settings when they start.
        let _ = connection.close().await;
        let connection = PgConnection::connect(&self.url_of(&name)).await.map_err(|e| format!("PostgreSQL: {e}"))?;
        let connection = Arc::new(Mutex::new(connection));
        open.insert(reference.to_string(), connection.clone());
        Ok(connection)
    }

    /// Runs `query` (several statements in one implicit transaction, as the simple query
    /// protocol does); `Err` is the error message the API answers 400 with.
    pub(crate) async fn run(&self, reference: &str, query: &str, read_only: bool) -> Result<Value, String> {
        let connection = self.connection(reference).await?;
        let mut connection = connection.lock().await;
        if read_only {
            connection.execute("begin read only").await.map_err(|e| failed(&e))?;
        }
        let answer = last_rows(&mut connection, query).await;
        if read_only {
            let end = if answer.is_ok() { "commit" } else { "rollback" };
            connection.execute(end).await.map_err(|e| failed(&e))?;
        }
        answer.map_err(|e| failed(&e))
    }

    /// Closes the project's connection and drops its database.
    pub(crate) async fn drop_database(&self, reference: &str) {
        // Its connection closes when the last query holding it ends; `with (force)` ends the rest.
        self.open.lock().await.remove(reference);
        if let Ok(mut admin) = PgConnection::connect(&self.server).await {
            let drop = format!("drop database if exists {} with (force)", database_name(reference));
            let _ = admin.execute(drop.as_str()).await;
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let references: Vec<String> = self.open.get_mut().keys().cloned().collect();
        if references.is_empty() {
            return;
        }
        self.open.get_mut().clear();
        let server = self.server.clone();
        // Drop may run inside a runtime, which cannot be blocked on: use one of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async {
                let databases = Databases::new(server);
                for reference in references {
                    databases.drop_database(&reference).await;
                }
            })
        })
        .join();
    }
}

fn failed(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => {
            format!("Failed to run sql query: ERROR:  {}: {}", db.code().unwrap_or_default(), db.message())
        }
        other => format!("Failed to run sql query: {other}"),
    }
}

/// The rows of the last statement, as JSON objects (the simple protocol answers in text).
async fn last_rows(connection: &mut PgConnection, query: &str) -> Result<Value, sqlx::Error> {
    use futures_util::TryStreamExt;
    // A bare `&str` runs through the simple query protocol: several statements, one implicit
    // transaction. (`raw_sql`'s futures are not `Send` for axum: sqlx's executor lifetimes.)
    let mut stream = connection.fetch_many(query);
    let (mut current, mut last) = (Vec::new(), Vec::new());
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Left(_) => last = std::mem::take(&mut current),
            Either::Right(row) => current.push(row_json(&row)),
        }
    }
    if !current.is_empty() {
        last = current;
    }
    Ok(Value::Array(last))
}

fn row_json(row: &PgRow) -> Value {
    let mut object = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let text: Option<String> = row.try_get_unchecked(i).ok().flatten();
        let value = match text {
            None => Value::Null,
            Some(text) => match column.type_info().name() {
                "BOOL" => Value::Bool(text == "t"),
                "INT2" | "INT4" | "INT8" | "OID" => text.parse::<i64>().map(Value::from).unwrap_or(Value::String(text)),
                "FLOAT4" | "FLOAT8" | "NUMERIC" => text
                    .parse::<f64>()
                    .ok()
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                    .unwrap_or(Value::String(text)),
                "JSON" | "JSONB" => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                _ => Value::String(text),
            },
        };
        object.insert(column.name().to_string(), value);
    }
    Value::Object(object)
}
