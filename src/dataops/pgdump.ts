import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BATCH_ROWS, normalizeRow, type Row, type RowSource, TABLES } from './transfer.js';

/** True when PostgreSQL's client tools are installed. */
export function pgToolsAvailable(): boolean {
  return ['pg_dump', 'pg_restore'].every(
    (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0,
  );
}

function run(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${tool} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

/**
 * pg_dump in its custom format: one consistent snapshot of the whole database (pg_dump reads
 * everything in one REPEATABLE READ transaction), compressed, while the server keeps writing.
 */
export function pgDump(url: string, file: string): Promise<void> {
  return run('pg_dump', [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${file}`,
    `--dbname=${url}`,
  ]);
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One field of COPY's text format: `\N` is NULL, backslash escapes otherwise. */
export function copyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|([\s\S]))/g, (_m, oct, hex, ch) => {
    if (oct !== undefined) return String.fromCharCode(Number.parseInt(oct, 8));
    if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex, 16));
    return ESCAPES[ch] ?? ch;
  });
}

/**
 * The rows of a pg_dump file, table by table, streamed out of `pg_restore --data-only` as COPY
 * text: so a PostgreSQL dump can be verified (read back and counted) and restored into SQLite
 * as well as PostgreSQL.
 */
export async function* readPgDump(file: string): RowSource {
  for (const table of TABLES) {
    const child = spawn('pg_restore', ['--data-only', `--table=${table}`, '--file=-', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    let columns: string[] | undefined;
    let finished = false;
    let rows: Row[] = [];
    try {
      for await (const line of lines) {
        if (finished) continue;
        if (columns === undefined) {
          const match = /^COPY (?:\w+\.)?"?(\w+)"? \(([^)]*)\) FROM stdin;$/.exec(line);
          if (match && match[1] === table) {
            columns = (match[2] ?? '').split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
          }
          continue;
        }
        if (line === '\\.') {
          finished = true;
          continue;
        }
        const fields = line.split('\t');
        const raw: Record<string, unknown> = {};
        columns.forEach((c, i) => {
          raw[c] = copyField(fields[i] ?? '\\N');
        });
        rows.push(normalizeRow(table, raw));
        if (rows.length >= BATCH_ROWS) {
          yield { table, rows };
          rows = [];
        }
      }
    } finally {
      lines.close();
    }
    const code = await exited;
    if (code !== 0) throw new Error(`pg_restore exited with ${code}: ${stderr.trim()}`);
    if (columns !== undefined && !finished) throw new Error(`${file}: table ${table} is truncated`);
    if (rows.length > 0) yield { table, rows };
  }
}
