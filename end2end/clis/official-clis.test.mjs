// The vendors' own CLIs as independent clients of Slipway's simulators: if the official
// Vercel and Supabase CLIs accept what the simulators answer, the simulators speak the real
// APIs. Each run is judged by the CLI's output and by the simulator's request log (the
// Vercel CLI exits 0 even after a silent crash).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const bin = process.env.SLIPWAY_BIN ?? '../target/debug/slipway';
const token = 'sbp_' + randomBytes(20).toString('hex');
const home = mkdtempSync(join(tmpdir(), 'slipway-clis-'));
let sim;
let log = '';
const urls = {};

before(async () => {
  sim = spawn(bin, ['sim', '--token', token, '--vercel-port', '0', '--supabase-port', '0', '--cloudflare-port', '0',
    '--supabase-ready-secs', '0'], { env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' } });
  sim.stdout.on('data', (d) => { log += d; });
  sim.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 15000;
  while (!(urls.vercel && urls.supabase)) {
    assert.ok(Date.now() < deadline, `simulators did not start:\n${log}`);
    for (const [name, key] of [['Vercel API', 'vercel'], ['Supabase API', 'supabase']]) {
      const m = log.match(new RegExp(`${name}:\\s+(http://\\S+)`));
      if (m) urls[key] = m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => sim?.kill());

async function api(base, method, path, body) {
  const res = await fetch(base + path, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

function run(cmd, args, env) {
  const out = spawnSync(cmd, args, {
    env: { PATH: process.env.PATH, HOME: home, ...env }, input: '', encoding: 'utf8', timeout: 90000,
  });
  return `${out.stdout}\n${out.stderr}`;
}

// Whether the simulator logged a successful request to `path` (its output arrives once the
// event loop runs again, after the blocking CLI call).
async function requested(path) {
  const seen = () => log.split('\n').some((l) => l.includes('simulated request') && l.includes(`path=${path} `) && l.includes('status=200'));
  for (let i = 0; i < 50 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
  return seen();
}

test('the Supabase CLI lists the simulator\'s organizations and projects', async () => {
  const project = await api(urls.supabase, 'POST', '/v1/projects',
    { name: 'cli-visible', organization_slug: 'sandbox-org', db_pass: 'pw-0123456789' });
  const profile = join(home, 'supabase-profile.yaml');
  writeFileSync(profile, `name: local\napi_url: ${urls.supabase}\ndashboard_url: ${urls.supabase}/dashboard\nproject_host: supabase.test\n`);
  const env = {
    SUPABASE_ACCESS_TOKEN: token, SUPABASE_TELEMETRY_DISABLED: '1', SUPABASE_NO_UPDATE_NOTIFIER: '1', SUPABASE_NO_KEYRING: '1',
  };
  const orgs = run('node_modules/.bin/supabase', ['--profile', profile, 'orgs', 'list'], env);
  assert.match(orgs, /sandbox-org\s*\|\s*Sandbox organization/, orgs);
  assert.ok(await requested('/v1/organizations'), log);
  const projects = run('node_modules/.bin/supabase', ['--profile', profile, 'projects', 'list'], env);
  assert.match(projects, new RegExp(`${project.ref}.*cli-visible`), projects);
  assert.ok(await requested('/v1/projects'), log);
});

test('the Vercel CLI lists the simulator\'s projects and a project\'s variables', async () => {
  const project = await api(urls.vercel, 'POST', '/v11/projects', { name: 'cli-visible', framework: 'nextjs' });
  await api(urls.vercel, 'POST', `/v10/projects/${project.id}/env?upsert=true`,
    [{ key: 'NEXT_PUBLIC_SUPABASE_URL', value: 'https://x.supabase.co', type: 'plain', target: ['production'] }]);
  const env = { VERCEL_TELEMETRY_DISABLED: '1', NO_UPDATE_NOTIFIER: '1', CI: '1' };
  const projects = run('node_modules/.bin/vercel', ['project', 'ls', '--token', token, '--api', urls.vercel], env);
  assert.match(projects, /cli-visible/, projects);
  assert.ok((await requested('/v2/user')) && (await requested('/v9/projects')), log);

  const linked = { ...env, VERCEL_ORG_ID: project.accountId, VERCEL_PROJECT_ID: project.id };
  const vars = run('node_modules/.bin/vercel', ['env', 'ls', '--token', token, '--api', urls.vercel], linked);
  assert.match(vars, /NEXT_PUBLIC_SUPABASE_URL/, vars);
  assert.ok(await requested(`/v10/projects/${project.id}/env`), log);
});
