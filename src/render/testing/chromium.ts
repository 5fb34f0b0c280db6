/**
 * Headless Chromium for the page tests (playwright-core driving the system's
 * /usr/bin/chromium): `openChromium()` gives a browser context with a fresh
 * profile, or undefined when either is missing (the tests then skip).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

export interface PwLocator {
  click(o?: { timeout?: number }): Promise<void>;
  fill(v: string): Promise<void>;
  check(): Promise<void>;
  focus(): Promise<void>;
  count(): Promise<number>;
  first(): PwLocator;
  nth(i: number): PwLocator;
  getAttribute(n: string): Promise<string | null>;
  textContent(): Promise<string | null>;
}
export interface PwPage {
  goto(url: string): Promise<unknown>;
  locator(sel: string): PwLocator;
  /** A JavaScript expression, evaluated in the page (strings keep DOM types out of this Node program). */
  evaluate<T>(expression: string): Promise<T>;
  waitForSelector(sel: string, o?: { timeout?: number; state?: string }): Promise<unknown>;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  emulateMedia(o: { colorScheme?: 'light' | 'dark'; media?: 'print' | 'screen' }): Promise<void>;
  on(ev: 'console' | 'pageerror' | 'request' | 'websocket', fn: (x: unknown) => void): void;
  /** A script run in the page before its own (a test's stand-in for what a browser lacks). */
  addInitScript(script: string): Promise<void>;
  keyboard: { press(k: string): Promise<void> };
  close(): Promise<void>;
}
export interface Browser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}
interface Pw {
  chromium: {
    launchPersistentContext(
      dir: string,
      o: {
        executablePath: string;
        args: string[];
        headless: boolean;
        viewport: { width: number; height: number };
      },
    ): Promise<Browser>;
  };
}

async function loadPlaywright(): Promise<Pw | undefined> {
  try {
    const name = 'playwright-core'; // a variable: tsc does not need its types when it is absent
    return (await import(name)) as Pw;
  } catch {
    return undefined;
  }
}

/** Whether the page tests can run here. */
export const chromiumAvailable: boolean =
  existsSync(CHROMIUM) && (await loadPlaywright()) !== undefined;

/** A headless browser with a fresh profile; `close()` removes the profile too. */
export async function openChromium(): Promise<Browser> {
  const pw = (await loadPlaywright())!;
  const dir = mkdtempSync(join(tmpdir(), 'pe-chromium-'));
  const ctx = await pw.chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    newPage: () => ctx.newPage(),
    close: async () => {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
