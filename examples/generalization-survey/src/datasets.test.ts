import { describe, expect, it } from 'vitest';
import { DATASET_NAMES, firstPerClass, loadDataset } from './datasets.js';

describe('loadDataset', () => {
  // Sizes from the packages' files: iris 150; penguins 344 rows, 2 without measurements; cars
  // 406, 14 with a missing field; Seattle weather 1461 days; MNIST 30 + 100 digits per class.
  const sizes: Record<string, [number, number, number, number]> = {
    iris: [150, 4, 3, 75],
    penguins: [342, 4, 3, 171],
    cars: [392, 6, 3, 196],
    weather: [1461, 4, 5, 365],
    digits: [1300, 49, 10, 300],
    'digits-4v9': [260, 49, 2, 60],
    'digits-noisy': [1300, 49, 10, 300],
    'mixture-easy': [1100, 10, 4, 100],
    'mixture-hard': [1100, 10, 4, 100],
  };

  it.each(DATASET_NAMES)(
    '%s: sizes, labels in 0..C−1 and standardised training features',
    (name) => {
      const set = loadDataset(name, 1);
      const [total, d, classes, train] = sizes[name];
      expect([set.features, set.classes]).toEqual([d, classes]);
      expect(set.yTrain.length + set.yTest.length).toBe(total);
      // Stratified rounding moves at most one example per class.
      expect(Math.abs(set.yTrain.length - train)).toBeLessThanOrEqual(classes);
      expect(set.xTrain.length).toBe(set.yTrain.length * d);
      expect(set.xTest.length).toBe(set.yTest.length * d);
      for (const y of [...set.yTrain, ...set.yTest]) expect(y >= 0 && y < classes).toBe(true);
      for (let j = 0; j < d; j++) {
        let mean = 0;
        for (let i = j; i < set.xTrain.length; i += d) mean += set.xTrain[i] / set.yTrain.length;
        // float32 storage of values of size ~1: the mean of N of them is 0 to ~N·2^-24.
        expect(Math.abs(mean)).toBeLessThan(1e-5);
      }
    },
  );

  it('splits differently with another seed, and the same with the same one', () => {
    expect(loadDataset('iris', 1).xTrain).toEqual(loadDataset('iris', 1).xTrain);
    expect(loadDataset('iris', 1).xTrain).not.toEqual(loadDataset('iris', 2).xTrain);
  });

  it('digits-noisy changes about 27 % of the training labels (30 % redrawn, 1 in 10 unchanged)', () => {
    const clean = loadDataset('digits', 3).yTrain;
    const noisy = loadDataset('digits-noisy', 3).yTrain;
    const changed = clean.filter((y, i) => y !== noisy[i]).length / clean.length;
    // Binomial(300, 0.27): sd 0.026; 4 sd either side.
    expect(Math.abs(changed - 0.27)).toBeLessThan(4 * 0.026);
  });
});

describe('firstPerClass', () => {
  it('takes the first n of each class in order', () => {
    expect(firstPerClass([0, 1, 0, 2, 1, 0, 2], 2)).toEqual([0, 1, 2, 3, 4, 6]);
  });
});
