import type { Page } from 'playwright-core';

/** What the demo page shows in the element with this data-testid. */
export async function text(page: Page, id: string): Promise<string> {
  return ((await page.getByTestId(id).textContent()) ?? '').trim();
}

/** Waits until the demo page has paused after its rounds; fails with the page's message on an error. */
export async function idle(page: Page, timeout = 80_000): Promise<void> {
  await page.waitForFunction(() => ['paused', 'done', 'error'].includes(document.querySelector('[data-testid=phase]')?.textContent ?? ''), undefined, { timeout });
  if ((await text(page, 'phase')) === 'error') throw new Error(`the page failed: ${await text(page, 'status')}`);
}
