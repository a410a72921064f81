import { isIP } from 'node:net';
import { ConfigError, type Env, wholeNumber } from './env.js';

/** The security settings read from the environment: limits, allow-list, earlier secrets. */
export interface SecurityConfig {
  /** Failed sign-ins one client address may make per window (0 turns the limit off). */
  loginLimitPerAddress: number;
  /** Failed sign-ins one username may receive per window, from anywhere (0: off). */
  loginLimitPerUsername: number;
  /** Registrations one client address may attempt per window (0: off). */
  registerLimitPerAddress: number;
  /** The window of the three limits above, in seconds. */
  authWindowSeconds: number;
  /** API requests one client address may make per API window (0: off). */
  apiLimit: number;
  /** The window of the API limit, in seconds. */
  apiWindowSeconds: number;
  /** Client networks the simulator API answers (CIDRs); empty means everyone. */
  simApiAllow: Cidr[];
  /**
   * Earlier SESSION_SECRET values, still accepted for cookies signed before a rotation
   * (SESSION_SECRET_PREVIOUS, comma-separated). New cookies are signed with SESSION_SECRET.
   */
  previousSessionSecrets: string[];
}

export interface Cidr {
  /** As written in SIM_API_ALLOW, for log lines. */
  text: string;
  family: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

/** One CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address (a /32 or /128). */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) {
    throw new ConfigError(`SIM_API_ALLOW: "${text}" is not an IP address or CIDR`);
  }
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) {
    throw new ConfigError(`SIM_API_ALLOW: "${text}" has a bad prefix length`);
  }
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) {
    throw new ConfigError(`SIM_API_ALLOW: "${text}": the prefix is longer than ${max}`);
  }
  return { text: text.trim(), family: version === 4 ? 'ipv4' : 'ipv6', address, prefix };
}

/** A comma- or space-separated list of CIDRs; empty means no allow-list. */
export function parseCidrList(raw: string | undefined): Cidr[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .filter((part) => part !== '')
    .map(parseCidr);
}

function previousSecrets(raw: string | undefined): string[] {
  const secrets = (raw ?? '').split(',').filter((s) => s !== '');
  for (const secret of secrets) {
    if (secret.length < 32) {
      throw new ConfigError(
        'every SESSION_SECRET_PREVIOUS value must be at least 32 characters long',
      );
    }
  }
  return secrets;
}

export const SECURITY_DEFAULTS = {
  loginLimitPerAddress: 50,
  loginLimitPerUsername: 10,
  registerLimitPerAddress: 30,
  authWindowSeconds: 900,
  // 5,000 requests a second from one address, sustained over a minute. The course simulator
  // sends one request at a time; 16 copies at full speed on loopback stay several times below
  // (bench/sec-rate-headroom.ts).
  apiLimit: 300_000,
  apiWindowSeconds: 60,
} as const;

export function loadSecurityConfig(env: Env): SecurityConfig {
  const d = SECURITY_DEFAULTS;
  const count = (name: string, fallback: number, min = 0, max = 1e9) =>
    wholeNumber(env, name, fallback, min, max);
  return {
    loginLimitPerAddress: count('LOGIN_LIMIT_PER_ADDRESS', d.loginLimitPerAddress),
    loginLimitPerUsername: count('LOGIN_LIMIT_PER_USERNAME', d.loginLimitPerUsername),
    registerLimitPerAddress: count('REGISTER_LIMIT_PER_ADDRESS', d.registerLimitPerAddress),
    authWindowSeconds: count('AUTH_LIMIT_WINDOW_SECONDS', d.authWindowSeconds, 1, 86_400),
    apiLimit: count('API_RATE_LIMIT', d.apiLimit),
    apiWindowSeconds: count('API_RATE_WINDOW_SECONDS', d.apiWindowSeconds, 1, 86_400),
    simApiAllow: parseCidrList(env.SIM_API_ALLOW),
    previousSessionSecrets: previousSecrets(env.SESSION_SECRET_PREVIOUS),
  };
}
