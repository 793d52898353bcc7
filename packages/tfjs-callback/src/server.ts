/**
 * Getting metrics to Prometheus: a /metrics page on node:http for Prometheus to scrape, and a
 * push to a Pushgateway for jobs too short to be scraped.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { HessianProbeError, OptionError } from '@hessian-probe/core';
import { Pushgateway, type Registry } from 'prom-client';

/** The part of a prom-client `Registry` the server reads. */
export type MetricsSource = Pick<Registry, 'metrics' | 'contentType'>;

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** The registry to serve, e.g. `curvatureMetrics().registry`. */
  registry: MetricsSource;
  /** TCP port, an integer in [0, 65535]; 0 picks a free one. Default 9464. */
  port?: number;
  /**
   * Address to listen on. Default `'127.0.0.1'` (this machine only); `'0.0.0.0'` or `'::'` to
   * let another machine's Prometheus scrape.
   */
  host?: string;
  /** Path of the metrics page, starting with `/`. Default `'/metrics'`. */
  path?: string;
  /**
   * Whether the open server keeps Node running. Default false: like a daemon thread, it serves
   * while the process has other work (training) and does not stop the process from exiting.
   */
  keepProcessAlive?: boolean;
}

/** A running metrics server. */
export interface MetricsServer {
  /** Full address of the metrics page, e.g. `'http://127.0.0.1:9464/metrics'`. */
  readonly url: string;
  /** The port listened on (the one picked when `port` was 0). */
  readonly port: number;
  /** Stops listening and closes open connections; resolves when done. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The metrics server could not start (`code` `'metrics-server'`), typically because the port
 * is in use (`reason` `'EADDRINUSE'`). A caller inside training catches it and carries on.
 */
export class MetricsServerError extends HessianProbeError {
  /** The system error code, e.g. `'EADDRINUSE'`, `'EACCES'`, `'EADDRNOTAVAIL'`. */
  readonly reason: string;
  readonly host: string;
  readonly port: number;

  constructor(message: string, reason: string, host: string, port: number, cause: unknown) {
    super('metrics-server', message, { cause });
    this.reason = reason;
    this.host = host;
    this.port = port;
  }
}

const SERVE = 'serveMetrics';

const HINTS: Record<string, string> = {
  EADDRINUSE: 'address already in use: pass another port, or port 0 for a free one',
  EACCES: 'permission denied: ports below 1024 need privileges, use a higher port',
  EADDRNOTAVAIL: 'the host is not an address of this machine',
};

/**
 * Serves a registry's metrics over HTTP for Prometheus to scrape: `GET`/`HEAD` of `path`
 * answers with the registry's exposition and content type; other paths are 404, other methods
 * 405. A failure while collecting answers 500 with the error message and leaves the server up.
 *
 * @returns once listening; `url` is the page to put in Prometheus's `static_configs`.
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} (as a rejection) for bad
 *   options.
 * @throws {@link MetricsServerError} (as a rejection) when it cannot listen, e.g. the port is in
 * use; the message names the host, the port and the system error code.
 *
 * @example
 * ```ts
 * const metrics = curvatureMetrics();
 * const server = await serveMetrics({ registry: metrics.registry }); // port 9464
 * console.log(`Prometheus can scrape ${server.url}`);
 * // … train …
 * await server.close();
 * ```
 */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  const {
    registry,
    port = 9464,
    host = '127.0.0.1',
    path = '/metrics',
    keepProcessAlive = false,
  } = checkServeOptions(options);

  const server = createServer((request, response) => {
    handle(registry, path, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    const reason = error.code ?? 'ERROR';
    const hint = HINTS[reason] ?? error.message;
    throw new MetricsServerError(
      `${SERVE}: expected to listen on ${host} port ${port}, got ${reason} (${hint})`,
      reason,
      host,
      port,
      error,
    );
  });
  // Errors after listening (rare: a socket error on the server itself) must not crash training.
  server.on('error', () => {});
  if (!keepProcessAlive) server.unref();

  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${actualPort}${path}`,
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Prometheus keeps its scrape connection open; without this close() would wait for it.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function handle(
  registry: MetricsSource,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const { pathname } = new URL(request.url ?? '/', 'http://localhost');
  const text = (status: number, body: string, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    response.end(body);
  };
  if (pathname !== path) {
    text(404, `Not found: the metrics are at ${path}\n`);
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    text(405, `Method ${request.method} not allowed: use GET\n`, { allow: 'GET, HEAD' });
    return;
  }
  Promise.resolve()
    .then(() => registry.metrics())
    .then(
      (body) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        text(500, `Collecting the metrics failed: ${message}\n`);
      },
    );
}

function checkServeOptions(options: ServeMetricsOptions): ServeMetricsOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`${SERVE}: expected an options object, got ${String(options)}`);
  }
  const {
    registry,
    port = 9464,
    host = '127.0.0.1',
    path = '/metrics',
    keepProcessAlive,
  } = options;
  if (typeof registry?.metrics !== 'function') {
    throw new OptionError(
      `${SERVE}: expected registry to be a prom-client Registry, got ${String(registry)}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionError(
      `${SERVE}: expected port to be an integer in [0, 65535], got ${String(port)}`,
    );
  }
  if (typeof host !== 'string' || host.length === 0) {
    throw new OptionError(
      `${SERVE}: expected host to be a non-empty string, got ${JSON.stringify(host)}`,
    );
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new OptionError(`${SERVE}: expected path to start with '/', got ${JSON.stringify(path)}`);
  }
  if (keepProcessAlive !== undefined && typeof keepProcessAlive !== 'boolean') {
    throw new OptionError(
      `${SERVE}: expected keepProcessAlive to be a boolean, got ${String(keepProcessAlive)}`,
    );
  }
  return options;
}

/** Options of {@link pushMetrics}. */
export interface PushMetricsOptions {
  /** The registry to push. */
  registry: Registry;
  /** Base address of the Pushgateway, e.g. `'http://pushgateway:9091'`. */
  url: string;
  /** Value of the `job` grouping label, e.g. `'hessian-probe'`. */
  job: string;
  /** Further grouping labels, e.g. `{ run: 'r42' }`. Default none. */
  groupings?: Record<string, string>;
  /** Milliseconds to wait for the Pushgateway before giving up. Default 5000. */
  timeoutMs?: number;
}

/**
 * The push to the Pushgateway failed (`code` `'metrics-push'`): unreachable, timed out, or an
 * HTTP error status (in the message).
 */
export class MetricsPushError extends HessianProbeError {
  constructor(message: string, cause: unknown) {
    super('metrics-push', message, { cause });
  }
}

/**
 * Pushes a registry's current metrics to a Prometheus Pushgateway (prom-client's `Pushgateway`,
 * HTTP PUT), replacing what the group `job` (+ `groupings`) held before: for training jobs that
 * end before Prometheus would scrape them. Push after the last report, or after each one.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} (as a rejection) for bad
 *   options.
 * @throws {@link MetricsPushError} (as a rejection) when the push does not succeed.
 *
 * @example
 * ```ts
 * const metrics = curvatureMetrics({ defaultLabels: { run: 'r42' } });
 * // … train with hessianCallback({ metrics }) …
 * await pushMetrics({ registry: metrics.registry, url: 'http://localhost:9091', job: 'mnist' });
 * ```
 */
export async function pushMetrics(options: PushMetricsOptions): Promise<void> {
  const where = 'pushMetrics';
  const { registry, url, job, groupings = {}, timeoutMs = 5000 } = options ?? {};
  if (typeof registry?.metrics !== 'function') {
    throw new OptionError(
      `${where}: expected registry to be a prom-client Registry, got ${String(registry)}`,
    );
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new OptionError(
      `${where}: expected url to be an http(s) address, got ${JSON.stringify(url)}`,
    );
  }
  if (typeof job !== 'string' || job.length === 0) {
    throw new OptionError(
      `${where}: expected job to be a non-empty string, got ${JSON.stringify(job)}`,
    );
  }
  for (const [key, value] of Object.entries(groupings)) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new OptionError(
        `${where}: expected groupings.${key} to be a non-empty string, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new OptionError(
      `${where}: expected timeoutMs to be a number > 0, got ${String(timeoutMs)}`,
    );
  }
  const gateway = new Pushgateway(url, { timeout: timeoutMs }, registry);
  try {
    await gateway.push({ jobName: job, groupings });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new MetricsPushError(
      `${where}: expected the Pushgateway at ${url} to accept job ${JSON.stringify(job)}, got ${message}`,
      error,
    );
  }
}
