//! Views from engine types: the one place the server turns what the engine returns into what
//! the dashboard shows.

use slipway_engine::auth::User;
use slipway_engine::venture::{NewVenture, Venture};

use crate::views::{UserView, VentureForm, VentureView};

pub fn user_view(user: &User) -> UserView {
    UserView { username: user.username.clone(), role: user.role.as_str().to_string() }
}

pub fn venture_view(venture: &Venture) -> VentureView {
    VentureView {
        id: venture.id.clone(),
        name: venture.name.clone(),
        repository: venture.repository.clone(),
        status: venture.status.as_str().to_string(),
        vercel_project_id: venture.vercel_project_id.clone(),
        created_at: venture.created_at,
        steps_done: 0,
        steps_total: 0,
    }
}

/// The venture spec the one-click form describes; the engine checks its rules.
pub fn venture_spec(form: VentureForm) -> NewVenture {
    let given = |value: String| Some(value.trim().to_string()).filter(|v| !v.is_empty());
    let mut spec = NewVenture::new(&form.name, &form.repository);
    if let Some(branch) = given(form.production_branch) {
        spec.production_branch = branch;
    }
    spec.environments.staging.enabled = form.staging.is_some();
    if let Some(branch) = given(form.staging_branch) {
        spec.environments.staging.branch = branch;
    }
    if let Some(region) = given(form.region) {
        spec.supabase.region = region;
    }
    if let Some(version) = given(form.node_version) {
        spec.framework.node_version = version;
    }
    spec.framework.build_command = given(form.build_command);
    spec.framework.install_command = given(form.install_command);
    spec.framework.output_directory = given(form.output_directory);
    spec.framework.root_directory = given(form.root_directory);
    spec
}
