/**
 * `-o html` in a real browser: headless Chromium (via playwright-core) loads
 * the page an example trace renders to, with no network, and checks that the
 * picture has one arrow per wire the hop list names, that clicking a hop (and
 * pressing Enter on it) toggles its details, that clicking an arrow opens its
 * hop, that the Content-Security-Policy let our script run and blocked
 * nothing, and that the page lays out in light, dark and print. Screenshots
 * go to PE_HTML_SHOTS when set (kept there for a human to look at), else to a
 * temp dir removed afterwards.
 *
 * Skips unless /usr/bin/chromium and the playwright-core module are present.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { traceConnection, type TraceOptions } from '../trace/connection.js';
import { planTwin } from '../twin/index.js';
import { pathOf, renderTraceHtml, wiresOf } from './html.js';
import { chromiumAvailable, openChromium, type Browser } from './testing/chromium.js';

function trace(example: string, opts: TraceOptions): ReturnType<typeof traceConnection> {
  const path = `examples/${example}.yaml`;
  const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
  const built = buildModel(loaded.objects);
  return traceConnection(planTwin(built.model), opts);
}

const CASES: { name: string; example: string; opts: TraceOptions }[] = [
  {
    name: 'two-nodes-service',
    example: 'two-nodes',
    opts: { from: 'default/frontend', to: 'svc/default/store-be:80', allPaths: true },
  },
  {
    name: 'flannel-vxlan',
    example: 'flannel-vxlan',
    opts: { from: 'default/pod1', to: 'default/pod4:80' },
  },
  {
    name: 'gce-egress',
    example: 'gce-egress',
    opts: { from: 'default/app', to: 'host/internet:443' },
  },
  { name: 'hairpin', example: 'hairpin', opts: { from: 'default/web', to: 'svc/default/web:80' } },
];

describe.skipIf(!chromiumAvailable)('html view in headless Chromium', () => {
  let browser: Browser;
  const keep = process.env['PE_HTML_SHOTS'];
  const shots = keep ?? mkdtempSync(join(tmpdir(), 'pe-html-'));

  beforeAll(async () => {
    browser = await openChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (keep === undefined) rmSync(shots, { recursive: true, force: true });
  });

  it.each(CASES)(
    '$name: arrows, toggles, CSP, screenshots',
    async ({ name, example, opts }) => {
      const t = trace(example, opts);
      const html = renderTraceHtml(t);
      const file = join(shots, `${name}.html`);
      writeFileSync(file, html);
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        const msg = m as { type(): string; text(): string };
        if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text());
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      try {
        await page.goto(`file://${file}`);
        await page.screenshot({ path: join(shots, `${name}-light.png`), fullPage: true });

        // One arrow per wire, per leg: path hops minus one.
        for (const [leg, l] of [
          ['request', t.request],
          ['reply', t.reply],
        ] as const) {
          const wires = l ? wiresOf(l, leg).length : 0;
          expect(wires).toBe(l ? Math.max(0, pathOf(l).length - 1) : 0);
          expect(await page.locator(`svg.diagram a.arrow[data-leg="${leg}"]`).count()).toBe(wires);
          expect(await page.locator(`.hop[data-leg="${leg}"]`).count()).toBe(
            l ? pathOf(l).length : 0,
          );
        }
        expect(await page.locator('svg.diagram a.arrow').count()).toBeGreaterThan(0);

        // Clicking a hop's summary toggles its details, both ways; Enter does too.
        const isOpen = (id = 'request-hop-2'): Promise<boolean> =>
          page.evaluate(`document.querySelector('#${id} > details').open`);
        expect(await isOpen()).toBe(false);
        await page.locator('#request-hop-2 > details > summary').first().click({ timeout: 5000 });
        expect(await isOpen()).toBe(true);
        await page.locator('#request-hop-2 > details > summary').first().click({ timeout: 5000 });
        expect(await isOpen()).toBe(false);
        await page.locator('#request-hop-2 > details > summary').first().focus();
        await page.keyboard.press('Enter');
        expect(await isOpen()).toBe(true);

        // Following an arrow (keyboard: focus it, Enter) opens the hop it leaves — the
        // script ran, so the CSP hash matches. (A horizontal arrow has an empty box, which
        // Playwright calls invisible, so it is followed from the keyboard, as a reader would.)
        const last = await page.locator('svg.diagram a.arrow[data-leg="request"]').count();
        const arrow = page.locator('svg.diagram a.arrow[data-leg="request"]').nth(last - 1);
        const target = (await arrow.getAttribute('href'))!.slice(1);
        await arrow.focus();
        await page.keyboard.press('Enter');
        expect(await isOpen(target)).toBe(true);

        // Expand all opens every request hop.
        await page.locator('button.expand[data-leg="request"]').first().click({ timeout: 5000 });
        const closed = await page.evaluate<number>(
          `document.querySelectorAll('.hop[data-leg="request"] > details:not([open])').length`,
        );
        expect(closed).toBe(0);

        // Nothing overflows the SVG's viewBox.
        const overflow = await page.evaluate<string[]>(`(() => {
        const out = [];
        for (const [svgSel, parts] of [['svg.picture', ['g.hosts', 'g.arrows', 'g.badges']], ['svg.wires', ['g.ledger']]]) {
          const svg = document.querySelector(svgSel);
          const vb = svg.viewBox.baseVal;
          for (const sel of parts) {
            const b = svg.querySelector(sel).getBBox();
            if (b.x < -1 || b.y < -1 || b.x + b.width > vb.width + 1 || b.y + b.height > vb.height + 1)
              out.push(svgSel + ' ' + sel);
          }
        }
        return out;
      })()`);
        expect(overflow).toEqual([]);

        await page.screenshot({ path: join(shots, `${name}-open.png`), fullPage: true });
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.screenshot({ path: join(shots, `${name}-dark.png`), fullPage: false });
        await page.emulateMedia({ media: 'print', colorScheme: 'light' });
        await page.screenshot({ path: join(shots, `${name}-print.png`), fullPage: false });
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
    },
    60_000,
  );

  it('the alternatives switch', async () => {
    const t = trace('two-nodes', {
      from: 'default/frontend',
      to: 'svc/default/store-be:80',
      allPaths: true,
    });
    expect(t.alternatives?.length).toBe(3);
    const file = join(shots, 'alts.html');
    writeFileSync(file, renderTraceHtml(t));
    const page = await browser.newPage();
    try {
      await page.goto(`file://${file}`);
      const visible = (): Promise<number> =>
        page.evaluate(`document.querySelectorAll('.alt-panel:not([hidden])').length`);
      expect(await visible()).toBe(1);
      const radios = page.locator('input[name="alt"]');
      await radios.nth(2).click({ timeout: 5000 });
      expect(await visible()).toBe(1);
      expect(
        await page.evaluate(`document.querySelector('.alt-panel:not([hidden])').dataset.alt`),
      ).toBe('2');
    } finally {
      await page.close();
    }
  }, 60_000);
});
