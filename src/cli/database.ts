import { type Config, loadConfig } from '../config/config.js';
import { type DatabaseHandle, openDatabase } from '../db/connect.js';

/** Opens the database named by --database or DATABASE_URL, for operator commands. */
export function openConfiguredDatabase(
  override?: string,
  config: Config = loadConfig(),
): DatabaseHandle {
  return openDatabase(override || config.databaseUrl, { poolMax: 4 });
}
