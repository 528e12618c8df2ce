//! A venture's sealed values.

use super::*;

impl Store {
    pub async fn secret(&self, venture_id: &str, name: &str) -> Result<Option<Sealed>, sqlx::Error> {
        let row = sqlx::query("SELECT key_id, nonce, ciphertext FROM secrets WHERE venture_id = $1 AND name = $2")
            .bind(venture_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Sealed {
                key_id: row.try_get("key_id")?,
                nonce: row.try_get("nonce")?,
                ciphertext: row.try_get("ciphertext")?,
            })
        })
        .transpose()
    }

    pub async fn put_secret(&self, venture_id: &str, name: &str, sealed: &Sealed) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO secrets (venture_id, name, key_id, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (venture_id, name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce, \
                 ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
        )
        .bind(venture_id)
        .bind(name)
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a new sealed value inside `tx` (a write that must land with others or not at all).
    pub(super) async fn insert_secret(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        venture_id: &str,
        name: &str,
        sealed: &Sealed,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO secrets (venture_id, name, key_id, nonce, ciphertext, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(venture_id)
        .bind(name)
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Up to `limit` sealed values whose key is not `key_id`, as (venture, name, sealed).
    pub async fn secrets_not_sealed_by(
        &self,
        key_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, Sealed)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT venture_id, name, key_id, nonce, ciphertext FROM secrets WHERE key_id <> $1 \
             ORDER BY venture_id, name LIMIT $2",
        )
        .bind(key_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sealed_row).collect()
    }

    /// Every sealed value, as (venture, name, sealed).
    pub async fn all_secrets(&self) -> Result<Vec<(String, String, Sealed)>, sqlx::Error> {
        let rows = sqlx::query("SELECT venture_id, name, key_id, nonce, ciphertext FROM secrets")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(sealed_row).collect()
    }

    /// Every text cell of every table but `secrets` (the vault's ciphertexts), as
    /// (`table.column`, text), for the leak scan. Migrations' bookkeeping is left out.
    pub async fn text_cells(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        use sqlx::Column;
        let listing = if self.postgres_url.is_some() {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        };
        let tables: Vec<String> = sqlx::query(listing)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get("name"))
            .collect::<Result<_, _>>()?;
        let mut cells = Vec::new();
        for table in tables.iter().filter(|t| !matches!(t.as_str(), "secrets" | "_sqlx_migrations")) {
            // The name comes from the catalogue, not from input.
            for row in sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(&self.pool).await? {
                for (i, column) in row.columns().iter().enumerate() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        cells.push((format!("{table}.{}", column.name()), text));
                    }
                }
            }
        }
        Ok(cells)
    }

    /// How many sealed values each key id holds.
    pub async fn secrets_per_key(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query("SELECT key_id, COUNT(*) AS n FROM secrets GROUP BY key_id ORDER BY key_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("key_id")?, row.try_get("n")?))).collect()
    }

    /// Replaces `old` with `new` only if the stored value is still `old` (a step may have
    /// written a fresh value meanwhile, which must not be overwritten); returns whether it did.
    pub async fn replace_secret(
        &self,
        venture_id: &str,
        name: &str,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE secrets SET key_id = $1, nonce = $2, ciphertext = $3, updated_at = $4 \
             WHERE venture_id = $5 AND name = $6 AND key_id = $7 AND nonce = $8",
        )
        .bind(&new.key_id)
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(now_ms())
        .bind(venture_id)
        .bind(name)
        .bind(&old.key_id)
        .bind(&old.nonce)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_secrets(&self, venture_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM secrets WHERE venture_id = $1").bind(venture_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes one sealed value; one already gone counts as removed.
    pub async fn delete_secret(&self, venture_id: &str, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM secrets WHERE venture_id = $1 AND name = $2")
            .bind(venture_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes the venture's sealed values whose names start with `prefix`.
    pub async fn delete_secrets_prefixed(&self, venture_id: &str, prefix: &str) -> Result<(), sqlx::Error> {
        let names = self.secret_names(venture_id).await?;
        for name in names.iter().filter(|n| n.starts_with(prefix)) {
            self.delete_secret(venture_id, name).await?;
        }
        Ok(())
    }

    pub async fn secret_names(&self, venture_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT name FROM secrets WHERE venture_id = $1 ORDER BY name")
            .bind(venture_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| row.try_get("name")).collect()
    }
}

/// A `secrets` row as (venture, name, sealed).
fn sealed_row(row: &AnyRow) -> Result<(String, String, Sealed), sqlx::Error> {
    let sealed =
        Sealed { key_id: row.try_get("key_id")?, nonce: row.try_get("nonce")?, ciphertext: row.try_get("ciphertext")? };
    Ok((row.try_get("venture_id")?, row.try_get("name")?, sealed))
}
