import { type BackendName, selectBackend } from '@hessian-probe/core/backends';
import { backendsUnderTest } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';

/** The backends every tfjs suite of this package runs on, as in core. */
export const BACKENDS = await backendsUnderTest(tf);

/** Switches tfjs to `name` and checks it took. */
export async function useBackend(name: BackendName): Promise<typeof tf> {
  await selectBackend(tf, name);
  return tf;
}

export { tf };
