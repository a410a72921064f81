import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import {
  BATCH_ROWS,
  compareSummaries,
  isTableName,
  normalizeRow,
  type Row,
  type RowSource,
  type Summary,
  SummaryBuilder,
  TABLES,
  type TableName,
} from './transfer.js';

/**
 * MiniTwit's portable format: gzip-compressed JSON Lines.
 *   line 1:   {"format":"minitwit-export","version":1,"created":"<ISO time>","source":"sqlite"}
 *   then:     {"table":"<name>","row":{<column>: <value>, ...}}   tables in dependency order
 *   last:     {"end":{"<table>":{"rows":N,"checksum":"<hex>"}, ...}}
 * The last line lets a reader tell a complete file from a truncated one.
 */
export const FORMAT = 'minitwit-export';
export const VERSION = 1;

export interface PortableHeader {
  format: string;
  version: number;
  created: string;
  source: string;
  /** Rows of each table in the file, when the writer counted them first (readers' progress). */
  rows?: Record<string, number>;
}

/** Streams `source` into a gzip JSON Lines file; returns the summary written in its last line. */
export async function writePortable(
  source: RowSource,
  path: string,
  meta: { source: string; rows?: Record<string, number> },
): Promise<Summary> {
  const gzip = createGzip({ level: 6 });
  const done = pipeline(gzip, createWriteStream(path));
  const write = async (value: unknown) => {
    if (!gzip.write(`${JSON.stringify(value)}\n`)) await once(gzip, 'drain');
  };
  const builder = new SummaryBuilder();
  try {
    const header: PortableHeader = {
      format: FORMAT,
      version: VERSION,
      created: new Date().toISOString(),
      source: meta.source,
      ...(meta.rows ? { rows: meta.rows } : {}),
    };
    await write(header);
    for await (const batch of source) {
      builder.add(batch.table, batch.rows);
      for (const row of batch.rows) await write({ table: batch.table, row });
    }
    const summary = builder.get();
    await write({ end: summary });
    gzip.end();
    await done;
    return summary;
  } catch (error) {
    gzip.destroy(error as Error);
    await done.catch(() => {});
    throw error;
  }
}

export class PortableFormatError extends Error {}

/** The first line of a portable file, or undefined when it cannot be read as one. */
export async function readPortableHeader(path: string): Promise<PortableHeader | undefined> {
  const input = createInterface({
    input: createReadStream(path).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  try {
    for await (const line of input) {
      const value = JSON.parse(line) as PortableHeader;
      return value.format === FORMAT ? value : undefined;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    input.close();
  }
}

/**
 * Reads a portable file as batches, checking the header, the table order, every row, and at the
 * end the rows and checksums against the file's last line (a truncated file is an error).
 */
export async function* readPortable(path: string): RowSource {
  const input = createInterface({
    input: createReadStream(path).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  const builder = new SummaryBuilder();
  let lineNo = 0;
  let current: TableName | undefined;
  let rows: Row[] = [];
  let end: Summary | undefined;
  try {
    for await (const line of input) {
      lineNo++;
      if (line === '') continue;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line);
      } catch {
        throw new PortableFormatError(`line ${lineNo} is not JSON`);
      }
      if (lineNo === 1) {
        if (value.format !== FORMAT || value.version !== VERSION) {
          throw new PortableFormatError(`not a ${FORMAT} v${VERSION} file`);
        }
        continue;
      }
      if (end !== undefined) throw new PortableFormatError(`line ${lineNo} follows the end line`);
      if (value.end !== undefined) {
        end = value.end as Summary;
        continue;
      }
      const table = value.table;
      if (!isTableName(table) || typeof value.row !== 'object' || value.row === null) {
        throw new PortableFormatError(`line ${lineNo} is not a row of a MiniTwit table`);
      }
      if (table !== current) {
        if (current !== undefined && TABLES.indexOf(table) < TABLES.indexOf(current)) {
          throw new PortableFormatError(`line ${lineNo}: table ${table} after ${current}`);
        }
        if (current !== undefined && rows.length > 0) yield { table: current, rows };
        rows = [];
        current = table;
      }
      let row: Row;
      try {
        row = normalizeRow(table, value.row as Record<string, unknown>);
      } catch (error) {
        throw new PortableFormatError(`line ${lineNo}: ${(error as Error).message}`);
      }
      rows.push(row);
      builder.add(table, [row]);
      if (rows.length >= BATCH_ROWS) {
        yield { table, rows };
        rows = [];
      }
    }
  } catch (error) {
    if (error instanceof PortableFormatError) throw error;
    throw new PortableFormatError(`cannot read ${path}: ${(error as Error).message}`);
  } finally {
    input.close();
  }
  if (lineNo === 0) throw new PortableFormatError(`${path} is empty`);
  if (end === undefined) throw new PortableFormatError(`${path} is truncated (no end line)`);
  const problems = compareSummaries(end, builder.get());
  if (problems.length > 0) {
    throw new PortableFormatError(`${path} does not match its own summary: ${problems.join('; ')}`);
  }
  if (current !== undefined && rows.length > 0) yield { table: current, rows };
}
