import { availableBackends, type BackendName } from '../backends/index.js';
import type { Tf } from '../tfjs/types.js';

/**
 * The tfjs backends a test suite runs every tfjs case on, in the order cpu, wasm, tensorflow:
 * each that loads here. With `CI` set, the native 'tensorflow' backend (tfjs-node) must load,
 * else this throws: CI tests all three.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * const BACKENDS = await backendsUnderTest(tf);
 * describe.each(BACKENDS)('my operator on %s', (backend) => {
 *   it('multiplies', async () => {
 *     await selectBackend(tf, backend);
 *     // …
 *   });
 * });
 * ```
 */
export async function backendsUnderTest(tf: Tf): Promise<BackendName[]> {
  const available = await availableBackends(tf);
  if (process.env.CI && !available.includes('tensorflow')) {
    throw new Error(
      "CI must test the native 'tensorflow' backend, but @tensorflow/tfjs-node does not load: run `pnpm install` (scripts/native-backend builds it)",
    );
  }
  return (['cpu', 'wasm', 'tensorflow'] as const).filter((name) => available.includes(name));
}
