/**
 * Test helpers: tiny tfjs models and data for the callback's tests, deterministic from seeds
 * (seeded initializers; a seeded stand-in for Math.random, which tfjs's shuffling and unseeded
 * random ops read).
 */
import { createRandom } from '@hessian-probe/core';
import { type BackendName, selectBackend } from '@hessian-probe/core/backends';
import { backendsUnderTest } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';

export { tf };

/** The backends the invisibility tests run on: cpu, wasm and tensorflow (tfjs-node) where it loads. */
export const BACKENDS = await backendsUnderTest(tf);

/** Switches tfjs to `name` and checks it took. */
export async function useBackend(name: BackendName): Promise<void> {
  await selectBackend(tf, name);
}

/** Switches tfjs to the cpu backend (the one the callback tests run on unless they name one). */
export async function useCpu(): Promise<void> {
  await useBackend('cpu');
}

export interface TinyModelOptions {
  /** Seed of the initializers (default 1): equal seeds give equal initial weights. */
  seed?: number;
  /** Put a Dropout layer between the dense layers (default false). */
  dropout?: boolean;
  /** Activation of the hidden layer (default 'tanh'). */
  activation?: string;
  /** Optimizer (default Adam with learning rate 0.05: it has state to disturb). */
  optimizer?: 'adam' | 'sgd';
  /**
   * Put a LeakyReLU layer after the hidden layer (default false): the model then leaves core's
   * Dense-chain fast path, and every curvature product calls `model.apply` (autodiff).
   */
  leakyRelu?: boolean;
}

/** A 4-8-3 MLP with softmax output (P = 4·8 + 8 + 8·3 + 3 = 67), compiled for cross-entropy. */
export function tinyModel(options: TinyModelOptions = {}): tf.Sequential {
  const {
    seed = 1,
    dropout = false,
    activation = 'tanh',
    optimizer = 'adam',
    leakyRelu = false,
  } = options;
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed * 10 + offset });
  const model = tf.sequential({ name: 'tiny_mlp' });
  model.add(
    tf.layers.dense({
      inputShape: [4],
      units: 8,
      activation: activation as 'tanh',
      kernelInitializer: init(1),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed }),
    }),
  );
  if (leakyRelu) model.add(tf.layers.leakyReLU({ alpha: 0.1 }));
  if (dropout) model.add(tf.layers.dropout({ rate: 0.25 }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }));
  model.compile({
    optimizer: optimizer === 'adam' ? tf.train.adam(0.05) : tf.train.sgd(0.1),
    loss: 'categoricalCrossentropy',
  });
  return model;
}

/** Three Gaussian clusters in R^4 with one-hot labels, as plain arrays. */
export function clusters(n: number, seed: number): { x: number[][]; y: number[][] } {
  const rng = createRandom(seed);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x.push(Array.from({ length: 4 }, (_, j) => (j === c ? 1.5 : 0) + rng.gaussian()));
    y.push([0, 1, 2].map((k) => (k === c ? 1 : 0)));
  }
  return { x, y };
}

/** A deterministic replacement for Math.random (the project's generator). */
export function seededMathRandom(seed: number): () => number {
  const rng = createRandom(seed);
  return () => rng.uniform();
}

/** The IEEE-754 bit patterns of every weight of `model`, in order. */
export async function weightBits(model: tf.LayersModel): Promise<Uint32Array[]> {
  return Promise.all(
    model.getWeights().map(async (w) => new Uint32Array(Float32Array.from(await w.data()).buffer)),
  );
}
