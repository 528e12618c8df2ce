// The vendors' own CLIs as independent clients of Slipway's simulators: if the official
// Vercel and Supabase CLIs accept what the simulators answer, for every command a user would
// point at them for what Slipway manages (projects, environment variables, domains, DNS
// records, deployments), the simulators speak the real APIs. Each run is judged by the CLI's
// output and by the simulator's request log (the Vercel CLI exits 0 even after a silent crash).
// The Vercel commands run in the sandbox's team (`--scope sandbox-team`), as a studio's would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSimulators, requestLines } from './simulators.mjs';

const home = mkdtempSync(join(tmpdir(), 'slipway-clis-'));
let sim;

before(async () => { sim = await startSimulators(); });
after(() => sim?.stop());

async function api(base, method, path, body) {
  const res = await fetch(base + path, {
    method, headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
}

// Runs a CLI in a throwaway home and working directory (the Supabase CLI writes `supabase/.temp`
// into the working directory).
function run(cmd, args, env, input = '') {
  const out = spawnSync(resolve(cmd), args, {
    cwd: home, env: { PATH: process.env.PATH, HOME: home, ...env }, input, encoding: 'utf8', timeout: 90000,
  });
  return `${out.stdout}\n${out.stderr}`;
}

// Whether the simulator logged `method path` answered with `status` (its output arrives once
// the event loop runs again, after the blocking CLI call).
async function requested(method, path, status = 200) {
  const seen = () => requestLines(sim).some((l) =>
    l.includes(`method=${method} `) && l.includes(`path=${path} `) && l.includes(`status=${status}`));
  for (let i = 0; i < 50 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
  return seen();
}

// ---------------------------------------------------------------- Supabase CLI
function supabase(args) {
  const profile = join(home, 'supabase-profile.yaml');
  writeFileSync(profile, `name: local\napi_url: ${sim.urls.supabase}\ndashboard_url: ${sim.urls.supabase}/dashboard\nproject_host: supabase.test\n`);
  return run('node_modules/.bin/supabase', ['--profile', profile, ...args], {
    SUPABASE_ACCESS_TOKEN: sim.token, SUPABASE_TELEMETRY_DISABLED: '1', SUPABASE_NO_UPDATE_NOTIFIER: '1',
    SUPABASE_NO_KEYRING: '1',
  });
}

test('the Supabase CLI lists the simulator\'s organizations and projects', async () => {
  const project = await api(sim.urls.supabase, 'POST', '/v1/projects',
    { name: 'cli-visible', organization_slug: 'sandbox-org', db_pass: 'pw-0123456789' });
  const orgs = supabase(['orgs', 'list']);
  assert.match(orgs, /sandbox-org\s*\|\s*Sandbox organization/, orgs);
  assert.ok(await requested('GET', '/v1/organizations'), sim.log);
  const projects = supabase(['projects', 'list']);
  assert.match(projects, new RegExp(`${project.ref}.*cli-visible`), projects);
  assert.ok(await requested('GET', '/v1/projects'), sim.log);
});

test('the Supabase CLI creates a project, shows its keys and backups, and deletes it', async () => {
  const created = supabase(['projects', 'create', 'cli-made', '--org-id', 'sandbox-org',
    '--db-password', 'correct-horse-battery', '--region', 'eu-central-1']);
  const ref = created.match(/\|\s*([a-z]{20})\s*\|\s*cli-made\s*\|/)?.[1];
  assert.ok(ref, created);
  assert.match(created, /Central EU \(Frankfurt\)/, created);
  assert.ok(await requested('POST', '/v1/projects', 201), sim.log);

  const keys = supabase(['projects', 'api-keys', '--project-ref', ref]);
  assert.match(keys, /anon\s*\|\s*eyJ/, keys);
  assert.match(keys, /service_role\s*\|\s*eyJ/, keys);
  assert.ok(await requested('GET', `/v1/projects/${ref}/api-keys`), sim.log);

  const backups = supabase(['backups', 'list', '--project-ref', ref]);
  assert.doesNotMatch(backups, /unexpected|error/i, backups);
  assert.ok(await requested('GET', `/v1/projects/${ref}/database/backups`), sim.log);

  const deleted = supabase(['projects', 'delete', ref, '--yes']);
  assert.match(deleted, /Deleted project: cli-made/, deleted);
  assert.ok(await requested('DELETE', `/v1/projects/${ref}`), sim.log);
  assert.doesNotMatch(supabase(['projects', 'list']), /cli-made/);
});

// ---------------------------------------------------------------- Vercel CLI
const TEAM = 'team_sim0000000000000000000001';
const cliEnv = { VERCEL_TELEMETRY_DISABLED: '1', NO_UPDATE_NOTIFIER: '1', CI: '1' };
const vercel = (args, { env = {}, input = '' } = {}) => run('node_modules/.bin/vercel',
  [...args, '--token', sim.token, '--api', sim.urls.vercel, '--scope', 'sandbox-team'], { ...cliEnv, ...env }, input);
const inTeam = (path) => `${path}${path.includes('?') ? '&' : '?'}teamId=${TEAM}`;

test('the Vercel CLI lists the simulator\'s projects and a project\'s variables', async () => {
  const project = await api(sim.urls.vercel, 'POST', inTeam('/v11/projects'), { name: 'cli-visible', framework: 'nextjs' });
  await api(sim.urls.vercel, 'POST', inTeam(`/v10/projects/${project.id}/env?upsert=true`),
    [{ key: 'NEXT_PUBLIC_SUPABASE_URL', value: 'https://x.supabase.co', type: 'plain', target: ['production'] }]);
  const projects = vercel(['project', 'ls']);
  assert.match(projects, /sandbox-team\b[\s\S]*cli-visible/, projects);
  assert.ok((await requested('GET', '/v2/user')) && (await requested('GET', '/v9/projects')), sim.log);

  const linked = { VERCEL_ORG_ID: project.accountId, VERCEL_PROJECT_ID: project.id };
  const vars = vercel(['env', 'ls'], { env: linked });
  assert.match(vars, /NEXT_PUBLIC_SUPABASE_URL/, vars);
  assert.ok(await requested('GET', `/v10/projects/${project.id}/env`), sim.log);
});

test('the Vercel CLI adds, inspects and removes a project', async () => {
  const added = vercel(['project', 'add', 'cli-made']);
  assert.match(added, /Project cli-made added \(sandbox-team\)/, added);
  assert.ok(await requested('POST', '/v1/projects'), sim.log);
  const inspected = vercel(['project', 'inspect', 'cli-made']);
  assert.match(inspected, /Owner\s+Sandbox team/, inspected);
  assert.ok(await requested('GET', '/v9/projects/cli-made'), sim.log);
  const removed = vercel(['project', 'rm', 'cli-made'], { input: 'y\n' });
  assert.match(removed, /Project cli-made removed/, removed);
  assert.ok(await requested('DELETE', '/v2/projects/cli-made', 204), sim.log);
  assert.doesNotMatch(vercel(['project', 'ls']), /cli-made/);
});

test('the Vercel CLI adds, lists, pulls and removes environment variables', async () => {
  const project = await api(sim.urls.vercel, 'POST', inTeam('/v11/projects'), { name: 'cli-env', framework: 'nextjs' });
  const linked = { VERCEL_ORG_ID: TEAM, VERCEL_PROJECT_ID: project.id };
  const added = vercel(['env', 'add', 'PUBLIC_SITE', 'development'], { env: linked, input: 'https://cli.test\n' });
  assert.match(added, /Added\s+PUBLIC_SITE/, added);
  const secret = vercel(['env', 'add', 'API_SECRET', 'production'], { env: linked, input: 'not-for-logs\n' });
  assert.match(secret, /Added\s+API_SECRET[\s\S]*Sensitive/, secret);
  assert.ok(await requested('POST', `/v10/projects/${project.id}/env`, 201), sim.log);

  const listed = vercel(['env', 'ls'], { env: linked });
  assert.match(listed, /PUBLIC_SITE[\s\S]*Development/, listed);
  assert.match(listed, /API_SECRET\s+Hidden/, listed);
  assert.doesNotMatch(listed, /not-for-logs/);

  const file = join(home, 'pulled.env');
  const pulled = vercel(['env', 'pull', file, '--yes'], { env: linked });
  assert.match(pulled, /Created/, pulled);
  assert.match(readFileSync(file, 'utf8'), /^PUBLIC_SITE="https:\/\/cli\.test"$/m);
  assert.ok(await requested('GET', `/v3/env/pull/${project.id}/development`), sim.log);

  const removed = vercel(['env', 'rm', 'PUBLIC_SITE', 'development', '--yes'], { env: linked });
  assert.match(removed, /Removed Environment Variable/, removed);
  assert.doesNotMatch(vercel(['env', 'ls'], { env: linked }), /PUBLIC_SITE/);
  // Nothing the CLI sent or got shows a sensitive value in the simulator's log.
  assert.doesNotMatch(sim.log, /not-for-logs/);
});

test('the Vercel CLI adds, lists, inspects and removes domains, and puts one on a project', async () => {
  const added = vercel(['domains', 'add', 'cli-venture.dev']);
  assert.match(added, /Domain cli-venture\.dev added to sandbox-team/, added);
  assert.ok(await requested('POST', '/v7/domains'), sim.log);
  const listed = vercel(['domains', 'ls']);
  assert.match(listed, /cli-venture\.dev/, listed);
  const inspected = vercel(['domains', 'inspect', 'cli-venture.dev']);
  assert.match(inspected, /ns1\.vercel-dns\.com/, inspected);
  assert.ok(await requested('GET', '/v1/domains/cli-venture.dev/project-domains'), sim.log);

  await api(sim.urls.vercel, 'POST', inTeam('/v11/projects'), { name: 'cli-domains' });
  const onProject = vercel(['domains', 'add', 'app.example.com', 'cli-domains']);
  assert.match(onProject, /Domain app\.example\.com added to project cli-domains/, onProject);
  assert.ok(await requested('POST', '/projects/cli-domains/alias'), sim.log);
  const again = vercel(['domains', 'add', 'app.example.com', 'cli-domains']);
  assert.match(again, /already assigned to project cli-domains/, again);
  const domains = await api(sim.urls.vercel, 'GET', inTeam('/v9/projects/cli-domains/domains'));
  assert.deepEqual(domains.domains.map((d) => d.name), ['app.example.com']);

  const removed = vercel(['domains', 'rm', 'cli-venture.dev', '--yes']);
  assert.match(removed, /Domain cli-venture\.dev removed/, removed);
  assert.ok(await requested('DELETE', '/v3/domains/cli-venture.dev'), sim.log);
  assert.doesNotMatch(vercel(['domains', 'ls']), /cli-venture\.dev/);
});

test('the Vercel CLI adds, lists and removes DNS records', async () => {
  await api(sim.urls.vercel, 'POST', inTeam('/v7/domains'), { name: 'cli-dns.dev' });
  const added = vercel(['dns', 'add', 'cli-dns.dev', 'www', 'CNAME', 'cname.vercel-dns.com']);
  const id = added.match(/DNS record for domain cli-dns\.dev \((rec_\w+)\) created/)?.[1];
  assert.ok(id, added);
  assert.ok(await requested('POST', '/v3/domains/cli-dns.dev/records'), sim.log);
  const listed = vercel(['dns', 'ls', 'cli-dns.dev']);
  assert.match(listed, new RegExp(`${id}\\s+www\\s+CNAME\\s+cname\\.vercel-dns\\.com`), listed);
  assert.ok(await requested('GET', '/v5/domains/cli-dns.dev/records'), sim.log);
  const removed = vercel(['dns', 'rm', id, '--yes']);
  assert.match(removed, new RegExp(`Record ${id} removed`), removed);
  assert.ok(await requested('DELETE', `/v3/domains/cli-dns.dev/records/${id}`), sim.log);
  assert.doesNotMatch(vercel(['dns', 'ls', 'cli-dns.dev']), new RegExp(id));
});

test('the Vercel CLI lists a project\'s deployments and inspects one', async () => {
  await api(sim.urls.vercel, 'POST', inTeam('/v11/projects'), { name: 'cli-deploy', framework: 'nextjs' });
  const deployment = await api(sim.urls.vercel, 'POST', inTeam('/v13/deployments'), { name: 'cli-deploy',
    target: 'production', gitSource: { type: 'github', org: 'acme', repo: 'cli-deploy', ref: 'main' } });
  for (let i = 0; i < 100; i++) {
    const now = await api(sim.urls.vercel, 'GET', inTeam(`/v13/deployments/${deployment.id}`));
    if (now.readyState === 'READY') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const listed = vercel(['ls', 'cli-deploy']);
  assert.match(listed, new RegExp(`https://${deployment.url.replaceAll('.', '\\.')}\\s+● Ready\\s+Production`), listed);
  assert.ok(await requested('GET', '/v6/deployments'), sim.log);
  const inspected = vercel(['inspect', deployment.url]);
  assert.match(inspected, new RegExp(`id\\s+${deployment.id}`), inspected);
  assert.match(inspected, /Builds/, inspected);
  assert.ok(await requested('GET', `/v11/deployments/${deployment.id}/builds`), sim.log);
});
