/**
 * Input rules shared by the web form and the simulator API. The first four texts are the
 * reference MiniTwit's, checked in its order; the limits after them are ours.
 */
export const TEXTS = {
  noUsername: 'You have to enter a username',
  badEmail: 'You have to enter a valid email address',
  noPassword: 'You have to enter a password',
  passwordMismatch: 'The two passwords do not match',
  usernameTaken: 'The username is already taken',
  invalidUsername: 'Invalid username',
  invalidPassword: 'Invalid password',
} as const;

export const LIMITS = {
  username: 64,
  email: 254,
  password: 1024,
  message: 1000,
} as const;

/**
 * The longest a username's path segment (`/<name>`, `/msgs/<name>`, …) can be as the router
 * measures it, whatever percent-encoding the client chose: the router decodes it except for
 * the reserved characters (`# $ & + , / : ; = ? @ %`), which stay three characters (`%3F`)
 * each, and an astral character decodes to two UTF-16 units. A name of at most
 * LIMITS.username code points is thus at most three times as long: both doors route that.
 */
export const USERNAME_MAX_PATH_LENGTH = LIMITS.username * 3;

/** Path segments a URL cannot carry as a name: clients remove them (`/a/../b` is `/b`). */
export const DOT_SEGMENTS: ReadonlySet<string> = new Set(['.', '..']);

const NO_NAMES: ReadonlySet<string> = new Set();

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, but tab and newlines may stay
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export interface Registration {
  username: string;
  email: string;
  password: string;
  /** The web form's repeat field; the API has none. */
  password2?: string | undefined;
}

/**
 * The first of this project's username rules `name` breaks, or undefined: at most
 * LIMITS.username characters (code points); no control characters, slashes or surrounding
 * spaces; well-formed Unicode; and an address of its own, `/<name>`, that no page of MiniTwit
 * takes: not a dot segment, not one of `reserved` (the fixed path segments the front doors'
 * routes take where a username could be: see reservedSegments in src/http/routes.ts).
 */
export function usernameError(
  name: string,
  reserved: ReadonlySet<string> = NO_NAMES,
): string | undefined {
  if ([...name].length > LIMITS.username) {
    return `The username can be at most ${LIMITS.username} characters long`;
  }
  if (CONTROL.test(name) || name.includes('/') || name !== name.trim()) {
    return 'The username cannot contain control characters, slashes or surrounding spaces';
  }
  if (/\p{Surrogate}/u.test(name)) {
    return 'The username is not valid Unicode text (it has an unpaired surrogate)';
  }
  if (DOT_SEGMENTS.has(name)) {
    return `The username cannot be "${name}": web addresses drop it, so its page could not be opened`;
  }
  if (reserved.has(name)) {
    return `The username "${name}" is taken by a page of MiniTwit (/${name}): choose another`;
  }
  return undefined;
}

/**
 * The first rule a registration breaks, or undefined when it is acceptable: the reference's
 * checks in its order, then ours (usernameError with `reserved`, then the email and password
 * limits).
 */
export function registrationError(
  r: Registration,
  reserved: ReadonlySet<string> = NO_NAMES,
): string | undefined {
  if (!r.username) return TEXTS.noUsername;
  if (!r.email?.includes('@')) return TEXTS.badEmail;
  if (!r.password) return TEXTS.noPassword;
  if (r.password2 !== undefined && r.password !== r.password2) return TEXTS.passwordMismatch;
  const nameProblem = usernameError(r.username, reserved);
  if (nameProblem) return nameProblem;
  if (r.email.length > LIMITS.email) {
    return `The email address can be at most ${LIMITS.email} characters long`;
  }
  if (CONTROL.test(r.email) || /\s/.test(r.email)) {
    return 'The email address cannot contain spaces or control characters';
  }
  if (r.password.length > LIMITS.password) {
    return `The password can be at most ${LIMITS.password} characters long`;
  }
  return undefined;
}

/**
 * Whether `name` could belong to a user at all. Lookups of names that registration never
 * accepts (control characters such as NUL, which PostgreSQL cannot even compare, or far too
 * long) are answered "no such user" without asking the database.
 */
export function plausibleUsername(name: string): boolean {
  return name !== '' && name.length <= LIMITS.username * 2 && !CONTROL.test(name);
}

/** Why a message text cannot be stored, or undefined. Empty texts are the caller's concern. */
export function messageError(text: string): string | undefined {
  if ([...text].length > LIMITS.message) {
    return `A message can be at most ${LIMITS.message} characters long`;
  }
  if (CONTROL_EXCEPT_WHITESPACE.test(text)) return 'A message cannot contain control characters';
  return undefined;
}
