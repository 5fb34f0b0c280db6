/**
 * `packeteye serve`'s page in headless Chromium (via playwright-core): it
 * loads from the server with nothing else (every request goes to the server
 * that served it; no console error, so the Content-Security-Policy let the
 * inline script run and blocked nothing), suggests endpoints as one types,
 * draws the trace of the question asked, switches between the --all-paths
 * alternatives, fetches the hops' steps when a hop is first opened and the
 * defaults' tables when their section is first opened, opens a
 * hop's rules (the node's chain, the matched rule marked), and says why a
 * question is refused.
 *
 * Skips unless /usr/bin/chromium and the playwright-core module are present.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  openChromium,
  type Browser,
  type PwPage,
} from '../render/testing/chromium.js';
import { diskIo } from './testing/disk-io.js';
import { buildProgram } from './main.js';
import { loadCommands } from './commands.js';
import { startServe, type ServeHandle } from './serve.js';

// buildProgram registers the loaded commands; main loads what its command line needs.
await loadCommands();

/**
 * Waits until an expression holds in the page. Playwright's waitForFunction
 * evaluates inside the page, which the page's CSP (no eval) refuses, as it should.
 */
async function until(page: PwPage, expression: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate<boolean>(expression))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!chromiumAvailable)('serve: the page in headless Chromium', () => {
  let browser: Browser;
  let h: ServeHandle;

  beforeAll(async () => {
    h = await startServe(diskIo(), {
      files: ['examples/two-nodes.yaml'],
      port: 0,
      program: (qio) => buildProgram(qio),
    });
    browser = await openChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('loads, picks, traces, switches alternative and opens a hop’s rules', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      const msg = m as { type(): string; text(): string };
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    const httpQuestions: string[] = [];
    page.on('request', (r) => {
      const url = (r as { url(): string }).url();
      requests.push(url);
      if (url.includes('/api/')) httpQuestions.push(url);
    });
    // The page asks its questions over one WebSocket: each message names what a GET would ask.
    const sockets: string[] = [];
    page.on('websocket', (w) => {
      const ws = w as {
        url(): string;
        on(ev: 'framesent', fn: (f: { payload: unknown }) => void): void;
      };
      sockets.push(ws.url());
      ws.on('framesent', (f) =>
        requests.push(new URL(String(f.payload).replace(/^\d+ /, ''), h.url).href),
      );
    });
    try {
      await page.goto(h.url);
      await until(page, `document.getElementById('status').textContent.includes('2 nodes')`);

      // Typing suggests what can be picked: the server's endpoints, Services with their ports.
      await page.locator('#to').fill('store-be');
      await until(
        page,
        `[...document.querySelectorAll('#to-list option')].some((o) => o.value === 'svc/default/store-be:80')`,
      );
      await page.locator('#from').fill('default/frontend');
      await page.locator('#to').fill('svc/default/store-be:80');
      await page.locator('#all-paths').check();
      await page.locator('button[type=submit]').click();
      await page.waitForSelector('#result .hop', { timeout: 20_000 });

      // The trace is drawn and listed: arrows in the picture, hops, the question in the address.
      expect(await page.locator('#result svg.diagram a.arrow').count()).toBeGreaterThan(0);
      expect(await page.locator('#result h1').first().textContent()).toBe(
        'default/frontend → svc/default/store-be:80',
      );
      expect(await page.evaluate<string>('location.search')).toContain('all-paths=1');

      // Alternatives: three endpoints, one panel shown at a time; switching shows another.
      const radios = await page.locator('#result input[name="alt"]').count();
      expect(radios).toBe(3);
      const shown = (): Promise<string[]> =>
        page.evaluate(
          `[...document.querySelectorAll('#result .alt-panel')].filter((p) => !p.hidden).map((p) => p.dataset.alt)`,
        );
      const before = await shown();
      expect(before).toHaveLength(1);
      const other = ['0', '1', '2'].find((x) => x !== before[0])!;
      await page.locator(`#result input[name="alt"][value="${other}"]`).click();
      expect(await shown()).toEqual([other]);

      // The hops' bodies come when a hop is first opened: one request for all of them.
      const later = `document.querySelectorAll('#result .hopbody[data-later]').length`;
      expect(await page.evaluate<number>(later)).toBeGreaterThan(0);
      expect(await page.locator('#result li.step').count()).toBe(0);
      const asked = requests.length;
      // A rule step's chip opens the node's chain, the matched rule marked.
      await page.locator('#result button.expand[data-leg="request"]').first().click();
      await until(page, `${later} === 0`);
      expect(await page.locator('#result li.step').count()).toBeGreaterThan(10);
      expect(requests.slice(asked).filter((u) => u.includes('html=hops'))).toHaveLength(1);
      const chip = page.locator('#result .hop .chip.open-rules').first();
      const label = (await chip.textContent())!.trim().split(/\s+/);
      await chip.click();
      await page.waitForSelector('dialog#rules[open] li', { timeout: 10_000 });
      const heading = await page.locator('dialog#rules h2').textContent();
      expect(heading).toContain(`${label[0]} ${label[1]}`);
      const matched = await page.locator('dialog#rules li.matched').textContent();
      expect(matched).toMatch(new RegExp(`^-A ${label[1]} `));
      expect(await page.locator('dialog#rules li').count()).toBeGreaterThanOrEqual(
        Number(label[2]!.slice(1)),
      );
      await page.locator('dialog#rules button').click();

      // The defaults' tables come when their section is first opened, one request, and the
      // opened section shows what the whole view (-o html's) shows under its heading.
      const pending = `document.querySelectorAll('#result .defaultsbody[data-later]').length`;
      expect(await page.evaluate<number>(pending)).toBe(1);
      expect(
        await page.locator('#result section[aria-labelledby="h-defaults"] table').count(),
      ).toBe(0);
      const before2 = requests.length;
      await page.locator('#result details.later-defaults > summary').click();
      await until(page, `${pending} === 0`);
      expect(requests.slice(before2).filter((u) => u.includes('html=defaults'))).toHaveLength(1);
      const whole = (await (
        await fetch(
          `${h.url}api/trace?from=default/frontend&to=svc/default/store-be:80&all-paths=1&seed=1&defaults=touched&html=1&answer=0`,
        )
      ).json()) as { html: string };
      const expected = await page.evaluate<string>(
        `(() => { const t = document.createElement('template'); t.innerHTML = ${JSON.stringify(whole.html)};
          const s = t.content.querySelector('section[aria-labelledby="h-defaults"]'); s.querySelector('h2').remove();
          const left = [...s.querySelectorAll(':scope > p')].filter((p) => p.textContent.includes('left out of this answer'));
          if (left.length !== 1) throw new Error('the whole view says how many were left out once, not ' + left.length);
          left[0].remove(); return s.innerHTML; })()`,
      );
      expect(expected).toContain('<table>');
      expect(
        await page.evaluate<string>(`document.querySelector('#result .defaultsbody').innerHTML`),
      ).toBe(expected);
      // How many were left out is said once, in the opened section's summary.
      expect(
        await page.evaluate<number>(
          `document.querySelector('#result section[aria-labelledby="h-defaults"]').textContent.split('left out of this answer').length - 1`,
        ),
      ).toBe(1);

      // A question the twin cannot answer says why, with its code.
      await page.locator('#from').fill('default/nobody');
      await page.locator('button[type=submit]').click();
      await until(page, `document.getElementById('msg').className === 'error'`);
      expect(await page.locator('#msg').textContent()).toContain('[unknown-ref]');

      // Reloading the address asks the same question again.
      await page.goto(`${h.url}?from=default/frontend&to=svc/default/store-be:80`);
      await page.waitForSelector('#result .hop', { timeout: 20_000 });

      expect(problems).toEqual([]);
      const origin = new URL(h.url).origin;
      expect(requests.filter((u) => !u.startsWith(origin))).toEqual([]);
      // One socket per page load, to the server itself; no question went by fetch.
      expect(sockets).toEqual([
        `${origin.replace(/^http/, 'ws')}/api/ws`,
        `${origin.replace(/^http/, 'ws')}/api/ws`,
      ]);
      expect(requests.filter((u) => u.includes('/api/trace')).length).toBeGreaterThan(3);
      expect(httpQuestions).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('asks by fetch where it cannot open a WebSocket, and draws the same trace', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => requests.push((r as { url(): string }).url()));
    await page.addInitScript('window.WebSocket = undefined;');
    try {
      const q = 'from=default/frontend&to=svc/default/store-be:80';
      await page.goto(`${h.url}?${q}`);
      await page.waitForSelector('#result .hop', { timeout: 20_000 });
      const drawn = await page.evaluate<string>(`document.getElementById('result').innerHTML`);
      expect(requests.filter((u) => u.includes('/api/trace?'))).toHaveLength(1);
      const served = (await (
        await fetch(`${h.url}api/trace?${q}&seed=1&html=brief&answer=0&defaults=touched`)
      ).json()) as { html: string };
      expect(drawn.length).toBeGreaterThan(1000);
      // The page adds its rule buttons to the view it was sent; the hops are the same.
      const hopIds = (html: string): string[] =>
        [...html.matchAll(/<li class="hop[^"]*" id="([^"]+)"/g)].map((m) => m[1]!);
      expect(hopIds(drawn)).toEqual(hopIds(served.html));
      expect(hopIds(drawn).length).toBeGreaterThan(3);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
