/**
 * Makes `@tensorflow/tfjs-node` (the native 'tensorflow' backend) load in this workspace.
 *
 * tfjs-node's own install script downloads libtensorflow 2.9.1 and a prebuilt addon from a host
 * that machines reaching only the package registries cannot reach, so the workspace denies that
 * script (pnpm-workspace.yaml) and runs this one instead, from the root `postinstall`:
 *
 * 1. libtensorflow comes from the PyPI wheel `tensorflow-cpu` (2.12.1 and later ship
 *    `libtensorflow_cc.so.2` and `libtensorflow_framework.so.2` with the whole C and eager API
 *    the binding calls, plus the C headers). The wheel is found through PyPI's JSON simple API
 *    (PEP 691), checked against its published sha256 and unpacked into a cache folder outside
 *    node_modules, so a reinstall does not download it again.
 * 2. The package's `deps/` points at that folder, with the file names its binding.gyp links.
 * 3. The N-API addon is compiled from tfjs-node's own sources with node-gyp, into the path
 *    `@mapbox/node-pre-gyp` looks up at run time (`lib/napi-v<N>/tfjs_binding.node`).
 * 4. A child process loads the package and checks that the backend is 'tensorflow' and computes.
 *
 * Idempotent: a working addon is left alone (about a second). A user with normal internet does
 * not need this: `npm i @tensorflow/tfjs-node` downloads what it needs.
 *
 * Environment: `HESSIAN_PROBE_CACHE` (default `$XDG_CACHE_HOME/hessian-probe`, else
 * `~/.cache/hessian-probe`), `HESSIAN_PROBE_TF_VERSION` (default 2.18.1), `HESSIAN_PROBE_PYPI`
 * (a PEP 691 simple index, default https://pypi.org/simple), `HESSIAN_PROBE_SKIP_TFJS_NODE=1`
 * to skip. Without a C++ toolchain or network the script explains what failed and exits 0
 * (the wasm and cpu backends still work), unless `CI` or `HESSIAN_PROBE_REQUIRE_TFJS_NODE` is
 * set, when it exits 1: CI must test the native backend.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';

const TF_VERSION = process.env.HESSIAN_PROBE_TF_VERSION ?? '2.18.1';
const PYPI = (process.env.HESSIAN_PROBE_PYPI ?? 'https://pypi.org/simple').replace(/\/$/, '');
const CACHE =
  process.env.HESSIAN_PROBE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hessian-probe');
const REQUIRED = Boolean(process.env.CI || process.env.HESSIAN_PROBE_REQUIRE_TFJS_NODE);
/** The N-API version node-pre-gyp picks on Node 20 (the highest tfjs-node lists that Node has). */
const NAPI_VERSION = 8;

/** Shared libraries taken from the wheel, and the names binding.gyp and install.js look for. */
const LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
const LINKS: Record<string, string> = {
  'libtensorflow.so': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2': 'libtensorflow_cc.so.2',
  'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
};
/** Header folders of the C API and what it includes (the layout moved between TF releases). */
const HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/core/platform/',
  'tensorflow/include/tensorflow/tsl/',
  'tensorflow/include/tsl/',
  'tensorflow/include/xla/tsl/',
];

class SetupError extends Error {}

function log(message: string): void {
  process.stderr.write(`[tfjs-node] ${message}\n`);
}

const here = dirname(fileURLToPath(import.meta.url));
const requireFromRoot = createRequire(resolve(here, '../../package.json'));

function packageDir(): string {
  try {
    return dirname(requireFromRoot.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    throw new SetupError('@tensorflow/tfjs-node is not installed (run pnpm install first)');
  }
}

/** Loads tfjs-node in a child process; returns the libtensorflow version, or the failure. */
function probe(pkg: string): { ok: true; version: string } | { ok: false; reason: string } {
  const script = `
    const tf = require(${JSON.stringify(pkg)});
    const v = tf.matMul([[1, 2]], [[3], [4]]).dataSync()[0];
    if (tf.getBackend() !== 'tensorflow' || v !== 11) {
      throw new Error('backend ' + tf.getBackend() + ', 1·3 + 2·4 = ' + v);
    }
    process.stdout.write(tf.backend().binding.TF_Version);`;
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  if (run.status === 0) return { ok: true, version: run.stdout.trim() };
  const lines = `${run.stderr}`.split('\n').filter((line) => /Error|error:/.test(line));
  return { ok: false, reason: lines.slice(0, 2).join(' ') || `exit ${run.status}` };
}

interface WheelFile {
  filename: string;
  url: string;
  hashes: { sha256?: string };
}

async function findWheel(): Promise<WheelFile> {
  const index = `${PYPI}/tensorflow-cpu/`;
  const response = await fetch(index, {
    headers: { Accept: 'application/vnd.pypi.simple.v1+json' },
  });
  if (!response.ok) throw new SetupError(`GET ${index}: HTTP ${response.status}`);
  const { files } = (await response.json()) as { files: WheelFile[] };
  // Only the shared libraries are used, so any CPython tag of the manylinux x86_64 build will do.
  const wanted = new RegExp(
    `^tensorflow_cpu-${TF_VERSION.replace(/\./g, '\\.')}-cp3\\d+-cp3\\d+-manylinux.*x86_64\\.whl$`,
  );
  const wheel = files.find((file) => wanted.test(file.filename));
  if (!wheel)
    throw new SetupError(`no manylinux x86_64 wheel of tensorflow-cpu ${TF_VERSION} in ${index}`);
  if (!wheel.hashes.sha256) throw new SetupError(`${wheel.filename} has no sha256 in ${index}`);
  return wheel;
}

async function download(wheel: WheelFile, path: string): Promise<void> {
  log(`downloading ${wheel.filename} from PyPI`);
  const response = await fetch(wheel.url);
  if (!response.ok || !response.body)
    throw new SetupError(`GET ${wheel.url}: HTTP ${response.status}`);
  const hash = createHash('sha256');
  const file = createWriteStream(path);
  await pipeline(
    response.body as unknown as AsyncIterable<Uint8Array>,
    async function* (chunks) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    },
    file,
  );
  const actual = hash.digest('hex');
  if (actual !== wheel.hashes.sha256) {
    throw new SetupError(`${wheel.filename}: sha256 ${actual}, PyPI lists ${wheel.hashes.sha256}`);
  }
}

/** Copies the shared libraries and C headers out of the wheel into `out/{lib,include}`. */
async function extract(wheelPath: string, out: string): Promise<void> {
  const zip = await yauzl.openPromise(wheelPath);
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      let target: string | undefined;
      if (LIBRARIES.some((library) => name === `tensorflow/${library}`)) {
        target = join(out, 'lib', name.slice('tensorflow/'.length));
      } else if (name.endsWith('.h') && HEADER_PREFIXES.some((prefix) => name.startsWith(prefix))) {
        target = join(out, 'include', name.slice('tensorflow/include/'.length));
      }
      if (!target) continue;
      mkdirSync(dirname(target), { recursive: true });
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
    }
  } finally {
    zip.close();
  }
  for (const library of LIBRARIES) {
    if (!existsSync(join(out, 'lib', library))) {
      throw new SetupError(`the wheel has no ${library} (tensorflow-cpu 2.12.1 or later has it)`);
    }
  }
  for (const [link, target] of Object.entries(LINKS)) symlinkSync(target, join(out, 'lib', link));
}

/** The cached libtensorflow folder, downloaded and unpacked on first use. */
async function libtensorflow(): Promise<string> {
  const dir = join(CACHE, `libtensorflow-cpu-${TF_VERSION}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  const wheelPath = `${partial}.whl`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(join(partial, 'lib'), { recursive: true });
  try {
    const wheel = await findWheel();
    await download(wheel, wheelPath);
    log(`unpacking libtensorflow into ${dir}`);
    await extract(wheelPath, partial);
    writeFileSync(join(partial, '.complete'), `${wheel.filename} sha256:${wheel.hashes.sha256}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  } finally {
    rmSync(wheelPath, { force: true });
    rmSync(partial, { recursive: true, force: true });
  }
  return dir;
}

/** Where Node's own headers are (node-gyp would otherwise download them from nodejs.org). */
function nodeHeaders(): string {
  const candidates = [process.env.npm_config_nodedir, resolve(process.execPath, '../..'), '/usr'];
  for (const dir of candidates) {
    if (
      dir &&
      existsSync(join(dir, 'include/node/node_api.h')) &&
      existsSync(join(dir, 'include/node/common.gypi'))
    ) {
      return dir;
    }
  }
  throw new SetupError(
    `no Node.js headers (include/node/node_api.h) under ${candidates.filter(Boolean).join(', ')}`,
  );
}

/**
 * node-gyp as the package managers bundle it: pnpm's copy while pnpm runs this script, else
 * npm's (both come with the quick start's `npm i -g pnpm`).
 */
function nodeGyp(): string {
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const candidates = [
    join(npmRoot, 'pnpm/dist/node_modules/node-gyp/bin/node-gyp.js'),
    join(npmRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new SetupError(`node-gyp not found (looked in ${candidates.join(', ')})`);
  return found;
}

function compileAddon(pkg: string): void {
  for (const tool of ['make', 'g++']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new SetupError(`${tool} is missing (Debian: apt-get install -y make g++)`);
    }
  }
  const modulePath = join(pkg, 'lib', `napi-v${NAPI_VERSION}`);
  log('compiling tfjs_binding.node with node-gyp (about 20 s)');
  const build = spawnSync(
    process.execPath,
    [
      nodeGyp(),
      'rebuild',
      `--nodedir=${nodeHeaders()}`,
      `--napi_build_version=${NAPI_VERSION}`,
      '--module_name=tfjs_binding',
      `--module_path=${modulePath}`,
    ],
    { cwd: pkg, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  if (build.status !== 0) {
    throw new SetupError(
      `node-gyp failed (exit ${build.status}):\n${build.stderr.split('\n').slice(-15).join('\n')}`,
    );
  }
}

async function main(): Promise<void> {
  if (process.env.HESSIAN_PROBE_SKIP_TFJS_NODE) {
    log('skipped (HESSIAN_PROBE_SKIP_TFJS_NODE is set)');
    return;
  }
  const pkg = packageDir();
  const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
  const before = probe(pkg);
  if (before.ok) {
    log(`@tensorflow/tfjs-node ${version} works (libtensorflow ${before.version})`);
    return;
  }
  const started = Date.now();
  const lib = await libtensorflow();
  const deps = join(pkg, 'deps');
  let linked: string | undefined;
  try {
    linked = readlinkSync(deps);
  } catch {}
  if (linked !== lib) {
    rmSync(deps, { recursive: true, force: true });
    symlinkSync(lib, deps);
  }
  compileAddon(pkg);
  const after = probe(pkg);
  if (!after.ok) throw new SetupError(`the addon was built but does not load: ${after.reason}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  log(
    `@tensorflow/tfjs-node ${version} works on libtensorflow ${after.version} (set up in ${seconds} s)`,
  );
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  log(`the native 'tensorflow' backend is not available: ${message}`);
  if (REQUIRED) {
    process.exitCode = 1;
  } else {
    log('the wasm and cpu backends still work; see scripts/native-backend/README.md');
  }
});
