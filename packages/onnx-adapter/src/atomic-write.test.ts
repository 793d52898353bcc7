import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Runs a script that starts writing `megabytes` MiB to `target` with {@link writeFileAtomic}
 * and, as soon as the hidden temporary file exists (fs.promises.writeFile writes in 512 KiB
 * chunks, yielding between them), sends itself `signal` or calls `process.exit(7)`.
 */
function interruptedWrite(
  target: string,
  how: NodeJS.Signals | 'exit',
  megabytes = 64,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const script = `
    import { existsSync, readdirSync } from 'node:fs';
    import { writeFileAtomic } from ${JSON.stringify(join(here, 'atomic-write.ts'))};
    const target = ${JSON.stringify(target)};
    const folder = ${JSON.stringify(dirname(target))};
    writeFileAtomic(target, new Uint8Array(${megabytes} * 2 ** 20)).then(
      () => console.error('the write ended before the interruption'),
    );
    const poll = () => {
      if (readdirSync(folder).some((f) => f.endsWith('.tmp'))) {
        if (${JSON.stringify(how)} === 'exit') process.exit(7);
        else process.kill(process.pid, ${JSON.stringify(how)});
      } else setImmediate(poll);
    };
    poll();
  `;
  return new Promise((done, fail) => {
    // node itself (not the tsx binary, which relays signals as exit codes) with tsx's loader.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: resolve(here, '..'), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stderr }));
  });
}

describe('writeFileAtomic', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-atomic-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the file and leaves no temporary file or listener behind', async () => {
    const folder = join(dir, 'replace');
    await mkdir(folder);
    const target = join(folder, 'a.bin');
    await writeFile(target, 'old');
    const listeners = () => ['exit', 'SIGINT', 'SIGTERM'].map((e) => process.listenerCount(e));
    const before = listeners();
    await Promise.all([
      writeFileAtomic(target, new TextEncoder().encode('new')),
      writeFileAtomic(join(folder, 'b.bin'), new Uint8Array([1, 2])),
    ]);
    expect(await readFile(target, 'utf8')).toBe('new');
    expect((await readdir(folder)).sort()).toEqual(['a.bin', 'b.bin']);
    expect(listeners()).toEqual(before);
  });

  it('removes the temporary file when the rename fails, and keeps the old file', async () => {
    const folder = join(dir, 'rename');
    await mkdir(join(folder, 'target'), { recursive: true });
    await expect(
      writeFileAtomic(join(folder, 'target'), new Uint8Array([1])),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(await readdir(folder)).toEqual(['target']);
  });

  it('fails without creating anything in a folder it cannot write to', async () => {
    const folder = join(dir, 'missing', 'folder');
    await expect(writeFileAtomic(join(folder, 'x'), new Uint8Array([1]))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'removes the temporary file when %s arrives during the write, then ends the process by it',
    async (signal) => {
      const folder = join(dir, signal);
      await mkdir(folder);
      await writeFile(join(folder, 'keep.bin'), 'old');
      const run = await interruptedWrite(join(folder, 'keep.bin'), signal);
      expect(run.stderr).toBe('');
      expect(run.signal).toBe(signal);
      expect(await readdir(folder)).toEqual(['keep.bin']);
      expect(await readFile(join(folder, 'keep.bin'), 'utf8')).toBe('old');
    },
  );

  it('removes the temporary file when the process exits during the write', async () => {
    const folder = join(dir, 'exit');
    await mkdir(folder);
    const run = await interruptedWrite(join(folder, 'new.bin'), 'exit');
    expect(run).toMatchObject({ code: 7, signal: null, stderr: '' });
    expect(await readdir(folder)).toEqual([]);
  });
});
