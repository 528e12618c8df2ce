// What the specs share: waiting for hydration, and signing in as one of e2e.sh's users.
import { expect, Page } from '@playwright/test';

export type Who = { username: string; password: string };

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
