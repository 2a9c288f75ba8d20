import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { EtcdServer, type ExampleApp, exited, startExampleApp } from '@repo/testing';

let etcd: EtcdServer;
let browser: Browser | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  etcd = await EtcdServer.start();
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

describe('the portal page', () => {
  it('lists 3 log-service instances, then 2 after one stops, without a reload', async () => {
    const logs = await Promise.all([1, 2, 3].map(() => startApp('log-service')));
    const portal = await startApp('portal');
    // Debian's Chromium, headless, with a fresh profile (Playwright's own temp dir); the flags keep it
    // from reaching for the network at start.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    await page.goto(`${portal.url}/`);
    const rows = page.locator('section[data-service="log-service"] tr.instance');
    await page.waitForFunction(() => document.querySelectorAll('section[data-service="log-service"] tr.instance').length === 3, undefined, { timeout: 15_000 });
    for (const { address } of logs) await expectRowFor(address);
    await page.evaluate(() => ((window as unknown as { untouched: boolean }).untouched = true));
    await page.screenshot({ path: join(tmpdir(), 'portal-3-instances.png') });

    logs[0]!.child.kill('SIGTERM');
    await page.waitForFunction(() => document.querySelectorAll('section[data-service="log-service"] tr.instance').length === 2, undefined, { timeout: 15_000 });
    expect(await rows.allInnerTexts()).not.toContainEqual(expect.stringContaining(logs[0]!.address));
    // Same document: the list changed through server-sent events, not a reload.
    expect(await page.evaluate(() => (window as unknown as { untouched?: boolean }).untouched)).toBe(true);
    await page.screenshot({ path: join(tmpdir(), 'portal-2-instances.png') });

    async function expectRowFor(address: string) {
      expect((await rows.allInnerTexts()).some((text) => text.includes(address))).toBe(true);
    }
  });
});
