import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseCidrList } from '../../src/config/security.js';
import { AddressMatcher, clientKey, unmapIPv4 } from '../../src/http/client-address.js';
import { RateLimiter } from '../../src/http/rate-limit.js';

test('rate limiter: allows `limit` events per window, refuses the next, lifts when the window ends', () => {
  let now = 1_000_000;
  const limiter = new RateLimiter({ limit: 3, windowSeconds: 10, now: () => now });
  assert.deepEqual(
    [1, 2, 3].map(() => limiter.hit('a').allowed),
    [true, true, true],
  );
  const refused = limiter.hit('a');
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfter, 10);
  assert.equal(limiter.hit('b').allowed, true, 'keys are counted apart');
  now += 9_000;
  assert.equal(limiter.hit('a').allowed, false);
  assert.equal(limiter.peek('a').retryAfter, 1);
  now += 1_000;
  assert.equal(limiter.peek('a').allowed, true);
  assert.equal(limiter.hit('a').allowed, true);
  assert.equal(limiter.peek('a').remaining, 2);
});

test('rate limiter: refund gives one event back, reset forgets the key, 0 means unlimited', () => {
  const limiter = new RateLimiter({ limit: 1, windowSeconds: 60, now: () => 0 });
  limiter.hit('k');
  assert.equal(limiter.hit('k').allowed, false);
  limiter.refund('k');
  assert.equal(limiter.hit('k').allowed, true);
  limiter.reset('k');
  assert.equal(limiter.hit('k').allowed, true);
  const off = new RateLimiter({ limit: 0, windowSeconds: 60 });
  for (let i = 0; i < 1000; i++) assert.equal(off.hit('k').allowed, true);
  assert.equal(off.size, 0, 'an unlimited limiter keeps no state');
});

test('rate limiter: memory stays bounded under many keys, dropping the oldest windows', () => {
  let now = 0;
  const limiter = new RateLimiter({ limit: 1, windowSeconds: 60, maxKeys: 100, now: () => now });
  for (let i = 0; i < 10_000; i++) limiter.hit(`key-${i}`);
  assert.ok(limiter.size <= 100, `size ${limiter.size}`);
  assert.equal(limiter.hit('key-9999').allowed, false, 'the newest keys are kept');
  now += 61_000;
  limiter.hit('fresh');
  assert.equal(limiter.size, 1, 'expired windows are swept');
});

test('client keys: IPv4 as is, IPv4-mapped unwrapped, IPv6 by /64 network', () => {
  assert.equal(clientKey('203.0.113.9'), '203.0.113.9');
  assert.equal(clientKey('::ffff:203.0.113.9'), '203.0.113.9');
  assert.equal(unmapIPv4('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
});

test('SIM_API_ALLOW: CIDRs and single addresses of both families, mapped IPv4 included', () => {
  const matcher = new AddressMatcher(parseCidrList('10.0.0.0/8, 192.0.2.7 2001:db8::/32'));
  for (const ok of ['10.1.2.3', '::ffff:10.200.0.1', '192.0.2.7', '2001:db8:ffff::1']) {
    assert.equal(matcher.matches(ok), true, ok);
  }
  for (const no of ['11.0.0.1', '192.0.2.8', '2001:db9::1', '127.0.0.1', '::1', 'junk', '']) {
    assert.equal(matcher.matches(no), false, no);
  }
  assert.equal(new AddressMatcher(parseCidrList('')).empty, true);
});

test('bad security settings stop start-up with a clear message', () => {
  for (const [name, value] of [
    ['SIM_API_ALLOW', '10.0.0.0/33'],
    ['SIM_API_ALLOW', 'example.com'],
    ['SIM_API_ALLOW', '10.0.0.0/8/1'],
    ['SIM_API_ALLOW', '::1/129'],
    ['API_RATE_LIMIT', '-5'],
    ['LOGIN_LIMIT_PER_USERNAME', 'ten'],
    ['AUTH_LIMIT_WINDOW_SECONDS', '0'],
  ] as const) {
    assert.throws(() => loadConfig({ [name]: value }), ConfigError, `${name}=${value}`);
  }
  const defaults = loadConfig({}).security;
  assert.deepEqual(defaults.simApiAllow, []);
  assert.ok(defaults.apiLimit > 0 && defaults.loginLimitPerUsername > 0);
});
