// What the specs share: waiting for hydration, and signing in as one of e2e.sh's users.
import { expect, Page } from '@playwright/test';

export type Who = { username: string; password: string };

/// A page that never hydrates has usually panicked in the browser: say so in the report.
export function reportErrors(page: Page, who = '') {
  const tag = who ? ` (${who})` : '';
  page.on('pageerror', (error) => console.log(`pageerror on ${page.url()}${tag}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`console error on ${page.url()}${tag}: ${message.text()}`);
  });
}

export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function signIn(page: Page, who: Who) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/ventures$/);
  await hydrated(page);
}
