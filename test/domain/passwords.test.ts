import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { courseScenario, legacyDatabase } from '../../src/config/paths.js';
import { hashPassword, verifyPassword } from '../../src/domain/passwords.js';
import { readScenario } from '../../src/sim/scenario.js';

const LEGACY_DB = legacyDatabase;
const SCENARIO = courseScenario;

function legacyHash(username: string | number): string {
  const db = new SQLite(LEGACY_DB, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('select pw_hash from user where username = ?').get(username) as
      | { pw_hash: string }
      | undefined;
    assert.ok(row, `legacy user ${username}`);
    return row.pw_hash;
  } finally {
    db.close();
  }
}

test('new passwords are salted argon2id and verify', async () => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.notEqual(a, b, 'a fresh salt each time');
  assert.deepEqual(await verifyPassword('correct horse', a), { ok: true, needsRehash: false });
  assert.deepEqual(await verifyPassword('Correct horse', a), { ok: false, needsRehash: false });
});

test('Werkzeug pbkdf2:sha256:260000 hashes written by the reference verify and ask for a rehash', async () => {
  // Passwords of the first scenario users, as the reference stored them.
  const passwords = new Map<string, string>();
  for await (const action of readScenario(SCENARIO, { lines: 50 })) {
    if (action.command === 'register') passwords.set(action.user, action.pwd ?? '');
  }
  let checked = 0;
  for (const [user, pwd] of [...passwords].slice(0, 3)) {
    const stored = legacyHash(user);
    assert.match(stored, /^pbkdf2:sha256:260000\$/);
    assert.deepEqual(await verifyPassword(pwd, stored), { ok: true, needsRehash: true }, user);
    assert.deepEqual(await verifyPassword(`${pwd}x`, stored), { ok: false, needsRehash: false });
    checked++;
  }
  assert.equal(checked, 3);
  assert.deepEqual(await verifyPassword('secret', legacyHash(1234)), {
    ok: true,
    needsRehash: true,
  });
});

test('Werkzeug scrypt:32768:8:1 hashes verify', async () => {
  const stored = legacyHash('Werkzeug Three');
  assert.match(stored, /^scrypt:32768:8:1\$/);
  assert.deepEqual(await verifyPassword('scrypt-pass', stored), { ok: true, needsRehash: true });
  assert.deepEqual(await verifyPassword('scrypt-pas', stored), { ok: false, needsRehash: false });
});

test('malformed or hostile stored hashes never verify and never throw', async () => {
  for (const stored of [
    '',
    'plain',
    'pbkdf2:sha256:260000$salt',
    'pbkdf2:md5:1000$salt$00',
    'pbkdf2:sha256:999999999$salt$00',
    'pbkdf2:sha256:abc$salt$00',
    'scrypt:999999999:8:1$salt$00',
    'scrypt:32768:8:1$salt$zz',
    '$argon2id$v=19$m=19456,t=2,p=1$bad',
  ]) {
    assert.deepEqual(await verifyPassword('x', stored), { ok: false, needsRehash: false }, stored);
  }
});
