/** The longest search a person may type, in characters. */
export const SEARCH_MAX_LENGTH = 200;
/** Words of a search beyond this many are ignored. */
export const SEARCH_MAX_WORDS = 8;
/** A word longer than this is cut to it (no real word is longer; the index copes either way). */
export const SEARCH_MAX_WORD = 64;

/**
 * The words of a search as the indexes compare them: letters and digits only (every other
 * character separates words, so no quote, star, bracket or operator of FTS5's or tsquery's
 * syntax survives), NFKC-normalised and lower-cased, each at most SEARCH_MAX_WORD characters,
 * repeats dropped, the first SEARCH_MAX_WORDS kept. Words such as AND, OR, NOT or NEAR are plain
 * words: they are quoted (FTS5) or passed through plainto_tsquery (PostgreSQL).
 */
export function searchWords(query: string): string[] {
  const words =
    query
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const out: string[] = [];
  for (const word of words) {
    const cut = [...word].slice(0, SEARCH_MAX_WORD).join('');
    if (!out.includes(cut)) out.push(cut);
    if (out.length === SEARCH_MAX_WORDS) break;
  }
  return out;
}
