/**
 * The demo's page in real Chromium (Debian's `chromium` package, driven by playwright-core): every
 * button clicked at a desktop width and at a phone's, checking what a person would see, with no
 * console error or page error allowed. A screenshot of each viewport goes to /tmp.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { APIRequestContext, Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, stopDemo, type Demo } from './start.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const VIEWPORTS = [
  { name: 'a desktop', width: 1280, height: 800 },
  { name: 'a phone', width: 390, height: 844 },
] as const;

/**
 * The browser to drive, or why there is none. Under CI=true a missing one throws, so CI can never
 * pass by skipping.
 */
async function findChromium(): Promise<typeof chromium | string> {
  let reason: string;
  if (!existsSync(CHROMIUM)) {
    reason = `Chromium is not installed at ${CHROMIUM} (as root: apt-get install -y chromium)`;
  } else {
    try {
      return (await import('playwright-core')).chromium;
    } catch {
      reason = 'playwright-core is not installed (npm install)';
    }
  }
  if (process.env['CI'] === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[tessera] SKIPPED: the demo page in Chromium: ${reason}`);
  return reason;
}

const found = await findChromium();
const skipReason = typeof found === 'string' ? found : false;

/** What went wrong in the page: console errors, page errors, answers nobody expected to fail. */
interface Watch {
  problems: string[];
  /** Paths of the requests the page sent, in order. */
  requests: string[];
  /** A failed answer the test provokes on purpose: Chromium logs it, and that is fine. */
  expectFailure(status: number, path: string): void;
}

function watch(page: Page, base: string): Watch {
  const expected = new Set<string>();
  const problems: string[] = [];
  const requests: string[] = [];
  const failedLoad = /^Failed to load resource: the server responded with a status of (\d+)/;
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const status = failedLoad.exec(message.text())?.[1];
    const key = `${status} ${message.location().url.replace(base, '')}`;
    if (status === undefined || !expected.has(key)) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => requests.push(request.url().replace(base, '')));
  page.on('response', (response) => {
    const key = `${response.status()} ${response.url().replace(base, '')}`;
    if (response.status() >= 400 && !expected.has(key)) problems.push(`answer: ${key}`);
  });
  return { problems, requests, expectFailure: (status, path) => expected.add(`${status} ${path}`) };
}

describe.skipIf(skipReason)('the demo page in Chromium', () => {
  let demo: Demo | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    const launching = (found as typeof chromium).launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    [demo, browser] = await Promise.all([
      startDemo({ DEMO_FRAMEWORK: 'node', TESSERA_STORE: 'memory:' }),
      launching,
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stopDemo(demo);
  });

  for (const viewport of VIEWPORTS) {
    describe(`on ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
      const user = `ann${randomBytes(3).toString('hex')}`;
      const screenshot = `/tmp/tessera-demo-${viewport.width}x${viewport.height}.png`;
      const signedOutScreenshot = screenshot.replace('.png', '-signed-out.png');
      let context: BrowserContext;
      let page: Page;
      let seen: Watch;
      /** Another device of the same user, as an HTTP client keeping its own cookies. */
      const others: BrowserContext[] = [];
      const device = async (userAgent: string): Promise<APIRequestContext> => {
        const other = await browser!.newContext({ userAgent });
        others.push(other);
        return other.request;
      };
      const login = async (client: APIRequestContext): Promise<void> => {
        const answer = await client.post(`${demo!.url}/api/login`, { data: { user } });
        expect(answer.status()).toBe(200);
      };
      const text = (selector: string): Promise<string> => page.locator(selector).innerText();
      const button = (name: string) => page.getByRole('button', { name, exact: true });
      const alert = () => page.getByRole('alert');
      const isValid = (label: string): Promise<boolean> =>
        page
          .getByLabel(label, { exact: true })
          .evaluate((input: { checkValidity(): boolean }) => input.checkValidity());
      const logInOnPage = async (): Promise<void> => {
        await page.getByLabel('Log in as').fill(user);
        await Promise.all([page.waitForEvent('load'), button('Log in').click()]);
        await expect.poll(() => text('#user')).toBe(user);
      };

      beforeAll(async () => {
        context = await browser!.newContext({
          viewport: { width: viewport.width, height: viewport.height },
        });
        page = await context.newPage();
        page.setDefaultTimeout(10_000);
        seen = watch(page, demo!.url);
        await page.goto(`${demo!.url}/`);
      });
      afterAll(async () => {
        await Promise.all([context.close(), ...others.map((other) => other.close())]);
      });

      it('counts visits', async () => {
        await expect.poll(() => text('#count')).toBe('0');
        await button('Count a visit').click();
        await expect.poll(() => text('#count')).toBe('1');
        await button('Count a visit').click();
        await expect.poll(() => text('#count')).toBe('2');
      });

      it('has the browser check names against their patterns (valid under the v flag)', async () => {
        await page.getByLabel('Log in as').fill('no spaces');
        expect(await isValid('Log in as')).toBe(false);
        await button('Log in').click();
        expect(seen.requests).not.toContain('/api/login');
        await page.getByLabel('Log in as').fill('alice.b@example-1_x');
        expect(await isValid('Log in as')).toBe(true);
        await page.getByLabel('Name', { exact: true }).fill('a.b');
        expect(await isValid('Name')).toBe(false);
        await page.getByLabel('Name', { exact: true }).fill('theme_2-b');
        expect(await isValid('Name')).toBe(true);
      });

      it('logs in, shows the user, the welcome message and this device', async () => {
        await logInOnPage();
        await expect.poll(() => page.locator('.flash').innerText()).toBe(`Welcome, ${user}.`);
        expect(await page.getByLabel('Log in as').isVisible()).toBe(false);
        expect(await text('#count')).toBe('2');
        await expect.poll(() => page.locator('#devices li').count()).toBe(1);
        expect(await text('#devices li')).toContain('This device.');
      });

      it('sets preferences and shows them, and shows why a name is refused', async () => {
        await page.getByLabel('Name', { exact: true }).fill('theme');
        await page.getByLabel('Value', { exact: true }).fill('dark');
        await button('Save preference').click();
        await expect.poll(() => page.locator('#prefs dt').allInnerTexts()).toEqual(['theme']);
        expect(await page.locator('#prefs dd').allInnerTexts()).toEqual(['dark']);
        expect(await page.locator('#no-prefs').isVisible()).toBe(false);

        seen.expectFailure(400, '/api/prefs/__proto__');
        await page.getByLabel('Name', { exact: true }).fill('__proto__');
        await button('Save preference').click();
        await expect.poll(() => alert().innerText()).toContain('"__proto__" is reserved');
        expect(await alert().isVisible()).toBe(true);
        expect(await page.locator('#prefs dt').allInnerTexts()).toEqual(['theme']);
      });

      it('lists the other devices, each with a Revoke button that fits on the screen', async () => {
        for (const agent of ['Phone (demo test)', 'Tablet (demo test)'])
          await login(await device(agent));
        await button('Count a visit').click();
        await expect.poll(() => page.locator('#devices li').count()).toBe(3);
        expect(await text('#devices')).toContain('Phone (demo test)');
        expect(await text('#devices')).toContain('Tablet (demo test)');
        expect(
          await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'),
        ).toBe(true);
        const revokes = page.getByRole('button', { name: /^Revoke / });
        expect(await revokes.count()).toBe(2);
        for (const revoke of await revokes.all()) {
          await revoke.scrollIntoViewIfNeeded();
          const box = (await revoke.boundingBox())!;
          expect(box.x).toBeGreaterThanOrEqual(0);
          expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
          // Visible, enabled, and the element a click there would hit.
          await revoke.click({ trial: true });
        }
      });

      it('shows an error the server answers with, and clears it on the next success', async () => {
        seen.expectFailure(503, '/api/count');
        await page.route('**/api/count', (route) =>
          route.fulfill({
            status: 503,
            contentType: 'application/json',
            body: '{"error":"STORE_UNAVAILABLE"}',
          }),
        );
        await button('Count a visit').click();
        await expect
          .poll(() => alert().innerText())
          .toBe('The server answered 503 (STORE_UNAVAILABLE). Try again in a moment.');
        expect(await text('#count')).toBe('3');
        await page.screenshot({ path: screenshot, fullPage: true });
        console.info(
          `[tessera] the demo page on ${viewport.name}: ${screenshot}, ${signedOutScreenshot}`,
        );
        await page.unroute('**/api/count');
        await button('Count a visit').click();
        await expect.poll(() => text('#count')).toBe('4');
        expect(await alert().innerText()).toBe('');
      });

      it('revokes one device, then all the others', async () => {
        const [phone, tablet] = others.map((other) => other.request);
        await page.getByRole('button', { name: /^Revoke Phone/ }).click();
        await expect.poll(() => page.locator('#devices li').count()).toBe(2);
        expect(await text('#devices')).not.toContain('Phone (demo test)');
        const session = async (client: APIRequestContext): Promise<unknown> =>
          (await client.get(`${demo!.url}/api/session`)).json();
        expect(await session(phone!)).toMatchObject({ user: null });
        // The revoked device's button is gone: focus is not left on nothing.
        await expect
          .poll(() => page.evaluate<string>('document.activeElement.id'))
          .toBe('devices-heading');

        await button('Log out everywhere else').click();
        await expect.poll(() => page.locator('#devices li').count()).toBe(1);
        expect(await page.getByRole('button', { name: /^Revoke / }).count()).toBe(0);
        expect(await session(tablet!)).toMatchObject({ user: null });
        expect(await text('#user')).toBe(user);
      });

      it('tells this page it was signed out when another device revoked it', async () => {
        const laptop = await device('Laptop (demo test)');
        const revokeThisPage = async (): Promise<void> => {
          await login(laptop);
          const list = (await (await laptop.get(`${demo!.url}/api/devices`)).json()) as Array<{
            id: string;
            current: boolean;
          }>;
          const target = list.find((d) => !d.current)!;
          const answer = await laptop.post(`${demo!.url}/api/devices/${target.id}/revoke`);
          expect(answer.status()).toBe(200);
        };
        await revokeThisPage();
        // The page still shows the user: its next action finds out.
        expect(await text('#user')).toBe(user);
        await button('Count a visit').click();
        await expect.poll(() => alert().innerText()).toContain('You were signed out');
        expect(await page.getByLabel('Log in as').isVisible()).toBe(true);
        expect(await page.locator('#known').isVisible()).toBe(false);
        await page.screenshot({ path: signedOutScreenshot, fullPage: true });

        await logInOnPage();
        await revokeThisPage();
        seen.expectFailure(401, '/api/devices/revoke-others');
        await button('Log out everywhere else').click();
        await expect.poll(() => alert().innerText()).toContain('You were signed out');
        expect(await page.getByLabel('Log in as').isVisible()).toBe(true);
        await expect
          .poll(() => page.evaluate<string>('document.activeElement.id'))
          .toBe('user-name');
      });

      it('logs out, then forgets the session', async () => {
        await logInOnPage();
        await button('Log out').click();
        await expect.poll(() => page.getByLabel('Log in as').isVisible()).toBe(true);
        expect(await page.locator('#known').isVisible()).toBe(false);
        expect(await alert().innerText()).toBe('');
        await expect
          .poll(() => page.evaluate<string>('document.activeElement.id'))
          .toBe('user-name');

        await button('Count a visit').click();
        await expect.poll(() => text('#count')).not.toBe('0');
        await button('Forget this session').click();
        await expect.poll(() => text('#count')).toBe('0');
        expect(await page.locator('#prefs dt').count()).toBe(0);
        expect(await page.locator('#no-prefs').isVisible()).toBe(true);
      });

      it('declares an icon that loads, so the browser asks for no /favicon.ico', async () => {
        const href = (await page.locator('link[rel="icon"]').getAttribute('href'))!;
        expect(href).toMatch(/^data:image\/svg\+xml,/);
        expect(
          await page.evaluate<boolean>(`fetch(${JSON.stringify(href)}).then((r) => r.ok)`),
        ).toBe(true);
        expect(seen.requests).not.toContain('/favicon.ico');
      });

      it('logged no console error and no page error, and got no unexpected failed answer', () => {
        expect(seen.problems).toEqual([]);
      });
    });
  }
});
