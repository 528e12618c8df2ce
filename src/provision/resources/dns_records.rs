//! `dns.records`: the records the custom domain needs at its DNS provider, with the values
//! Vercel recommends for each name (`GET /v6/domains/{domain}/config`, never hard-coded) and
//! the `_vercel` TXT challenges it asks for. The plan lists the record changes one by one;
//! Slipway changes only its own records (a comment at Cloudflare and Vercel DNS, the record
//! sets it wrote for RFC 2136); a conflicting record of someone else's blocks with the fix.
//!
//! - `vercel`: Vercel DNS answers for project domains itself; only records in the way matter.
//! - `cloudflare`, `rfc2136`: written through their APIs.
//! - `manual`: the plan is the list of records to add at the registrar; the apply waits until
//!   the DNS shows them.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{VercelDomains, kind};
use crate::domains::records::{self, Existing, Op, RECORD_TTL, RecordChange, Wanted};
use crate::domains::resolve::Server;
use crate::domains::{DnsProvider, DomainSpec};
use crate::events::Level;
use crate::platform::cloudflare::{self, RecordFilter, RecordInput};
use crate::platform::rfc2136::{RecordKind, Rfc2136Client, RrSet};
use crate::platform::vercel::{DnsRecordInput, DnsRecordPatch, DnsRecordType};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError, poll};

/// What the resources after it read: the records in place, by provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainRecords {
    pub provider: DnsProvider,
    pub records: Vec<Wanted>,
}

/// Where the zone's records are written.
enum Zone {
    Vercel,
    Cloudflare { zone: String },
    Rfc2136(Box<Rfc2136Client>),
    Manual,
}

pub enum Observed {
    None,
    /// Slipway cannot write to the zone; `reason` says what to set up.
    Unreachable {
        reason: String,
    },
    Found {
        spec: DomainSpec,
        wanted: Vec<Wanted>,
        existing: Vec<Existing>,
        plan: Result<Vec<RecordChange>, Vec<records::Conflict>>,
        /// The names are not on the project yet: Vercel's challenges are still to come.
        pending: bool,
    },
}

pub struct DnsRecords;

/// The comment that marks a record as Slipway's, per venture.
fn marker(venture_id: &str) -> String {
    format!("managed by Slipway (venture {venture_id})")
}

fn kind_of(record_type: &str) -> Option<RecordKind> {
    record_type.parse().ok()
}

/// Every name a record plan looks at: the project names, the challenge label and the apex.
fn names(spec: &DomainSpec) -> Vec<String> {
    let (primary, alias) = spec.names();
    let mut names = vec![primary, alias, format!("_vercel.{}", spec.apex)];
    names.extend(spec.staging.clone());
    names
}

fn zone(ctx: &Context, spec: &DomainSpec) -> Result<Zone, String> {
    Ok(match spec.dns {
        DnsProvider::Vercel => Zone::Vercel,
        DnsProvider::Manual => Zone::Manual,
        DnsProvider::Cloudflare => {
            if ctx.platforms.cloudflare.is_none() {
                return Err(
                    "DNS is at Cloudflare, but no Cloudflare API token is configured (CLOUDFLARE_API_TOKEN)".into()
                );
            }
            Zone::Cloudflare { zone: String::new() }
        }
        DnsProvider::Rfc2136 => {
            match ctx.platforms.rfc2136(&spec.apex) {
                Ok(Some(client)) => Zone::Rfc2136(Box::new(client)),
                Ok(None) => {
                    return Err("DNS is at an RFC 2136 server, but none is configured (SLIPWAY_RFC2136_SERVER and its TSIG key)".into());
                }
                Err(err) => return Err(format!("the RFC 2136 settings are not usable: {err}")),
            }
        }
    })
}

/// The record sets Slipway wrote by RFC 2136, as recorded.
async fn written(ctx: &Context) -> Result<Vec<Wanted>, StepError> {
    Ok(ctx
        .store
        .resource(&ctx.venture.id, kind::DNS_RECORDS)
        .await?
        .and_then(|record| serde_json::from_value(record.data["written"].clone()).ok())
        .unwrap_or_default())
}

/// What the zone holds at the names that matter.
async fn existing(
    ctx: &Context,
    spec: &DomainSpec,
    zone: &mut Zone,
    recommended: &[(String, String)],
) -> Result<Vec<Existing>, StepError> {
    let ours = marker(&ctx.venture.id);
    let mut found = Vec::new();
    match zone {
        Zone::Vercel => {
            for record in ctx.platforms.vercel.list_dns_records(&spec.apex).await? {
                let Some(kind) = kind_from_vercel(&record.record_type) else { continue };
                let name =
                    if record.name.is_empty() { spec.apex.clone() } else { format!("{}.{}", record.name, spec.apex) };
                found.push(Existing {
                    id: Some(record.id),
                    name,
                    kind,
                    value: record.value.trim_end_matches('.').to_string(),
                    ttl: record.ttl.and_then(|t| u32::try_from(t).ok()).unwrap_or(60),
                    ours: record.comment.as_deref() == Some(ours.as_str()),
                });
            }
            // Vercel DNS answers for the project's names by itself, with what it recommends.
            for (name, value) in recommended {
                let kind = if *name == spec.apex { RecordKind::A } else { RecordKind::Cname };
                found.push(Existing { id: None, name: name.clone(), kind, value: value.clone(), ttl: 60, ours: false });
            }
        }
        Zone::Cloudflare { zone: zone_id } => {
            let client = ctx.platforms.cloudflare.as_ref().expect("checked when the zone was chosen");
            let Some(cf_zone) = client.find_zone(&spec.apex).await? else {
                return Err(StepError::Permanent(format!(
                    "Cloudflare has no zone {} for this token: add the zone at Cloudflare (or give the token access), then apply again",
                    spec.apex
                )));
            };
            *zone_id = cf_zone.id.clone();
            for name in names(spec) {
                let filter = RecordFilter { name: Some(name.clone()), record_type: None };
                for record in client.list_records(&cf_zone.id, &filter).await? {
                    let Some(kind) = kind_of(&record.record_type) else { continue };
                    found.push(Existing {
                        id: Some(record.id),
                        name: record.name.trim_end_matches('.').to_ascii_lowercase(),
                        kind,
                        value: record.content.trim_end_matches('.').to_string(),
                        ttl: record.ttl,
                        ours: record.comment.as_deref() == Some(ours.as_str()),
                    });
                }
            }
        }
        Zone::Rfc2136(client) => {
            let written = written(ctx).await?;
            for name in names(spec) {
                for kind in [RecordKind::A, RecordKind::Aaaa, RecordKind::Cname, RecordKind::Txt, RecordKind::Caa] {
                    let Some(set) = client.read(&name, kind).await? else { continue };
                    for value in set.values {
                        let ours = written.iter().any(|w| w.name == name && w.kind == kind && w.value == value);
                        found.push(Existing { id: None, name: name.clone(), kind, value, ttl: set.ttl, ours });
                    }
                }
            }
        }
        Zone::Manual => {
            // What the Internet sees, through the first configured resolver.
            let settings = &ctx.platforms.dns;
            let Some(address) = settings.resolvers.first() else {
                return Err(StepError::Permanent("no DNS resolver is configured (SLIPWAY_DNS_RESOLVERS)".into()));
            };
            let resolver = Server::new(*address, true, settings.timeout);
            use hickory_net::proto::rr::RecordType;
            for name in names(spec) {
                for (kind, record_type) in [
                    (RecordKind::A, RecordType::A),
                    (RecordKind::Aaaa, RecordType::AAAA),
                    (RecordKind::Cname, RecordType::CNAME),
                    (RecordKind::Txt, RecordType::TXT),
                    (RecordKind::Caa, RecordType::CAA),
                ] {
                    let outcome = resolver.ask(&name, record_type).await;
                    if let Some(reason) = outcome.failed() {
                        return Err(StepError::Transient(format!("the DNS lookup of {name} failed ({reason})")));
                    }
                    for answer in outcome.records().iter().filter(|a| a.name == name && a.record_type == record_type) {
                        let value = answer.value.clone();
                        found.push(Existing {
                            id: None,
                            name: name.clone(),
                            kind,
                            value,
                            ttl: answer.ttl,
                            ours: false,
                        });
                    }
                }
            }
        }
    }
    Ok(found)
}

/// For `manual`, conflicts are the user's to remove like everything else: instructions.
fn manual_plan(spec: &DomainSpec, wanted: &[Wanted], existing: &[Existing]) -> Vec<RecordChange> {
    let everything =
        DomainSpec { allow_replace: existing.iter().map(|e| (e.kind, e.name.clone())).collect(), ..spec.clone() };
    records::plan(&everything, wanted, existing).unwrap_or_default()
}

impl Resource for DnsRecords {
    const NAME: &'static str = "dns.records";
    const TITLE: &'static str = "DNS records";
    type Output = Option<DomainRecords>;
    type Observed = Observed;

    async fn observe(ctx: &Context, upstream: &Upstream) -> Result<Observed, StepError> {
        let Some(spec) = ctx.spec.domain.clone() else { return Ok(Observed::None) };
        // Before the names are on the project, the plan still shows the records and what is in
        // their way; only the TXT challenges wait for Vercel to ask.
        let domains = upstream.get::<VercelDomains>().flatten();
        let mut zone = match zone(ctx, &spec) {
            Ok(zone) => zone,
            Err(reason) => return Ok(Observed::Unreachable { reason }),
        };
        let (primary, alias) = spec.names();
        let mut names = vec![primary, alias];
        names.extend(spec.staging.clone());
        // What Vercel recommends for each name, asked per name.
        let project = domains.as_ref().map(|d| d.project.as_str());
        let mut recommended = Vec::new();
        for name in &names {
            let config = ctx.platforms.vercel.domain_config(name, project).await?;
            recommended.push((
                name.clone(),
                config.preferred_ipv4().map(String::from),
                config.preferred_cname().map(String::from),
            ));
        }
        // At Vercel DNS ownership is proven by the nameservers; elsewhere by the TXT.
        let challenges: Vec<(String, String)> = match (&domains, spec.dns) {
            (None, _) | (_, DnsProvider::Vercel) => Vec::new(),
            (Some(domains), _) => {
                domains.names.iter().filter(|d| !d.verified).filter_map(|d| d.challenge.clone()).collect()
            }
        };
        let wanted = records::wanted(&spec.apex, &recommended, &challenges);
        let served: Vec<(String, String)> =
            wanted.iter().filter(|w| w.kind != RecordKind::Txt).map(|w| (w.name.clone(), w.value.clone())).collect();
        let existing = existing(ctx, &spec, &mut zone, &served).await?;
        let plan = match spec.dns {
            DnsProvider::Manual => Ok(manual_plan(&spec, &wanted, &existing)),
            _ => records::plan(&spec, &wanted, &existing),
        };
        Ok(Observed::Found { spec, wanted, existing, plan, pending: domains.is_none() })
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        match observed {
            Observed::None => Change::new(Action::NoChange, "no custom domain in the spec"),
            Observed::Unreachable { reason } => Change::new(Action::Blocked, format!("{reason}; then apply again")),
            Observed::Found { plan: Err(conflicts), .. } => Change::new(
                Action::Blocked,
                conflicts.iter().map(|c| format!("{} Fix: {}.", c.problem, c.fix)).collect::<Vec<_>>().join(" "),
            ),
            Observed::Found { spec, plan: Ok(changes), pending: false, .. } if changes.is_empty() => Change::new(
                Action::NoChange,
                match spec.dns {
                    DnsProvider::Vercel => "Vercel DNS serves the project's names".to_string(),
                    _ => "every record Vercel needs is in place".to_string(),
                },
            ),
            Observed::Found { spec, plan: Ok(changes), existing, pending, .. } => {
                let mut lines: Vec<String> = changes.iter().map(RecordChange::line).collect();
                if *pending && spec.dns != DnsProvider::Vercel {
                    lines.push(format!("+ TXT _vercel.{} (the challenge Vercel asks for)", spec.apex));
                }
                let detail = match spec.dns {
                    DnsProvider::Manual => format!(
                        "make these changes at your DNS provider, then Slipway checks until they resolve: {}",
                        lines.join("; ")
                    ),
                    _ => lines.join("; "),
                };
                let creating = !existing.iter().any(|e| e.ours) && changes.iter().all(|c| c.op == Op::Create);
                Change::new(if creating { Action::Create } else { Action::Update }, detail).records(changes.clone())
            }
        }
    }

    fn current(observed: &Observed) -> Option<Option<DomainRecords>> {
        match observed {
            Observed::None => Some(None),
            Observed::Found { spec, wanted, plan: Ok(changes), pending: false, .. } if changes.is_empty() => {
                Some(Some(DomainRecords { provider: spec.dns, records: wanted.clone() }))
            }
            _ => None,
        }
    }

    async fn apply(
        ctx: &Context,
        upstream: &Upstream,
        observed: Observed,
        change: &Change,
    ) -> Result<Applied<Option<DomainRecords>>, StepError> {
        let (spec, wanted, existing, changes) = match observed {
            Observed::None => return Ok(Applied { changed: false, output: None }),
            Observed::Unreachable { reason } => return Err(StepError::Permanent(reason)),
            Observed::Found { plan: Err(_), .. } => return Err(StepError::Permanent(change.detail.clone())),
            Observed::Found { pending: true, .. } => {
                return Err(StepError::Permanent("the project domains are missing".into()));
            }
            Observed::Found { spec, wanted, existing, plan: Ok(changes), .. } => (spec, wanted, existing, changes),
        };
        let output = DomainRecords { provider: spec.dns, records: wanted.clone() };
        if changes.is_empty() {
            return Ok(Applied { changed: false, output: Some(output) });
        }
        let mut zone = zone(ctx, &spec).map_err(StepError::Permanent)?;
        let ours = marker(&ctx.venture.id);
        match &mut zone {
            Zone::Manual => {
                for change in &changes {
                    ctx.emit(Self::NAME, Level::Warn, format!("At your DNS provider: {}", change.line())).await;
                }
                // Looks until the DNS shows every change, within the apply's patience.
                let done = poll(ctx.polling.every, ctx.polling.deployment_ready_within, || async {
                    match Self::observe(ctx, upstream).await? {
                        Observed::Found { plan: Ok(left), .. } if left.is_empty() => Ok(Some(())),
                        _ => Ok(None),
                    }
                })
                .await?;
                return match done {
                    Some(()) => Ok(Applied { changed: false, output: Some(output) }),
                    None => Err(StepError::Transient(format!(
                        "waiting for the records to resolve: {}",
                        changes.iter().map(RecordChange::line).collect::<Vec<_>>().join("; ")
                    ))),
                };
            }
            Zone::Vercel => {
                let vercel = &ctx.platforms.vercel;
                for change in &changes {
                    ctx.emit(Self::NAME, Level::Info, format!("Vercel DNS: {}", change.line())).await;
                    let relative = relative_name(&change.name, &spec.apex);
                    match (change.op, &change.id) {
                        (Op::Create, _) => {
                            let record = DnsRecordInput {
                                name: relative,
                                record_type: vercel_type(change.kind),
                                value: change.new.clone().unwrap_or_default(),
                                ttl: Some(RECORD_TTL),
                                mx_priority: None,
                                comment: Some(ours.clone()),
                            };
                            vercel.create_dns_record(&spec.apex, &record).await?;
                        }
                        (Op::Change, Some(id)) => {
                            let patch = DnsRecordPatch {
                                value: change.new.clone(),
                                comment: Some(ours.clone()),
                                ..DnsRecordPatch::default()
                            };
                            vercel.update_dns_record(id, &patch).await?;
                        }
                        (Op::Delete, Some(id)) => vercel.delete_dns_record(&spec.apex, id).await?,
                        // Vercel's own answers have no id and are never changed.
                        _ => {}
                    }
                }
            }
            Zone::Cloudflare { zone: zone_id } => {
                let client = ctx.platforms.cloudflare.clone().expect("checked when the zone was chosen");
                if zone_id.is_empty() {
                    let found = client.find_zone(&spec.apex).await?;
                    *zone_id = found.map(|z| z.id).unwrap_or_default();
                }
                for change in &changes {
                    ctx.emit(Self::NAME, Level::Info, format!("Cloudflare: {}", change.line())).await;
                    let input = |value: &Option<String>| RecordInput {
                        record_type: cloudflare_type(change.kind),
                        name: change.name.clone(),
                        content: value.clone().unwrap_or_default(),
                        ttl: RECORD_TTL,
                        // Vercel must see its own address, and issue its certificate.
                        proxied: false,
                        comment: Some(ours.clone()),
                    };
                    match (change.op, &change.id) {
                        (Op::Create, _) => {
                            client.create_record(zone_id, &input(&change.new)).await?;
                        }
                        (Op::Change, Some(id)) => {
                            client.update_record(zone_id, id, &input(&change.new)).await?;
                        }
                        (Op::Delete, Some(id)) => client.delete_record(zone_id, id).await?,
                        _ => {}
                    }
                }
            }
            Zone::Rfc2136(client) => {
                let mut ledger = written(ctx).await?;
                // One update per record set: from what the server holds to what it should.
                let mut sets: Vec<(String, RecordKind)> = Vec::new();
                for change in &changes {
                    if !sets.iter().any(|(name, kind)| *name == change.name && *kind == change.kind) {
                        sets.push((change.name.clone(), change.kind));
                    }
                }
                for (name, kind) in sets {
                    let now: Vec<&Existing> = existing.iter().filter(|e| e.name == name && e.kind == kind).collect();
                    let mut values: Vec<String> = now.iter().map(|e| e.value.clone()).collect();
                    for change in changes.iter().filter(|c| c.name == name && c.kind == kind) {
                        ctx.emit(Self::NAME, Level::Info, format!("DNS server: {}", change.line())).await;
                        if let Some(old) = &change.old {
                            values.retain(|v| v != old);
                        }
                        values.extend(change.new.clone());
                    }
                    let previous = (!now.is_empty()).then(|| RrSet {
                        name: name.clone(),
                        kind,
                        ttl: now[0].ttl,
                        values: now.iter().map(|e| e.value.clone()).collect(),
                    });
                    // Recorded before the write: if it lands and Slipway stops, the values are
                    // still known as its own.
                    let mine: Vec<Wanted> = changes
                        .iter()
                        .filter(|c| c.name == name && c.kind == kind)
                        .filter_map(|c| c.new.clone().map(|value| Wanted { name: name.clone(), kind, value }))
                        .collect();
                    ledger.extend(mine);
                    record_written(ctx, &ledger).await?;
                    match (previous, values.is_empty()) {
                        (Some(previous), true) => client.delete(&previous).await?,
                        (previous, _) => {
                            let wanted = RrSet { name: name.clone(), kind, ttl: RECORD_TTL, values };
                            client.replace(previous.as_ref(), &wanted).await?
                        }
                    }
                    let removed: Vec<String> = changes
                        .iter()
                        .filter(|c| c.name == name && c.kind == kind && c.op != Op::Create)
                        .filter_map(|c| c.old.clone())
                        .collect();
                    ledger.retain(|w| !(w.name == name && w.kind == kind && removed.contains(&w.value)));
                    record_written(ctx, &ledger).await?;
                }
            }
        }
        if !matches!(zone, Zone::Rfc2136(_)) {
            let data = json!({ "provider": spec.dns, "records": wanted });
            ctx.store.set_resource(&ctx.venture.id, kind::DNS_RECORDS, None, &data).await?;
        }
        Ok(Applied { changed: true, output: Some(output) })
    }

    /// Removes the records Slipway wrote; others' records are never touched.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        if let Some(spec) = ctx.spec.domain.clone()
            && let Ok(mut zone) = zone(ctx, &spec)
            && !matches!(zone, Zone::Manual)
        {
            let existing = existing(ctx, &spec, &mut zone, &[]).await?;
            for record in existing.iter().filter(|e| e.ours) {
                match &zone {
                    Zone::Vercel => {
                        if let Some(id) = &record.id {
                            ctx.platforms.vercel.delete_dns_record(&spec.apex, id).await?;
                        }
                    }
                    Zone::Cloudflare { zone: zone_id } => {
                        if let (Some(id), Some(client)) = (&record.id, &ctx.platforms.cloudflare) {
                            client.delete_record(zone_id, id).await?;
                        }
                    }
                    Zone::Rfc2136(client) => {
                        let set = RrSet {
                            name: record.name.clone(),
                            kind: record.kind,
                            ttl: record.ttl,
                            values: vec![record.value.clone()],
                        };
                        client.delete(&set).await?;
                    }
                    Zone::Manual => {}
                }
            }
        }
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::DNS_RECORDS).await?)
    }
}

async fn record_written(ctx: &Context, ledger: &[Wanted]) -> Result<(), StepError> {
    let data = json!({ "provider": DnsProvider::Rfc2136, "written": ledger });
    Ok(ctx.store.set_resource(&ctx.venture.id, kind::DNS_RECORDS, None, &data).await?)
}

fn relative_name(name: &str, apex: &str) -> String {
    if name == apex { String::new() } else { name.trim_end_matches(&format!(".{apex}")).to_string() }
}

fn vercel_type(kind: RecordKind) -> DnsRecordType {
    match kind {
        RecordKind::A => DnsRecordType::A,
        RecordKind::Aaaa => DnsRecordType::Aaaa,
        RecordKind::Cname => DnsRecordType::Cname,
        RecordKind::Txt => DnsRecordType::Txt,
        RecordKind::Caa => DnsRecordType::Caa,
    }
}

/// The kinds a record plan looks at; Vercel DNS's others (MX, NS, ALIAS) are never in the way.
fn kind_from_vercel(record_type: &DnsRecordType) -> Option<RecordKind> {
    match record_type {
        DnsRecordType::A => Some(RecordKind::A),
        DnsRecordType::Aaaa => Some(RecordKind::Aaaa),
        DnsRecordType::Cname => Some(RecordKind::Cname),
        DnsRecordType::Txt => Some(RecordKind::Txt),
        DnsRecordType::Caa => Some(RecordKind::Caa),
        DnsRecordType::Alias | DnsRecordType::Mx | DnsRecordType::Ns => None,
    }
}

fn cloudflare_type(kind: RecordKind) -> cloudflare::RecordType {
    match kind {
        RecordKind::A => cloudflare::RecordType::A,
        RecordKind::Aaaa => cloudflare::RecordType::Aaaa,
        RecordKind::Cname => cloudflare::RecordType::Cname,
        RecordKind::Txt => cloudflare::RecordType::Txt,
        RecordKind::Caa => cloudflare::RecordType::Caa,
    }
}
