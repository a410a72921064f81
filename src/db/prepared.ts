import type { Compilable, CompiledQuery } from 'kysely';

/** Marks a parameter slot while a query is compiled; never reaches a database. */
const SLOT = '\u0000minitwit-slot:';

/**
 * SQL texts compiled through `prepare`, each with a statement name: the PostgreSQL pool runs
 * these as named prepared statements (parsed and planned once per connection). Only texts
 * registered here are named, so ad hoc queries (an `in` list of any length) never pile up.
 */
export const PREPARED_NAMES = new Map<string, string>();

/** A query compiled once: `bind` gives the compiled query with this call's parameters. */
export interface Prepared<P, R> {
  readonly sql: string;
  bind(values: P): CompiledQuery<R>;
}

/**
 * Compiles the query `build` makes once and returns a way to bind parameters per call, so a
 * request pays neither Kysely's query building nor its compilation.
 *
 * `build` receives, for each name in `names`, a placeholder to use where a value goes (in
 * `where`, `values`, `limit`, a `sql` template…). Placeholders must only ever be used as whole
 * parameter values: not in lists (`in`), not as literals, not in identifiers. Any other value
 * `build` uses is bound as it was at compile time.
 *
 * @throws Error when a named placeholder does not appear among the compiled parameters.
 */
export function prepare<P extends Record<string, unknown>, R>(
  names: readonly (keyof P & string)[],
  build: (p: P) => Compilable<R>,
): Prepared<P, R> {
  const placeholders = Object.fromEntries(names.map((n) => [n, `${SLOT}${n}`])) as unknown as P;
  const compiled = build(placeholders).compile();
  const slots = compiled.parameters.map((value) =>
    typeof value === 'string' && value.startsWith(SLOT)
      ? (value.slice(SLOT.length) as keyof P & string)
      : undefined,
  );
  for (const n of names) {
    if (!slots.includes(n)) throw new Error(`prepared query: parameter ${n} is not used`);
  }
  const fixed = compiled.parameters;
  if (!PREPARED_NAMES.has(compiled.sql)) {
    PREPARED_NAMES.set(compiled.sql, `minitwit_${PREPARED_NAMES.size + 1}`);
  }
  return {
    sql: compiled.sql,
    bind(values: P): CompiledQuery<R> {
      const parameters = new Array<unknown>(slots.length);
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i];
        parameters[i] = slot === undefined ? fixed[i] : values[slot];
      }
      return { ...compiled, parameters };
    },
  };
}
