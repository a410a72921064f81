import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, freePort, waitFor200 } from '../deploy/processes.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { TEST_SECRET } from '../helpers/server.js';

/** Generous: a process that has not exited by then is stuck, not slow. */
const EXIT_TIMEOUT_MS = 60_000;

type PortVariable = 'PORT' | 'API_PORT' | 'METRICS_PORT';

/** `minitwit serve` as a child process on three given loopback ports. */
class Serve {
  readonly proc: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly ports: Record<PortVariable, number>,
    env: Record<string, string>,
    options: { ownGroup?: boolean } = {},
  ) {
    this.proc = spawn(process.execPath, [BIN, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        SESSION_SECRET: TEST_SECRET,
        LOG_LEVEL: 'info',
        PORT: String(ports.PORT),
        API_PORT: String(ports.API_PORT),
        METRICS_PORT: String(ports.METRICS_PORT),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownGroup === true,
    });
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) this.output.push(line);
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    this.exited = once(this.proc, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  /** Three ports that were free a moment ago. */
  static async freePorts(): Promise<Record<PortVariable, number>> {
    return { PORT: await freePort(), API_PORT: await freePort(), METRICS_PORT: await freePort() };
  }

  static async create(env: Record<string, string>, options?: { ownGroup?: boolean }) {
    return new Serve(await Serve.freePorts(), env, options);
  }

  get running() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits for the exit (failing after EXIT_TIMEOUT_MS: the process hangs). */
  async exit() {
    const timeout = sleep(EXIT_TIMEOUT_MS).then(() => {
      throw new Error(`still running ${EXIT_TIMEOUT_MS} ms later:\n${this.output.join('\n')}`);
    });
    return Promise.race([this.exited, timeout]);
  }

  /** Waits until `times` lines of output match `pattern`. */
  async saw(pattern: RegExp, times = 1) {
    for (let i = 0; i < EXIT_TIMEOUT_MS / 20; i++) {
      if (this.output.filter((l) => pattern.test(l)).length >= times) return;
      if (!this.running) break;
      await sleep(20);
    }
    throw new Error(`no line matched ${pattern}:\n${this.output.join('\n')}`);
  }

  async ready() {
    await waitFor200(`http://127.0.0.1:${this.ports.API_PORT}/readyz`, EXIT_TIMEOUT_MS, this.proc);
  }

  kill() {
    if (this.running) this.proc.kill('SIGKILL');
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Processes (other than this one) whose environment holds `PORT=<port>`. */
function processesWithPort(port: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`PORT=${port}`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** A port held by another program (a plain TCP listener). */
async function occupy(port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function assertNothingLeft(serve: Serve) {
  for (const port of Object.values(serve.ports)) {
    assert.deepEqual(processesWithPort(port), [], `no process of port ${port} is left`);
  }
}

forEachDatabase('a busy port stops the whole start, naming the port and its variable', (kind) => {
  let database: TestDatabase | undefined;
  const started: Serve[] = [];
  after(async () => {
    for (const serve of started) serve.kill();
    await database?.drop();
  });

  for (const [variable, workers] of [
    ['PORT', '1'],
    ['API_PORT', '1'],
    ['METRICS_PORT', '1'],
    ['API_PORT', '2'],
  ] as [PortVariable, string][]) {
    test(`${variable} busy (WORKERS=${workers}): exit 1 at once, the message names it, no port stays open`, async () => {
      database ??= await createTestDatabase(kind);
      const ports = await Serve.freePorts();
      const busyPort = ports[variable];
      const blocker = await occupy(busyPort);
      try {
        const serve = new Serve(ports, { DATABASE_URL: database.url, WORKERS: workers });
        started.push(serve);
        const { code } = await serve.exit();
        assert.equal(code, 1, serve.output.join('\n'));
        const message = serve.output.find((l) => l.startsWith('minitwit serve: '));
        assert.ok(message, serve.output.join('\n'));
        assert.match(
          message,
          new RegExp(`${variable}=${busyPort}: port ${busyPort} is already in use`),
        );
        for (const [other, port] of Object.entries(serve.ports)) {
          if (other !== variable) assert.equal(await accepts(port), false, `${other} is closed`);
        }
        await assertNothingLeft(serve);
      } finally {
        blocker.close();
      }
    });
  }
});

forEachDatabase('SIGINT and SIGTERM always stop `minitwit serve`', (kind) => {
  let database: TestDatabase | undefined;
  const started: Serve[] = [];
  after(async () => {
    for (const serve of started) serve.kill();
    await database?.drop();
  });
  const serve = async (env: Record<string, string> = {}, options?: { ownGroup?: boolean }) => {
    database ??= await createTestDatabase(kind);
    const s = await Serve.create({ DATABASE_URL: database.url, ...env }, options);
    started.push(s);
    return s;
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} during start-up (just after the migrations): exit 0, nothing left listening`, async () => {
      // A fresh database each time, so that the migrations run and say so.
      await database?.drop();
      database = await createTestDatabase(kind);
      const s = await serve();
      await s.saw(/migrations applied/);
      s.proc.kill(signal);
      const { code } = await s.exit();
      assert.equal(code, 0, s.output.join('\n'));
      for (const port of Object.values(s.ports)) assert.equal(await accepts(port), false);
      await assertNothingLeft(s);
    });

    test(`${signal} while serving: drained, exit 0, ports closed`, async () => {
      const s = await serve();
      await s.ready();
      s.proc.kill(signal);
      const { code } = await s.exit();
      assert.equal(code, 0, s.output.join('\n'));
      assert.ok(s.output.some((l) => l.includes('"msg":"stopped"')));
      for (const port of Object.values(s.ports)) assert.equal(await accepts(port), false);
    });
  }

  test('the same signal twice while draining exits at once (128 + signal)', async () => {
    const s = await serve({ SHUTDOWN_DELAY_MS: '600000' });
    await s.ready();
    s.proc.kill('SIGTERM');
    await s.saw(/draining: \/readyz answers 503/);
    s.proc.kill('SIGTERM');
    const { code } = await s.exit();
    assert.equal(code, 143, s.output.join('\n'));
    assert.ok(s.output.some((l) => l.includes('SIGTERM again: exiting now')));
  });

  test('WORKERS=2 and Ctrl-C during start-up (SIGINT to the whole process group): exit 0, nothing left', async () => {
    const s = await serve({ WORKERS: '2' }, { ownGroup: true });
    await s.saw(/cluster primary started/);
    const pid = s.proc.pid;
    assert.ok(pid);
    process.kill(-pid, 'SIGINT');
    const { code } = await s.exit();
    assert.equal(code, 0, s.output.join('\n'));
    await assertNothingLeft(s);
  });

  test('WORKERS=2 and Ctrl-C (SIGINT to the whole process group): every worker drains, exit 0', async () => {
    const s = await serve({ WORKERS: '2' }, { ownGroup: true });
    await s.ready();
    await s.saw(/worker ready/, 2);
    const pid = s.proc.pid;
    assert.ok(pid);
    process.kill(-pid, 'SIGINT');
    const { code } = await s.exit();
    assert.equal(code, 0, s.output.join('\n'));
    assert.equal(s.output.filter((l) => l.includes('"msg":"stopped"')).length, 2);
    assert.ok(!s.output.some((l) => l.includes('exiting now')), 'not forced');
    await assertNothingLeft(s);
  });
});

describe('a stop request while the start-up waits on a database that never answers', () => {
  const stalled: Server[] = [];
  const started: Serve[] = [];
  after(() => {
    for (const serve of started) serve.kill();
    for (const server of stalled) server.close();
  });

  /** A "PostgreSQL" that accepts connections and never says a word. */
  async function silentDatabase() {
    let connections = 0;
    const server = createServer(() => {
      connections++;
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    stalled.push(server);
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    return {
      url: `postgres://minitwit@127.0.0.1:${address.port}/minitwit`,
      connected: async () => {
        while (connections === 0) await sleep(20);
      },
    };
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`${signal}: the start is abandoned after the grace period (exit 0); ${signal} twice: at once (${code})`, async () => {
      for (const twice of [false, true]) {
        const database = await silentDatabase();
        const s = await Serve.create({
          DATABASE_URL: database.url,
          // Abandon quickly; the second run waits "forever" unless the second signal works.
          SHUTDOWN_GRACE_MS: twice ? '600000' : '200',
        });
        started.push(s);
        await database.connected();
        s.proc.kill(signal);
        await s.saw(/stop requested during start-up/);
        if (twice) s.proc.kill(signal);
        const exit = await s.exit();
        assert.equal(exit.code, twice ? code : 0, s.output.join('\n'));
        for (const port of Object.values(s.ports)) assert.equal(await accepts(port), false);
      }
    });
  }
});
