/**
 * `reach -o html` in headless Chromium: the page loads with no network and
 * its Content-Security-Policy blocks nothing of its own; the matrix has a row
 * and a column per group and each cell says what the document says; a row's
 * link opens its group's details; it lays out in dark and print too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeMatrix } from '../policy/matrix.js';
import { sourcesFromYaml } from '../policy/testing/yaml.js';
import { buildPolicyWorld } from '../policy/world.js';
import { reachabilityDocument } from './reach-document.js';
import { portsText, renderReachHtml } from './reach-html.js';
import { chromiumAvailable, openChromium, type Browser } from './testing/chromium.js';

const STORE = readFileSync(join(import.meta.dirname, '../../examples/policy-calico.yaml'), 'utf8');

describe.skipIf(!chromiumAvailable)('reach -o html in headless Chromium', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'pe-reach-html-'));
  beforeAll(async () => {
    browser = await openChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    { name: 'grouped', grouping: 'groups' as const, port: undefined },
    {
      name: 'per pod, one port',
      grouping: 'pods' as const,
      port: { protocol: 'TCP' as const, port: 6379 },
    },
  ])(
    '$name: matrix, groups, CSP',
    async ({ name, grouping, port }) => {
      const world = buildPolicyWorld(sourcesFromYaml(STORE));
      const doc = reachabilityDocument(world, computeMatrix(world), {
        grouping,
        externals: true,
        ...(port ? { port } : {}),
      });
      const file = join(dir, `${name}.html`);
      writeFileSync(file, renderReachHtml(doc));
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => problems.push(String((m as { text(): string }).text())));
      page.on('pageerror', (e) => problems.push(String(e)));
      await page.goto(`file://${file}`);
      const n = doc.groups.length;
      expect(await page.locator('#matrix tbody tr').count()).toBe(n);
      expect(await page.locator('#matrix thead th').count()).toBe(n + 1);
      const cells = await page.evaluate<string[][]>(
        `[...document.querySelectorAll('#matrix tbody tr')].map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent))`,
      );
      const want = doc.allowed.map((row) =>
        row.map((id) => {
          const t = portsText(doc.portSets[id]!);
          return port ? (t === 'none' ? '✗' : '✓') : t === 'none' ? '–' : t;
        }),
      );
      expect(cells).toEqual(want);
      expect(cells.flat()).toContain(port ? '✓' : 'TCP 6379');
      // The last row's link opens that group's details, which list its members.
      expect(await page.evaluate<boolean>(`document.getElementById('g${n}').open`)).toBe(false);
      await page
        .locator('#matrix tbody tr th a')
        .nth(n - 1)
        .click();
      expect(await page.evaluate<boolean>(`document.getElementById('g${n}').open`)).toBe(true);
      const members = await page.evaluate<string[]>(
        `[...document.querySelectorAll('#g${n} ul.members li')].map((l) => l.textContent)`,
      );
      expect(members).toEqual(doc.groups[n - 1]!.members);
      // The style applied (the CSP let it through): cells are coloured by class.
      const bg = await page.evaluate<string>(
        `getComputedStyle(document.querySelector('#matrix td.none')).backgroundColor`,
      );
      expect(bg).not.toBe('rgba(0, 0, 0, 0)');
      for (const media of [{ colorScheme: 'dark' as const }, { media: 'print' as const }]) {
        await page.emulateMedia(media);
        await page.screenshot({
          path: join(dir, `${name}-${Object.values(media)[0]}.png`),
          fullPage: true,
        });
      }
      expect(problems).toEqual([]);
      await page.close();
    },
    60_000,
  );

  it('says when there are too many groups to draw, and still lists them', () => {
    const world = buildPolicyWorld(sourcesFromYaml(STORE));
    const doc = reachabilityDocument(world, computeMatrix(world), {
      grouping: 'pods',
      externals: true,
    });
    const many = { ...doc, groups: Array.from({ length: 151 }, () => doc.groups[0]!) };
    const html = renderReachHtml(many);
    expect(html).toMatch(/151 groups: the matrix is not drawn above 150/);
    expect(html.match(/<details id="g/g)).toHaveLength(151);
  });
});
