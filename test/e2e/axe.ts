import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** The axe-core tags of WCAG 2.0, 2.1 and 2.2 at levels A and AA. */
export const WCAG_AA_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** One rule broken on a page, with where (CSS selectors) and axe's summary of why. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

/**
 * Runs axe-core with the WCAG 2.2 A/AA tags on the page as it is now. The page's context must
 * have been made with `bypassCSP` (the pages only run their own scripts). Returns every
 * violation; an empty list is a clean page.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: axePath });
  return page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: AxeApi }).axe;
    const doc = (globalThis as unknown as { document: unknown }).document;
    const result = await axe.run(doc, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
    }));
  }, WCAG_AA_TAGS);
}

interface AxeApi {
  run(
    context: unknown,
    options: unknown,
  ): Promise<{
    violations: {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: string[]; failureSummary?: string }[];
    }[];
  }>;
}
