/**
 * Readers of single environment variables, shared by every settings module. Each returns the
 * fallback when the variable is unset or empty and throws ConfigError, naming the variable and
 * the value, when it is set to something it cannot use.
 */

/** A setting that cannot be used as given; the message names the variable and the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = NodeJS.ProcessEnv;

/** A whole number in [min, max] (decimal digits only: no sign, no exponent, no fraction). */
export function wholeNumber(env: Env, name: string, fallback: number, min = 0, max = 65535) {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,16}$/.test(raw)) {
    throw new ConfigError(`${name} must be a whole number, got "${env[name]}"`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** true/false, also accepting 1/0, yes/no and on/off in any case. */
export function flag(env: Env, name: string, fallback: boolean) {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}
