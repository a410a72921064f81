/** What went wrong, in words a user can act on; the front doors map `kind` to a status. */
export type DomainErrorKind = 'invalid' | 'not_found' | 'conflict' | 'unauthorized' | 'forbidden';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (message: string) => new DomainError('invalid', message);
export const notFound = (message: string) => new DomainError('not_found', message);
