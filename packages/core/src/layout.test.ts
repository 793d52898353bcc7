import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DimensionError, LayoutError } from './errors.js';
import {
  createLayout,
  embedBlock,
  findBlock,
  layoutFromSizes,
  sliceBlock,
  sliceBlocks,
} from './layout.js';

describe('createLayout', () => {
  it('accepts blocks that tile [0, dim) and keeps shapes', () => {
    const layout = createLayout([
      { name: 'w', offset: 0, size: 6, shape: [2, 3] },
      { name: 'b', offset: 6, size: 2 },
    ]);
    expect(layout.dim).toBe(8);
    expect(findBlock(layout, 'w').shape).toEqual([2, 3]);
  });

  it.each([
    [
      [
        { name: 'a', offset: 0, size: 2 },
        { name: 'b', offset: 3, size: 1 },
      ],
      /expected offset 2, got 3 \(leaves a gap\)/,
    ],
    [
      [
        { name: 'a', offset: 0, size: 2 },
        { name: 'b', offset: 1, size: 1 },
      ],
      /overlaps the previous block/,
    ],
    [
      [
        { name: 'a', offset: 0, size: 2 },
        { name: 'a', offset: 2, size: 1 },
      ],
      /unique name/,
    ],
    [[{ name: '', offset: 0, size: 2 }], /non-empty name/],
    [[{ name: 'a', offset: 0, size: 0 }], /size to be an integer >= 1, got 0/],
    [[{ name: 'a', offset: 0, size: 6, shape: [4, 2] }], /product is the size 6, got \[4, 2\]/],
    [[], /at least one block/],
  ])('rejects a layout that does not tile (%#)', (blocks, message) => {
    expect(() => createLayout(blocks)).toThrow(LayoutError);
    expect(() => createLayout(blocks)).toThrow(message);
  });

  it('rejects blocks that do not reach the stated dimension', () => {
    expect(() => createLayout([{ name: 'a', offset: 0, size: 2 }], 3)).toThrow(
      'createLayout: expected the blocks to cover [0, 3), got blocks covering [0, 2)',
    );
  });

  it('names the known blocks when a name is unknown', () => {
    const layout = layoutFromSizes([
      { name: 'w', size: 2 },
      { name: 'b', size: 1 },
    ]);
    expect(() => findBlock(layout, 'x')).toThrow(
      'expected a block name of the layout (w, b), got "x"',
    );
  });
});

describe('slicing and embedding', () => {
  it('property: slicing every block and embedding each back sums to the vector', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
        (sizes) => {
          const layout = layoutFromSizes(sizes.map((size, i) => ({ name: `block${i}`, size })));
          const v = Float64Array.from({ length: layout.dim }, (_, i) => i + 0.5);
          const parts = sliceBlocks(layout, v);
          const sum = new Float64Array(layout.dim);
          for (const [i, part] of parts.entries()) {
            expect(part).toEqual(sliceBlock(layout, v, `block${i}`));
            const embedded = embedBlock(layout, `block${i}`, part);
            for (let j = 0; j < sum.length; j++) sum[j] += embedded[j];
          }
          expect(sum).toEqual(v);
        },
      ),
      { numRuns: 100, seed: 5 },
    );
  });

  it('slices are copies', () => {
    const layout = layoutFromSizes([{ name: 'a', size: 2 }]);
    const v = Float64Array.of(1, 2);
    sliceBlock(layout, v, 'a')[0] = 9;
    expect(v[0]).toBe(1);
  });

  it('checks lengths', () => {
    const layout = layoutFromSizes([
      { name: 'a', size: 2 },
      { name: 'b', size: 3 },
    ]);
    expect(() => sliceBlocks(layout, new Float64Array(4))).toThrow(DimensionError);
    expect(() => embedBlock(layout, 'b', new Float64Array(2))).toThrow(
      'embedBlock(b): expected 3 values, got 2',
    );
  });
});
