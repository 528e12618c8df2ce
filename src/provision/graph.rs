//! One shape for every resource Slipway manages, and the one executor that runs them.
//!
//! A resource *observes* what the platform holds (absent, ours, someone else's), *diffs* that
//! against the spec (create, update naming the fields, no change, or blocked with the reason),
//! *applies* the difference (intent before create, adopting what an interrupted attempt made)
//! and *destroys* what it made. The plan is the same observe and diff without the apply, so the
//! plan and the apply cannot disagree. The graph itself is data: `resources::GRAPH`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Context, StepError};
use crate::domains::records::RecordChange;
use crate::events::Level;

/// What an apply would do to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    NoChange,
    /// The apply would stop here; `detail` says why and what to do.
    Blocked,
}

/// A resource's diff: the action and, for a person, what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub detail: String,
    /// A risk the spec accepts on purpose, named for whoever reads the plan.
    pub warning: Option<String>,
    /// For DNS: the record changes one by one.
    pub records: Vec<RecordChange>,
}

impl Change {
    pub fn new(action: Action, detail: impl Into<String>) -> Self {
        Change { action, detail: detail.into(), warning: None, records: Vec::new() }
    }

    pub fn records(mut self, records: Vec<RecordChange>) -> Self {
        self.records = records;
        self
    }

    pub fn warning(mut self, warning: impl Into<String>) -> Self {
        self.warning = Some(warning.into());
        self
    }

    /// Whether applying it writes at a platform.
    pub fn writes(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedAction {
    #[schema(schema_with = planned_resources)]
    pub resource: String,
    pub action: Action,
    pub detail: String,
    /// A risk the spec accepts on purpose (an opt-in), named; null when there is none.
    #[schema(required = true)]
    pub warning: Option<String>,
    /// DNS record changes one by one (create, change, delete with old and new values); empty
    /// for every other resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordChange>,
}

/// The schema of [`PlannedAction::resource`]: the title of every resource a plan lists.
fn planned_resources() -> utoipa::openapi::schema::Object {
    crate::venture::wire::one_of(super::GRAPH.iter().filter(|node| node.in_plan).map(|node| node.title)).build()
}

/// What an apply of a resource produced: its typed output, and whether it wrote at a platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Applied<T> {
    pub changed: bool,
    #[serde(rename = "data")]
    pub output: T,
}

/// A resource Slipway manages. Implementations are unit structs; the graph holds them as data.
pub trait Resource: Send + Sync + 'static {
    /// The step's stable name (`supabase.project`): stored per job, shown in the log.
    const NAME: &'static str;
    /// What a person sees for it.
    const TITLE: &'static str;
    /// Whether the plan lists it: a wait or a read of values changes nothing at a platform.
    const IN_PLAN: bool = true;

    /// What the resources after it read (ids, references). Stored with the step, typed here.
    type Output: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// What `observe` found.
    type Observed: Send + Sync;

    /// Reads the platforms and the records. Writes nothing, so a plan may call it.
    fn observe(ctx: &Context, upstream: &Upstream) -> impl Future<Output = Result<Self::Observed, StepError>> + Send;

    /// What converging would take.
    fn diff(ctx: &Context, upstream: &Upstream, observed: &Self::Observed) -> Change;

    /// The output as things stand, if the resource exists now (the plan's view downstream).
    fn current(observed: &Self::Observed) -> Option<Self::Output>;

    /// Converges the resource; called only when `change` is not blocked.
    fn apply(
        ctx: &Context,
        upstream: &Upstream,
        observed: Self::Observed,
        change: &Change,
    ) -> impl Future<Output = Result<Applied<Self::Output>, StepError>> + Send;

    /// Removes what the apply made; what is already gone counts as done.
    fn destroy(ctx: &Context) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// What the resources a node depends on produced (in an apply) or hold now (in a plan).
#[derive(Debug, Default, Clone)]
pub struct Upstream {
    known: BTreeMap<&'static str, Known>,
}

#[derive(Debug, Clone)]
struct Known {
    /// `None` in a plan when the resource does not exist yet.
    output: Option<Value>,
    /// In an apply: whether it wrote; in a plan: whether it would.
    changed: bool,
}

impl Upstream {
    /// The output of `R`, if it exists.
    pub fn get<R: Resource>(&self) -> Option<R::Output> {
        let value = self.known.get(R::NAME)?.output.clone()?;
        serde_json::from_value(value).ok()
    }

    /// The output of `R`, which this step cannot do without.
    pub fn require<R: Resource>(&self) -> Result<R::Output, StepError> {
        self.get::<R>().ok_or_else(|| StepError::Permanent(format!("the output of {} is missing", R::TITLE)))
    }

    /// Whether `R` wrote (apply) or would write (plan) at a platform.
    pub fn changed<R: Resource>(&self) -> bool {
        self.known.get(R::NAME).is_some_and(|k| k.changed)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type ApplyFn = for<'a> fn(&'a Context, &'a Upstream) -> BoxFuture<'a, Result<Applied<Value>, StepError>>;
/// A plan's view of one node: its change, and its output if it exists now.
type PlanFn = for<'a> fn(&'a Context, &'a Upstream) -> BoxFuture<'a, Result<(Change, Option<Value>), StepError>>;
type DestroyFn = for<'a> fn(&'a Context) -> BoxFuture<'a, Result<(), StepError>>;

/// A resource in the graph: its name, what it depends on, and its operations with the types
/// erased, so one executor runs them all.
#[derive(Clone, Copy)]
pub struct Node {
    pub name: &'static str,
    pub title: &'static str,
    pub in_plan: bool,
    pub depends_on: &'static [&'static str],
    apply: ApplyFn,
    plan: PlanFn,
    destroy: DestroyFn,
}

/// `R` as a node of the graph, after `depends_on` (names of nodes declared before it).
pub const fn node<R: Resource>(depends_on: &'static [&'static str]) -> Node {
    Node {
        name: R::NAME,
        title: R::TITLE,
        in_plan: R::IN_PLAN,
        depends_on,
        apply: apply_erased::<R>,
        plan: plan_erased::<R>,
        destroy: destroy_erased::<R>,
    }
}

/// The node named `name` and everything it depends on, transitively, in graph order: the part
/// of the graph an apply of that one resource needs (its upstream outputs come from the run).
pub fn through(graph: &[Node], name: &str) -> Vec<Node> {
    let mut wanted: BTreeSet<&str> = BTreeSet::from([name]);
    for node in graph.iter().rev() {
        if wanted.contains(node.name) {
            wanted.extend(node.depends_on.iter().copied());
        }
    }
    graph.iter().filter(|n| wanted.contains(n.name)).copied().collect()
}

fn to_value<T: Serialize>(output: &T) -> Value {
    serde_json::to_value(output).expect("step outputs serialize")
}

fn apply_erased<'a, R: Resource>(
    ctx: &'a Context,
    up: &'a Upstream,
) -> BoxFuture<'a, Result<Applied<Value>, StepError>> {
    Box::pin(async move {
        let observed = R::observe(ctx, up).await?;
        let change = R::diff(ctx, up, &observed);
        if change.action == Action::Blocked {
            return Err(StepError::Permanent(change.detail));
        }
        let applied = R::apply(ctx, up, observed, &change).await?;
        Ok(Applied { changed: applied.changed, output: to_value(&applied.output) })
    })
}

fn plan_erased<'a, R: Resource>(
    ctx: &'a Context,
    up: &'a Upstream,
) -> BoxFuture<'a, Result<(Change, Option<Value>), StepError>> {
    Box::pin(async move {
        let observed = R::observe(ctx, up).await?;
        let change = R::diff(ctx, up, &observed);
        Ok((change, R::current(&observed).map(|o| to_value(&o))))
    })
}

fn destroy_erased<'a, R: Resource>(ctx: &'a Context) -> BoxFuture<'a, Result<(), StepError>> {
    Box::pin(R::destroy(ctx))
}

fn upstream_of(node: &Node, known: &BTreeMap<&'static str, Known>) -> Upstream {
    Upstream { known: node.depends_on.iter().filter_map(|d| known.get(d).map(|k| (*d, k.clone()))).collect() }
}

/// What applying the spec would do, resource by resource, in graph order. Reads only.
pub async fn plan(ctx: &Context, graph: &[Node]) -> Result<Vec<PlannedAction>, StepError> {
    let mut known = BTreeMap::new();
    let mut actions = Vec::new();
    for node in graph {
        let (change, current) = (node.plan)(ctx, &upstream_of(node, &known)).await?;
        known.insert(node.name, Known { output: current, changed: change.writes() });
        if node.in_plan {
            actions.push(PlannedAction {
                resource: node.title.into(),
                action: change.action,
                detail: change.detail,
                warning: change.warning,
                records: change.records,
            });
        }
    }
    Ok(actions)
}

/// How an apply orders its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every step whose dependencies are done runs at once (the product's way).
    Concurrent,
    /// One step at a time, in graph order: the baseline the benchmark compares against.
    OneAtATime,
}

type StepFuture<'a> = BoxFuture<'a, (&'a Node, Result<Applied<Value>, StepError>)>;

/// One step, recording its state around it. Everything a step does, its bookkeeping included,
/// happens inside its own future: the executor awaits nothing but the running steps, so no
/// step is left unpolled while it holds a database connection.
fn run_step<'a>(ctx: &'a Context, node: &'a Node, upstream: Upstream) -> StepFuture<'a> {
    Box::pin(async move {
        let job = ctx.job.as_ref().expect("an apply runs inside a job");
        let outcome = async {
            // Fenced by the lease: an instance whose lease ran out (it stalled, and another took
            // the job over) starts nothing more. Steps look up before they create, so even a
            // step already under way when the lease passed cannot make a second resource.
            if !ctx.store.start_step(&job.id, &job.owner, node.name).await? {
                return Err(StepError::LeaseLost);
            }
            let applied = (node.apply)(ctx, &upstream).await?;
            let saved = serde_json::to_string(&applied).expect("step outputs serialize");
            ctx.store.set_step(&job.id, node.name, "done", Some(&saved)).await?;
            Ok(applied)
        }
        .await;
        if let Err(StepError::Permanent(message)) = &outcome {
            ctx.emit(node.name, Level::Error, message).await;
            if let Err(err) = ctx.store.set_step(&job.id, node.name, "failed", None).await {
                tracing::warn!(step = node.name, error = %err, "could not record a failed step");
            }
        }
        (node, outcome)
    })
}

/// Runs the graph to the end. Steps already done in this job (a resumed attempt) are not run
/// again. Returns the first permanent error, else the first transient one, once every step
/// that could run has run.
pub async fn apply(ctx: &Context, graph: &[Node], schedule: Schedule) -> Result<(), StepError> {
    let job = ctx.job.as_ref().expect("an apply runs inside a job");
    let mut done: BTreeMap<&'static str, Known> = BTreeMap::new();
    for node in graph {
        if let Some(record) = ctx.store.step(&job.id, node.name).await?
            && record.status == "done"
            // An output that no longer reads back (an older version's) means: run it again.
            && let Some(saved) = record.output.as_deref().and_then(|o| serde_json::from_str::<Applied<Value>>(o).ok())
        {
            done.insert(node.name, Known { output: Some(saved.output), changed: saved.changed });
        }
    }
    let mut started: BTreeSet<&'static str> = done.keys().copied().collect();
    let mut failed: Vec<(&Node, StepError)> = Vec::new();
    let mut running: FuturesUnordered<StepFuture<'_>> = FuturesUnordered::new();
    loop {
        for node in graph {
            if schedule == Schedule::OneAtATime && !running.is_empty() {
                break;
            }
            let ready = node.depends_on.iter().all(|d| done.contains_key(d));
            if !started.contains(node.name) && ready {
                started.insert(node.name);
                running.push(run_step(ctx, node, upstream_of(node, &done)));
            }
        }
        let Some((node, outcome)) = running.next().await else { break };
        match outcome {
            Ok(applied) => {
                done.insert(node.name, Known { output: Some(applied.output), changed: applied.changed });
            }
            Err(err) => failed.push((node, err)),
        }
    }
    // Losing the lease outranks everything: the new owner decides what the failures mean.
    let decisive = failed
        .iter()
        .position(|(_, e)| matches!(e, StepError::LeaseLost))
        .or_else(|| failed.iter().position(|(_, e)| matches!(e, StepError::Permanent(_))));
    match decisive.or(if failed.is_empty() { None } else { Some(0) }) {
        Some(index) => {
            let (node, err) = failed.swap_remove(index);
            Err(match err {
                StepError::Permanent(m) => StepError::Permanent(format!("{}: {m}", node.title)),
                StepError::Transient(m) => StepError::Transient(format!("{}: {m}", node.title)),
                other @ (StepError::LeaseLost | StepError::OverBudget { .. }) => other,
            })
        }
        None => Ok(()),
    }
}

/// Destroys every resource, dependents first.
pub async fn destroy(ctx: &Context, graph: &[Node]) -> Result<(), StepError> {
    for node in graph.iter().rev() {
        (node.destroy)(ctx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resources::GRAPH;

    #[test]
    fn the_graph_names_each_resource_once_and_after_what_it_depends_on() {
        let mut seen = Vec::new();
        for node in GRAPH {
            assert!(!seen.contains(&node.name), "{} is declared twice", node.name);
            for dependency in node.depends_on {
                assert!(seen.contains(dependency), "{} depends on {dependency}, declared after it", node.name);
            }
            seen.push(node.name);
        }
    }

    #[test]
    fn a_part_of_the_graph_is_a_node_and_all_it_depends_on() {
        let names = |name: &str| super::through(GRAPH, name).iter().map(|n| n.name).collect::<Vec<_>>();
        assert_eq!(names("vercel.staging"), ["vercel.project", "vercel.staging"]);
        assert_eq!(
            names("vercel.env"),
            [
                "supabase.project",
                "supabase.ready",
                "supabase.keys",
                "supabase.staging_project",
                "supabase.staging_ready",
                "supabase.staging_keys",
                "vercel.project",
                "vercel.staging",
                "vercel.env"
            ]
        );
        // The deployment waits for everything but sign-in, row-level security and the custom
        // domain, which no build reads.
        let deploy = names("vercel.deploy");
        let apart = [
            "supabase.auth",
            "supabase.staging_auth",
            "supabase.policies",
            "supabase.staging_policies",
            "vercel.domains",
            "dns.records",
            "domains.ready",
        ];
        assert_eq!(deploy.len(), GRAPH.len() - apart.len());
        // The domain is ready once the site answers on it: after the deployment too.
        let domain = names("domains.ready");
        assert_eq!(&domain[domain.len() - 4..], ["vercel.deploy", "vercel.domains", "dns.records", "domains.ready"]);
        assert!(deploy.iter().all(|step| domain.contains(step)), "{domain:?}");
        for step in apart {
            assert!(!deploy.contains(&step), "{step}");
        }
    }
}
