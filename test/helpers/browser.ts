// Debian's Chromium (/usr/bin/chromium) driven by playwright-core: never a
// downloaded browser. A missing browser fails the test (it is installed by
// the Makefile and .ci/run), it does not skip it.
//
// Checks every page of the web UI is held to: no horizontal scrolling, every
// field labelled and every button named (read from the accessibility tree
// Chromium builds, and from the DOM), and screenshots for the README.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './cli.ts';

export const chromiumPath = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: install Debian's chromium (apt-get install chromium; make test does it)`);
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'] });
}

/** Where the screenshots go: .build/screenshots/ in the checkout. */
export const screenshotDir = join(repoRoot, '.build', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  const path = join(screenshotDir, `${name}-${width}.png`);
  // Animations (the waiting pulse, spinners) would make each picture different.
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  return path;
}

/** How far the page is wider than its viewport (0 when it does not scroll sideways). */
export async function horizontalOverflow(page: Page): Promise<{ overflow: number; widest: string }> {
  return page.evaluate(() => {
    const root = document.documentElement;
    const overflow = root.scrollWidth - root.clientWidth;
    let widest = '';
    if (overflow > 0) {
      let right = 0;
      for (const element of Array.from(document.querySelectorAll('body *'))) {
        const box = element.getBoundingClientRect();
        if (box.right > right) {
          right = box.right;
          widest = `${element.tagName.toLowerCase()}.${(element as HTMLElement).className} "${(element.textContent ?? '').slice(0, 60)}"`;
        }
      }
    }
    return { overflow, widest };
  });
}

/**
 * What a screen reader could not name: inputs without a label and buttons or
 * links without a name, from Chromium's accessibility tree (Playwright's ARIA
 * snapshot lists each control with its computed name in quotes) and from the
 * DOM (every input, select and textarea has a <label> or an aria-label).
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  const snapshot = await page.locator('body').ariaSnapshot();
  for (const line of snapshot.split('\n')) {
    const match = /^\s*- (button|link|textbox|searchbox|combobox|checkbox|radio|spinbutton|img)\b(.*)$/.exec(line);
    if (match && !/^\s*"[^"]+"/.test(match[2]!)) problems.push(`no name in the accessibility tree: ${line.trim()}`);
  }
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea, button'))
      .filter((element) => (element as HTMLInputElement).type !== 'hidden')
      .filter((element) => {
        if (element.getAttribute('aria-label') || element.getAttribute('aria-labelledby')) return false;
        if (element.tagName === 'BUTTON') return (element.textContent ?? '').trim() === '';
        return ((element as HTMLInputElement).labels?.length ?? 0) === 0;
      })
      .map((element) => element.outerHTML.slice(0, 120)),
  );
  for (const html of unlabelled) problems.push(`no label or name in the DOM: ${html}`);
  return problems;
}
