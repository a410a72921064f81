import { withDatabase } from '../dataops/load.js';
import { Store } from '../db/store.js';
import { MiniTwit } from '../domain/minitwit.js';

/** Runs `work` with the domain over the database at `url`, closing the database after. */
export function withDomain<T>(url: string, work: (domain: MiniTwit) => Promise<T>): Promise<T> {
  return withDatabase(url, (handle) => work(new MiniTwit(new Store(handle.db, handle.dialect))));
}
