import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { SimClient, WebClient } from '../helpers/clients.js';
import { waitForStatus } from '../helpers/fault-load.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { useServer } from '../helpers/server.js';

/** A tmpfs of `size` at a new directory, or why there cannot be one (not root, no mount). */
function mountTmpfs(size: string): { dir: string; problem: string | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'minitwit-full-'));
  const run = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (run.status === 0) return { dir, problem: undefined };
  rmdirSync(dir);
  return {
    dir,
    problem: `mount -t tmpfs failed (${(run.stderr || run.error?.message || '').trim()}); CI runs as root`,
  };
}

/** Writes zeros into `path` until the file system is full; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (let size = chunk.length; size >= 512; ) {
      try {
        written += writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error;
        size /= 2;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/**
 * SQLite on a small tmpfs that really fills up (17.4): writes answer 507 with Retry-After and the
 * reason in each door's shape, reads keep working, /readyz reports the database full (so a router
 * sends traffic elsewhere) while /healthz stays 200 (no orchestrator restarts it), the file stays
 * intact, and everything comes back by itself when space is freed. A stack is logged once, not
 * per failed write.
 */
describe('SQLite on a full file system', () => {
  const { dir, problem } = mountTmpfs('8m');
  if (!requirePrerequisite('a tmpfs mount', problem, 'the full-disk tests')) return;
  const file = join(dir, 'minitwit.db');
  const server = useServer('sqlite', {
    database: {
      kind: 'sqlite',
      url: `sqlite:${file}`,
      async drop() {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      },
    },
  });
  after(() => {
    spawnSync('umount', [dir]);
    rmdirSync(dir);
  });

  test('writes 507 with the reason, reads 200, not ready; back when space returns; nothing acknowledged lost', async () => {
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.register('filler')).status, 204);
    const web = new WebClient(server.webUrl);
    await web.register('filler-web');
    await web.login('filler-web');
    const acknowledged: string[] = [];
    const text = (i: number) => `message ${i} ${'x'.repeat(400)}`;
    for (let i = 0; i < 20; i++) {
      assert.equal((await api.tweet('filler', text(i))).status, 204);
      acknowledged.push(text(i));
    }

    const filler = join(dir, 'filler');
    fill(filler);
    // SQLite may still reuse space it holds (its WAL): write until the disk refuses.
    let refused: Awaited<ReturnType<SimClient['tweet']>> | undefined;
    for (let i = 20; i < 5000 && !refused; i++) {
      const res = await api.tweet('filler', text(i));
      if (res.status === 204) acknowledged.push(text(i));
      else refused = res;
    }
    assert.ok(refused, 'a write was refused');
    assert.equal(refused.status, 507, refused.text);
    assert.deepEqual(refused.json, {
      status: 507,
      error_msg: 'The database storage is full: writes fail until space is freed; reads still work',
    });
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    const logsBefore = server.logs.length;
    for (let i = 0; i < 50; i++) {
      const res = await api.get('/latest', { latest: 1000 + i });
      assert.equal(res.status, 507, 'a ?latest= that cannot be stored is a failed write');
    }
    const page = await web.request(
      'POST',
      '/add_message',
      new URLSearchParams({ text: 'no room for this' }),
    );
    assert.equal(page.status, 507);
    assert.match(page.html, /storage is full/);
    assert.ok(Number(page.headers.get('retry-after')) >= 1);

    // Reads work; health is fine; readiness is not (writes would fail here).
    assert.equal((await api.get('/msgs/filler?no=10000')).json.length, acknowledged.length);
    assert.equal((await web.get('/public')).status, 200);
    assert.equal((await fetch(`${server.apiUrl}/healthz`)).status, 200);
    const ready = JSON.parse(await waitForStatus(`${server.apiUrl}/readyz`, 503));
    assert.ok(
      ready.checks.database.startsWith(`full: ${file}: writes fail: `),
      ready.checks.database,
    );
    const stacks = server.logs.slice(logsBefore).filter((l) => l.includes('"stack"')).length;
    assert.ok(stacks <= 1, `lines with a stack for 51 failed writes: ${stacks}`);

    rmSync(filler);
    await waitForStatus(`${server.apiUrl}/readyz`, 200);
    assert.equal((await api.tweet('filler', 'room again')).status, 204);
    acknowledged.push('room again');
    const stored = (await api.get('/msgs/filler?no=10000')).json.map(
      (m: { content: string }) => m.content,
    );
    assert.deepEqual(new Set(stored), new Set(acknowledged));

    const check = new SQLite(file, { readonly: true });
    try {
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      check.close();
    }
  });
});
