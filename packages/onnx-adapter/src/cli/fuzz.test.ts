/**
 * A fixed-seed subset of the fuzzing pass of scripts/fuzz-cli (the full pass runs thousands of
 * mutations): byte mutations of a model, an annotated model and the .npy files, and every
 * hand-built bad model and .npy file. No run may end untyped: exit 1, a stack trace, or a hang.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzCli } from '../../../../scripts/fuzz-cli/fuzz.js';

describe('fuzzing the command (50 mutations, seed 13, and the hand-built cases)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-fuzz-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ends every run with exit 0 or a typed exit 2, without a stack trace', async () => {
    const summary = await fuzzCli(dir, { mutations: 50, seed: 13, timeoutMs: 30_000 });
    expect(summary.untyped).toEqual([]);
    expect(summary.stackTraces).toBe(0);
    const byCode = (code: string) =>
      Object.values(summary.counts).reduce((n, c) => n + (c[code] ?? 0), 0);
    // Every mutation ran (one run each, two for model mutants: analyze and show), and most
    // were refused: the cases are not all trivially accepted.
    expect(summary.runs).toBeGreaterThanOrEqual(50 + 74);
    expect(byCode('2')).toBeGreaterThan(summary.runs / 2);
    // The hand-built cases the command accepts, by design: the graph split over two fields
    // (merged as onnxruntime does), an initializer also listed as a graph input (onnxruntime
    // takes the initializer as its default), control characters in names (printed escaped).
    expect(summary.accepted).toEqual([
      'graph field twice, the second empty',
      'graph input shadowing an initializer',
      'a control character in every name',
    ]);
  });
});
