import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AppProcess, EtcdServer, type ExampleApp, exited, startExampleApp } from '@repo/testing';

// The discovery dashboard as people use it: the portal example mounts it; a headless Chromium opens
// it while log-service instances start and stop, and the page follows without a reload.
let etcd: EtcdServer;
let browser: Browser | undefined;
const children: ChildProcess[] = [];
const screenshots = join(tmpdir(), 'nestjs-etcd-discovery-screenshots');

beforeAll(async () => {
  etcd = await EtcdServer.start();
  mkdirSync(screenshots, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => exited(child)));
  await etcd.destroy();
});

async function startApp(app: string): Promise<ExampleApp> {
  const started = await startExampleApp(app, { ETCD_HOSTS: etcd.host, TTL: '3', DRAIN_MS: '0' });
  children.push(started.child);
  return started;
}

const rowsOf = (page: Page, service: string) => page.locator(`section[data-service="${service}"] tr.instance`);
const waitForRows = (page: Page, service: string, count: number) =>
  page.waitForFunction(
    ([name, expected]) => document.querySelectorAll(`section[data-service="${name}"] tr.instance`).length === expected,
    [service, count] as const,
    { timeout: 15_000 },
  );

describe('the discovery dashboard', () => {
  it("shows the fleet, its patterns and this app's calls, and follows instances as they start and stop, without a reload", async () => {
    const logs = await Promise.all([1, 2].map(() => startApp('log-service')));
    await startApp('grading-service');
    const portal = await startApp('portal');
    // Debian's Chromium, headless, with a fresh profile (Playwright's own temp dir); the flags keep it
    // from reaching for the network at start.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${portal.url}/`); // redirects to /discovery
    expect(new URL(page.url()).pathname).toBe('/discovery');
    await waitForRows(page, 'log-service', 2);
    await waitForRows(page, 'grading-service', 1);
    expect(await page.locator('#live').innerText()).toBe('live');
    for (const { address } of logs)
      expect((await rowsOf(page, 'log-service').allInnerTexts()).some((text) => text.includes(address))).toBe(true);
    expect(await page.locator('section[data-service="log-service"] .chip[data-pattern="log.append"]').count()).toBe(1);
    expect(await page.locator('section[data-service="grading-service"] .chips').innerText()).toBe(
      'publishes no patterns',
    );
    await page.evaluate(() => ((window as unknown as { untouched: boolean }).untouched = true));

    // Calls from the portal (routed by pattern) show in its dashboard, per instance.
    for (let call = 0; call < 4; call += 1) {
      await fetch(`${portal.url}/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ line: `line ${call}` }),
      });
    }
    await page.waitForFunction(
      () => {
        const cells = [...document.querySelectorAll('section[data-service="log-service"] tr.instance td:nth-child(8)')];
        return cells.map((cell) => parseInt(cell.textContent ?? '0', 10)).reduce((sum, calls) => sum + calls, 0) === 4;
      },
      undefined,
      { timeout: 10_000 },
    );
    await page.screenshot({ path: join(screenshots, 'dashboard-2-instances.png'), fullPage: true });

    const third = await startApp('log-service');
    await waitForRows(page, 'log-service', 3);
    expect(await page.locator('#timeline li.change').first().innerText()).toContain(
      `added log-service ${third.address}`,
    );
    await page.screenshot({ path: join(screenshots, 'dashboard-3-instances.png'), fullPage: true });

    // A rolling deploy: a new log-service with one more pattern. The page shows who lacks it.
    const newer = AppProcess.start(
      'pattern-app',
      { service: 'log-service', messages: ['log.append', 'log.search'], events: [], discovery: { ttl: 3 } },
      { ETCD_HOSTS: etcd.host },
    );
    children.push(newer.child);
    await waitForRows(page, 'log-service', 4);
    const logSection = page.locator('section[data-service="log-service"]');
    expect(await logSection.locator('.badge.warn').innerText()).toBe('instances disagree');
    expect(await logSection.locator('.chip[data-pattern="log.search"]').innerText()).toBe('log.search1/4');
    expect(
      (await rowsOf(page, 'log-service').allInnerTexts()).filter((text) => text.includes('lacks log.search')),
    ).toHaveLength(3);
    await page.screenshot({ path: join(screenshots, 'dashboard-rolling-deploy.png'), fullPage: true });
    newer.kill('SIGTERM');
    await waitForRows(page, 'log-service', 3);

    // A traffic policy written by hand: the page shows it, then a bad document put over it, beside the good one.
    const until = new Date(Date.now() + 3600_000).toISOString();
    const drained = { instances: { [logs[1].address]: { drained: true, until, reason: 'disk' } } };
    await etcd.client().put('/services.policy/log-service').value(JSON.stringify(drained));
    await page.waitForFunction(
      (address) =>
        document.querySelector('section[data-service="log-service"] .policy')?.textContent?.includes(address),
      logs[1].address,
      { timeout: 10_000 },
    );
    expect((await rowsOf(page, 'log-service').allInnerTexts()).filter((text) => text.includes('drained'))).toEqual([
      expect.stringContaining(logs[1].address),
    ]);
    const badAt = Date.now();
    await etcd.client().put('/services.policy/log-service').value('{"instances": 3}');
    await logSection.locator('.badge.rejected').waitFor({ timeout: 10_000 });
    console.log(`[measured] a rejected policy document on the dashboard ${Date.now() - badAt} ms after the put`);
    expect(await logSection.locator('.badge.rejected').innerText()).toMatch(/^rev \d+ rejected: instances must be/);
    expect(await logSection.locator('.policy').innerText()).toContain(`drained ${logs[1].address}`); // the last good one
    await page.screenshot({ path: join(screenshots, 'dashboard-policy-rejected.png'), fullPage: true });
    await etcd.client().delete().key('/services.policy/log-service');
    await logSection.locator('.policy').waitFor({ state: 'detached', timeout: 10_000 });

    logs[0].child.kill('SIGTERM');
    await waitForRows(page, 'log-service', 2);
    expect(await rowsOf(page, 'log-service').allInnerTexts()).not.toContainEqual(
      expect.stringContaining(logs[0].address),
    );
    expect(await page.locator('#timeline').innerText()).toContain(`removed log-service ${logs[0].address}`);
    // Same document: the page changed through server-sent events, not a reload.
    expect(await page.evaluate(() => (window as unknown as { untouched?: boolean }).untouched)).toBe(true);
    await page.screenshot({ path: join(screenshots, 'dashboard-after-stop.png'), fullPage: true });
    console.log(`[measured] dashboard screenshots in ${screenshots}`);
  });
});
