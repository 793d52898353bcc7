import { Agent, createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OptionError } from '@hessian-probe/core';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MetricsPushError,
  type MetricsServer,
  MetricsServerError,
  pushMetrics,
  type ServeMetricsOptions,
  serveMetrics,
} from './server.js';

const open: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function serve(options: ServeMetricsOptions): Promise<MetricsServer> {
  const server = await serveMetrics(options);
  open.push(server);
  return server;
}

/** A registry with one gauge set to `value`. */
function registryWith(value: number): Registry {
  const registry = new Registry();
  new Gauge({ name: 'probe_value', help: 'A test value.', registers: [registry] }).set(value);
  return registry;
}

describe('serveMetrics', () => {
  it('serves the registry at url with its content type; port 0 picks a free port', async () => {
    const registry = registryWith(2.5);
    const server = await serve({ registry, port: 0 });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    expect(server.port).toBeGreaterThan(0);
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(registry.contentType);
    const body = await response.text();
    expect(body).toBe(await registry.metrics());
    expect(body).toMatch(/^probe_value 2\.5$/m);
  });

  it('reads the registry at each request', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'probe_value', help: 'A test value.', registers: [registry] });
    const server = await serve({ registry, port: 0 });
    gauge.set(1);
    expect(await (await fetch(server.url)).text()).toMatch(/^probe_value 1$/m);
    gauge.set(7);
    expect(await (await fetch(server.url)).text()).toMatch(/^probe_value 7$/m);
  });

  it('answers 404 off the metrics path, 405 for other methods, and HEAD without a body', async () => {
    const server = await serve({ registry: registryWith(1), port: 0, path: '/probe' });
    const base = `http://127.0.0.1:${server.port}`;
    expect(server.url).toBe(`${base}/probe`);
    for (const path of ['/', '/metrics', '/probe/x', '/probex']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text()).toBe('Not found: the metrics are at /probe\n');
    }
    expect((await fetch(`${base}/probe?debug=1`)).status).toBe(200);
    const post = await fetch(server.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers 500 when collecting fails, and keeps serving', async () => {
    let fail = true;
    const registry = {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: async () => {
        if (fail) throw new Error('collector broke');
        return 'probe_value 3\n';
      },
    } as unknown as Registry;
    const server = await serve({ registry, port: 0 });
    const failed = await fetch(server.url);
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('Collecting the metrics failed: collector broke\n');
    fail = false;
    expect(await (await fetch(server.url)).text()).toBe('probe_value 3\n');
  });

  it('rejects with a MetricsServerError naming EADDRINUSE and the port when it is taken', async () => {
    const first = await serve({ registry: registryWith(1), port: 0 });
    const attempt = serveMetrics({ registry: registryWith(2), port: first.port });
    await expect(attempt).rejects.toBeInstanceOf(MetricsServerError);
    const error = (await attempt.catch((e: unknown) => e)) as MetricsServerError;
    expect(error.code).toBe('metrics-server');
    expect(error.reason).toBe('EADDRINUSE');
    expect(error.port).toBe(first.port);
    expect(error.host).toBe('127.0.0.1');
    expect(error.message).toBe(
      `serveMetrics: expected to listen on 127.0.0.1 port ${first.port}, got EADDRINUSE (address already in use: pass another port, or port 0 for a free one)`,
    );
    // The server that holds the port is unaffected.
    expect(await (await fetch(first.url)).text()).toMatch(/^probe_value 1$/m);
  });

  it('close() frees the port even with an open keep-alive connection, and can be called twice', async () => {
    const server = await serveMetrics({ registry: registryWith(1), port: 0 });
    // A keep-alive connection, as Prometheus holds between scrapes.
    const socketClosed = new Promise<void>((resolve) => {
      request(server.url, { agent: new Agent({ keepAlive: true }) }, (res: IncomingMessage) => {
        res.resume();
        res.socket.once('close', () => resolve());
      }).end();
    });
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await Promise.all([server.close(), server.close()]);
    await socketClosed;
    expect(performance.now() - started).toBeLessThan(1000);
    const again = await serve({ registry: registryWith(2), port: server.port });
    expect(again.port).toBe(server.port);
  });

  it('does not keep the process alive unless asked to', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const count = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length - before;
    await serve({ registry: registryWith(1), port: 0 });
    expect(count()).toBe(0);
    await serve({ registry: registryWith(1), port: 0, keepProcessAlive: true });
    expect(count()).toBe(1);
  });

  it.each<[unknown, RegExp]>([
    [
      { registry: registryWith(1), port: -1 },
      /expected port to be an integer in \[0, 65535\], got -1/,
    ],
    [{ registry: registryWith(1), port: 65536 }, /got 65536/],
    [{ registry: registryWith(1), port: 80.5 }, /got 80\.5/],
    [{ registry: registryWith(1), host: '' }, /expected host to be a non-empty string, got ""/],
    [
      { registry: registryWith(1), path: 'metrics' },
      /expected path to start with '\/', got "metrics"/,
    ],
    [{ registry: {} }, /expected registry to be a prom-client Registry/],
    [
      { registry: registryWith(1), keepProcessAlive: 1 },
      /expected keepProcessAlive to be a boolean/,
    ],
  ])('rejects %j with an OptionError', async (options, message) => {
    const attempt = serveMetrics(options as ServeMetricsOptions);
    await expect(attempt).rejects.toBeInstanceOf(OptionError);
    await expect(attempt).rejects.toThrow(message);
  });
});

/** A stand-in Pushgateway that records requests and answers with `status`. */
async function fakeGateway(status: number) {
  const requests: { method: string; url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(status);
      res.end(status >= 400 ? 'push rejected' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('pushMetrics', () => {
  it('PUTs the exposition to /metrics/job/<job>/<grouping>', async () => {
    const gateway = await fakeGateway(200);
    const registry = registryWith(4);
    try {
      await pushMetrics({ registry, url: gateway.url, job: 'mnist', groupings: { run: 'r 1' } });
    } finally {
      await gateway.close();
    }
    expect(gateway.requests).toEqual([
      { method: 'PUT', url: '/metrics/job/mnist/run/r%201', body: await registry.metrics() },
    ]);
  });

  it('rejects with a MetricsPushError carrying the status when the gateway refuses', async () => {
    const gateway = await fakeGateway(500);
    try {
      const attempt = pushMetrics({ registry: registryWith(1), url: gateway.url, job: 'mnist' });
      await expect(attempt).rejects.toBeInstanceOf(MetricsPushError);
      await expect(attempt).rejects.toThrow(
        `pushMetrics: expected the Pushgateway at ${gateway.url} to accept job "mnist", got push failed with status 500, push rejected`,
      );
    } finally {
      await gateway.close();
    }
  });

  it('rejects with a MetricsPushError when nothing listens', async () => {
    const gateway = await fakeGateway(200);
    await gateway.close();
    const attempt = pushMetrics({ registry: registryWith(1), url: gateway.url, job: 'mnist' });
    await expect(attempt).rejects.toBeInstanceOf(MetricsPushError);
    await expect(attempt).rejects.toThrow(/ECONNREFUSED/);
  });

  it.each<[unknown, RegExp]>([
    [{ url: 'localhost:9091', job: 'j' }, /expected url to be an http\(s\) address/],
    [{ url: 'ftp://x', job: 'j' }, /expected url to be an http\(s\) address, got "ftp:\/\/x"/],
    [{ url: 'http://x', job: '' }, /expected job to be a non-empty string/],
    [{ url: 'http://x', job: 'j', groupings: { run: '' } }, /expected groupings.run to be/],
    [{ url: 'http://x', job: 'j', timeoutMs: 0 }, /expected timeoutMs to be a number > 0/],
  ])('rejects %j with an OptionError', async (options, message) => {
    const attempt = pushMetrics({ registry: registryWith(1), ...(options as object) } as never);
    await expect(attempt).rejects.toBeInstanceOf(OptionError);
    await expect(attempt).rejects.toThrow(message);
  });
});
