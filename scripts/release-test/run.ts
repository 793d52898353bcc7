/**
 * The release test (`pnpm test:release`): packs every package as `pnpm publish` would, publishes
 * the tarballs to a local verdaccio, then installs them with npm into new projects outside the
 * workspace and uses them as a user would: each README's install line (whose size is measured
 * and whose dependencies are checked), an ES module, a CommonJS script, a TypeScript project
 * under `module: nodenext` as ESM and as CommonJS and under `module: commonjs`, the READMEs'
 * marked snippets verbatim, and `npx hessian-probe --version` / `--help`. Exits 1 at the first
 * failure, naming the step.
 *
 * Downloads are cached under `$HESSIAN_PROBE_CACHE/release-test` (default
 * `$XDG_CACHE_HOME/hessian-probe`, else `~/.cache/hessian-probe`): npm's cache and
 * verdaccio's copy of third-party packages.
 * `--keep` leaves the temporary folder (consumers, tarballs, verdaccio's log) in place.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type LocalRegistry, startRegistry } from './registry.js';
import { extractSnippets, type Snippet } from './snippets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = join(ROOT, 'scripts/release-test');
/** Publish order: every package after the ones it depends on. */
const PACKAGES = ['core', 'report', 'tfjs-callback', 'onnx-adapter'] as const;
type PackageDir = (typeof PACKAGES)[number];
/** What installing a package alone must not bring (heavy, and unused by it). */
const MUST_NOT_INSTALL: Record<PackageDir, readonly string[]> = {
  core: ['onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs', 'vega'],
  report: ['onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-core'],
  'tfjs-callback': ['onnxruntime-node', '@tensorflow/tfjs-node', 'vega'],
  'onnx-adapter': ['@tensorflow/tfjs-node'],
};
const TYPESCRIPT = '5.9.3';
const TYPES_NODE = '20.19.0';

const run = promisify(execFile);
const started = performance.now();
const timings: { step: string; seconds: number }[] = [];

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  process.stdout.write(`release-test: ${name} …\n`);
  try {
    return await fn();
  } catch (error) {
    throw new Error(
      `release-test: ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    timings.push({ step: name, seconds: (performance.now() - t0) / 1000 });
  }
}

/** Runs a command, echoing its output only when it fails; resolves to its stdout. */
async function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return await new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', command], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`\`${command}\` in ${cwd} exited with ${code}:\n${out}${err}`));
    });
  });
}

async function du(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false,
  );
}

/** `pnpm pack` of one package (its prepack builds it; workspace:* becomes the version). */
async function pack(dir: PackageDir, out: string, env: NodeJS.ProcessEnv): Promise<string> {
  const stdout = await sh(
    `pnpm pack --pack-destination ${JSON.stringify(out)}`,
    join(ROOT, 'packages', dir),
    env,
  );
  const tgz = stdout
    .trim()
    .split('\n')
    .find((l) => l.trim().endsWith('.tgz'));
  if (tgz === undefined) throw new Error(`no tarball named in pnpm pack's output:\n${stdout}`);
  return tgz.trim();
}

async function readmeSnippets(consumer: string, dir: PackageDir): Promise<Snippet[]> {
  // The README users see: the one inside the installed tarball.
  const readme = join(consumer, 'node_modules/@hessian-probe', dir, 'README.md');
  return extractSnippets(await readFile(readme, 'utf8'), `packages/${dir}/README.md`);
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  // The workspace's cache folder, chosen as scripts/native-backend chooses it.
  const cacheRoot =
    process.env.HESSIAN_PROBE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hessian-probe');
  const cache = join(cacheRoot, 'release-test');
  const work = await mkdtemp(join(tmpdir(), 'hessian-probe-release-'));
  if (!relative(ROOT, work).startsWith('..')) throw new Error(`${work} is inside the workspace`);
  const uplink = (await run('npm', ['config', 'get', 'registry'], { cwd: tmpdir() })).stdout.trim();
  let registry: LocalRegistry | undefined;
  try {
    registry = await step('start verdaccio', () =>
      startRegistry({
        bin: join(ROOT, 'node_modules/.bin/verdaccio'),
        workDir: work,
        storage: join(cache, 'verdaccio-storage'),
        uplink,
      }),
    );
    const { url, token } = registry;
    // npm in the consumers: this registry only, the cache kept between runs, no user config.
    const npmrc = join(work, 'npmrc');
    await writeFile(
      npmrc,
      `registry=${url}\n//${url.slice('http://'.length)}:_authToken=${token}\n`,
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      npm_config_userconfig: npmrc,
      npm_config_registry: url,
      npm_config_cache: join(cache, 'npm-cache'),
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      npm_config_loglevel: 'error',
    };
    for (const key of Object.keys(env)) {
      // Variables pnpm sets for the script running this file would leak into npm.
      if (
        /^npm_(package|lifecycle|config_(?!userconfig|registry|cache|audit|fund|update_notifier|loglevel))/.test(
          key,
        )
      ) {
        delete env[key];
      }
    }

    const tarballs = join(work, 'tarballs');
    await mkdir(tarballs);
    const packed = await step('pack every package (prepack builds)', async () => {
      const result: Record<string, string> = {};
      for (const dir of PACKAGES) result[dir] = await pack(dir, tarballs, env);
      return result;
    });
    await step('publish to verdaccio', async () => {
      for (const dir of PACKAGES) await sh(`npm publish ${JSON.stringify(packed[dir])}`, work, env);
    });

    // One project per package: its README's install line verbatim, measured, then its `sh` snippets.
    const sizes: {
      dir: PackageDir;
      bytes: number;
      tf: number;
      ort: number;
      packages: number;
      tarball: number;
    }[] = [];
    // In parallel: the installs wait mostly on unpacking, one process at a time.
    await step('install each package alone as its README says (in parallel)', async () => {
      await Promise.all(
        PACKAGES.map(async (dir) => {
          const consumer = join(work, `alone-${dir}`);
          await mkdir(consumer);
          await writeFile(join(consumer, 'package.json'), '{ "private": true }\n');
          const readme = await readFile(join(ROOT, 'packages', dir, 'README.md'), 'utf8');
          const install = extractSnippets(readme, `packages/${dir}/README.md`).find(
            (s) => s.kind === 'install',
          );
          await sh(install!.code, consumer, env);
          for (const name of MUST_NOT_INSTALL[dir]) {
            if (await exists(join(consumer, 'node_modules', name))) {
              throw new Error(`installing ${dir} alone brought ${name}`);
            }
          }
          const lock = JSON.parse(await readFile(join(consumer, 'package-lock.json'), 'utf8')) as {
            packages: Record<string, unknown>;
          };
          const modules = join(consumer, 'node_modules');
          sizes.push({
            dir,
            bytes: await du(modules),
            tf: (await exists(join(modules, '@tensorflow')))
              ? await du(join(modules, '@tensorflow'))
              : 0,
            ort: (await exists(join(modules, 'onnxruntime-node')))
              ? await du(join(modules, 'onnxruntime-node'))
              : 0,
            packages: Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/'))
              .length,
            tarball: (await stat(packed[dir])).size,
          });
          for (const snippet of await readmeSnippets(consumer, dir)) {
            if (snippet.kind === 'run' && snippet.lang === 'sh')
              await sh(snippet.code, consumer, env);
          }
        }),
      );
    });
    sizes.sort((x, y) => PACKAGES.indexOf(x.dir) - PACKAGES.indexOf(y.dir));

    // Every package together, with TypeScript: the scripts, the typed project, the snippets.
    const all = join(work, 'all');
    await step('install every package together, with typescript', async () => {
      // Started from a hard-linked copy of the onnx-adapter project (npm adds what is missing),
      // which saves extracting onnxruntime-node and tfjs a second time.
      await sh(
        `cp -al ${JSON.stringify(join(work, 'alone-onnx-adapter'))} ${JSON.stringify(all)}`,
        work,
        env,
      );
      // Removed before writing: the copies are hard links to the onnx-adapter project's files.
      await rm(join(all, 'package.json'));
      await rm(join(all, 'package-lock.json'));
      await writeFile(join(all, 'package.json'), '{ "private": true, "type": "module" }\n');
      const names = PACKAGES.map((d) => `@hessian-probe/${d}`).join(' ');
      await sh(
        `ONNXRUNTIME_NODE_INSTALL=skip npm install ${names} @tensorflow/tfjs typescript@${TYPESCRIPT} @types/node@${TYPES_NODE}`,
        all,
        env,
      );
    });
    await step('ESM script', async () => {
      await copyFile(join(HERE, 'consumer/esm.mjs'), join(all, 'esm.mjs'));
      process.stdout.write(`  ${await sh('node esm.mjs', all, env)}`);
    });
    await step('CommonJS script (require of ESM)', async () => {
      await copyFile(join(HERE, 'consumer/cjs.cjs'), join(all, 'cjs.cjs'));
      process.stdout.write(`  ${await sh('node cjs.cjs 2>&1', all, env)}`);
    });
    // nodenext as an ES module and as CommonJS; and `module: commonjs`, whose default node10
    // resolution ignores `exports` (core's subpaths resolve through `typesVersions`).
    const flavours = [
      { name: 'module nodenext, ESM', type: 'module', module: 'nodenext' },
      { name: 'module nodenext, CommonJS', type: 'commonjs', module: 'nodenext' },
      { name: 'module commonjs (node10 resolution)', type: 'commonjs', module: 'commonjs' },
    ] as const;
    for (const [i, flavour] of flavours.entries()) {
      await step(`TypeScript, ${flavour.name}`, async () => {
        const project = join(all, `ts-${i}`);
        await mkdir(project);
        await writeFile(
          join(project, 'package.json'),
          `{ "private": true, "type": "${flavour.type}" }\n`,
        );
        await writeFile(join(project, 'tsconfig.json'), tsconfig(['typed.ts'], flavour.module));
        await copyFile(join(HERE, 'consumer/typed.ts'), join(project, 'typed.ts'));
        await sh('../node_modules/.bin/tsc -p .', project, env);
        process.stdout.write(`  ${await sh('node out/typed.js', project, env)}`);
      });
    }
    await step('README snippets (ts), compiled strict and run', async () => {
      const project = join(all, 'snippets');
      await mkdir(project);
      await writeFile(join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
      const files: string[] = [];
      for (const dir of PACKAGES) {
        for (const [i, s] of (await readmeSnippets(all, dir)).entries()) {
          if (s.kind !== 'run' || s.lang !== 'ts') continue;
          const file = `${dir}-${i}.ts`;
          await writeFile(join(project, file), `// packages/${dir}/README.md:${s.line}\n${s.code}`);
          files.push(file);
        }
      }
      await writeFile(join(project, 'tsconfig.json'), tsconfig(files, 'nodenext'));
      await sh('../node_modules/.bin/tsc -p .', project, env);
      for (const file of files) {
        // Each in its own empty folder, so that files it writes cannot collide.
        const cwd = join(project, `run-${file.replace(/\.ts$/, '')}`);
        await mkdir(cwd);
        const out = await sh(`node ../out/${file.replace(/\.ts$/, '.js')}`, cwd, env);
        process.stdout.write(`  ${file}: ${out.trim().split('\n').at(-1) ?? ''}\n`);
      }
      return files.length;
    });

    const total = (performance.now() - started) / 1000;
    console.log(
      '\nrelease-test: installed size of each package alone (its README install line, npm, node_modules):',
    );
    console.log(
      '| package | tarball | installed | of which @tensorflow/* | of which onnxruntime-node | packages |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const s of sizes) {
      const cells = [
        `${(s.tarball / 1024).toFixed(0)} KiB`,
        mib(s.bytes),
        mib(s.tf),
        mib(s.ort),
        s.packages,
      ];
      console.log(`| @hessian-probe/${s.dir} | ${cells.join(' | ')} |`);
    }
    console.log('\nrelease-test: steps');
    for (const t of timings) console.log(`  ${t.seconds.toFixed(1).padStart(6)} s  ${t.step}`);
    console.log(`release-test: passed in ${total.toFixed(0)} s`);
  } finally {
    await registry?.stop();
    if (keep) console.log(`release-test: kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

/** A consumer's tsconfig: strict, the given `module`, emitting into out/. */
function tsconfig(files: string[], module: 'nodenext' | 'commonjs'): string {
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module,
        strict: true,
        outDir: 'out',
        types: ['node'],
        // tfjs's and onnx-proto's own declarations do not compile with the checks on (PyJsonValue,
        // the global Long), as in most projects that use them.
        skipLibCheck: true,
      },
      files,
    },
    null,
    2,
  )}\n`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
