/**
 * A local npm registry for the release test: verdaccio (the workspace's pinned devDependency)
 * on 127.0.0.1, whose `@hessian-probe/*` packages live only in it and whose other packages
 * come from the public registry (an uplink, cached in a storage folder kept between runs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A running registry: its URL, a token that may publish, and how to stop it. */
export interface LocalRegistry {
  readonly url: string;
  readonly token: string;
  stop(): Promise<void>;
}

export interface LocalRegistryOptions {
  /** verdaccio's executable (node_modules/.bin/verdaccio). */
  readonly bin: string;
  /** Where the config, the users file and the log go (removed by the caller). */
  readonly workDir: string;
  /**
   * verdaccio's storage, kept between runs so that third-party packages are fetched from the
   * uplink once; the `@hessian-probe` scope in it is emptied first.
   */
  readonly storage: string;
  /** The registry that third-party packages come from, e.g. https://registry.npmjs.org/. */
  readonly uplink: string;
}

const SCOPE = '@hessian-probe';

/** A TCP port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error(`release-test: no port from ${String(address)}`)),
      );
    });
  });
}

function config(storage: string, uplink: string, htpasswd: string): string {
  // Our scope has no `proxy`: its packages can only be the ones this run publishes, never a
  // namesake from the public registry. maxage: the cached metadata of third-party packages is
  // reused for a day, so reruns resolve the same versions without asking the uplink.
  return `storage: ${JSON.stringify(storage)}
auth:
  htpasswd:
    file: ${JSON.stringify(htpasswd)}
    max_users: 1
uplinks:
  npmjs:
    url: ${JSON.stringify(uplink)}
    maxage: 1d
    timeout: 60s
packages:
  '${SCOPE}/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    proxy: npmjs
server:
  keepAliveTimeout: 60
log: { type: stdout, format: pretty, level: warn }
`;
}

async function waitUntilUp(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`release-test: verdaccio exited with ${child.exitCode}; see ${log}`);
    }
    const up = await fetch(`${url}-/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`release-test: verdaccio did not answer ${url}-/ping within 30 s; see ${log}`);
}

/** Adds the one user verdaccio allows and returns its token. */
async function addUser(url: string): Promise<string> {
  const name = 'release-test';
  const response = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `pw-${process.pid}-${Date.now()}` }),
  });
  const body = (await response.json()) as { token?: string };
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(
      `release-test: verdaccio refused the user (${response.status}): ${JSON.stringify(body)}`,
    );
  }
  return body.token;
}

/** Starts verdaccio and returns once it answers and a publishing token exists. */
export async function startRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const { bin, workDir, storage, uplink } = options;
  await mkdir(storage, { recursive: true });
  // Left from an earlier run: this run's packages must be the only ones in the scope.
  await rm(join(storage, SCOPE), { recursive: true, force: true });
  await rm(join(storage, '.verdaccio-db.json'), { force: true });
  const configPath = join(workDir, 'verdaccio.yaml');
  await writeFile(configPath, config(storage, uplink, join(workDir, 'htpasswd')));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const log = join(workDir, 'verdaccio.log');
  const out = createWriteStream(log);
  const child = spawn(bin, ['--config', configPath, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await waitUntilUp(url, child, log);
    return { url, token: await addUser(url), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
