import { DimensionError, LayoutError } from './errors.js';
import { checkString, checkVector, show } from './options.js';

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
 * @param dim - the operator's dimension, an integer >= 1; defaults to the end of the last block.
 * @throws {@link @hessian-probe/core!index.LayoutError | LayoutError} saying which block breaks the
 *   tiling and how (also when `blocks` is not an array or a block is not an object).
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
  return buildLayout('createLayout', blocks, dim);
}

/** {@link createLayout} on behalf of `where`, whose name its messages start with. */
function buildLayout(
  where: string,
  blocks: readonly LayoutBlock[],
  dim: number | undefined,
): ParameterLayout {
  const total = tileBlocks(where, 'block', blocks, dim);
  return {
    dim: total,
    blocks: blocks.map((b) => ({ ...b, ...(b.shape ? { shape: [...b.shape] } : {}) })),
  };
}

/**
 * Checks that `blocks` tile [0, dim) (see {@link createLayout}) and returns the dimension they
 * cover; messages read "`where`: `label` 2 ("b"): expected …".
 */
function tileBlocks(
  where: string,
  label: string,
  blocks: readonly LayoutBlock[],
  dim: number | undefined,
): number {
  if (!Array.isArray(blocks)) {
    throw new LayoutError(`${where}: expected the blocks to be an array, got ${show(blocks)}`);
  }
  if (blocks.length === 0) throw new LayoutError(`${where}: expected at least one block, got 0`);
  if (dim !== undefined && (!Number.isSafeInteger(dim) || dim < 1)) {
    throw new LayoutError(`${where}: expected dim to be an integer >= 1, got ${show(dim)}`);
  }
  const names = new Set<string>();
  let expectedOffset = 0;
  for (const [index, block] of (blocks as readonly unknown[]).entries()) {
    if (typeof block !== 'object' || block === null) {
      throw new LayoutError(
        `${where}: ${label} ${index}: expected an object { name, offset, size }, got ${show(block)}`,
      );
    }
    const { name, offset, size, shape } = block as LayoutBlock;
    const at = `${where}: ${label} ${index} (${JSON.stringify(name)})`;
    if (typeof name !== 'string' || name.length === 0) {
      throw new LayoutError(
        `${where}: ${label} ${index}: expected a non-empty name, got ${show(name)}`,
      );
    }
    if (names.has(name)) throw new LayoutError(`${at}: expected a unique name, got a duplicate`);
    names.add(name);
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new LayoutError(`${at}: expected size to be an integer >= 1, got ${show(size)}`);
    }
    if (offset !== expectedOffset) {
      const what =
        typeof offset === 'number' && offset < expectedOffset
          ? 'overlaps the previous block'
          : 'leaves a gap';
      throw new LayoutError(
        `${at}: expected offset ${expectedOffset}, got ${show(offset)} (${what})`,
      );
    }
    if (shape !== undefined) {
      const ok =
        Array.isArray(shape) &&
        shape.every((d) => Number.isSafeInteger(d) && d >= 1) &&
        shape.reduce((p, d) => p * d, 1) === size;
      if (!ok) {
        const got = Array.isArray(shape) ? `[${shape.join(', ')}]` : show(shape);
        throw new LayoutError(
          `${at}: expected a shape of positive integers whose product is the size ${size}, got ${got}`,
        );
      }
    }
    expectedOffset += size;
    if (!Number.isSafeInteger(expectedOffset)) {
      throw new LayoutError(`${at}: expected the blocks to end below 2^53, got ${expectedOffset}`);
    }
  }
  const total = dim ?? expectedOffset;
  if (expectedOffset !== total) {
    throw new LayoutError(
      `${where}: expected the blocks to cover [0, ${total}), got blocks covering [0, ${expectedOffset})`,
    );
  }
  return total;
}

/**
 * Checks a {@link ParameterLayout} passed to `where`: an object with an integer `dim` >= 1 and
 * blocks that tile [0, dim) ({@link LayoutError} otherwise, "`where`: layout block 1 ("b"): …"),
 * and, when `dim` is given, `layout.dim === dim` ({@link DimensionError} "`where`: expected a
 * layout of dimension `dim` (`whose`), got …"). O(blocks).
 */
export function checkLayout(
  where: string,
  layout: ParameterLayout,
  dim?: number,
  whose = "the operator's",
): void {
  checkLayoutShape(where, layout);
  if (dim !== undefined && layout.dim !== dim) {
    throw new DimensionError(
      `${where}: expected a layout of dimension ${dim} (${whose}), got ${layout.dim}`,
    );
  }
  tileBlocks(where, 'layout block', layout.blocks, layout.dim);
}

/**
 * O(1) checks of a layout's shape: an object with an integer `dim` >= 1 and a non-empty array
 * of `blocks` ({@link LayoutError} otherwise). The tiling itself is {@link checkLayout}'s.
 */
function checkLayoutShape(where: string, layout: ParameterLayout): void {
  if (typeof layout !== 'object' || layout === null) {
    throw new LayoutError(
      `${where}: expected layout to be a ParameterLayout { dim, blocks }, got ${show(layout)}`,
    );
  }
  if (!Number.isSafeInteger(layout.dim) || layout.dim < 1) {
    throw new LayoutError(
      `${where}: expected layout.dim to be an integer >= 1, got ${show(layout.dim)}`,
    );
  }
  if (!Array.isArray(layout.blocks) || layout.blocks.length === 0) {
    throw new LayoutError(
      `${where}: expected layout.blocks to be a non-empty array, got ${show(layout.blocks)}`,
    );
  }
}

/**
 * A layout from block sizes in order; offsets are accumulated.
 *
 * @throws {@link LayoutError} as {@link createLayout}, also when `sizes` is not an array.
 *
 * @example
 * ```ts
 * const layout = layoutFromSizes([{ name: 'kernel', size: 12, shape: [4, 3] }, { name: 'bias', size: 3 }]);
 * ```
 */
export function layoutFromSizes(sizes: readonly BlockSize[], dim?: number): ParameterLayout {
  if (!Array.isArray(sizes)) {
    throw new LayoutError(`layoutFromSizes: expected sizes to be an array, got ${show(sizes)}`);
  }
  let offset = 0;
  const blocks = (sizes as readonly unknown[]).map((s, index) => {
    if (typeof s !== 'object' || s === null) {
      throw new LayoutError(
        `layoutFromSizes: block ${index}: expected an object { name, size }, got ${show(s)}`,
      );
    }
    const block: LayoutBlock = { ...(s as BlockSize), offset };
    offset += block.size;
    return block;
  });
  return buildLayout('layoutFromSizes', blocks, dim);
}

/**
 * The block called `name`.
 *
 * @throws {@link @hessian-probe/core!index.LayoutError | LayoutError} listing the layout's names
 *   when there is none; {@link @hessian-probe/core!index.OptionError | OptionError} when `name` is
 *   not a string.
 */
export function findBlock(layout: ParameterLayout, name: string): LayoutBlock {
  return blockNamed('findBlock', layout, name);
}

/** {@link findBlock} on behalf of `where`, whose name its messages start with. */
export function blockNamed(where: string, layout: ParameterLayout, name: string): LayoutBlock {
  checkLayoutShape(where, layout);
  checkString(where, 'the block name', name);
  const block = layout.blocks.find((b) => b?.name === name);
  if (!block) {
    const known = layout.blocks.map((b) => b?.name);
    const shown =
      known.length > 10
        ? `${known.slice(0, 10).join(', ')}, … (${known.length} in all)`
        : known.join(', ');
    throw new LayoutError(
      `${where}: expected a block name of the layout (${shown}), got ${JSON.stringify(name)}`,
    );
  }
  return block;
}

function checkVectorLength(layout: ParameterLayout, v: Float64Array, where: string): void {
  checkLayoutShape(where, layout);
  checkVector(where, 'v', v);
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
 * const hv = await operator.matvec(new Float64Array(layout.dim).fill(1));
 * const biasPart = sliceBlock(layout, hv, 'dense_1/bias'); // H·1 on the bias block
 * ```
 */
export function sliceBlock(layout: ParameterLayout, v: Float64Array, name: string): Float64Array {
  checkVectorLength(layout, v, 'sliceBlock');
  const block = blockNamed('sliceBlock', layout, name);
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
  const block = blockNamed('embedBlock', layout, name);
  checkVector(`embedBlock(${name})`, 'values', values);
  if (values.length !== block.size) {
    throw new DimensionError(
      `embedBlock(${name}): expected ${block.size} values, got ${values.length}`,
    );
  }
  const out = new Float64Array(layout.dim);
  out.set(values, block.offset);
  return out;
}
