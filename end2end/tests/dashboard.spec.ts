import { test, expect, Page } from '@playwright/test';
import { Who, hydrated, reportErrors, signIn as signInAs } from './support';

const admin = {
  username: process.env.SLIPWAY_E2E_ADMIN ?? 'admin',
  password: process.env.SLIPWAY_E2E_PASSWORD ?? '',
};
// Ventures are created as a creator would create them, not as an admin.
const creator = {
  username: process.env.SLIPWAY_E2E_CREATOR ?? 'casey',
  password: process.env.SLIPWAY_E2E_CREATOR_PASSWORD ?? '',
};

const operator = {
  username: process.env.SLIPWAY_E2E_OPERATOR ?? 'otto',
  password: process.env.SLIPWAY_E2E_OPERATOR_PASSWORD ?? '',
};

test.beforeEach(({ page }) => reportErrors(page));

async function signIn(page: Page, who: Who = admin) {
  await signInAs(page, who);
}

test('a logged-out visitor is sent to the login page', async ({ page }) => {
  await page.goto('/ventures');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: 'Sign in to Slipway' })).toBeVisible();
});

test('a wrong password is refused with a message', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(admin.username);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('login-error')).toContainText('wrong username or password');
  await expect(page).toHaveURL(/\/login$/);
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page);
  await expect(page.getByTestId('signed-in-user')).toContainText('admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  // The session is gone at the server, not only in this page.
  await page.goto('/ventures');
  await expect(page).toHaveURL(/\/login$/);
});

/// Opens one of the venture page's tabs.
async function openTab(page: Page, name: 'Overview' | 'Environment' | 'Database & Auth' | 'Domains' | 'Log') {
  await page.getByRole('tab', { name }).click();
  await expect(page.getByRole('tab', { name })).toHaveAttribute('aria-selected', 'true');
}

/// Signs in and types a new venture's name and repository into the one-click form.
async function startVenture(page: Page, prefix: string, repository: string): Promise<string> {
  await signIn(page, creator);
  const name = `${prefix}-${Date.now()}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('GitHub repository').fill(repository);
  return name;
}

test('a creator creates a venture and watches it provision live', async ({ page }) => {
  test.setTimeout(120_000);
  const name = await startVenture(page, 'e2e', 'acme/storefront');
  // The settings come pre-filled with the defaults; change two.
  await page.getByTestId('settings').locator('summary').click();
  await expect(page.getByLabel('Production branch')).toHaveValue('main');
  await expect(page.getByLabel('Node.js version')).toHaveValue('22.x');
  await page.getByLabel('Supabase region').selectOption('eu-west-1');
  await page.getByLabel('Staging branch').fill('next');
  await page.getByRole('button', { name: 'Create and provision' }).click();

  await expect(page).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  await expect(page.getByTestId('venture-name')).toHaveText(name);
  await openTab(page, 'Log');
  const log = page.getByTestId('live-log').locator('li');
  // Lines arrive one by one while the job runs (the sandbox simulator is slowed down), and
  // the page is never reloaded: count them as they come.
  await expect(log.first()).toBeVisible();
  const seenWhileProvisioning = await log.count();
  await expect(page.getByTestId('vercel-project-id')).toHaveText(/^prj_/);
  const linesAtEnd = await log.count();
  expect(linesAtEnd).toBeGreaterThanOrEqual(2);
  expect(linesAtEnd).toBeGreaterThan(seenWhileProvisioning);
  await expect(page.getByTestId('live-log')).toContainText('Creating Vercel project');
  // The whole apply: Supabase comes up, keys are wired into Vercel, production deploys.
  await expect(page.getByTestId('live-log')).toContainText(`${name} is ready`, { timeout: 60_000 });
  await expect(page.getByTestId('live-log')).toContainText('Every Supabase service is healthy');
  await expect(page.getByTestId('live-log')).toContainText('Production is live');
  await expect(page.getByTestId('venture-status')).toHaveText('ready');
  // Every step done, and what exists at the platforms.
  await openTab(page, 'Overview');
  await expect(page.getByTestId('steps').locator('li[data-status="done"]')).toHaveCount(17);
  await expect(page.getByTestId('resources')).toContainText('Supabase project');
  await expect(page.getByTestId('resources')).toContainText('(ready)');
  await expect(page.getByTestId('resources')).toContainText('eu-west-1');
  await expect(page.getByTestId('resources')).toContainText('next');
  await expect(page.getByTestId('secret-names')).toContainText('sealed values');
  // The log filters by step; the live lines stay underneath.
  await openTab(page, 'Log');
  await page.getByTestId('log-step').selectOption('vercel.deploy');
  await expect(log.filter({ hasNotText: 'vercel.deploy' })).toHaveCount(0);
  await expect(page.getByTestId('live-log')).toContainText('Production is live');
  await page.getByTestId('log-step').selectOption('');
  await page.getByTestId('log-level').selectOption('warn');
  await expect(log.filter({ hasText: 'INFO' })).toHaveCount(0);
  await page.getByTestId('log-level').selectOption('');

  // The list shows it too.
  await page.goto('/ventures');
  const row = page.getByTestId('venture-list').locator('li', { hasText: name });
  await expect(row.getByTestId('venture-progress')).toHaveText('17/17 steps');
  // A search by repository (any letter case) finds it alone; a plain form, no script needed.
  await page.getByLabel('Search ventures').fill('ACME/STOREFRONT');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/search=ACME%2FSTOREFRONT/);
  await expect(page.getByTestId('venture-count')).toContainText('matching “ACME/STOREFRONT”');
  await expect(page.getByTestId('venture-list').locator('li', { hasText: name })).toHaveCount(1);
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/ventures-search.png`, fullPage: true });
});

test('an invalid name shows the rule next to the field and creates nothing', async ({ page }) => {
  await signIn(page);
  await page.getByLabel('Name', { exact: true }).fill('Not Valid');
  await page.getByLabel('GitHub repository').fill('acme/storefront');
  await page.getByRole('button', { name: 'Create and provision' }).click();
  await expect(page.getByTestId('error-name')).toContainText('name must be lowercase');
  await expect(page.getByTestId('error-repository')).toHaveCount(0);
  await expect(page).toHaveURL(/\/ventures$/);
  await expect(page.getByTestId('venture-list')).not.toContainText('Not Valid');
});

test('the connections page shows the last check with its age, and checks on demand once per 30 s', async ({ page }) => {
  await signIn(page);
  await page.getByTestId('top-nav').getByRole('link', { name: 'Connections' }).click();
  // The server checked in the background when it started; the page shows that result.
  await expect(page.getByTestId('connection-vercel')).toHaveAttribute('data-connected', 'true');
  await expect(page.getByTestId('connection-supabase')).toHaveAttribute('data-connected', 'true');
  await expect(page.getByTestId('connection-supabase')).toContainText('organization sandbox-org');
  // The DNS doctor's resolver: the sandbox's own DNS server.
  await expect(page.getByTestId('connection-dns')).toHaveAttribute('data-connected', 'true');
  await expect(page.getByTestId('connection-dns')).toContainText('1 of 1 resolver(s) answer');
  await expect(page.getByTestId('connections-age')).toContainText(/Checked \d+ (s|min|h) ago\./);
  // It reloads itself (without a notice) to show the background check's newer results.
  await expect(page.locator('meta[http-equiv="refresh"]')).toHaveAttribute('content', '30; url=/connections');

  await page.getByTestId('check-now').click();
  await expect(page.getByTestId('connections-notice')).toHaveText('Checked just now: every platform answers.');
  await expect(page.getByTestId('connections-age')).toContainText(/Checked [0-5] s ago\./);
  await expect(page.getByTestId('connection-vercel')).toContainText('Vercel connected');
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/connections.png`, fullPage: true });
  // A second check on demand so soon is refused, saying when to ask again.
  await page.getByTestId('check-now').click();
  await expect(page.getByTestId('connections-notice')).toContainText('once every 30 s per user; try again in');
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/connections-too-soon.png`, fullPage: true });
});

test('the plan is previewed before anything is created', async ({ page }) => {
  const name = await startVenture(page, 'plan', 'acme/planned');
  await page.getByTestId('settings').locator('summary').click();
  await page.getByLabel('Supabase region').selectOption('emea');
  await page.getByRole('button', { name: 'Preview plan' }).click();
  const rows = page.getByTestId('plan-row');
  await expect(rows).toHaveCount(12);
  await expect(page.getByTestId('plan')).toContainText('region emea (nearest available)');
  await expect(page.locator('[data-testid="plan-row"][data-action="create"]')).toHaveCount(8);
  await expect(page.getByTestId('plan')).toContainText('Supabase project');
  // Previews get a database of their own by default, and the form says it is billed.
  await expect(rows.filter({ hasText: 'Supabase staging project' })).toContainText(`${name}-staging`);
  await expect(page.getByTestId('settings')).toContainText('billed by Supabase');
  await expect(page.getByTestId('venture-list')).not.toContainText(name);
  // Turning staging off takes it out of the plan.
  await page.getByLabel('Staging environment, deployed from branch').uncheck();
  await page.getByRole('button', { name: 'Preview plan' }).click();
  await expect(page.getByTestId('plan')).toContainText('disabled in the spec');
  await expect(page.locator('[data-testid="plan-row"][data-action="create"]')).toHaveCount(5);
  await expect(page.getByTestId('plan')).toContainText('no database variables');
  // Sharing production's database is an opt-in the plan names as a risk.
  await page.getByLabel('Database for staging, previews and development').selectOption('production');
  await page.getByRole('button', { name: 'Preview plan' }).click();
  await expect(page.getByTestId('plan-warning')).toContainText('read and write production data');
});

test('a venture is destroyed from its page once its name is typed, even mid-apply', async ({ page }) => {
  test.setTimeout(90_000);
  const name = await startVenture(page, 'gone', 'acme/gone');
  await page.getByRole('button', { name: 'Create and provision' }).click();
  await expect(page).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  await openTab(page, 'Log');
  await expect(page.getByTestId('live-log')).toContainText('Creating Vercel project');

  await page.getByTestId('destroy-confirm').fill('not-the-name');
  await page.getByRole('button', { name: 'Destroy' }).click();
  await expect(page.getByTestId('action-message')).toContainText("must repeat the venture's name");
  await expect(page.getByTestId('venture-status')).not.toHaveText('destroying');

  await page.getByTestId('destroy-confirm').fill(name);
  await page.getByRole('button', { name: 'Destroy' }).click();
  await expect(page.getByTestId('live-log')).toContainText('The apply under way stops');
  await expect(page.getByTestId('venture-status')).toHaveText('destroyed', { timeout: 60_000 });
  await expect(page.getByTestId('live-log')).toContainText(`${name} is destroyed`);
  // Applying a destroyed venture again is refused with a reason.
  await page.getByRole('button', { name: 'Apply again' }).click();
  await expect(page.getByTestId('action-message')).toContainText('was destroyed; create a new venture');
});

test('a creator adds a secret and a plain variable, syncs, sees both in sync, and no page or answer holds the secret', async ({ page }) => {
  test.setTimeout(120_000);
  const secret = `sk_live_e2e_${Date.now()}_x9`;
  const answers: string[] = [];
  page.on('response', async (response) => {
    try {
      answers.push(await response.text());
    } catch {
      // Redirects and streams have no body to read.
    }
  });
  const name = await startVenture(page, 'envs', 'acme/envs');
  await page.getByRole('button', { name: 'Create and provision' }).click();
  await expect(page).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  await expect(page.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });
  await openTab(page, 'Environment');
  const editor = page.getByTestId('env-editor');
  await editor.getByLabel('Key').fill('STRIPE_SECRET_KEY');
  await editor.getByLabel('Description').fill('Stripe API key');
  await editor.getByLabel('Secret').check();
  await editor.getByLabel('Value for production').fill(secret);
  await editor.getByLabel('Value for preview').fill(secret);
  await editor.getByRole('button', { name: 'Save variable' }).click();
  const stripe = page.getByTestId('env-cell-STRIPE_SECRET_KEY-production');
  await expect(stripe.getByTestId('env-value')).toHaveText('••••••••');
  await expect(page.getByTestId('env-cell-STRIPE_SECRET_KEY-development').getByTestId('env-value')).toHaveText('—');
  // A plain one; a broken rule shows under its field and saves nothing.
  await editor.getByLabel('Key').fill('FEATURE_CHECKOUT');
  await editor.getByLabel('Value for development').fill('on');
  await editor.getByRole('button', { name: 'Save variable' }).click();
  await expect(page.getByTestId('env-error-description')).toContainText('is required');
  await editor.getByLabel('Description').fill('Turns the new checkout on');
  await editor.getByRole('button', { name: 'Save variable' }).click();
  await expect(page.getByTestId('env-cell-FEATURE_CHECKOUT-development').getByTestId('env-value')).toHaveText('on');
  await expect(stripe).toHaveAttribute('data-state', 'pending');

  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(stripe).toHaveAttribute('data-state', 'in_sync', { timeout: 60_000 });
  await expect(page.getByTestId('env-cell-FEATURE_CHECKOUT-development')).toHaveAttribute('data-state', 'in_sync');
  await expect(page.getByTestId('env-cell-POSTGRES_URL-production')).toHaveAttribute('data-state', 'in_sync');

  // The .env.example has the descriptions; the secret is left empty.
  const href = await page.getByTestId('env-example').getAttribute('href');
  const example = await (await page.request.get(href!)).text();
  expect(example).toContain('# Stripe API key (secret)\nSTRIPE_SECRET_KEY=\n');
  expect(example).toContain("# Turns the new checkout on\nFEATURE_CHECKOUT='on'\n");

  // Neither the page nor any answer the browser received holds the secret.
  await page.reload();
  await hydrated(page);
  await openTab(page, 'Environment');
  await expect(stripe).toHaveAttribute('data-state', 'in_sync');
  expect(await page.content()).not.toContain(secret);
  expect(answers.length).toBeGreaterThan(10);
  expect(answers.filter((body) => body.includes(secret))).toEqual([]);
  expect(example).not.toContain(secret);
  expect(name).toBeTruthy();
});

test('an operator sees masked names and cannot reveal; an admin reveals one value and its audit line appears', async ({ browser }) => {
  test.setTimeout(90_000);
  const secret = `sk_live_roles_${Date.now()}_q7`;
  // A creator makes a venture with a secret.
  const creatorPage = await (await browser.newContext()).newPage();
  await startVenture(creatorPage, 'roles', 'acme/roles');
  await creatorPage.getByRole('button', { name: 'Create and provision' }).click();
  await expect(creatorPage).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  const url = creatorPage.url();
  const id = url.split('/').pop()!;
  await hydrated(creatorPage);
  await openTab(creatorPage, 'Environment');
  const editor = creatorPage.getByTestId('env-editor');
  await editor.getByLabel('Key').fill('STRIPE_SECRET_KEY');
  await editor.getByLabel('Description').fill('Stripe API key');
  await editor.getByLabel('Secret').check();
  await editor.getByLabel('Value for production').fill(secret);
  await editor.getByRole('button', { name: 'Save variable' }).click();
  await expect(creatorPage.getByTestId('env-cell-STRIPE_SECRET_KEY-production').getByTestId('env-value')).toHaveText('••••••••');
  await expect(creatorPage.getByTestId('env-cell-STRIPE_SECRET_KEY-production').getByRole('button', { name: 'Reveal' })).toHaveCount(0);

  // The operator: names, masks and states; no reveal, no editor; one sent by hand is refused.
  const operatorPage = await (await browser.newContext()).newPage();
  await signIn(operatorPage, operator);
  await operatorPage.goto(url);
  await hydrated(operatorPage);
  await openTab(operatorPage, 'Environment');
  const cell = operatorPage.getByTestId('env-cell-STRIPE_SECRET_KEY-production');
  await expect(cell.getByTestId('env-value')).toHaveText('••••••••');
  await expect(operatorPage.getByTestId('env-table').getByRole('button', { name: 'Reveal' })).toHaveCount(0);
  await expect(operatorPage.getByTestId('env-editor')).toHaveCount(0);
  const byHand = await operatorPage.request.post('/api/reveal_env', {
    form: { id, key: 'STRIPE_SECRET_KEY', environment: 'production' },
  });
  expect(byHand.status()).toBe(403);
  expect(await byHand.text()).not.toContain(secret);
  expect(await operatorPage.content()).not.toContain(secret);

  // The admin reveals it, one value, and the audit line names who and what.
  const adminPage = await (await browser.newContext()).newPage();
  await signIn(adminPage, admin);
  await adminPage.goto(url);
  await hydrated(adminPage);
  await openTab(adminPage, 'Environment');
  const adminCell = adminPage.getByTestId('env-cell-STRIPE_SECRET_KEY-production');
  await adminCell.getByRole('button', { name: 'Reveal' }).click();
  await expect(adminCell.getByTestId('env-value')).toHaveText(secret);
  await expect(adminPage.getByTestId('reveal-line').first()).toContainText('admin revealed STRIPE_SECRET_KEY (production)');
});

test('a variable changed at Vercel shows as changed there, a sync repairs it, and production is redeployed', async ({ page }) => {
  test.setTimeout(150_000);
  const sandboxToken = process.env.SLIPWAY_E2E_SANDBOX_TOKEN ?? '';
  const apiToken = process.env.SLIPWAY_E2E_ADMIN_TOKEN ?? '';
  expect(sandboxToken && apiToken, 'e2e.sh passes the sandbox and API tokens').toBeTruthy();
  await startVenture(page, 'drift', 'acme/drift');
  await page.getByRole('button', { name: 'Create and provision' }).click();
  await expect(page).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  await expect(page.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });
  await openTab(page, 'Environment');
  const editor = page.getByTestId('env-editor');
  await editor.getByLabel('Key').fill('CHECKOUT_MODE');
  await editor.getByLabel('Description').fill('Which checkout the shop shows');
  await editor.getByLabel('Value for production').fill('embedded-v2');
  await editor.getByRole('button', { name: 'Save variable' }).click();
  const cell = page.getByTestId('env-cell-CHECKOUT_MODE-production');
  await expect(cell).toHaveAttribute('data-state', 'pending');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(cell).toHaveAttribute('data-state', 'in_sync', { timeout: 60_000 });

  // Someone edits it at Vercel (here: the sandbox's simulated Vercel, found on the Connections API).
  const connections = await (await page.request.get('/api/v1/connections', { headers: { authorization: `Bearer ${apiToken}` } })).json();
  const vercel = connections.connections.find((c: { platform: string }) => c.platform === 'Vercel').base_url;
  const project = (await page.getByTestId('vercel-project-id').textContent())!.trim();
  const team = 'teamId=team_sim0000000000000000000001';
  const auth = { authorization: `Bearer ${sandboxToken}` };
  const listed = await (await page.request.get(`${vercel}/v10/projects/${project}/env?${team}`, { headers: auth })).json();
  const entry = listed.envs.find((e: { key: string; target: string[] }) => e.key === 'CHECKOUT_MODE' && e.target.includes('production'));
  expect(entry, 'Slipway wrote the variable to Vercel').toBeTruthy();
  const edited = await page.request.patch(`${vercel}/v9/projects/${project}/env/${entry.id}?${team}`, { headers: auth, data: { value: 'legacy' } });
  expect(edited.ok()).toBeTruthy();

  // The tab says so, and the next sync puts Slipway's value back.
  await page.reload();
  await hydrated(page);
  await openTab(page, 'Environment');
  await expect(cell).toHaveAttribute('data-state', 'drifted');
  await expect(cell).toContainText('changed at Vercel');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(cell).toHaveAttribute('data-state', 'in_sync', { timeout: 60_000 });
  const after = await (await page.request.get(`${vercel}/v10/projects/${project}/env?${team}`, { headers: auth })).json();
  const restored = after.envs.filter((e: { key: string; target: string[] }) => e.key === 'CHECKOUT_MODE' && e.target.includes('production'));
  expect(restored.map((e: { value: string }) => e.value)).toEqual(['embedded-v2']);

  // A redeploy builds production again with the variables; the log shows it live.
  await page.getByRole('button', { name: 'Redeploy production now' }).click();
  await openTab(page, 'Log');
  const log = page.getByTestId('live-log');
  await expect(log).toContainText('Redeploying production', { timeout: 30_000 });
  await expect(log.locator('li', { hasText: 'Production is live at https://' })).toHaveCount(2, { timeout: 60_000 });
});

test('sign-in and RLS: the Database & Auth tab shows both projects, their tables linted clean, and the secrets set there turn GitHub on for each', async ({ page }) => {
  test.setTimeout(150_000);
  const token = process.env.SLIPWAY_E2E_CREATOR_TOKEN ?? '';
  expect(token, 'e2e.sh passes the creator\'s API token').not.toBe('');
  await signIn(page, creator);
  // The venture generator's way: a spec over REST naming the GitHub apps (never a secret).
  const name = `signin-${Date.now().toString(36)}`;
  const created = await page.request.post('/api/v1/ventures', {
    headers: { authorization: `Bearer ${token}` },
    data: {
      name,
      repository: 'acme/signin',
      auth: { github: { client_id: 'Iv1.e2eproduction', staging_client_id: 'Iv1.e2estaging' } },
      database: { tables: { notes: { template: 'owner' }, projects: { template: 'team' } } },
    },
  });
  expect(created.status()).toBe(201);
  const id: string = (await created.json()).venture.id;
  await page.goto(`/ventures/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('signin-panel')).toBeHidden();
  await openTab(page, 'Database & Auth');
  const production = page.getByTestId('signin-project-production');
  const staging = page.getByTestId('signin-project-staging');
  await expect(production.getByTestId('signin-callback')).toHaveText(/^https:\/\/[a-z]{20}\.supabase\.co\/auth\/v1\/callback$/);
  await expect(staging.getByTestId('signin-callback')).toHaveText(/^https:\/\/[a-z]{20}\.supabase\.co\/auth\/v1\/callback$/);
  await expect(production.getByTestId('signin-used-by')).toHaveText('production');
  await expect(staging.getByTestId('signin-used-by')).toHaveText('development, preview, staging');
  await expect(production.getByTestId('signin-redirects')).toContainText(`https://${name}.vercel.app/**`);
  await expect(production.getByTestId('signin-redirects')).not.toContainText('localhost');
  await expect(staging.getByTestId('signin-redirects')).toContainText(`https://${name}-*-`);
  await expect(staging.getByTestId('signin-redirects')).toContainText('http://localhost:3000/**');
  for (const project of [production, staging]) {
    await expect(project.getByTestId('signin-provider-github')).toHaveAttribute('data-state', 'waiting for its client secret');
    // Both tables have their templates on both projects, and the linter (on real PostgreSQL
    // behind the sandbox's Supabase) finds nothing exposed.
    await expect(project.getByTestId('db-table-notes')).toHaveAttribute('data-applied', 'true');
    await expect(project.getByTestId('db-table-notes')).toContainText('owner');
    await expect(project.getByTestId('db-table-projects')).toContainText('team_id (members in team_members)');
    await expect(project.getByTestId('db-lint')).toHaveAttribute('data-state', 'clean');
  }
  await expect(page.getByTestId('lint-errors')).toHaveAttribute('data-errors', '0');
  await page.getByRole('button', { name: 'Lint the databases now' }).click();
  await expect(page).toHaveURL(/tab=auth/);
  await hydrated(page);
  await expect(page.getByTestId('signin-notice')).toHaveText('The linter found no error.');

  // At the simulated Vercel, no preview entry holds a value of the production project.
  const productionRef = (await production.getByTestId('signin-callback').textContent())!.trim().slice(8, 28);
  const stagingRef = (await staging.getByTestId('signin-callback').textContent())!.trim().slice(8, 28);
  const connections = await (await page.request.get('/api/v1/connections', { headers: { authorization: `Bearer ${token}` } })).json();
  const vercel = connections.connections.find((c: { platform: string }) => c.platform === 'Vercel').base_url;
  const sandboxAuth = { authorization: `Bearer ${process.env.SLIPWAY_E2E_SANDBOX_TOKEN ?? ''}` };
  const team = 'teamId=team_sim0000000000000000000001';
  const project = (await (await page.request.get(`/api/v1/ventures/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()).venture.vercel_project_id;
  const envs = (await (await page.request.get(`${vercel}/v10/projects/${project}/env?${team}&decrypt=true`, { headers: sandboxAuth })).json()).envs;
  const previews = envs.filter((e: { target: string[] }) => e.target.includes('preview'));
  expect(previews.length).toBeGreaterThan(0);
  for (const entry of previews) expect(String(entry.value ?? ''), entry.key).not.toContain(productionRef);
  const previewUrl = previews.find((e: { key: string }) => e.key === 'NEXT_PUBLIC_SUPABASE_URL');
  expect(previewUrl.value).toContain(stagingRef);

  // Each app's secret through its form; the page comes back on the tab and never shows it.
  for (const [project, app, secret] of [[production, 'production', 'gh-e2e-production-secret'], [staging, 'staging', 'gh-e2e-staging-secret']] as const) {
    const form = project.getByTestId(`signin-secret-github-${app}`);
    await form.getByLabel(`GitHub client secret (${app} app)`).fill(secret);
    await form.getByRole('button', { name: 'Set secret' }).click();
    await expect(page).toHaveURL(/tab=auth/);
    await hydrated(page);
    await expect(page.getByTestId('signin-notice')).toContainText(`github client secret of the ${app} app is sealed`);
    await expect(page.getByTestId('signin-panel')).toBeVisible();
    expect(await page.content()).not.toContain(secret);
  }
  // Applied again, GitHub is on at both projects and the plan has nothing left to do.
  await page.getByRole('button', { name: 'Apply again' }).click();
  const auth = { authorization: `Bearer ${token}` };
  await expect.poll(async () => {
    const plan = await (await page.request.get(`/api/v1/ventures/${id}/plan`, { headers: auth })).json();
    return (plan.actions ?? []).filter((a: { resource: string; action: string }) => a.resource.includes('sign-in')).map((a: { action: string }) => a.action);
  }, { timeout: 60_000 }).toEqual(['no_change', 'no_change']);
  await page.goto(`/ventures/${id}?tab=auth`);
  await hydrated(page);
  for (const project of [production, staging]) {
    await expect(project.getByTestId('signin-provider-github')).toHaveAttribute('data-state', 'on');
  }
  await expect(staging.getByTestId('signin-providers')).toContainText('Iv1.e2estaging');
  const shots = process.env.SLIPWAY_E2E_SCREENSHOTS;
  if (shots) await page.screenshot({ path: `${shots}/database-and-auth.png`, fullPage: true });
});

test('RLS: a table someone made at Supabase without RLS is found by the lint button, and the venture needs attention until it is fixed', async ({ page }) => {
  test.setTimeout(120_000);
  const token = process.env.SLIPWAY_E2E_CREATOR_TOKEN ?? '';
  const sandboxToken = process.env.SLIPWAY_E2E_SANDBOX_TOKEN ?? '';
  expect(token && sandboxToken, 'e2e.sh passes the API and sandbox tokens').toBeTruthy();
  const auth = { authorization: `Bearer ${token}` };
  await signIn(page, creator);
  const name = `lint-${Date.now().toString(36)}`;
  const created = await page.request.post('/api/v1/ventures', {
    headers: auth,
    data: { name, repository: 'acme/lint', environments: { staging: { enabled: false } }, database: { tables: { notes: { template: 'owner' } } } },
  });
  expect(created.status()).toBe(201);
  const id: string = (await created.json()).venture.id;
  await page.goto(`/ventures/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });

  // At the sandbox's Supabase (its URL is on the Connections API), a table without RLS.
  const connections = await (await page.request.get('/api/v1/connections', { headers: auth })).json();
  const supabase = connections.connections.find((c: { platform: string }) => c.platform === 'Supabase').base_url;
  const database = await (await page.request.get(`/api/v1/ventures/${id}/database`, { headers: auth })).json();
  const reference = database.projects[0].reference;
  const query = async (sql: string) => {
    const sent = await page.request.post(`${supabase}/v1/projects/${reference}/database/query`, { headers: { authorization: `Bearer ${sandboxToken}` }, data: { query: sql } });
    expect(sent.status(), await sent.text()).toBe(201);
  };
  await query('create table public.orders (id int primary key)');

  await page.goto(`/ventures/${id}?tab=auth`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Lint the databases now' }).click();
  await expect(page).toHaveURL(/tab=auth/);
  await hydrated(page);
  await expect(page.getByTestId('signin-notice')).toHaveText('The linter found 1 error(s): the venture needs attention.');
  await expect(page.getByTestId('venture-status')).toHaveText('needs_attention');
  const production = page.getByTestId('signin-project-production');
  await expect(production.getByTestId('db-lint')).toHaveAttribute('data-state', 'errors');
  const finding = production.locator('[data-testid="db-finding"][data-rule="rls_disabled_in_public"]');
  await expect(finding).toContainText('public.orders');
  await expect(finding).toContainText('fix: alter table public.orders enable row level security');
  const shots = process.env.SLIPWAY_E2E_SCREENSHOTS;
  if (shots) await page.screenshot({ path: `${shots}/database-needs-attention.png`, fullPage: true });

  await query('alter table public.orders enable row level security');
  await page.getByRole('button', { name: 'Lint the databases now' }).click();
  await hydrated(page);
  await expect(page.getByTestId('signin-notice')).toHaveText('The linter found no error.');
  await expect(page.getByTestId('venture-status')).toHaveText('ready');
});

test('domains: the wizard checks the name as understood, previews the records and findings, and every check turns green after apply', async ({ page }) => {
  test.setTimeout(180_000);
  const token = process.env.SLIPWAY_E2E_CREATOR_TOKEN ?? '';
  expect(token, 'e2e.sh passes the API token').toBeTruthy();
  await signIn(page, creator);
  const name = `domains-${Date.now().toString(36)}`;
  const created = await page.request.post('/api/v1/ventures', {
    headers: { authorization: `Bearer ${token}` },
    data: { name, repository: 'acme/domains', environments: { staging: { enabled: false } } },
  });
  expect(created.status()).toBe(201);
  const id: string = (await created.json()).venture.id;
  await page.goto(`/ventures/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });
  await openTab(page, 'Domains');
  const panel = page.getByTestId('domains-panel');
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId('domain-state')).toHaveCount(0);

  // A name Vercel gives every deployment is refused, naming the field and the rule.
  await panel.getByTestId('domain-input').fill('my-app.vercel.app');
  await panel.getByTestId('domain-preview-button').click();
  await expect(page.getByTestId('domain-issues')).toContainText('domain.name: is a name Vercel gives every deployment');

  // www under a multi-label suffix is understood by the public suffix list.
  await page.getByTestId('domain-input').fill('www.example.co.uk');
  await page.getByTestId('domain-dns').selectOption('manual');
  await page.getByTestId('domain-preview-button').click();
  await expect(page.getByTestId('domain-preview')).toContainText('Visitors stay on www.example.co.uk; example.co.uk answers 308 to it.');

  // The sandbox's Cloudflare zone: the records one by one, and what is there now.
  await page.getByTestId('domain-input').fill('Example.COM.');
  await page.getByTestId('domain-dns').selectOption('cloudflare');
  await page.getByTestId('domain-preview-button').click();
  const preview = page.getByTestId('domain-preview');
  await expect(preview).toContainText('Visitors stay on example.com; www.example.com answers 308 to it.');
  // Vercel recommends its edge's address: in the sandbox, the simulated edge on 127.0.0.1.
  await expect(preview.getByTestId('domain-records')).toContainText('+ A example.com 127.0.0.1');
  await expect(preview.getByTestId('domain-records')).toContainText('+ CNAME www.example.com cname.vercel-dns.com');
  await expect(preview.getByTestId('domain-findings').locator('li[data-check="missing"]')).toHaveCount(2);
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/domains-preview.png`, fullPage: true });

  // Apply: each check turns green as it passes, without touching the page.
  await preview.getByTestId('domain-apply').click();
  await expect(page.getByTestId('domains-notice')).toContainText('example.com is in the spec');
  await hydrated(page);
  const apex = page.getByTestId('domain-name-example.com');
  for (const check of ['on the project', 'verified', 'DNS configured']) {
    await expect(apex.locator(`[data-check="${check}"]`)).toHaveAttribute('data-ok', 'true', { timeout: 90_000 });
  }
  await expect(page.getByTestId('domain-state').locator('[data-check="issued"]')).toHaveAttribute('data-ok', 'true', { timeout: 90_000 });
  await expect(page.getByTestId('domain-state').getByTestId('domain-findings')).toContainText('No finding');
  await expect(page.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });
  // HTTPS at the edge, with the certificate Vercel issued: the site, and the redirect.
  await expect(apex.locator('[data-check="HTTPS"]')).toHaveAttribute('data-ok', 'true', { timeout: 30_000 });
  await expect(apex.getByTestId('domain-https')).toHaveText('→ 200');
  const www = page.getByTestId('domain-name-www.example.com');
  await expect(www.locator('[data-check="HTTPS"]')).toHaveAttribute('data-ok', 'true');
  await expect(www.getByTestId('domain-https')).toHaveText('→ 308 https://example.com/');
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await page.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/domains-live.png`, fullPage: true });
});

test("ownership: another creator's venture shows no action and refuses one sent by hand; the admin's Audit page lists who did what", async ({ browser }) => {
  test.setTimeout(90_000);
  // The admin makes a venture.
  const adminPage = await (await browser.newContext()).newPage();
  await signIn(adminPage, admin);
  const name = `admins-${Date.now()}`;
  await adminPage.getByLabel('Name', { exact: true }).fill(name);
  await adminPage.getByLabel('GitHub repository').fill('acme/admins');
  await adminPage.getByRole('button', { name: 'Create and provision' }).click();
  await expect(adminPage).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  const url = adminPage.url();
  const id = url.split('/').pop()!;
  await hydrated(adminPage);
  await expect(adminPage.getByTestId('venture-actions')).toBeVisible();

  // A creator sees it, who made it, and no action; one sent by hand is refused by the rule.
  const creatorPage = await (await browser.newContext()).newPage();
  await signIn(creatorPage, creator);
  await creatorPage.goto(url);
  await hydrated(creatorPage);
  await expect(creatorPage.getByTestId('venture-created-by')).toHaveText(`Created by ${admin.username}`);
  await expect(creatorPage.getByTestId('venture-actions')).toHaveCount(0);
  await expect(creatorPage.getByTestId('venture-read-only')).toContainText('only its creator and admins change it');
  await expect(adminPage.getByTestId('venture-read-only')).toHaveCount(0);
  await openTab(creatorPage, 'Environment');
  await expect(creatorPage.getByTestId('env-editor')).toHaveCount(0);
  await openTab(creatorPage, 'Database & Auth');
  await expect(creatorPage.getByRole('button', { name: 'Lint the databases now' })).toHaveCount(0);
  const byHand = await creatorPage.request.post('/api/destroy_venture', { form: { id, confirm: name } });
  expect(byHand.status()).toBe(403);
  expect(await byHand.text()).toContain(`${name} was created by ${admin.username}: a creator may destroy this venture only when they created it`);
  await expect(creatorPage.getByTestId('top-nav').getByRole('link', { name: 'Audit' })).toHaveCount(0);
  const audit = await creatorPage.request.post('/api/audit_log', { form: {} });
  expect(audit.status()).toBe(403);

  // Someone guesses the creator's password once.
  const guess = await (await browser.newContext()).newPage();
  await guess.goto('/login');
  await hydrated(guess);
  await guess.getByLabel('Username').fill(creator.username);
  await guess.getByLabel('Password').fill('a-wrong-guess-7');
  await guess.getByRole('button', { name: 'Sign in' }).click();
  await expect(guess.getByTestId('login-error')).toContainText('wrong username or password');

  // The admin destroys it; the Audit page shows who did that, and the failed sign-in.
  await adminPage.getByTestId('destroy-confirm').fill(name);
  await adminPage.getByRole('button', { name: 'Destroy' }).click();
  await expect(adminPage.getByTestId('venture-status')).toHaveText('destroyed', { timeout: 60_000 });
  await adminPage.getByTestId('top-nav').getByRole('link', { name: 'Audit' }).click();
  await expect(adminPage).toHaveURL(/\/audit$/);
  const log = adminPage.getByTestId('audit-log');
  await expect(log.locator('tr[data-action="venture.destroy"]').first()).toContainText(name);
  await expect(log.locator('tr[data-action="venture.destroy"]').first()).toContainText(admin.username);
  await expect(log.locator('tr[data-action="login.failed"]').first()).toContainText(`${creator.username}`);
  await expect(log.locator('tr[data-action="login.failed"]').first()).toContainText('wrong password');
  await expect(log).not.toContainText('a-wrong-guess-7');
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await adminPage.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/audit.png`, fullPage: true });
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await creatorPage.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/not-yours.png`, fullPage: true });
});

test('users: an admin changes a role, disables a user (whose session ends at once), enables them and sets a password', async ({ browser }) => {
  test.setTimeout(60_000);
  const otto = await (await browser.newContext()).newPage();
  await signIn(otto, operator);
  const adminPage = await (await browser.newContext()).newPage();
  await signIn(adminPage, admin);
  await adminPage.getByTestId('top-nav').getByRole('link', { name: 'Users' }).click();
  await expect(adminPage).toHaveURL(/\/users$/);
  const row = adminPage.getByTestId(`user-${operator.username}`);
  // Signed in in this test (and perhaps earlier ones): at least one open session.
  await expect(row.getByTestId('user-state')).toHaveText(/^active, [1-9]\d* session\(s\)$/);
  await expect(adminPage.getByTestId('tokens').getByText('e2e').first()).toBeVisible();
  if (process.env.SLIPWAY_E2E_SCREENSHOTS) await adminPage.screenshot({ path: `${process.env.SLIPWAY_E2E_SCREENSHOTS}/users.png`, fullPage: true });

  await row.getByLabel(`Role of ${operator.username}`).selectOption('creator');
  await row.getByRole('button', { name: 'Change' }).click();
  await expect(adminPage.getByTestId('users-notice')).toHaveText(`${operator.username} is now creator.`);
  await row.getByLabel(`Role of ${operator.username}`).selectOption('operator');
  await row.getByRole('button', { name: 'Change' }).click();
  await expect(adminPage.getByTestId('users-notice')).toHaveText(`${operator.username} is now operator.`);

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(adminPage.getByTestId('users-notice')).toContainText(`${operator.username} is disabled`);
  await expect(row).toHaveAttribute('data-disabled', 'true');
  await otto.goto('/ventures');
  await expect(otto).toHaveURL(/\/login$/);
  await expect(row.getByTestId('user-state')).toHaveText('disabled');
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toHaveAttribute('data-disabled', 'false');
  await expect(row.getByTestId('user-state')).toHaveText('active, 0 session(s)');

  // A new password (the same one the suite knows, so later tests sign in as before).
  await row.getByLabel(`New password for ${operator.username}`).fill(operator.password);
  await row.getByRole('button', { name: 'Set' }).click();
  await expect(adminPage.getByTestId('users-notice')).toContainText('has a new password; their sessions ended');
  await signIn(otto, operator);
  await expect(otto.getByTestId('signed-in-user')).toContainText(operator.username);
  // The admin's own row has no Disable button.
  await expect(adminPage.getByTestId(`user-${admin.username}`).getByRole('button', { name: 'Disable' })).toHaveCount(0);
});

test('an admin rotates the Supabase secret key from the Environment tab and the history shows where each value lives', async ({ browser }) => {
  test.setTimeout(150_000);
  // A creator's venture: the creator sees the policy and the history, but no "Rotate now".
  const creatorPage = await (await browser.newContext()).newPage();
  await startVenture(creatorPage, 'rotate', 'acme/rotate');
  await creatorPage.getByRole('button', { name: 'Create and provision' }).click();
  await expect(creatorPage).toHaveURL(/\/ventures\/[0-9a-f-]+$/);
  await expect(creatorPage.getByTestId('venture-status')).toHaveText('ready', { timeout: 60_000 });
  const url = creatorPage.url();
  await creatorPage.reload();
  await hydrated(creatorPage);
  await openTab(creatorPage, 'Environment');
  const creatorRow = creatorPage.getByTestId('rotation-secret-SUPABASE_SECRET_KEY');
  await expect(creatorRow).toContainText('90d');
  await expect(creatorRow).toContainText('set ');
  await expect(creatorRow.getByRole('button', { name: 'Rotate now' })).toHaveCount(0);
  await expect(creatorPage.getByTestId('rotation-history')).toHaveText('No rotation yet.');

  // The admin rotates it: the page comes back to the tab with a notice, and the rotation runs.
  const adminPage = await (await browser.newContext()).newPage();
  await signIn(adminPage, admin);
  await adminPage.goto(url);
  await hydrated(adminPage);
  await openTab(adminPage, 'Environment');
  await adminPage.getByTestId('rotate-SUPABASE_SECRET_KEY').getByRole('button', { name: 'Rotate now' }).click();
  await expect(adminPage.getByTestId('rotation-notice')).toContainText('The rotation of SUPABASE_SECRET_KEY is under way');
  await expect(adminPage.getByTestId('rotation-panel')).toBeVisible();
  await expect(async () => {
    await adminPage.reload();
    await expect(adminPage.getByTestId('rotation').first()).toHaveAttribute('data-outcome', 'succeeded', { timeout: 1_000 });
  }).toPass({ timeout: 90_000 });
  const rotation = adminPage.getByTestId('rotation').first();
  await expect(rotation).toContainText('by admin');
  await expect(rotation).toContainText('built with it: production');
  await expect(rotation).toContainText('built with it: staging');
  await expect(rotation).toContainText('replaced: production');
  await expect(rotation.getByTestId('rotation-warning')).toContainText('Instant Rollback');
  await expect(adminPage.getByTestId('rotation-secret-SUPABASE_SECRET_KEY')).toContainText('rotated ');
  // No key value anywhere on the page.
  expect(await adminPage.content()).not.toMatch(/sb_secret_[A-Za-z0-9]{20}/);
  // The signing key says how it rotates, and why never the legacy JWT secret.
  await expect(adminPage.getByTestId('rotation-secret-JWT_SIGNING_KEY').getByTestId('rotation-explanation'))
    .toContainText('never rotates the legacy JWT secret');
  // The database password: the admin must first accept the connection cut it causes.
  const password = adminPage.getByTestId('rotate-POSTGRES_PASSWORD');
  await expect(password.getByTestId('rotation-cut-warning')).toContainText('cuts every live connection');
  const accept = password.getByRole('checkbox');
  await expect(accept).toHaveAttribute('required', '');
  await accept.check();
  await password.getByRole('button', { name: 'Rotate now' }).click();
  await expect(adminPage.getByTestId('rotation-notice')).toContainText('The rotation of POSTGRES_PASSWORD is under way');
  await expect(async () => {
    await adminPage.reload();
    await expect(adminPage.getByTestId('rotation').first()).toHaveAttribute('data-outcome', 'succeeded', { timeout: 1_000 });
  }).toPass({ timeout: 90_000 });
  await expect(adminPage.getByTestId('rotation').first().getByTestId('rotation-cut')).toContainText('connections failed for');
  const shots = process.env.SLIPWAY_E2E_SCREENSHOTS;
  if (shots) await adminPage.screenshot({ path: `${shots}/secret-rotation.png`, fullPage: true });

  // The creator sees that it happened and how it ended, never a value.
  await creatorPage.reload();
  await hydrated(creatorPage);
  await openTab(creatorPage, 'Environment');
  await expect(creatorPage.getByTestId('rotation').first()).toHaveAttribute('data-outcome', 'succeeded');
  expect(await creatorPage.content()).not.toMatch(/sb_secret_[A-Za-z0-9]{20}/);
});
