//! The Domains tab: the venture's custom domain as it stands (each check: on the project,
//! verified, DNS configured, HTTPS answering as it should; the certificate issued) with the DNS doctor's findings and fixes, and
//! the wizard: (1) the domain, checked on the server (IDNA, the public suffix list), (2) the
//! DNS provider among those connected, (3) the plan record by record with what is there now,
//! (4) apply, then "Check again". Rendered on the server only, like the Database & Auth tab.

use leptos::prelude::*;

use crate::components::{BUTTON, INPUT, SECONDARY};
use crate::views::{DoctorFindingView, DomainTabView};

/// The panel's element id, by which the venture page's island shows and hides it.
pub const PANEL_ID: &str = "domains-panel";
/// The wizard's preview, while one is shown.
pub const PREVIEW_ID: &str = "domain-preview";

#[component]
/// `can_change`: the viewer may change this venture (the wizard's apply is shown only then; its
/// preview only reads).
pub fn DomainsPanel(
    venture_id: String,
    view: DomainTabView,
    can_change: bool,
    notice: Option<String>,
    hidden: bool,
) -> impl IntoView {
    let (asked_domain, asked_dns) = view.asked.clone().unwrap_or_default();
    let current_provider = view.current.as_ref().map(|c| c.provider.clone());
    view! {
        <section id=PANEL_ID hidden=hidden data-testid="domains-panel">
            {notice.map(|n| view! { <p role="status" class="mb-4 rounded bg-slate-100 px-3 py-2 text-sm" data-testid="domains-notice">{n}</p> })}
            {view.current.map(|current| view! {
                <article class="mb-6 rounded-xl border border-slate-200 p-4" data-testid="domain-state">
                    <h2 class="mb-2 text-lg font-semibold">
                        <span class="font-mono">{current.apex.clone()}</span>
                        <span class="text-sm font-normal text-slate-500">{format!(" · DNS at {}", current.provider)}</span>
                    </h2>
                    <ul class="mb-3 space-y-1 text-sm" data-testid="domain-checks">
                        {current.names.iter().map(|n| view! {
                            <li data-testid=format!("domain-name-{}", n.name)>
                                <span class="font-mono">{n.name.clone()}</span>
                                <span class="text-slate-500">{format!(" ({})", n.role)}</span>
                                <Check label="on the project" ok=n.attached />
                                <Check label="verified" ok=n.verified />
                                <Check label="DNS configured" ok=n.configured />
                                <Check label="HTTPS" ok=n.https_ok />
                                {n.https.clone().map(|answer| view! {
                                    <span class="ml-2 text-xs text-slate-500" data-testid="domain-https">{answer}</span>
                                })}
                            </li>
                        }).collect_view()}
                        <li>
                            "Certificate "
                            <Check label="issued" ok=current.certificate.is_some() />
                        </li>
                    </ul>
                    <Findings findings=current.findings.clone() />
                    <p class="mt-2 text-xs text-slate-500" data-testid="domain-servers">
                        {format!("Asked {} in {} ms.", current.servers.join(", "), current.elapsed_ms)}
                    </p>
                    <p class="mt-3"><a class=SECONDARY href=format!("/ventures/{venture_id}?tab=domains") data-testid="check-again">"Check again"</a></p>
                </article>
            })}
            <form method="get" action=format!("/ventures/{venture_id}") class="mb-4 grid gap-3 sm:grid-cols-[1fr_max-content_max-content] sm:items-end"
                data-testid="domain-wizard">
                <input type="hidden" name="tab" value="domains" />
                <label class="text-sm font-medium text-slate-700">
                    "1. Domain"
                    <input class=INPUT name="domain" required value=asked_domain data-testid="domain-input"
                        placeholder="acme.com or www.acme.com" autocomplete="off" spellcheck="false"
                        // At least two labels, no spaces (any script: IDNA is checked on the server).
                        pattern=r"\S+\.\S+" title="a domain such as acme.com" />
                </label>
                <label class="text-sm font-medium text-slate-700">
                    "2. DNS provider"
                    <select class=INPUT name="dns" data-testid="domain-dns">
                        {view.providers.iter().map(|(value, label)| {
                            let selected = *value == asked_dns || (asked_dns.is_empty() && current_provider.as_deref() == Some(label.as_str()));
                            view! { <option value=value.clone() selected=selected>{label.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class=SECONDARY data-testid="domain-preview-button">"3. Preview the plan"</button>
            </form>
            {(!view.issues.is_empty()).then(|| view! {
                <ul role="alert" class="mb-4 text-sm text-rose-700" data-testid="domain-issues">
                    {view.issues.iter().map(|i| view! { <li>{format!("{}: {}", i.field, i.message)}</li> }).collect_view()}
                </ul>
            })}
            {view.preview.map(|preview| {
                let (domain, dns) = view.asked.clone().unwrap_or_default();
                view! {
                    <article id=PREVIEW_ID class="mb-6 rounded-xl border border-slate-200 p-4" data-testid="domain-preview">
                        <p class="mb-2 text-sm">
                            "Visitors stay on " <span class="font-mono">{preview.primary.clone()}</span>
                            "; " <span class="font-mono">{preview.redirect.clone()}</span> " answers 308 to it."
                        </p>
                        {preview.rows.iter().map(|(resource, action, detail, lines)| view! {
                            <div class="mb-2 text-sm" data-testid="domain-plan-row" data-action=action.clone()>
                                <span class="font-medium">{resource.clone()}</span> ": " {action.replace('_', " ")}
                                {if lines.is_empty() {
                                    view! { <p class="text-slate-600">{detail.clone()}</p> }.into_any()
                                } else {
                                    view! { <ul class="font-mono text-xs" data-testid="domain-records">
                                        {lines.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}
                                    </ul> }.into_any()
                                }}
                            </div>
                        }).collect_view()}
                        <h3 class="mt-3 text-sm font-semibold">"What is there now"</h3>
                        <Findings findings=preview.findings.clone() />
                        {can_change.then(|| view! {
                            <form method="post" action=format!("/ventures/{venture_id}/domain") class="mt-3">
                                <input type="hidden" name="domain" value=domain />
                                <input type="hidden" name="dns" value=dns />
                                <button type="submit" class=BUTTON disabled=preview.blocked data-testid="domain-apply">
                                    "4. Apply this domain"
                                </button>
                                {preview.blocked.then(|| view! {
                                    <span class="ml-2 text-sm text-rose-700">"Blocked: fix what the plan names first."</span>
                                })}
                            </form>
                        })}
                    </article>
                }
            })}
        </section>
    }
}

#[component]
fn Check(label: &'static str, ok: bool) -> impl IntoView {
    let class = if ok { "ml-2 text-emerald-700" } else { "ml-2 text-slate-400" };
    view! { <span class=class data-check=label data-ok=ok.to_string()>{if ok { "✓ " } else { "○ " }}{label}</span> }
}

#[component]
fn Findings(findings: Vec<DoctorFindingView>) -> impl IntoView {
    if findings.is_empty() {
        return view! { <p class="text-sm text-emerald-700" data-testid="domain-findings">"No finding: every name points at Vercel as recommended."</p> }.into_any();
    }
    view! {
        <ul class="space-y-2 text-sm" data-testid="domain-findings">
            {findings.into_iter().map(|f| {
                let class = match f.level.as_str() {
                    "error" => "text-rose-700",
                    "warn" => "text-amber-700",
                    _ => "text-slate-600",
                };
                view! {
                    <li data-check=f.check.clone() data-level=f.level.clone()>
                        <span class=class>{f.level.to_uppercase()}</span> " " {f.problem.clone()}
                        <div class="font-mono text-xs text-slate-700">{format!("Fix: {}", f.fix)}</div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
