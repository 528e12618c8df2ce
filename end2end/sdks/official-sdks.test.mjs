// The vendors' official SDKs as independent clients of Slipway's simulators: every operation
// Slipway's own Rust clients use, called through @vercel/sdk, cloudflare and
// supabase-management-js against `slipway sim` (SLIPWAY_BIN), one test per call, so each call
// is judged on its own. @vercel/sdk validates every answer against its zod schemas, so a
// simulator answer missing a field the real API sends fails here; the other two SDKs check
// statuses, routes, paging and filters. Retries are off: a 429 or 5xx counts against the call
// that got it. A call whose inputs come from a failed earlier call is skipped, not failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Vercel } from '@vercel/sdk';
import Cloudflare from 'cloudflare';
import { SupabaseManagementAPI } from 'supabase-management-js';
import { startSimulators } from '../clis/simulators.mjs';

const ZONE = 'example.com'; // the zone `slipway sim` serves at its Cloudflare simulator
const APEX = 'sdk-scenario.dev'; // a domain added to the Vercel team, served by Vercel DNS
const NAME = `sdk-${Date.now().toString(36)}`;
let sim, vercel, cf, sb;
const s = {}; // what the calls made, for the calls after them

before(async () => {
  sim = await startSimulators();
  // @vercel/sdk: serverURL is an origin (operation paths are absolute).
  vercel = new Vercel({ bearerToken: sim.token, serverURL: sim.urls.vercel, retryConfig: { strategy: 'none' } });
  // cloudflare: baseURL is prefixed verbatim, so it includes /client/v4.
  cf = new Cloudflare({ apiToken: sim.token, baseURL: sim.urls.cloudflare, maxRetries: 0 });
  sb = new SupabaseManagementAPI({ accessToken: sim.token, baseUrl: sim.urls.supabase });
});

after(() => sim?.stop());

// One judged call; skipped when a call it depends on failed.
function call(name, deps, fn) {
  test(name, async (t) => {
    const missing = deps.filter((d) => s[d] === undefined);
    if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
    await fn(t);
  });
}

async function until(what, probe, ms = 30000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    const value = await probe();
    if (value) return value;
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function all(iterable) {
  const out = [];
  for await (const item of iterable) {
    out.push(item);
    assert.ok(out.length < 500, 'the listing never ends');
  }
  return out;
}

const teamId = () => s.team.id;
const project = () => ({ teamId: teamId(), idOrName: s.project.id });

// ---------------------------------------------------------------- Vercel: account and team
call('vercel user.getAuthUser', [], async () => {
  const { user } = await vercel.user.getAuthUser();
  assert.ok(user.id && user.username, JSON.stringify(user));
});

call('vercel teams.getTeams', [], async () => {
  const { teams } = await vercel.teams.getTeams({ limit: 20 });
  s.team = teams.find((t) => t.slug === 'sandbox-team');
  assert.ok(s.team, `the sandbox team is listed: ${JSON.stringify(teams)}`);
});

call('vercel teams.getTeam', ['team'], async () => {
  const team = await vercel.teams.getTeam({ teamId: teamId() });
  assert.equal(team.slug, 'sandbox-team');
});

// ---------------------------------------------------------------- Vercel: projects
call('vercel projects.createProject', ['team'], async () => {
  s.project = await vercel.projects.createProject({ teamId: teamId(), requestBody: {
    name: NAME, framework: 'nextjs', gitRepository: { type: 'github', repo: `acme/${NAME}` } } });
  assert.equal(s.project.name, NAME);
  assert.equal(s.project.link?.type, 'github');
  assert.deepEqual(s.project.alias, []);
});

call('vercel projects.getProject', ['project'], async () => {
  const byName = await vercel.projects.getProject({ teamId: teamId(), idOrName: NAME });
  assert.equal(byName.id, s.project.id);
});

call('vercel projects.getProjects', ['project'], async () => {
  const found = await vercel.projects.getProjects({ teamId: teamId(), search: NAME, limit: '100' });
  assert.deepEqual(found.projects.map((p) => p.id), [s.project.id]);
  const linked = await vercel.projects.getProjects({ teamId: teamId(), repo: `acme/${NAME}` });
  assert.deepEqual(linked.projects.map((p) => p.id), [s.project.id]);
  // Personal scope: the team's project is not there.
  const personal = await vercel.projects.getProjects({ search: NAME });
  assert.equal(personal.projects.length, 0);
});

call('vercel projects.updateProject', ['project'], async () => {
  const updated = await vercel.projects.updateProject({ ...project(),
    requestBody: { buildCommand: 'next build', nodeVersion: '22.x' } });
  assert.equal(updated.buildCommand, 'next build');
  assert.equal(updated.nodeVersion, '22.x');
});

// ---------------------------------------------------------------- Vercel: custom environments
call('vercel environment.createCustomEnvironment', ['project'], async () => {
  s.staging = await vercel.environment.createCustomEnvironment({ ...project(),
    requestBody: { slug: 'staging', branchMatcher: { type: 'equals', pattern: 'staging' } } });
  assert.equal(s.staging.slug, 'staging');
});

call('vercel environment.getProjectsByIdOrNameCustomEnvironments', ['staging'], async () => {
  const { environments } = await vercel.environment.getProjectsByIdOrNameCustomEnvironments(project());
  assert.deepEqual(environments.map((e) => e.id), [s.staging.id]);
});

call('vercel environment.getCustomEnvironment', ['staging'], async () => {
  const env = await vercel.environment.getCustomEnvironment({ ...project(), environmentSlugOrId: 'staging' });
  assert.equal(env.id, s.staging.id);
});

call('vercel environment.updateCustomEnvironment', ['staging'], async () => {
  const env = await vercel.environment.updateCustomEnvironment({ ...project(), environmentSlugOrId: s.staging.id,
    requestBody: { description: 'QA' } });
  assert.equal(env.description, 'QA');
});

// ---------------------------------------------------------------- Vercel: environment variables
call('vercel projects.createProjectEnv', ['staging'], async () => {
  const answer = await vercel.projects.createProjectEnv({ ...project(), upsert: 'true', requestBody: [
    { key: 'DATABASE_URL', value: 'postgres://production', type: 'encrypted', target: ['production', 'preview'] },
    { key: 'DATABASE_URL', value: 'postgres://staging', type: 'encrypted', customEnvironmentIds: [s.staging.id] },
    { key: 'PUBLIC_FLAG', value: '1', type: 'plain', target: ['preview'], gitBranch: 'feature' },
  ] });
  assert.equal(answer.failed.length, 0, JSON.stringify(answer.failed));
  s.envs = [answer.created].flat();
  assert.equal(s.envs.length, 3);
});

call('vercel projects.filterProjectEnvs', ['envs'], async () => {
  const every = await vercel.projects.filterProjectEnvs(project());
  assert.equal(every.envs.length, 3);
  assert.ok(every.envs.every((e) => e.value !== 'postgres://production'), 'encrypted values are not listed');
  for (const filter of [{ customEnvironmentId: s.staging.id }, { customEnvironmentSlug: 'staging' }]) {
    const { envs } = await vercel.projects.filterProjectEnvs({ ...project(), ...filter });
    assert.deepEqual(envs.map((e) => e.id), [s.envs[1].id], JSON.stringify(filter));
  }
  const { envs } = await vercel.projects.filterProjectEnvs({ ...project(), gitBranch: 'feature' });
  assert.deepEqual(envs.map((e) => e.key), ['PUBLIC_FLAG']);
});

call('vercel projects.getProjectEnv', ['envs'], async () => {
  const env = await vercel.projects.getProjectEnv({ ...project(), id: s.envs[0].id });
  assert.equal(env.key, 'DATABASE_URL');
  assert.equal(env.value, 'postgres://production');
});

call('vercel projects.editProjectEnv', ['envs'], async () => {
  const env = await vercel.projects.editProjectEnv({ ...project(), id: s.envs[0].id,
    requestBody: { value: 'postgres://production-2', comment: 'rotated' } });
  assert.equal(env.comment, 'rotated');
});

call('vercel projects.removeProjectEnv', ['envs'], async () => {
  await vercel.projects.removeProjectEnv({ ...project(), id: s.envs[2].id });
  const { envs } = await vercel.projects.filterProjectEnvs(project());
  assert.ok(!envs.some((e) => e.id === s.envs[2].id));
});

call('vercel projects.batchRemoveProjectEnv', ['envs'], async () => {
  const answer = await vercel.projects.batchRemoveProjectEnv({ ...project(), requestBody: { ids: [s.envs[1].id] } });
  assert.equal(answer.deleted, 1);
  assert.deepEqual(answer.ids, [s.envs[1].id]);
});

// ---------------------------------------------------------------- Vercel: deployments
const gitSource = (ref) => ({ type: 'github', org: 'acme', repo: NAME, ref });

call('vercel deployments.createDeployment', ['project'], async () => {
  s.deployment = await vercel.deployments.createDeployment({ teamId: teamId(),
    requestBody: { name: NAME, project: NAME, target: 'production', gitSource: gitSource('main') } });
  assert.ok(['QUEUED', 'BUILDING', 'INITIALIZING'].includes(s.deployment.readyState), s.deployment.readyState);
});

call('vercel deployments.getDeployment', ['deployment'], async () => {
  await until('the deployment is READY', async () =>
    (await vercel.deployments.getDeployment({ teamId: teamId(), idOrUrl: s.deployment.id })).readyState === 'READY');
});

call('vercel deployments.getDeployments', ['deployment'], async () => {
  // "Filter deployments from the given ID or name".
  for (const projectId of [s.project.id, NAME]) {
    const { deployments } = await vercel.deployments.getDeployments({ teamId: teamId(), projectId,
      target: 'production', state: 'READY', limit: 20 });
    assert.deepEqual(deployments.map((d) => d.uid), [s.deployment.id], `projectId=${projectId}`);
  }
  const none = await vercel.deployments.getDeployments({ teamId: teamId(), projectId: 'no-such-project' });
  assert.equal(none.deployments.length, 0);
});

call('vercel deployments.cancelDeployment', ['project'], async () => {
  const queued = await vercel.deployments.createDeployment({ teamId: teamId(),
    requestBody: { name: NAME, project: NAME, gitSource: gitSource('feature') } });
  const canceled = await vercel.deployments.cancelDeployment({ teamId: teamId(), id: queued.id });
  assert.equal(canceled.readyState, 'CANCELED');
});

// ---------------------------------------------------------------- Vercel: team domains and DNS
call('vercel domains.createOrTransferDomain', ['team'], async () => {
  const { domain } = await vercel.domains.createOrTransferDomain({ teamId: teamId(),
    requestBody: { name: APEX, method: 'add' } });
  assert.equal(domain.name, APEX);
  s.domain = domain;
});

call('vercel domains.getDomain', ['domain'], async () => {
  const { domain } = await vercel.domains.getDomain({ teamId: teamId(), domain: APEX });
  assert.equal(domain.id, s.domain.id);
  assert.ok(['auto', 'enabled', 'disabled'].includes(domain.echMode));
});

call('vercel domains.getDomains', ['domain'], async () => {
  const { domains } = await vercel.domains.getDomains({ teamId: teamId(), limit: 20 });
  assert.deepEqual(domains.map((d) => d.name), [APEX]);
});

call('vercel dns.createRecord', ['domain'], async () => {
  const a = await vercel.dns.createRecord({ teamId: teamId(), domain: APEX,
    requestBody: { name: '', type: 'A', value: '76.76.21.21', ttl: 60 } });
  const txt = await vercel.dns.createRecord({ teamId: teamId(), domain: APEX,
    requestBody: { name: 'mail', type: 'TXT', value: 'v=spf1 -all', ttl: 60 } });
  assert.ok(a.uid && txt.uid);
  s.record = a.uid;
});

call('vercel dns.getRecords', ['record'], async () => {
  const { records } = await vercel.dns.getRecords({ teamId: teamId(), domain: APEX, limit: '20' });
  assert.deepEqual(records.map((r) => `${r.type} ${r.name} ${r.value}`).sort(),
    ['A  76.76.21.21', 'TXT mail v=spf1 -all']);
});

call('vercel dns.updateRecord', ['record'], async () => {
  const record = await vercel.dns.updateRecord({ teamId: teamId(), recordId: s.record,
    requestBody: { ttl: 120, comment: 'apex' } });
  assert.equal(record.ttl, 120);
  assert.equal(record.comment, 'apex');
});

// ---------------------------------------------------------------- Vercel: project domains
call('vercel projects.addProjectDomain', ['project'], async () => {
  s.projectDomain = await vercel.projects.addProjectDomain({ ...project(), requestBody: { name: `app.${ZONE}` } });
  assert.equal(s.projectDomain.verified, false, 'the zone is at Cloudflare, so a TXT challenge is due');
  await vercel.projects.addProjectDomain({ ...project(),
    requestBody: { name: `www.app.${ZONE}`, redirect: `app.${ZONE}`, redirectStatusCode: 308 } });
});

call('vercel projects.getProjectDomain', ['projectDomain'], async () => {
  const domain = await vercel.projects.getProjectDomain({ ...project(), domain: `app.${ZONE}` });
  assert.equal(domain.apexName, ZONE);
});

call('vercel projects.getProjectDomains', ['projectDomain'], async () => {
  const { domains } = await vercel.projects.getProjectDomains({ ...project(), limit: 20 });
  assert.deepEqual(domains.map((d) => d.name).sort(), [`app.${ZONE}`, `www.app.${ZONE}`]);
});

call('vercel projects.updateProjectDomain', ['projectDomain'], async () => {
  const domain = await vercel.projects.updateProjectDomain({ ...project(), domain: `www.app.${ZONE}`,
    requestBody: { redirectStatusCode: 301 } });
  assert.equal(domain.redirectStatusCode, 301);
});

// ---------------------------------------------------------------- Cloudflare
call('cloudflare zones.list', [], async () => {
  // The SDK pages until an empty page.
  const zones = await all(cf.zones.list({ name: ZONE }));
  assert.deepEqual(zones.map((z) => z.name), [ZONE]);
  s.zone = zones[0].id;
});

call('cloudflare zones.get', ['zone'], async () => {
  const zone = await cf.zones.get({ zone_id: s.zone });
  assert.equal(zone.name, ZONE);
});

call('cloudflare dns.records.create', ['zone'], async () => {
  s.cname = await cf.dns.records.create({ zone_id: s.zone, type: 'CNAME', name: `app.${ZONE}`,
    content: 'cname.vercel-dns.com', proxied: false, ttl: 1 });
  assert.ok(s.cname.comment === undefined, 'no comment: absent, not null');
  const challenge = s.projectDomain?.verification?.find((v) => v.type === 'TXT');
  if (challenge) {
    s.txt = await cf.dns.records.create({ zone_id: s.zone, type: 'TXT', name: challenge.domain,
      content: challenge.value, ttl: 1, comment: 'Vercel verification' });
    assert.equal(s.txt.comment, 'Vercel verification');
  }
  // CAA is given by `data`; its content is derived.
  s.caa = await cf.dns.records.create({ zone_id: s.zone, type: 'CAA', name: ZONE, ttl: 1,
    data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } });
  assert.equal(s.caa.content, '0 issue "letsencrypt.org"');
});

call('cloudflare dns.records.list', ['cname', 'caa'], async () => {
  const list = (query) => all(cf.dns.records.list({ zone_id: s.zone, ...query }));
  const every = await list({ per_page: 100 });
  assert.equal(every.length, s.txt ? 3 : 2);
  assert.deepEqual((await list({ name: { exact: `app.${ZONE}` }, type: 'CNAME' })).map((r) => r.id), [s.cname.id]);
  assert.deepEqual((await list({ content: { exact: 'cname.vercel-dns.com' } })).map((r) => r.id), [s.cname.id]);
  assert.deepEqual((await list({ proxied: true })).length, 0);
  assert.equal((await list({ proxied: false })).length, every.length);
  const byName = (await list({ order: 'name', direction: 'desc' })).map((r) => r.name);
  assert.deepEqual(byName, [...byName].sort().reverse());
  // A filter the simulator does not know is refused, not answered with every record.
  await assert.rejects(all(cf.dns.records.list({ zone_id: s.zone, 'name.regex': '.*' })),
    (e) => e.status === 400);
});

call('cloudflare dns.records.update', ['cname'], async () => {
  const record = await cf.dns.records.update(s.cname.id, { zone_id: s.zone, type: 'CNAME', name: `app.${ZONE}`,
    content: 'cname.vercel-dns.com', ttl: 300, proxied: false });
  assert.equal(record.ttl, 300);
});

call('cloudflare dns.records.edit', ['cname'], async () => {
  const record = await cf.dns.records.edit(s.cname.id, { zone_id: s.zone, comment: 'vercel' });
  assert.equal(record.comment, 'vercel');
  assert.equal(record.ttl, 300, 'what the patch leaves out stays');
});

call('cloudflare dns.records.get', ['cname'], async () => {
  const record = await cf.dns.records.get(s.cname.id, { zone_id: s.zone });
  assert.equal(record.content, 'cname.vercel-dns.com');
});

// ---------------------------------------------------------------- Vercel: what the DNS proves
call('vercel projects.verifyProjectDomain', ['projectDomain', 'txt'], async () => {
  const domain = await vercel.projects.verifyProjectDomain({ ...project(), domain: `app.${ZONE}` });
  assert.equal(domain.verified, true);
});

call('vercel domains.getDomainConfig', ['cname'], async () => {
  const config = await vercel.domains.getDomainConfig({ teamId: teamId(), domain: `app.${ZONE}`,
    projectIdOrName: s.project.id });
  assert.equal(config.misconfigured, false);
});

call('vercel certs.issueCert', ['cname'], async () => {
  s.cert = await vercel.certs.issueCert({ teamId: teamId(), requestBody: { cns: [`app.${ZONE}`] } });
  assert.deepEqual(s.cert.cns, [`app.${ZONE}`]);
});

call('vercel certs.getCertById', ['cert'], async () => {
  const cert = await vercel.certs.getCertById({ teamId: teamId(), id: s.cert.id });
  assert.equal(cert.id, s.cert.id);
});

call('cloudflare dns.records.delete', ['cname', 'caa'], async () => {
  for (const record of [s.cname, s.txt, s.caa].filter(Boolean)) {
    const answer = await cf.dns.records.delete(record.id, { zone_id: s.zone });
    assert.equal(answer.id, record.id);
  }
  assert.equal((await all(cf.dns.records.list({ zone_id: s.zone }))).length, 0);
});

// ---------------------------------------------------------------- Supabase
call('supabase listAllOrganizations', [], async () => {
  const { data } = await sb.listAllOrganizations();
  s.org = data.find((o) => o.slug === 'sandbox-org')?.slug;
  assert.ok(s.org, JSON.stringify(data));
});

call('supabase getAnOrganization', ['org'], async () => {
  const { data } = await sb.getAnOrganization(s.org);
  assert.equal(data.slug ?? data.id, s.org);
});

call('supabase getAvailableRegions', ['org'], async () => {
  const { data } = await sb.getAvailableRegions({ organization_slug: s.org });
  assert.ok(data.all.specific.some((r) => r.code === 'eu-central-1'));
});

call('supabase createAProject', ['org'], async () => {
  const { status, data } = await sb.createAProject({ name: NAME, organization_slug: s.org,
    db_pass: 'correct-horse-battery', region_selection: { type: 'specific', code: 'eu-central-1' } });
  assert.equal(status, 201);
  s.ref = data.ref;
});

call('supabase getProject', ['ref'], async () => {
  await until('the project is ACTIVE_HEALTHY', async () => (await sb.getProject(s.ref)).data.status === 'ACTIVE_HEALTHY');
});

call('supabase listAllProjects', ['ref'], async () => {
  const { data } = await sb.listAllProjects();
  assert.ok(data.some((p) => p.ref === s.ref));
});

call('supabase getAllProjectsForOrganization', ['ref'], async () => {
  const { data } = await sb.getAllProjectsForOrganization(s.org, { offset: 0, limit: 100, statuses: 'ACTIVE_HEALTHY' });
  assert.ok(data.projects.some((p) => p.ref === s.ref));
});

call('supabase getServicesHealth', ['ref'], async () => {
  // This SDK sends the list comma-joined (services=auth%2Cdb%2Crest).
  const { data } = await sb.getServicesHealth(s.ref, { services: ['auth', 'db', 'rest'] });
  assert.deepEqual(data.map((h) => h.name), ['auth', 'db', 'rest']);
  assert.ok(data.every((h) => h.healthy));
});

call('supabase getProjectApiKeys', ['ref'], async () => {
  const { data } = await sb.getProjectApiKeys(s.ref, { reveal: true });
  assert.ok(data.some((k) => k.name === 'anon'));
});

call('supabase createProjectApiKey', ['ref'], async () => {
  const { status, data } = await sb.createProjectApiKey(s.ref, { type: 'secret', name: 'ci_key' }, { reveal: true });
  assert.equal(status, 201);
  assert.ok(data.api_key.startsWith('sb_secret_'));
  s.key = data.id;
});

call('supabase deleteProjectApiKey', ['key'], async () => {
  const { data } = await sb.deleteProjectApiKey(s.ref, s.key, { was_compromised: false });
  assert.equal(data.id, s.key);
});

call('supabase getProjectLegacyApiKeys', ['ref'], async () => {
  const { data } = await sb.getProjectLegacyApiKeys(s.ref);
  assert.equal(data.enabled, true);
});

call('supabase updateProjectLegacyApiKeys', ['ref'], async () => {
  const { data } = await sb.updateProjectLegacyApiKeys(s.ref, { enabled: false });
  assert.equal(data.enabled, false);
});

call('supabase getProjectSigningKeys', ['ref'], async () => {
  const { data } = await sb.getProjectSigningKeys(s.ref);
  assert.ok(Array.isArray(data.keys));
});

call('supabase createProjectSigningKey', ['ref'], async () => {
  const { status, data } = await sb.createProjectSigningKey(s.ref, { algorithm: 'ES256', status: 'standby' });
  assert.equal(status, 201);
  s.signingKey = data.id;
});

call('supabase updateProjectSigningKey', ['signingKey'], async () => {
  const { data } = await sb.updateProjectSigningKey(s.ref, s.signingKey, { status: 'in_use' });
  assert.equal(data.status, 'in_use');
});

call('supabase getPoolerConfig', ['ref'], async () => {
  const { data } = await sb.getPoolerConfig(s.ref);
  assert.ok(data.length > 0 && data[0].connection_string);
});

call('supabase updateDatabasePassword', ['ref'], async () => {
  const { status } = await sb.updateDatabasePassword(s.ref, { password: 'another-long-password' });
  assert.equal(status, 200);
});

call('supabase runAQuery', ['ref'], async () => {
  const { status, data } = await sb.runAQuery(s.ref, { query: 'select 1' });
  assert.equal(status, 201);
  assert.deepEqual(data, [{ '?column?': 1 }]);
});

call('supabase readOnlyQuery', ['ref'], async () => {
  const { status, data } = await sb.readOnlyQuery(s.ref, { query: 'select 1' });
  assert.equal(status, 201);
  assert.deepEqual(data, [{ '?column?': 1 }]);
  await assert.rejects(sb.readOnlyQuery(s.ref, { query: 'drop table users' }), (e) => e.status === 400);
});

call('supabase getAuthServiceConfig', ['ref'], async () => {
  const { data } = await sb.getAuthServiceConfig(s.ref);
  assert.equal(typeof data.site_url, 'string');
});

call('supabase updateAuthServiceConfig', ['ref'], async () => {
  const { data } = await sb.updateAuthServiceConfig(s.ref,
    { site_url: `https://${NAME}.test`, uri_allow_list: `https://${NAME}.test/**` });
  assert.equal(data.site_url, `https://${NAME}.test`);
});

call('supabase listAllBackups', ['ref'], async () => {
  const { data } = await sb.listAllBackups(s.ref);
  assert.equal(data.pitr_enabled, false);
});

call('supabase restorePitrBackup', ['ref'], async () => {
  // The sandbox's projects have no point-in-time recovery (a paid add-on): refused as the API does.
  await assert.rejects(sb.restorePitrBackup(s.ref, { recovery_time_target_unix: Math.floor(Date.now() / 1000) - 5 }),
    (e) => e.status === 400);
});

call('supabase GET database/backups/schedule (no SDK method; fetch)', ['ref'], async () => {
  const res = await fetch(`${sim.urls.supabase}/v1/projects/${s.ref}/database/backups/schedule`,
    { headers: { authorization: `Bearer ${sim.token}` } });
  assert.ok([200, 402].includes(res.status), `${res.status} ${await res.text()}`);
});

call('supabase deleteAProject', ['ref'], async () => {
  const { data } = await sb.deleteAProject(s.ref);
  assert.equal(data.ref, s.ref);
  await assert.rejects(sb.getProject(s.ref), (e) => e.status === 404);
});

// ---------------------------------------------------------------- Vercel: teardown
call('vercel projects.removeProjectDomain', ['projectDomain'], async () => {
  await vercel.projects.removeProjectDomain({ ...project(), domain: `www.app.${ZONE}`,
    requestBody: { removeRedirects: false } });
  const { domains } = await vercel.projects.getProjectDomains(project());
  assert.deepEqual(domains.map((d) => d.name), [`app.${ZONE}`]);
});

call('vercel environment.removeCustomEnvironment', ['staging'], async () => {
  await vercel.environment.removeCustomEnvironment({ ...project(), environmentSlugOrId: 'staging' });
  const { environments } = await vercel.environment.getProjectsByIdOrNameCustomEnvironments(project());
  assert.equal(environments.length, 0);
});

call('vercel dns.removeRecord', ['record'], async () => {
  await vercel.dns.removeRecord({ teamId: teamId(), domain: APEX, recordId: s.record });
  const { records } = await vercel.dns.getRecords({ teamId: teamId(), domain: APEX });
  assert.ok(!records.some((r) => r.id === s.record));
});

call('vercel domains.deleteDomain', ['domain'], async () => {
  const answer = await vercel.domains.deleteDomain({ teamId: teamId(), domain: APEX });
  assert.equal(answer.uid, s.domain.id);
});

call('vercel projects.deleteProject', ['project'], async () => {
  await vercel.projects.deleteProject(project());
  await assert.rejects(vercel.projects.getProject(project()), (e) => e.statusCode === 404);
  // Its domains went with it: the same name goes on another project at once.
  const again = await vercel.projects.createProject({ teamId: teamId(), requestBody: { name: `${NAME}-2` } });
  const domain = await vercel.projects.addProjectDomain({ teamId: teamId(), idOrName: again.id,
    requestBody: { name: `app.${ZONE}` } });
  assert.equal(domain.projectId, again.id);
  await vercel.projects.deleteProject({ teamId: teamId(), idOrName: again.id });
});
