import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  availableBackends,
  BackendUnavailableError,
  describeBackendChoice,
  selectBackend,
} from './index.js';

const available = await availableBackends(tf);

describe('selectBackend', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('picks the fastest backend that loads, and says what it passed over', async () => {
    const choice = await selectBackend(tf);
    expect(choice.name).toBe(available[0]);
    expect(tf.getBackend()).toBe(choice.name);
    expect(choice.passedOver.map((p) => p.name)).toEqual(
      ['tensorflow', 'wasm', 'cpu'].slice(0, ['tensorflow', 'wasm', 'cpu'].indexOf(choice.name)),
    );
  });

  it.each(available)('switches to %s when named, with nothing passed over', async (name) => {
    expect(await selectBackend(tf, name)).toEqual({ name, passedOver: [] });
    expect(tf.getBackend()).toBe(name);
    // Computes on it: 1·3 + 2·4.
    expect(tf.matMul([[1, 2]], [[3], [4]]).dataSync()[0]).toBe(11);
  });

  it('refuses an unknown name with a typed error listing the known ones', async () => {
    const attempt = selectBackend(tf, 'webgpu' as 'cpu');
    await expect(attempt).rejects.toThrow(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      /expected one of tensorflow, wasm, cpu, auto, got webgpu/,
    );
  });

  it('availableBackends leaves the active backend as it was', async () => {
    await selectBackend(tf, 'cpu');
    expect(await availableBackends(tf)).toEqual(available);
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('describeBackendChoice', () => {
  it('names the choice and each backend passed over with its reason', () => {
    expect(describeBackendChoice({ name: 'cpu', passedOver: [] })).toBe('tfjs backend: cpu');
    expect(
      describeBackendChoice({
        name: 'wasm',
        passedOver: [{ name: 'tensorflow', reason: '@tensorflow/tfjs-node is not installed' }],
      }),
    ).toBe('tfjs backend: wasm (tensorflow not used: @tensorflow/tfjs-node is not installed)');
  });
});
