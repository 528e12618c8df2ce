//! What the dashboard and the server exchange: the one set of views, shared by the browser
//! build and the server. Plain data; the server builds them from engine types in
//! `server::convert`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub role: String,
}

/// The Users page (admins): every user and every API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersView {
    pub users: Vec<UserRowView>,
    pub tokens: Vec<TokenRowView>,
    /// The signed-in admin (who cannot disable themselves).
    pub me: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRowView {
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub sessions: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRowView {
    pub id: String,
    pub name: String,
    pub username: String,
    pub role: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// `expires …`, `expired …`, `revoked …` or `never expires (…)`.
    pub state: String,
    /// Still accepted (neither revoked nor expired).
    pub live: bool,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// One venture's page: the venture, who created it, and whether the viewer may change it (an
/// admin, or the creator who created it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenturePageView {
    pub venture: VentureView,
    pub created_by: String,
    pub can_change: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureView {
    pub id: String,
    pub name: String,
    pub repository: String,
    pub status: String,
    pub vercel_project_id: Option<String>,
    /// Steps of the latest apply done, and in all (the list shows the progress).
    pub steps_done: usize,
    pub steps_total: usize,
}

/// One page of the ventures list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureListView {
    pub ventures: Vec<VentureView>,
    /// How many ventures match the search, on every page.
    pub matching: usize,
    /// This page's number (from 1) and how many there are (at least 1).
    pub page: usize,
    pub pages: usize,
    /// The search, as typed.
    pub search: String,
    /// The links to the pages of newer and older ventures, when there are some.
    pub newer: Option<String>,
    pub older: Option<String>,
}

/// How many ventures one page of the list shows.
pub const VENTURES_PER_PAGE: usize = 50;

/// A rule one form field broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

/// What the one-click form sends. Everything but the name and repository comes pre-filled
/// with the defaults; a field left empty means "the default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VentureForm {
    pub name: String,
    pub repository: String,
    #[serde(default)]
    pub production_branch: String,
    /// A checkbox: present when a staging environment is wanted.
    #[serde(default)]
    pub staging: Option<String>,
    #[serde(default)]
    pub staging_branch: String,
    #[serde(default)]
    pub region: String,
    /// `supabase.non_production`: empty or `default` for the default.
    #[serde(default)]
    pub database: String,
    #[serde(default)]
    pub node_version: String,
    #[serde(default)]
    pub build_command: String,
    #[serde(default)]
    pub install_command: String,
    #[serde(default)]
    pub output_directory: String,
    #[serde(default)]
    pub root_directory: String,
}

/// The choices and defaults the one-click form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureFormChoices {
    pub regions: Vec<String>,
    pub default_region: String,
    /// `supabase.non_production`'s choices (`default` first) and what they mean.
    pub databases: Vec<String>,
    pub databases_hint: String,
    pub node_versions: Vec<String>,
    pub default_node_version: String,
    pub default_production_branch: String,
    pub default_staging_branch: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateVentureOutcome {
    Created { id: String },
    Invalid { issues: Vec<FieldIssue> },
}

/// One provisioning log line, as streamed to the browser (SSE event `log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub id: i64,
    pub at: i64,
    pub step: String,
    pub level: String,
    pub message: String,
}

/// The venture's current state (SSE event `state`), sent whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureState {
    pub status: String,
    pub vercel_project_id: Option<String>,
}

/// One step of the latest apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub name: String,
    pub title: String,
    /// `pending`, `running`, `done` or `failed`.
    pub status: String,
}

/// What the venture page shows besides the log: the steps, and what exists at the platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureDetail {
    pub steps: Vec<StepView>,
    /// (label, value) pairs: Supabase project and region, staging branch, deployment…
    pub resources: Vec<(String, String)>,
    /// Names of the sealed values (never the values).
    pub secrets: Vec<String>,
}

/// The platforms' connections as last checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsView {
    /// Seconds since the statuses were asked for; `None` until the first check ends.
    pub age_seconds: Option<i64>,
    /// A newer check is under way.
    pub checking: bool,
    pub statuses: Vec<ConnectionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub platform: String,
    pub base_url: String,
    pub connected: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    pub resource: String,
    /// `create`, `update`, `no_change` or `blocked`.
    pub action: String,
    pub detail: String,
    /// A risk the spec accepts on purpose, named.
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanOutcome {
    Planned { rows: Vec<PlanRow> },
    Invalid { issues: Vec<FieldIssue> },
}

/// The Environment tab: the venture's variables per environment, as the caller may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvPanelView {
    pub environments: Vec<String>,
    pub variables: Vec<EnvVarView>,
    /// Why the sync states are missing, when Vercel could not be read.
    pub sync_error: Option<String>,
    /// For admins: every reveal, newest first.
    pub reveals: Vec<RevealView>,
    /// The caller may add, change and remove the venture's own variables.
    pub can_edit: bool,
    /// The caller may reveal secret values (admins).
    pub can_reveal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVarView {
    pub key: String,
    pub description: String,
    pub secret: bool,
    /// `integration`, `user` or `generated`.
    pub source: String,
    pub cells: Vec<EnvCellView>,
}

/// One variable in one environment. A secret's value is never here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvCellView {
    pub environment: String,
    pub set: bool,
    /// A plain value, for callers who may read values.
    pub value: Option<String>,
    /// `in_sync`, `pending`, `failed`, `drifted`, `blocked`, or `unknown` (not synced yet, or
    /// Vercel could not be read).
    pub state: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealView {
    /// Who revealed or pulled which value when, written on the server (`ada revealed
    /// STRIPE_SECRET_KEY (production) at 09:12:03`).
    pub line: String,
}

/// The variable form: a key, its description, whether it is secret, and a value per
/// environment (an empty one leaves that environment as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvForm {
    pub key: String,
    #[serde(default)]
    pub description: String,
    /// A checkbox: present when the variable is secret.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub development: String,
    #[serde(default)]
    pub preview: String,
    #[serde(default)]
    pub staging: String,
    #[serde(default)]
    pub production: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnvSaveOutcome {
    Saved,
    Invalid { issues: Vec<FieldIssue> },
}

/// `HH:MM:SS` (UTC) of an epoch-millisecond time.
pub fn format_time(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The Database & Auth tab: each Supabase project, the environments it serves and its sign-in.
/// Rendered on the server only (it adds nothing to the browser bundle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInView {
    pub projects: Vec<SignInProjectView>,
    /// Error findings over every project's last lint.
    pub lint_errors: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInProjectView {
    /// `production` or `staging`.
    pub tier: String,
    pub name: String,
    pub reference: Option<String>,
    pub used_by: Vec<String>,
    pub callback_url: Option<String>,
    pub site_url: Option<String>,
    pub redirect_urls: Vec<String>,
    pub providers: Vec<SignInProviderView>,
    pub tables: Vec<TableView>,
    pub lint: Option<LintView>,
}

/// A table of the spec and the row-level security template it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableView {
    pub table: String,
    pub template: String,
    pub column: Option<String>,
    pub membership_table: Option<String>,
    pub applied: bool,
}

/// A project's last lint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintView {
    /// `HH:MM:SS` UTC.
    pub at: String,
    pub proven: bool,
    pub reason: Option<String>,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    pub rule: String,
    pub level: String,
    pub object: String,
    pub detail: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInProviderView {
    /// `google`, `github` or `microsoft`.
    pub provider: String,
    pub title: String,
    pub enabled: bool,
    pub client_id: String,
    /// Whose app: `production` or `staging`.
    pub app: String,
    pub secret_set: bool,
    pub tenant: Option<String>,
}

/// The Domains tab: the venture's domain as it stands, and the wizard (enter a domain, pick
/// a provider, preview the plan and the doctor's findings, apply). Rendered on the server only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainTabView {
    pub current: Option<DomainStateView>,
    /// The wizard's choices: (value, label) of each DNS provider Slipway can use here.
    pub providers: Vec<(String, String)>,
    /// What the wizard was given (to fill its form again).
    pub asked: Option<(String, String)>,
    pub preview: Option<DomainPreviewView>,
    /// The wizard's input, refused: each field and rule.
    pub issues: Vec<FieldIssue>,
    /// When the server read this (epoch ms).
    pub rendered_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainStateView {
    pub apex: String,
    pub provider: String,
    pub names: Vec<DomainNameView>,
    pub certificate: Option<String>,
    pub findings: Vec<DoctorFindingView>,
    pub servers: Vec<String>,
    pub elapsed_ms: u64,
}

/// One of the domain's names and each of its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainNameView {
    pub name: String,
    /// `primary`, `redirect` or `staging`.
    pub role: String,
    pub attached: bool,
    pub verified: bool,
    pub configured: bool,
    /// How it answered over HTTPS (`→ 308 https://acme.com/`, or the problem), once asked.
    pub https: Option<String>,
    pub https_ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainPreviewView {
    pub primary: String,
    pub redirect: String,
    pub staging: Option<String>,
    /// (resource, action, detail, record lines).
    pub rows: Vec<(String, String, String, Vec<String>)>,
    pub blocked: bool,
    pub findings: Vec<DoctorFindingView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorFindingView {
    pub check: String,
    pub level: String,
    pub name: String,
    pub problem: String,
    pub fix: String,
}

/// The Environment tab's secret rotations: where each secret Slipway rotates stands, and every
/// rotation with the deployments that carry each value. Never a value. Rendered on the server only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationTabView {
    pub secrets: Vec<SecretRotationView>,
    pub history: Vec<RotationView>,
    /// The viewer may rotate now (admins).
    pub can_rotate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRotationView {
    pub secret: String,
    pub class: String,
    pub policy: String,
    /// "rotated <when>" or "set <when>".
    pub since: String,
    /// When it falls due, and when its scheduled rotation runs; none under `never`.
    pub due: Option<String>,
    pub scheduled: Option<String>,
    pub running: bool,
    /// What rotating it does to the running app; the admin confirms it before rotating.
    pub warning: Option<String>,
    /// How it rotates, where that needs saying (a signing key's waits).
    pub explanation: Option<String>,
    /// Slipway makes its new value; otherwise the form asks for it, per environment.
    pub minted: bool,
    /// The environments that hold it (a variable's).
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationView {
    pub secret: String,
    pub when: String,
    /// "ada" or "schedule".
    pub by: String,
    /// running, succeeded, rolled_back or failed.
    pub outcome: String,
    pub phase: String,
    pub error: Option<String>,
    /// (what, environment, deployment id, URL): built with it, replaced, restored.
    pub deployments: Vec<(String, String, String, String)>,
    pub warning: Option<String>,
    /// "connections failed for 4.2 s" (the database password).
    pub cut: Option<String>,
    /// "waiting until 2026-12-07 21:40 UTC" (a signing key's rotation).
    pub waiting: Option<String>,
}
