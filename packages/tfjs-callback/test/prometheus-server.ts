/**
 * Test helper: a real Prometheus server (Debian's `prometheus` binary) scraping one target on
 * loopback every second, with a temporary config and storage folder, queried through its HTTP
 * API and stopped by its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seriesKey } from './exposition.js';

/** How long {@link PrometheusRun.until} polls before failing. */
export const WAIT_MS = 30_000;

/** One sample of an instant-vector query. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus server and the queries the tests need. */
export interface PrometheusRun {
  readonly pid: number | undefined;
  /** Instant query; rejects when the API answers with an error. */
  query(promql: string): Promise<VectorSample[]>;
  /** Polls `promql` until a sample has value `expected`; resolves to the seconds it took. */
  until(promql: string, expected: number): Promise<number>;
  /**
   * Every series of `job` whose name matches `nameRegex`, as `seriesKey(name, labels)` → value
   * (the `job` and `instance` labels left out).
   */
  series(nameRegex: string): Promise<Map<string, number>>;
  /** What Prometheus wrote to stderr so far. */
  log(): string;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** A sample value as the Prometheus HTTP API writes it. */
export function apiValue(text: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Starts `binary` scraping `targetUrl` (a full /metrics address) every second as `job`. */
export async function startPrometheus(
  binary: string,
  targetUrl: string,
  job: string,
): Promise<PrometheusRun> {
  const dir = await mkdtemp(join(tmpdir(), 'hessian-prometheus-'));
  const target = new URL(targetUrl);
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${job}`,
      `    metrics_path: ${target.pathname}`,
      '    static_configs:',
      `      - targets: ['${target.host}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk) => {
    log += chunk;
  });
  const api = `http://127.0.0.1:${port}/api/v1/query`;
  const query = async (promql: string): Promise<VectorSample[]> => {
    const response = await fetch(`${api}?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; data: { result: VectorSample[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    return body.data.result;
  };
  return {
    pid: child.pid,
    query,
    async until(promql, expected) {
      const from = performance.now();
      while (performance.now() - from < WAIT_MS) {
        if (child.exitCode !== null) {
          throw new Error(`prometheus exited (${child.exitCode}): ${log}`);
        }
        const samples = await query(promql).catch(() => []);
        if (samples.some((s) => apiValue(s.value[1]) === expected)) {
          return (performance.now() - from) / 1000;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no ${promql} == ${expected} within ${WAIT_MS} ms; log: ${log}`);
    },
    async series(nameRegex) {
      const out = new Map<string, number>();
      for (const sample of await query(`{__name__=~"${nameRegex}",job="${job}"}`)) {
        const { __name__: name, job: _job, instance: _instance, ...labels } = sample.metric;
        out.set(seriesKey(name, labels), apiValue(sample.value[1]));
      }
      return out;
    },
    log: () => log,
    async stop() {
      const pid = child.pid;
      if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(pid, 'SIGTERM');
        const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000));
        if ((await Promise.race([exited, timeout])) === 'timeout') process.kill(pid, 'SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
