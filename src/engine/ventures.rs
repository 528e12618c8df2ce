//! Ventures: create (once per idempotency key), plan, apply, destroy, and what exists.

use super::*;

/// A job as a client follows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct JobState {
    pub id: String,
    /// `provision_venture`, `destroy_venture`, `sync_env`, `redeploy_production` or
    /// `redeploy_staging`.
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    /// Why it failed, or why its last attempt did.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// One step of an apply, for the dashboard (`Step` in /api/v1's OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = Step)]
pub struct StepStatus {
    #[schema(schema_with = step_names)]
    pub name: String,
    pub title: String,
    #[schema(schema_with = step_states)]
    pub status: String,
    /// When the latest attempt started it and when it ended (epoch ms), if it did.
    #[schema(required = true)]
    pub started_at: Option<i64>,
    #[schema(required = true)]
    pub finished_at: Option<i64>,
}

/// The schema of [`StepStatus::name`]: every step of the graph.
fn step_names() -> utoipa::openapi::schema::Object {
    crate::venture::wire::one_of(GRAPH.iter().map(|step| step.name)).build()
}

/// The schema of [`StepStatus::status`]: what [`Engine::venture_steps`] reports.
fn step_states() -> utoipa::openapi::schema::Object {
    crate::venture::wire::one_of(["pending", "running", "done", "failed"]).build()
}

/// The most ventures one page of the list holds.
pub const VENTURES_PAGE_MAX: usize = 100;

/// One page of the ventures list.
#[derive(Debug, Clone)]
pub struct VenturesPage {
    pub entries: Vec<VentureProgress>,
    /// How many ventures match the filter, on every page.
    pub matching: usize,
}

/// A venture, with how far its latest apply or destroy got.
#[derive(Debug, Clone)]
pub struct VentureProgress {
    pub venture: Venture,
    pub steps_done: usize,
    pub steps_total: usize,
}

impl Engine {
    /// Like [`create_venture`](Self::create_venture), once per `key`: repeating the same key
    /// and body returns the venture made the first time (`false` = not new); the same key with
    /// another body is refused.
    pub async fn create_venture_once(
        &self,
        actor: &User,
        key: &str,
        input: &NewVenture,
    ) -> Result<(Venture, bool), EngineError> {
        if key.is_empty() || key.len() > 255 {
            return Err(EngineError::invalid("Idempotency-Key", "must be 1 to 255 characters"));
        }
        let digest = crate::digest::digest(&[&serde_json::to_string(input).expect("specs serialize")]);
        if let Some((seen, venture_id)) = self.inner.store.idempotent_create(&actor.id, key).await? {
            if seen != digest {
                return Err(EngineError::invalid("Idempotency-Key", "was already used with a different request body"));
            }
            return Ok((self.venture(actor, &venture_id).await?, false));
        }
        let venture = self.create_venture(actor, input).await?;
        self.inner.store.remember_idempotent_create(&actor.id, key, &digest, &venture.id).await?;
        Ok((venture, true))
    }

    // ---- ventures ----

    /// Validates the input and, only if every field is valid and the name is free, creates the
    /// venture and queues its provisioning job (atomically).
    pub async fn create_venture(&self, actor: &User, input: &NewVenture) -> Result<Venture, EngineError> {
        if !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "create ventures" });
        }
        let spec = self.check_new_venture(input).await?;
        let domain = spec.domain.as_ref().map(|d| d.apex.clone());
        let stored = serde_json::to_string(input).expect("specs serialize");
        let declared = super::env::declared_in_spec(&spec, &actor.username);
        let vault = self.inner.vault.clone();
        let (venture, job_id) = self
            .inner
            .store
            .insert_venture_with_job(
                spec.name.as_str(),
                &spec.repository.to_string(),
                &stored,
                domain.as_deref(),
                actor,
                APPLY_VENTURE,
                &declared,
                &move |venture_id, name, value| vault.seal(venture_id, name, value),
            )
            .await?;
        tracing::info!(venture = %venture.id, job = %job_id, by = %actor.username, "venture created");
        Ok(venture)
    }

    /// A new venture's spec, checked as create checks it (so a plan and a create agree): every
    /// field, and a name and a domain no other venture has.
    async fn check_new_venture(&self, input: &NewVenture) -> Result<crate::venture::VentureSpec, EngineError> {
        let spec = input.validate().map_err(EngineError::Invalid)?;
        if self.inner.store.venture_name_taken(spec.name.as_str()).await? {
            return Err(EngineError::invalid("name", "is already used by another venture"));
        }
        self.refuse_taken_domain(spec.domain.as_ref().map(|d| d.apex.as_str()), None).await?;
        Ok(spec)
    }

    /// A domain is one venture's: Vercel puts a name on one project only, and the doctor asks
    /// which venture a domain is.
    pub(super) async fn refuse_taken_domain(
        &self,
        apex: Option<&str>,
        venture_id: Option<&str>,
    ) -> Result<(), EngineError> {
        let Some(apex) = apex else { return Ok(()) };
        match self.inner.store.venture_with_domain(apex, venture_id).await? {
            Some(other) => Err(EngineError::invalid(
                "domain.name",
                format!("{apex} is already the domain of venture {}", other.name),
            )),
            None => Ok(()),
        }
    }

    /// What creating this venture would do, resource by resource (reads only).
    pub async fn plan_new_venture(&self, actor: &User, input: &NewVenture) -> Result<Vec<PlannedAction>, EngineError> {
        if !actor.role.can_create_ventures() {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "plan ventures" });
        }
        let spec = self.check_new_venture(input).await?;
        let unborn = Venture {
            id: String::new(),
            name: spec.name.to_string(),
            repository: spec.repository.to_string(),
            status: crate::venture::VentureStatus::Provisioning,
            vercel_project_id: None,
            created_at: now_ms(),
            created_by: actor.username.clone(),
        };
        self.plan_for(unborn, spec).await
    }

    /// What applying the venture's stored spec again would do.
    pub async fn plan_venture(&self, actor: &User, venture_id: &str) -> Result<Vec<PlannedAction>, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let spec = self.stored_spec(&venture).await?;
        self.plan_for(venture, spec).await
    }

    /// The venture's spec as stored, checked (the defaults for a venture stored without one).
    pub(super) async fn stored_spec(&self, venture: &Venture) -> Result<crate::venture::VentureSpec, EngineError> {
        self.stored_input(venture).await?.validate().map_err(EngineError::Invalid)
    }

    /// The venture's spec as it was given (and last changed).
    pub(super) async fn stored_input(&self, venture: &Venture) -> Result<NewVenture, EngineError> {
        Ok(match self.inner.store.venture_spec(&venture.id).await? {
            Some(json) => serde_json::from_str::<NewVenture>(&json)
                .map_err(|e| EngineError::Storage(format!("the stored venture spec does not read back: {e}")))?,
            None => NewVenture::new(&venture.name, &venture.repository),
        })
    }

    pub(super) async fn plan_for(
        &self,
        venture: Venture,
        spec: crate::venture::VentureSpec,
    ) -> Result<Vec<PlannedAction>, EngineError> {
        // A plan runs no step: it holds no job and no lease, and writes nothing.
        let context = self.provisioner().context_for(venture, spec, None);
        // Someone waits on a plan: rather than queue behind the rate limiter, say when to come back.
        let planned = crate::platform::ratelimit::with_patience(PLAN_PATIENCE, provision::plan(&context)).await;
        planned.map_err(|err| match err {
            StepError::OverBudget { retry_after } => EngineError::Busy { retry_after },
            other => EngineError::Platform(other.to_string()),
        })
    }

    /// Applies the venture's spec again (converging whatever drifted); returns the job id.
    pub async fn apply_venture(&self, actor: &User, venture_id: &str) -> Result<String, EngineError> {
        let venture = self.venture_to_change(actor, venture_id, "apply this venture").await?;
        if venture.status == crate::venture::VentureStatus::Destroyed {
            return Err(EngineError::Conflict(format!(
                "{} was destroyed; create a new venture to provision it again",
                venture.name
            )));
        }
        let note = format!("Apply of {} queued by {}", venture.name, actor.username);
        let status = crate::venture::VentureStatus::Provisioning;
        match self.inner.store.queue_job(&venture.id, APPLY_VENTURE, Some(status), &note).await? {
            Ok(job) => Ok(job),
            // Asking again while an apply is queued or running is the same request.
            Err(active) if active.kind == APPLY_VENTURE => Ok(active.id),
            Err(active) => Err(super::env::busy(&venture, &active.kind)),
        }
    }

    /// Removes the venture's Vercel and Supabase projects (and with them its variables,
    /// environments and deployments) and its sealed values. `confirm` must repeat the
    /// venture's name. Its record and log stay.
    pub async fn destroy_venture(&self, actor: &User, venture_id: &str, confirm: &str) -> Result<String, EngineError> {
        let venture = self.venture_to_change(actor, venture_id, "destroy this venture").await?;
        if confirm != venture.name {
            return Err(EngineError::invalid("confirm", format!("must repeat the venture's name, {}", venture.name)));
        }
        if venture.status == crate::venture::VentureStatus::Destroyed {
            return Err(EngineError::Conflict(format!(
                "{} is already destroyed; there is nothing left to remove",
                venture.name
            )));
        }
        let note = format!("Destroy of {} queued by {}", venture.name, actor.username);
        // A rotation under way finishes (or rolls back) first: stopped halfway, the venture's
        // running deployments could hold a secret that is neither current nor retired.
        let unstoppable = [provision::ROTATE_SECRET];
        let queued = self.inner.store.queue_destroy(&venture.id, APPLY_VENTURE, DESTROY_VENTURE, &unstoppable, &note);
        let job = queued.await?.map_err(|active| super::env::busy(&venture, &active.kind))?;
        let detail = format!("its Vercel and Supabase projects and sealed values (job {job})");
        self.audit(&actor.username, AuditAction::VentureDestroy, &venture.name, &detail).await;
        Ok(job)
    }

    /// What Slipway made for the venture at the platforms (ids, settings, states; no secret).
    pub async fn venture_resources(
        &self,
        actor: &User,
        venture_id: &str,
    ) -> Result<Vec<(String, ResourceRecord)>, EngineError> {
        self.venture(actor, venture_id).await?;
        Ok(self.inner.store.resources(venture_id).await?)
    }

    /// One of the venture's jobs (an apply, a destroy, a sync, a redeploy) and where it stands.
    pub async fn venture_job(&self, actor: &User, venture_id: &str, job_id: &str) -> Result<JobState, EngineError> {
        self.venture(actor, venture_id).await?;
        let (kind, status, error) =
            self.inner.store.venture_job(venture_id, job_id).await?.ok_or(EngineError::NotFound("job"))?;
        Ok(JobState { id: job_id.to_string(), kind, status, error })
    }

    /// Each step of the venture's latest apply and where it stands: `pending`, `running`
    /// (intent recorded), `done` or `failed`.
    pub async fn venture_steps(&self, actor: &User, venture_id: &str) -> Result<Vec<StepStatus>, EngineError> {
        self.venture(actor, venture_id).await?;
        let recorded = self.inner.store.latest_job_steps(venture_id, [APPLY_VENTURE, DESTROY_VENTURE]).await?;
        Ok(GRAPH
            .iter()
            .map(|step| {
                let record = recorded.iter().find(|r| r.step == step.name);
                let status = match record.map(|r| r.status.as_str()) {
                    Some("intent") => "running",
                    Some("done") => "done",
                    Some("failed") => "failed",
                    _ => "pending",
                };
                let ended = matches!(status, "done" | "failed");
                StepStatus {
                    name: step.name.into(),
                    title: step.title.into(),
                    status: status.into(),
                    started_at: record.and_then(|r| r.started_at),
                    finished_at: record.filter(|_| ended).map(|r| r.updated_at),
                }
            })
            .collect())
    }

    pub async fn list_ventures(&self, _actor: &User) -> Result<Vec<Venture>, EngineError> {
        // Every role may see every venture.
        Ok(self.inner.store.list_ventures().await?)
    }

    /// A page of the ventures list, newest first: those whose name or repository contains
    /// `filter` (all when empty), each with how far its latest apply or destroy got.
    pub async fn ventures_page(
        &self,
        _actor: &User,
        filter: &str,
        offset: usize,
        limit: usize,
    ) -> Result<VenturesPage, EngineError> {
        // Every role may see every venture.
        let limit = limit.clamp(1, VENTURES_PAGE_MAX);
        let store = &self.inner.store;
        // An offset past any count (a `?page=` of twenty digits) reads an empty page, not an error.
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let (ventures, matching) = store.ventures_page(filter.trim(), offset, limit as i64).await?;
        let ids: Vec<&str> = ventures.iter().map(|v| v.id.as_str()).collect();
        let done: std::collections::HashMap<String, i64> =
            store.steps_done_for(&ids, [APPLY_VENTURE, DESTROY_VENTURE]).await?.into_iter().collect();
        let entries = ventures
            .into_iter()
            .map(|venture| {
                let steps_done = done.get(&venture.id).copied().unwrap_or(0).max(0) as usize;
                VentureProgress { venture, steps_done, steps_total: GRAPH.len() }
            })
            .collect();
        Ok(VenturesPage { entries, matching: matching.max(0) as usize })
    }

    pub async fn venture(&self, _actor: &User, id: &str) -> Result<Venture, EngineError> {
        self.inner.store.venture(id).await?.ok_or(EngineError::NotFound("venture"))
    }

    /// Log lines of a venture after event id `after` (0 = from the start), oldest first.
    pub async fn venture_events(
        &self,
        actor: &User,
        venture_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, EngineError> {
        self.venture(actor, venture_id).await?;
        Ok(self.inner.events.after(venture_id, after, limit.clamp(1, 1000)).await?)
    }
}
