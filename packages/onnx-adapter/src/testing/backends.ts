/** The tfjs backends this package's tests run on, as in core (tfjs-node cannot be installed here). */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** Backends every tfjs suite of this package runs on. */
export const BACKENDS = ['cpu', 'wasm'] as const;

/** Switches tfjs to `name` and checks it took. */
export async function useBackend(name: (typeof BACKENDS)[number]): Promise<typeof tf> {
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) {
    throw new Error(`could not switch tfjs to the ${name} backend`);
  }
  return tf;
}
