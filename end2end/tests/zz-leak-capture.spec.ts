// Runs last (files run in name order, on one worker): saves every page, every answer and every
// live log stream each role sees, for the leak scan scripts/e2e.sh runs once the suite is over
// (`slipway vault leak-scan` looks in them, in the database and in the server's output for
// every sealed value, token and the master key). Nothing here reveals a value.
import { test, expect, Browser, APIRequestContext } from '@playwright/test';
import { hydrated, reportErrors, signIn } from './support';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SLIPWAY_E2E_CAPTURE ?? '';
const roles = [
  { username: process.env.SLIPWAY_E2E_ADMIN ?? 'admin', password: process.env.SLIPWAY_E2E_PASSWORD ?? '', token: process.env.SLIPWAY_E2E_ADMIN_TOKEN ?? '' },
  { username: process.env.SLIPWAY_E2E_CREATOR ?? 'casey', password: process.env.SLIPWAY_E2E_CREATOR_PASSWORD ?? '', token: process.env.SLIPWAY_E2E_CREATOR_TOKEN ?? '' },
  { username: process.env.SLIPWAY_E2E_OPERATOR ?? 'otto', password: process.env.SLIPWAY_E2E_OPERATOR_PASSWORD ?? '', token: process.env.SLIPWAY_E2E_OPERATOR_TOKEN ?? '' },
];

let saved = 0;
function save(name: string, text: string) {
  writeFileSync(join(dir, `${String(saved++).padStart(4, '0')}-${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.txt`), text);
}

/// Reads a stream for `ms` milliseconds (a live log stays open) and returns what came.
async function streamFor(request: (signal: AbortSignal) => Promise<Response>, ms: number): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  let text = '';
  try {
    const response = await request(controller.signal);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // Aborted: the stream stays open by design.
  } finally {
    clearTimeout(timer);
  }
  return text;
}

async function restGet(api: APIRequestContext, token: string, path: string, who: string) {
  const response = await api.get(path, { headers: { authorization: `Bearer ${token}` } });
  save(`${who}-rest-${path}`, `${response.status()} ${path}\n${await response.text()}`);
}

/// One role's pages, answers and REST answers; the log streams, which are the same for every
/// role, are read once, by the first.
async function captureAs(browser: Browser, baseURL: string, who: typeof roles[number], streams: boolean) {
  expect(who.token, `an API token for ${who.username}`).not.toBe('');
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  reportErrors(page, who.username);
  page.on('response', async (response) => {
    try {
      save(`${who.username}-answer-${new URL(response.url()).pathname}`, `${response.url()}\n${await response.text()}`);
    } catch {
      // Redirects and streams have no body to read.
    }
  });
  await signIn(page, who);
  save(`${who.username}-page-ventures`, await page.content());

  const headers = { authorization: `Bearer ${who.token}` };
  const list = await (await context.request.get('/api/v1/ventures', { headers })).json();
  const ids: string[] = list.ventures.map((v: { id: string }) => v.id);
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) {
    await page.goto(`/ventures/${id}`);
    await hydrated(page);
    // Each tab once it has loaded (the live log keeps the network busy: no idle to wait for).
    for (const tab of ['Overview', 'Environment', 'Database & Auth', 'Log']) {
      await page.getByRole('tab', { name: tab }).click();
      await expect(page.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true');
      await expect(page.getByText('Loading…')).toHaveCount(0, { timeout: 15_000 });
      save(`${who.username}-page-${id}-${tab}`, await page.content());
    }
    const paths = [`/api/v1/ventures/${id}`, `/api/v1/ventures/${id}/env`, `/api/v1/ventures/${id}/env.example`];
    if (streams) paths.push(`/api/v1/ventures/${id}/plan`, `/api/v1/ventures/${id}/events?after=0&limit=1000`);
    const reads: Promise<void>[] = paths.map((path) => restGet(context.request, who.token, path, who.username));
    if (streams) {
      // The dashboard's live log (session cookie) and the REST one (token).
      const cookies = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      reads.push(streamFor((signal) => fetch(`${baseURL}/api/ventures/${id}/events`, { headers: { cookie: cookies }, signal }), 800)
        .then((text) => save(`sse-dashboard-${id}`, text)));
      reads.push(streamFor((signal) => fetch(`${baseURL}/api/v1/ventures/${id}/events?after=0`, {
        headers: { ...headers, accept: 'text/event-stream' }, signal,
      }), 800).then((text) => save(`sse-rest-${id}`, text)));
    }
    await Promise.all(reads);
  }
  await restGet(context.request, who.token, '/api/v1/ventures', who.username);
  await restGet(context.request, who.token, '/api/v1/connections', who.username);
  await context.close();
}

test('every page, answer and live log each role sees is saved for the leak scan', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  expect(dir, 'SLIPWAY_E2E_CAPTURE names the capture directory').not.toBe('');
  mkdirSync(dir, { recursive: true });
  await Promise.all(roles.map((who, i) => captureAs(browser, baseURL!, who, i === 0)));
  expect(saved).toBeGreaterThan(30);
});
