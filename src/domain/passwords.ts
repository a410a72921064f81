import { pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { hash, verify } from '@node-rs/argon2';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: string,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** argon2id with the OWASP baseline (19 MiB, 2 passes, 1 lane): about 15 ms here. */
const ARGON2_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export interface PasswordCheck {
  ok: boolean;
  /** True when the password was right but is stored in a format we no longer write. */
  needsRehash: boolean;
}

const DIGEST_BYTES: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64 };
/** Bounds on what a stored legacy hash may ask of us, so a crafted row cannot stall the server. */
const MAX_PBKDF2_ITERATIONS = 5_000_000;
const MAX_SCRYPT_N = 1 << 20;

function sameHex(derived: Buffer, expectedHex: string): boolean {
  if (!/^[0-9a-f]*$/i.test(expectedHex)) return false;
  const expected = Buffer.from(expectedHex, 'hex');
  return expected.length === derived.length && timingSafeEqual(expected, derived);
}

/**
 * Checks a Werkzeug `method$salt$hex` hash as written by the reference MiniTwit:
 * `pbkdf2:<digest>:<iterations>` or `scrypt:<N>:<r>:<p>`.
 */
async function verifyWerkzeug(password: string, stored: string): Promise<boolean> {
  const [method, salt, hex] = stored.split('$');
  if (method === undefined || salt === undefined || hex === undefined) return false;
  const parts = method.split(':');
  if (parts[0] === 'pbkdf2') {
    const digest = parts[1] ?? 'sha256';
    const iterations = Number(parts[2] ?? 260000);
    const bytes = DIGEST_BYTES[digest];
    if (!bytes || !Number.isInteger(iterations) || iterations < 1) return false;
    if (iterations > MAX_PBKDF2_ITERATIONS) return false;
    return sameHex(await pbkdf2Async(password, salt, iterations, bytes, digest), hex);
  }
  if (parts[0] === 'scrypt') {
    const [n, r, p] = [Number(parts[1] ?? 32768), Number(parts[2] ?? 8), Number(parts[3] ?? 1)];
    if (![n, r, p].every((v) => Number.isInteger(v) && v > 0) || n > MAX_SCRYPT_N) return false;
    const derived = await scryptAsync(password, salt, 64, {
      N: n,
      r,
      p,
      maxmem: 256 * n * r + 1024 * 1024,
    });
    return sameHex(derived, hex);
  }
  return false;
}

export async function verifyPassword(password: string, stored: string): Promise<PasswordCheck> {
  if (stored.startsWith('$argon2')) {
    try {
      return { ok: await verify(stored, password), needsRehash: false };
    } catch {
      return { ok: false, needsRehash: false };
    }
  }
  const ok = await verifyWerkzeug(password, stored);
  return { ok, needsRehash: ok };
}
