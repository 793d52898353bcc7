import * as tf from '@tensorflow/tfjs';
import { type BackendName, selectBackend } from '../../backends/index.js';
import { backendsUnderTest } from '../../testing/backends-under-test.js';

/** The backends every tfjs suite runs on: cpu, wasm and tensorflow (tfjs-node) where it loads. */
export const BACKENDS = await backendsUnderTest(tf);

/** Switches tfjs to `name` and checks it took. */
export async function useBackend(name: BackendName): Promise<typeof tf> {
  await selectBackend(tf, name);
  return tf;
}

export { tf };
