import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTextAtomic } from './output.js';

describe('writeTextAtomic', () => {
  it('replaces the file whole and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'example-kit-'));
    try {
      const path = join(dir, 'report.html');
      await writeTextAtomic(path, 'first');
      await writeTextAtomic(path, 'second');
      expect(await readFile(path, 'utf8')).toBe('second');
      expect(await readdir(dir)).toEqual(['report.html']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
