//! Ventures, their stored specs, and queueing their jobs.

use super::*;

/// The rotation a queued job runs: a new one, or one that waited.
enum RotationJob<'a> {
    New(&'a NewRotation<'a>),
    Resume(&'a str),
}

impl Store {
    /// Creates the venture, the variables its spec declares, its provisioning job and the
    /// first log line in one transaction: either all exist or none does.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_venture_with_job(
        &self,
        name: &str,
        repository: &str,
        spec_json: &str,
        domain: Option<&str>,
        created_by: &User,
        job_kind: &str,
        env: &[super::env::EnvWrite],
        seal: super::env::Sealer<'_>,
    ) -> Result<(Venture, String), sqlx::Error> {
        let now = now_ms();
        let venture_id = uuid::Uuid::now_v7().to_string();
        let job_id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO ventures (id, name, repository, spec, domain, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&venture_id)
        .bind(name)
        .bind(repository)
        .bind(spec_json)
        .bind(domain)
        .bind(VentureStatus::Provisioning.as_str())
        .bind(&created_by.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for write in env {
            super::env::write_env_var(&mut tx, &venture_id, write, seal).await?;
        }
        sqlx::query(
            "INSERT INTO jobs (id, venture_id, kind, status, attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $4, $4)",
        )
        .bind(&job_id)
        .bind(&venture_id)
        .bind(job_kind)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            self.postgres_url.is_some(),
            &venture_id,
            Some(&job_id),
            "queued",
            "info",
            "Provisioning job queued",
        )
        .await?;
        tx.commit().await?;
        let venture = Venture {
            id: venture_id,
            name: name.to_string(),
            repository: repository.to_string(),
            status: VentureStatus::Provisioning,
            vercel_project_id: None,
            created_at: now,
            created_by: created_by.username.clone(),
        };
        Ok((venture, job_id))
    }

    /// Queues a job for the venture, or returns the job already queued or running for it (a
    /// venture has at most one at a time, so two applies never run side by side).
    pub async fn queue_job(
        &self,
        venture_id: &str,
        kind: &str,
        status: Option<VentureStatus>,
        note: &str,
    ) -> Result<Result<String, ActiveJob>, sqlx::Error> {
        self.queue(venture_id, kind, status, note, None).await
    }

    /// Queues a rotation and the job of `kind` that runs it, in one transaction; as
    /// [`Store::queue_job`], refused with the job the venture already has.
    pub async fn queue_rotation(
        &self,
        venture_id: &str,
        kind: &str,
        note: &str,
        rotation: &NewRotation<'_>,
    ) -> Result<Result<String, ActiveJob>, sqlx::Error> {
        self.queue(venture_id, kind, None, note, Some(RotationJob::New(rotation))).await
    }

    /// Queues a job that resumes the waiting rotation `rotation_id` (it becomes the rotation's
    /// job), unless another job of the venture is queued or running.
    pub async fn resume_rotation(
        &self,
        venture_id: &str,
        rotation_id: &str,
        kind: &str,
        note: &str,
    ) -> Result<Result<String, ActiveJob>, sqlx::Error> {
        self.queue(venture_id, kind, None, note, Some(RotationJob::Resume(rotation_id))).await
    }

    async fn queue(
        &self,
        venture_id: &str,
        kind: &str,
        status: Option<VentureStatus>,
        note: &str,
        rotation: Option<RotationJob<'_>>,
    ) -> Result<Result<String, ActiveJob>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let active = sqlx::query(
            "SELECT id, kind FROM jobs WHERE venture_id = $1 AND status IN ('queued', 'running') \
             ORDER BY created_at LIMIT 1",
        )
        .bind(venture_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = active {
            let active = ActiveJob { id: row.try_get("id")?, kind: row.try_get("kind")? };
            tx.rollback().await?;
            return Ok(Err(active));
        }
        let inserted = self.insert_job(&mut tx, venture_id, kind, status, now, note).await;
        let job_id = match inserted {
            Ok(job_id) => job_id,
            // Another instance queued one between the check and the insert
            // (`jobs_one_active_per_venture`): that one is the answer.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                let row = sqlx::query(
                    "SELECT id, kind FROM jobs WHERE venture_id = $1 AND status IN ('queued', 'running') LIMIT 1",
                )
                .bind(venture_id)
                .fetch_one(&self.pool)
                .await?;
                return Ok(Err(ActiveJob { id: row.try_get("id")?, kind: row.try_get("kind")? }));
            }
            Err(e) => return Err(e),
        };
        match rotation {
            Some(RotationJob::New(rotation)) => Store::insert_rotation(&mut tx, venture_id, &job_id, rotation).await?,
            Some(RotationJob::Resume(id)) => {
                sqlx::query("UPDATE rotations SET job_id = $1, updated_at = $2 WHERE id = $3 AND venture_id = $4")
                    .bind(&job_id)
                    .bind(now)
                    .bind(id)
                    .bind(venture_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        tx.commit().await?;
        Ok(Ok(job_id))
    }

    /// Queues a destroy for the venture. Any other job queued or running (an apply, a sync, a
    /// redeploy) is stopped first: it is marked failed, its runner finds out at its next lease
    /// renewal, stops and lets go of the lease, and only then may the destroy be claimed (see
    /// `claim_job`), so no step of the apply is still under way when the destroy starts.
    /// A job of an `unstoppable` kind (a rotation, which must finish or roll back) is not
    /// stopped: the destroy is refused with it.
    /// Returns the destroy's job id, or the destroy already queued or running.
    pub async fn queue_destroy(
        &self,
        venture_id: &str,
        apply_kind: &str,
        destroy_kind: &str,
        unstoppable: &[&str],
        note: &str,
    ) -> Result<Result<String, ActiveJob>, sqlx::Error> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let active = sqlx::query(
            "SELECT id, kind FROM jobs WHERE venture_id = $1 AND status IN ('queued', 'running') \
             ORDER BY created_at",
        )
        .bind(venture_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in &active {
            let (id, kind): (String, String) = (row.try_get("id")?, row.try_get("kind")?);
            if kind == destroy_kind {
                tx.rollback().await?;
                return Ok(Ok(id));
            }
            if unstoppable.contains(&kind.as_str()) {
                tx.rollback().await?;
                return Ok(Err(ActiveJob { id, kind }));
            }
            // Every other job (an apply, a sync, a redeploy) stops the same way.
            {
                sqlx::query("UPDATE jobs SET status = 'failed', last_error = $1, updated_at = $2 WHERE id = $3")
                    .bind("stopped: the venture is being destroyed")
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                let message = if kind == apply_kind {
                    "The apply under way stops: the venture is being destroyed"
                } else {
                    "The job under way stops: the venture is being destroyed"
                };
                insert_event(&mut tx, self.postgres_url.is_some(), venture_id, Some(&id), "cancelled", "warn", message)
                    .await?;
            }
        }
        let job_id =
            self.insert_job(&mut tx, venture_id, destroy_kind, Some(VentureStatus::Destroying), now, note).await?;
        tx.commit().await?;
        Ok(Ok(job_id))
    }

    /// A queued job for the venture, due at `run_after`, with the venture's new status and the
    /// first log line, inside the caller's transaction.
    async fn insert_job(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        venture_id: &str,
        kind: &str,
        status: Option<VentureStatus>,
        run_after: i64,
        note: &str,
    ) -> Result<String, sqlx::Error> {
        let now = now_ms();
        let job_id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, venture_id, kind, status, attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $5, $5)",
        )
        .bind(&job_id)
        .bind(venture_id)
        .bind(kind)
        .bind(run_after)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        // A sync or a redeploy leaves the status alone (`None`).
        if let Some(status) = status {
            sqlx::query("UPDATE ventures SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(now)
                .bind(venture_id)
                .execute(&mut **tx)
                .await?;
        }
        insert_event(tx, self.postgres_url.is_some(), venture_id, Some(&job_id), "queued", "info", note).await?;
        Ok(job_id)
    }

    pub async fn venture_name_taken(&self, name: &str) -> Result<bool, sqlx::Error> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM ventures WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Ventures newest first whose name or repository contains `filter` (any letter case; all
    /// when empty), `limit` of them from `offset`, and how many match in all.
    pub async fn ventures_page(
        &self,
        filter: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Venture>, i64), sqlx::Error> {
        // `%` and `_` in what was typed are letters, not wildcards.
        let escaped = filter.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        // Without a search, the newest ventures come straight off the creation index.
        let searched = |placeholder: &str| match filter.is_empty() {
            true => String::new(),
            false => format!(
                "WHERE (LOWER(name) LIKE {placeholder} ESCAPE '\\' OR LOWER(repository) LIKE {placeholder} ESCAPE '\\')"
            ),
        };
        let sql = format!("SELECT COUNT(*) AS n FROM ventures {}", searched("$1"));
        let count = sqlx::query(&sql);
        let count = if filter.is_empty() { count } else { count.bind(&pattern) };
        let count: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let sql = format!("{VENTURE_COLUMNS} {} ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2", searched("$3"));
        let page = sqlx::query(&sql).bind(limit).bind(offset);
        let page = if filter.is_empty() { page } else { page.bind(&pattern) };
        let rows = page.fetch_all(&self.pool).await?;
        Ok((rows.iter().map(venture_from_row).collect::<Result<_, _>>()?, count))
    }

    pub async fn list_ventures(&self) -> Result<Vec<Venture>, sqlx::Error> {
        let rows =
            sqlx::query(&format!("{VENTURE_COLUMNS} ORDER BY created_at DESC, id DESC")).fetch_all(&self.pool).await?;
        rows.iter().map(venture_from_row).collect()
    }

    /// The ventures with a Vercel project that are not destroyed, each with its stored spec
    /// (what a scheduled rotation reads its policies from).
    pub async fn ventures_with_specs(&self) -> Result<Vec<(Venture, Option<String>)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, name, repository, status, vercel_project_id, created_at, spec, \
             COALESCE((SELECT username FROM users WHERE users.id = ventures.created_by), '') AS created_by \
             FROM ventures WHERE status <> 'destroyed' AND vercel_project_id IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((venture_from_row(row)?, row.try_get("spec")?))).collect()
    }

    pub async fn venture(&self, id: &str) -> Result<Option<Venture>, sqlx::Error> {
        let row = sqlx::query(&format!("{VENTURE_COLUMNS} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(venture_from_row).transpose()
    }

    pub async fn set_venture_status(&self, id: &str, status: VentureStatus) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves a settled venture between ready and needs-attention; one that is being applied
    /// or destroyed keeps its status (its job sets the outcome).
    pub async fn settle_venture_status(&self, id: &str, status: VentureStatus) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET status = $1, updated_at = $2 WHERE id = $3 AND status IN ($4, $5)")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(id)
            .bind(VentureStatus::Ready.as_str())
            .bind(VentureStatus::NeedsAttention.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_vercel_project(&self, id: &str, project_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET vercel_project_id = $1, updated_at = $2 WHERE id = $3")
            .bind(project_id)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores the venture's spec with its domain's registrable name (`None` without a domain).
    pub async fn set_venture_spec(&self, id: &str, spec_json: &str, domain: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET spec = $1, domain = $2, updated_at = $3 WHERE id = $4")
            .bind(spec_json)
            .bind(domain)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The venture's spec as stored (JSON), if it has one.
    pub async fn venture_spec(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT spec FROM ventures WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| row.try_get::<Option<String>, _>("spec")).transpose()?.flatten())
    }

    /// The venture whose custom domain is `apex` (a registrable name), other than `except`; a
    /// destroyed venture has given its domain up.
    pub async fn venture_with_domain(&self, apex: &str, except: Option<&str>) -> Result<Option<Venture>, sqlx::Error> {
        let query = format!(
            "{VENTURE_COLUMNS} WHERE domain = $1 AND id <> $2 AND status <> 'destroyed' ORDER BY created_at LIMIT 1"
        );
        let row = sqlx::query(&query).bind(apex).bind(except.unwrap_or_default()).fetch_optional(&self.pool).await?;
        row.as_ref().map(venture_from_row).transpose()
    }

    pub async fn set_venture_domain_column(&self, id: &str, apex: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE ventures SET domain = $1 WHERE id = $2").bind(apex).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Ventures stored before the `domain` column whose spec may name a domain: (id, spec).
    pub async fn ventures_to_index_by_domain(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, spec FROM ventures WHERE domain IS NULL AND spec LIKE '%\"domain\":{%'")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("spec")?))).collect()
    }
}
