import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** The backends every tfjs suite runs on (tfjs-node cannot be installed on these machines). */
export const BACKENDS = ['cpu', 'wasm'] as const;

/**
 * Switches tfjs to `name` and checks it took. In Node the wasm backend finds its .wasm files
 * next to its own module, so no `setWasmPaths` call is needed.
 */
export async function useBackend(name: (typeof BACKENDS)[number]): Promise<typeof tf> {
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name) {
    throw new Error(`could not switch tfjs to the ${name} backend`);
  }
  return tf;
}

export { tf };
