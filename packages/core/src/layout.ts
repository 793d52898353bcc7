import { DimensionError, LayoutError } from './errors.js';

/** One named, contiguous block of parameters, e.g. a layer's kernel or one output neuron's row. */
export interface LayoutBlock {
  /** Unique name, e.g. `'dense_1/kernel'` or `'dense_2/kernel/unit_3'`. */
  readonly name: string;
  /** Index of the block's first entry in the flat parameter vector. */
  readonly offset: number;
  /** Number of entries. */
  readonly size: number;
  /** Optional tensor shape; its product must equal `size`. */
  readonly shape?: readonly number[];
}

/**
 * An ordered list of named blocks that tile [0, dim) exactly: the map from a flat parameter
 * vector to layers, tensors, neurons or classes. Plain JSON, so reports can carry it.
 */
export interface ParameterLayout {
  /** Total dimension P. */
  readonly dim: number;
  /** Blocks in order of their offsets. */
  readonly blocks: readonly LayoutBlock[];
}

/** A block as given to {@link layoutFromSizes}: the offset follows from the order. */
export interface BlockSize {
  readonly name: string;
  readonly size: number;
  readonly shape?: readonly number[];
}

/**
 * Checks that `blocks` tile [0, dim) exactly (in order, no gaps, no overlaps, unique non-empty
 * names, positive integer sizes, shapes matching sizes) and returns the layout.
 *
 * @param dim - the operator's dimension; defaults to the end of the last block.
 * @throws {@link LayoutError} saying which block breaks the tiling and how.
 *
 * @example
 * ```ts
 * const layout = createLayout([
 *   { name: 'w', offset: 0, size: 6, shape: [2, 3] },
 *   { name: 'b', offset: 6, size: 2 },
 * ]); // layout.dim === 8
 * ```
 */
export function createLayout(blocks: readonly LayoutBlock[], dim?: number): ParameterLayout {
  if (blocks.length === 0)
    throw new LayoutError('createLayout: expected at least one block, got 0');
  const names = new Set<string>();
  let expectedOffset = 0;
  for (const [index, block] of blocks.entries()) {
    const where = `createLayout: block ${index} (${JSON.stringify(block.name)})`;
    if (typeof block.name !== 'string' || block.name.length === 0) {
      throw new LayoutError(
        `createLayout: block ${index}: expected a non-empty name, got ${JSON.stringify(block.name)}`,
      );
    }
    if (names.has(block.name))
      throw new LayoutError(`${where}: expected a unique name, got a duplicate`);
    names.add(block.name);
    if (!Number.isInteger(block.size) || block.size < 1) {
      throw new LayoutError(`${where}: expected size to be an integer >= 1, got ${block.size}`);
    }
    if (block.offset !== expectedOffset) {
      const what = block.offset < expectedOffset ? 'overlaps the previous block' : 'leaves a gap';
      throw new LayoutError(
        `${where}: expected offset ${expectedOffset}, got ${block.offset} (${what})`,
      );
    }
    if (block.shape !== undefined) {
      const product = block.shape.reduce((p, d) => p * d, 1);
      if (!block.shape.every((d) => Number.isInteger(d) && d >= 1) || product !== block.size) {
        throw new LayoutError(
          `${where}: expected a shape of positive integers whose product is the size ${block.size}, got [${block.shape.join(', ')}]`,
        );
      }
    }
    expectedOffset += block.size;
  }
  const total = dim ?? expectedOffset;
  if (expectedOffset !== total) {
    throw new LayoutError(
      `createLayout: expected the blocks to cover [0, ${total}), got blocks covering [0, ${expectedOffset})`,
    );
  }
  return {
    dim: total,
    blocks: blocks.map((b) => ({ ...b, ...(b.shape ? { shape: [...b.shape] } : {}) })),
  };
}

/**
 * A layout from block sizes in order; offsets are accumulated.
 *
 * @example
 * ```ts
 * const layout = layoutFromSizes([{ name: 'kernel', size: 12, shape: [4, 3] }, { name: 'bias', size: 3 }]);
 * ```
 */
export function layoutFromSizes(sizes: readonly BlockSize[], dim?: number): ParameterLayout {
  let offset = 0;
  const blocks = sizes.map((s) => {
    const block: LayoutBlock = { ...s, offset };
    offset += s.size;
    return block;
  });
  return createLayout(blocks, dim);
}

/**
 * The block called `name`.
 *
 * @throws {@link LayoutError} listing the layout's names when there is none.
 */
export function findBlock(layout: ParameterLayout, name: string): LayoutBlock {
  const block = layout.blocks.find((b) => b.name === name);
  if (!block) {
    const known = layout.blocks.map((b) => b.name);
    const shown =
      known.length > 10
        ? `${known.slice(0, 10).join(', ')}, … (${known.length} in all)`
        : known.join(', ');
    throw new LayoutError(
      `expected a block name of the layout (${shown}), got ${JSON.stringify(name)}`,
    );
  }
  return block;
}

function checkVectorLength(layout: ParameterLayout, v: Float64Array, where: string): void {
  if (v.length !== layout.dim) {
    throw new DimensionError(
      `${where}: expected a vector of length ${layout.dim} (the layout's dim), got ${v.length}`,
    );
  }
}

/**
 * A copy of the entries of `v` that belong to block `name`.
 *
 * @example
 * ```ts
 * const biasGradient = sliceBlock(layout, gradient, 'dense_1/bias');
 * ```
 */
export function sliceBlock(layout: ParameterLayout, v: Float64Array, name: string): Float64Array {
  checkVectorLength(layout, v, 'sliceBlock');
  const block = findBlock(layout, name);
  return v.slice(block.offset, block.offset + block.size);
}

/** Copies of `v`'s entries for every block, in layout order. */
export function sliceBlocks(layout: ParameterLayout, v: Float64Array): Float64Array[] {
  checkVectorLength(layout, v, 'sliceBlocks');
  return layout.blocks.map((b) => v.slice(b.offset, b.offset + b.size));
}

/**
 * A full-length vector that is `values` on block `name` and zero elsewhere.
 *
 * @example
 * ```ts
 * const direction = embedBlock(layout, 'dense_1/bias', Float64Array.of(1, 0, 0));
 * ```
 */
export function embedBlock(
  layout: ParameterLayout,
  name: string,
  values: Float64Array,
): Float64Array {
  const block = findBlock(layout, name);
  if (values.length !== block.size) {
    throw new DimensionError(
      `embedBlock(${name}): expected ${block.size} values, got ${values.length}`,
    );
  }
  const out = new Float64Array(layout.dim);
  out.set(values, block.offset);
  return out;
}
