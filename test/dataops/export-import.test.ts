import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { exportCommand } from '../../src/cli/commands/export.js';
import { importCommand } from '../../src/cli/commands/import.js';
import { importLegacyCommand } from '../../src/cli/commands/import-legacy.js';
import { legacyDatabase } from '../../src/config/paths.js';
import { summarize } from '../../src/dataops/transfer.js';
import { openDatabase } from '../../src/db/connect.js';
import { createTestDatabase, forEachDatabase } from '../helpers/databases.js';
import { runCommand } from './state.js';

const LEGACY = legacyDatabase;

async function summaryOf(url: string) {
  const handle = openDatabase(url);
  try {
    return await summarize(handle.db, handle.dialect);
  } finally {
    await handle.close();
  }
}

forEachDatabase('export from one kind, import into the other', (kind) => {
  test('every table arrives identical (counts and checksums), ids and flags included', async () => {
    const other = kind === 'sqlite' ? 'postgres' : 'sqlite';
    const source = await createTestDatabase(kind);
    const target = await createTestDatabase(other);
    const dir = mkdtempSync(join(tmpdir(), 'minitwit-export-'));
    const file = join(dir, 'all.jsonl.gz');
    try {
      const imported = await runCommand(importLegacyCommand, [LEGACY], { database: source.url });
      assert.equal(imported.code, 0, imported.err.join('\n'));
      const exported = await runCommand(exportCommand, [file], { database: source.url });
      assert.equal(exported.code, 0, exported.err.join('\n'));
      const loaded = await runCommand(importCommand, [file], { database: target.url });
      assert.equal(loaded.code, 0, loaded.err.join('\n'));
      const [a, b] = [await summaryOf(source.url), await summaryOf(target.url)];
      assert.deepEqual(b, a);
      assert.equal(b.messages.rows, 2322);

      // A file cut short (its end line lost) is refused and leaves nothing behind.
      const lines = gunzipSync(readFileSync(file)).toString().trimEnd().split('\n');
      const cut = join(dir, 'cut.jsonl.gz');
      writeFileSync(cut, gzipSync(`${lines.slice(0, -1).join('\n')}\n`));
      const fresh = await createTestDatabase(other);
      try {
        const refused = await runCommand(importCommand, [cut], { database: fresh.url });
        assert.equal(refused.code, 1);
        assert.match(refused.err.join('\n'), /truncated/);
        assert.equal((await summaryOf(fresh.url)).users.rows, 0);
      } finally {
        await fresh.drop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await source.drop();
      await target.drop();
    }
  });
});
