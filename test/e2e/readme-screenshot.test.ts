/**
 * The README's picture of the web app, taken by the browser on every run so it never shows an
 * older MiniTwit: the public timeline after the first 300 lines of the course's scenario went
 * through the simulator API. Message times are pinned (2020-02-21, a minute apart) so the same
 * build draws the same picture. Writes docs/images/public-timeline.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { courseScenario, packageRoot } from '../../src/config/paths.js';
import { replay } from '../../src/sim/replay.js';
import { requireChromium } from '../helpers/chromium.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { launchBrowser, newContext } from './browser.js';

export const README_SCREENSHOT = join(packageRoot, 'docs/images/public-timeline.png');

/** 2020-02-21 00:00 UTC, about when the course's scenario begins. */
const PINNED_START = 1_582_243_200;

describe("the README's screenshot", () => {
  if (!requireChromium("the README's screenshot")) return;
  let server: TestServer;

  before(async () => {
    server = await startServer('sqlite');
    const result = await replay(server.apiUrl, {
      scenario: courseScenario,
      lines: 300,
      timeoutMs: 10_000,
    });
    assert.equal(result.errors, 0);
    await sql`update messages set pub_date = ${PINNED_START} + 60 * message_id`.execute(
      server.app.database.db,
    );
  });
  after(() => server?.close());

  test('the public timeline, as a visitor sees it, becomes docs/images/public-timeline.png', async () => {
    const browser = await launchBrowser();
    try {
      const { context, page } = await newContext(browser, { width: 1100, height: 760 });
      await page.goto(`${server.webUrl}/public`);
      assert.equal(await page.locator('h1').textContent(), 'Public Timeline');
      assert.equal(await page.locator('li.message').count(), 30);
      mkdirSync(dirname(README_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: README_SCREENSHOT });
      await context.close();
    } finally {
      await browser.close();
    }
    const png = readFileSync(README_SCREENSHOT);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.equal(png.readUInt32BE(16), 1100, 'width');
    assert.equal(png.readUInt32BE(20), 760, 'height');
    assert.ok(statSync(README_SCREENSHOT).size > 10_000, 'a picture, not a blank page');
  });
});
