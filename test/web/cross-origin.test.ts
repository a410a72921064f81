import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CrossOriginInput, checkCrossOrigin } from '../../src/web/cross-origin.js';

const base: CrossOriginInput = {
  method: 'POST',
  secFetchSite: undefined,
  origin: undefined,
  host: 'minitwit.example:5000',
  scheme: undefined,
};

const verdict = (change: Partial<CrossOriginInput>) =>
  checkCrossOrigin({ ...base, ...change }) === undefined ? 'pass' : 'refuse';

test('safe methods always pass, whatever the headers say', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) {
    assert.equal(
      verdict({ method, secFetchSite: 'cross-site', origin: 'https://evil.example' }),
      'pass',
      method,
    );
  }
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
    assert.equal(verdict({ method, secFetchSite: 'cross-site' }), 'refuse', method);
  }
});

test('Sec-Fetch-Site decides when a browser sends it', () => {
  assert.equal(verdict({ secFetchSite: 'same-origin' }), 'pass');
  assert.equal(
    verdict({ secFetchSite: 'none' }),
    'pass',
    'the user did it (bookmark, address bar)',
  );
  assert.equal(verdict({ secFetchSite: 'cross-site' }), 'refuse');
  assert.equal(verdict({ secFetchSite: 'same-site' }), 'refuse', 'a sibling origin is not us');
  assert.equal(verdict({ secFetchSite: 'something-new' }), 'refuse');
  assert.equal(verdict({ secFetchSite: 'same-origin, cross-site' }), 'refuse', 'sent twice');
  // It wins over Origin both ways.
  assert.equal(verdict({ secFetchSite: 'same-origin', origin: 'https://evil.example' }), 'pass');
  assert.equal(
    verdict({ secFetchSite: 'cross-site', origin: 'http://minitwit.example:5000' }),
    'refuse',
  );
});

test('without Sec-Fetch-Site, Origin must be this server', () => {
  assert.equal(verdict({ origin: 'http://minitwit.example:5000' }), 'pass');
  assert.equal(verdict({ origin: 'https://minitwit.example:5000' }), 'pass', 'scheme unknown');
  assert.equal(verdict({ origin: 'http://MiniTwit.Example:5000' }), 'pass', 'hosts ignore case');
  assert.equal(verdict({ secFetchSite: '', origin: 'http://minitwit.example:5000' }), 'pass');
  for (const origin of [
    'https://evil.example',
    'http://minitwit.example',
    'http://minitwit.example:5001',
    'http://sub.minitwit.example:5000',
    'http://minitwit.example.evil:5000',
    'null',
    'file://',
    'not a url',
  ]) {
    assert.equal(verdict({ origin }), 'refuse', origin);
  }
});

test('neither header: not a browser, passes (as on the reference)', () => {
  assert.equal(verdict({}), 'pass');
  assert.equal(verdict({ secFetchSite: '', origin: '' }), 'pass');
});

test('behind a trusted proxy the scheme counts too; default ports are the same origin', () => {
  const proxied = { host: 'minitwit.example', scheme: 'https' };
  assert.equal(verdict({ ...proxied, origin: 'https://minitwit.example' }), 'pass');
  assert.equal(verdict({ ...proxied, origin: 'https://minitwit.example:443' }), 'pass');
  assert.equal(verdict({ ...proxied, origin: 'http://minitwit.example' }), 'refuse');
  assert.equal(
    verdict({ host: 'minitwit.example:80', scheme: 'http', origin: 'http://minitwit.example' }),
    'pass',
  );
  assert.equal(verdict({ host: '[::1]:5000', origin: 'http://[::1]:5000' }), 'pass');
  assert.equal(verdict({ host: '', origin: 'http://minitwit.example' }), 'refuse', 'no Host');
});
