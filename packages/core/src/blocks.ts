import { DimensionError, type SizeLimitError } from './errors.js';
import { checkLayout, embedBlock, type ParameterLayout, sliceBlocks } from './layout.js';
import { SampleMoments } from './moments.js';
import { checkedMatvec, checkOperator, type LinearOperator } from './operator.js';
import { checkArray, checkInteger, checkOptions, checkPositive, checkVector } from './options.js';
import { checkSeed, createRandom } from './random.js';
import { dot } from './vector.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/** Options of {@link blockNorms}. */
export interface BlockNormsOptions {
  /**
   * Gaussian probes per block (required, an integer >= 1; >= 2 for finite standard errors).
   * Each costs one matvec, so the run costs `probes × layout.blocks.length` matvecs.
   */
  probes: number;
  /** Seed of the probe vectors, a safe integer (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): 5 vectors of length dim and, for B blocks, the B × B tables of norms and standard
   * errors and the per-probe samples (2B² + 5B + probes·B² numbers).
   */
  maxBytes?: number;
}

/**
 * Peak workspace of {@link blockNorms} in bytes for an operator of dimension `dim`, a layout
 * of `blocks` blocks and `probes` probes per block: the probe, its block values, the product,
 * its block slices and the copy handed to the operator (5 vectors of length dim), the two B × B
 * tables, the running moments (2B² + 5B numbers) and the samples (probes·B² numbers).
 */
export function blockNormsBytes(dim: number, blocks: number, probes: number): number {
  return float64Bytes(5 * dim + (2 + probes) * blocks * blocks + 5 * blocks);
}

/** Squared Frobenius norms of the blocks of a matrix, computed exactly: {@link exactBlockNorms}. */
export interface ExactBlockNorms {
  /** Block names, in layout order: row and column labels of `frobeniusSq`. */
  names: string[];
  /** `frobeniusSq[i][j]` = ‖A_ij‖²_F, A_ij the rows of block i and columns of block j. */
  frobeniusSq: number[][];
  /**
   * Σ_{i≠j} ‖A_ij‖²_F / Σ_{i,j} ‖A_ij‖²_F, in [0, 1]: 0 for a block-diagonal matrix. NaN when
   * every block is zero (a zero matrix is no evidence of block structure either way).
   */
  offDiagonalRatio: number;
}

/** Estimated squared Frobenius norms of the blocks of an operator: {@link blockNorms}. */
export interface BlockNorms extends ExactBlockNorms {
  /**
   * `frobeniusSq[i][j]` estimates ‖A_ij‖²_F (rows of block i, columns of block j) without bias,
   * from the probes put on block j. For symmetric A, [i][j] and [j][i] are independent
   * estimates of the same number.
   */
  frobeniusSq: number[][];
  /** Standard error of each entry (sample standard deviation / √probes); NaN when probes is 1. */
  stderr: number[][];
  /** {@link ExactBlockNorms.offDiagonalRatio} of the estimates (a ratio of unbiased sums). */
  offDiagonalRatio: number;
  /**
   * The samples behind the estimates: `samples[j][p · B + i]` = ‖A_ij z‖² for the p-th probe z put
   * on block j (B blocks). Entries of one column share a probe and are correlated; the columns are
   * independent. {@link @hessian-probe/core!internal.blockStructure | blockStructure} uses them for
   * error bars of sums of blocks.
   */
  samples: Float64Array[];
  /** Matrix-vector products used: `probes × layout.blocks.length`. */
  matvecs: number;
}

const BLOCK_NORMS = 'blockNorms';

/**
 * Estimates the squared Frobenius norm of every block A_ij of `op` under `layout`, with
 * standard errors. For z ~ N(0, I) supported on block j, E‖(Az)_i‖² = ‖A_ij‖²_F for every block
 * i at once, so one matvec gives a whole block column (the block-probing estimator used to
 * measure Hessian block structure by Dong, Zhang, Luo, Yao & Sun 2025, "Towards Quantifying the
 * Hessian Structure of Neural Networks"). Squared norms are reported because their estimates
 * are unbiased; the square root of an estimate is biased low. The variance of one probe's
 * value is 2‖A_ijᵀA_ij‖²_F.
 *
 * The operator, the options, the layout and the workspace (a {@link SizeLimitError} above
 * `maxBytes`) are validated before the first product.
 *
 * @throws {@link OptionError} for an `op` that is not a {@link LinearOperator}, options that are
 *   not an object, `probes` that is not an integer >= 1 or a seed that is not a safe integer.
 * @throws {@link DimensionError} when `layout.dim !== op.dim`; {@link LayoutError} when the
 *   layout's blocks do not tile [0, dim).
 * @throws {@link SizeLimitError} when the workspace (see {@link BlockNormsOptions.maxBytes})
 *   exceeds `maxBytes`.
 * @throws {@link MatvecError} naming the step when a product is unusable.
 *
 * @example
 * ```ts
 * const layout = layoutFromSizes([{ name: 'dense_1', size: 40 }, { name: 'dense_2', size: 11 }]);
 * const norms = await blockNorms(operator, layout, { probes: 8 });
 * const { frobeniusSq, stderr, offDiagonalRatio } = norms;
 * ```
 */
export async function blockNorms(
  op: LinearOperator,
  layout: ParameterLayout,
  options: BlockNormsOptions,
): Promise<BlockNorms> {
  const { probes, seed = 0, maxBytes } = checkOptions(BLOCK_NORMS, options, true);
  checkOperator(BLOCK_NORMS, op);
  checkInteger(BLOCK_NORMS, 'probes', probes, 1);
  checkSeed(seed, BLOCK_NORMS);
  checkLayout(BLOCK_NORMS, layout, op.dim);
  const count = layout.blocks.length;
  checkWorkspace(
    BLOCK_NORMS,
    blockNormsBytes(op.dim, count, probes),
    checkMaxBytes(BLOCK_NORMS, maxBytes),
    `5 vectors of length ${op.dim} and two ${count} × ${count} tables`,
    'use a layout with fewer blocks',
  );
  const rng = createRandom(seed);
  const frobeniusSq = squareArray(count);
  const stderr = squareArray(count);
  const samples: Float64Array[] = [];
  let step = 0;
  for (const [j, block] of layout.blocks.entries()) {
    const moments = new SampleMoments(count);
    const column = new Float64Array(probes * count);
    for (let p = 0; p < probes; p++) {
      const z = embedBlock(layout, block.name, rng.gaussianVector(block.size));
      const parts = sliceBlocks(layout, await checkedMatvec(op, z, BLOCK_NORMS, step++));
      const sample = column.subarray(p * count, (p + 1) * count);
      for (const [i, part] of parts.entries()) sample[i] = dot(part, part);
      moments.add(sample);
    }
    samples.push(column);
    const mean = moments.mean();
    const error = moments.standardError();
    for (let i = 0; i < count; i++) {
      frobeniusSq[i][j] = mean[i];
      stderr[i][j] = error[i];
    }
  }
  return {
    names: layout.blocks.map((b) => b.name),
    frobeniusSq,
    stderr,
    offDiagonalRatio: offDiagonalRatio(frobeniusSq),
    samples,
    matvecs: step,
  };
}

/**
 * The squared Frobenius norm of every block of a dense row-major n×n matrix: the exact
 * counterpart of {@link blockNorms}, for references and small models.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `a` is not a
 *   `Float64Array` or `n` not an integer >= 1; {@link DimensionError} when `a.length !== n * n` or
 *   `layout.dim !== n`; {@link @hessian-probe/core!index.LayoutError | LayoutError} when the
 *   layout's blocks do not tile [0, n).
 *
 * @example
 * ```ts
 * const layout = layoutFromSizes([{ name: 'a', size: 1 }, { name: 'b', size: 1 }]);
 * exactBlockNorms(Float64Array.of(1, 2, 2, 3), 2, layout).frobeniusSq; // [[1, 4], [4, 9]]
 * ```
 */
export function exactBlockNorms(
  a: Float64Array,
  n: number,
  layout: ParameterLayout,
): ExactBlockNorms {
  const where = 'exactBlockNorms';
  checkVector(where, 'a', a);
  checkInteger(where, 'n', n, 1);
  if (a.length !== n * n) {
    throw new DimensionError(
      `${where}: expected a matrix of ${n}×${n} = ${n * n} entries, got ${a.length}`,
    );
  }
  checkLayout(where, layout, n, "the matrix's");
  const blockOf = new Int32Array(n);
  for (const [b, block] of layout.blocks.entries()) {
    blockOf.fill(b, block.offset, block.offset + block.size);
  }
  const frobeniusSq = squareArray(layout.blocks.length);
  for (let r = 0; r < n; r++) {
    const row = frobeniusSq[blockOf[r]];
    for (let c = 0; c < n; c++) row[blockOf[c]] += a[r * n + c] ** 2;
  }
  return {
    names: layout.blocks.map((b) => b.name),
    frobeniusSq,
    offDiagonalRatio: offDiagonalRatio(frobeniusSq),
  };
}

/** Block-structure statistics of {@link blockRatios}, all dimensionless. */
export interface BlockRatios {
  /**
   * mean_{i≠j} F_ij / mean_i F_ii with F_ij = ‖A_ij‖_F: the typical off-diagonal block relative
   * to the typical diagonal one. NaN for a single block (no off-diagonal pair).
   */
  meanRatio: number;
  /** Σ_{i≠j} F_ij² / Σ_i F_ii²: off-diagonal mass relative to diagonal mass (can exceed 1). */
  massRatio: number;
  /**
   * `normalizedCoupling[i][j]` = F_ij / √(F_ii F_jj): 1 on the diagonal; NaN or Infinity where a
   * diagonal block is zero.
   */
  normalizedCoupling: number[][];
}

/**
 * The block-structure statistics of Dong, Zhang, Luo, Yao & Sun 2025 ("Towards Quantifying the
 * Hessian Structure of Neural Networks", arXiv 2505.02809; docs/methods.md section A) from a matrix
 * of squared block Frobenius norms, as {@link blockNorms} or {@link exactBlockNorms} return
 * it. Exact facts: for a linear model with cross-entropy at uniform softmax all three
 * off-diagonal statistics equal 1/(C − 1) for C classes. From estimated norms, `massRatio` is a
 * ratio of unbiased sums, while `meanRatio` and `normalizedCoupling` take square roots of
 * estimates and are biased low, less so as probes grow.
 *
 * @throws {@link @hessian-probe/core!index.DimensionError | DimensionError} unless `frobeniusSq` is
 *   a non-empty square array.
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `frobeniusSq` or a row
 *   is not an array, or an entry is negative or not finite.
 *
 * @example
 * ```ts
 * const { operator, layout } = modelCurvature(model, { tf, x, y, layout: 'class' });
 * const { frobeniusSq } = exactBlockNorms(await denseMatrix(operator), operator.dim, layout);
 * const { meanRatio, massRatio } = blockRatios(frobeniusSq); // both 1/(C − 1) at uniform softmax
 * ```
 */
export function blockRatios(frobeniusSq: readonly (readonly number[])[]): BlockRatios {
  const where = 'blockRatios';
  checkArray(where, 'frobeniusSq', frobeniusSq);
  const count = frobeniusSq.length;
  if (count === 0) {
    throw new DimensionError(`${where}: expected at least one block, got 0`);
  }
  for (const [i, row] of frobeniusSq.entries()) {
    checkArray(where, `frobeniusSq[${i}]`, row);
    if (row.length !== count) {
      throw new DimensionError(
        `${where}: expected a square ${count}×${count} array, got row ${i} of length ${row.length}`,
      );
    }
    for (const [j, value] of row.entries())
      checkPositive(where, `frobeniusSq[${i}][${j}]`, value, true);
  }
  const norms = frobeniusSq.map((row) => row.map(Math.sqrt));
  let diagonalSum = 0;
  let diagonalMass = 0;
  let offDiagonalSum = 0;
  let offDiagonalMass = 0;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      if (i === j) {
        diagonalSum += norms[i][i];
        diagonalMass += frobeniusSq[i][i];
      } else {
        offDiagonalSum += norms[i][j];
        offDiagonalMass += frobeniusSq[i][j];
      }
    }
  }
  return {
    meanRatio: offDiagonalSum / (count * (count - 1)) / (diagonalSum / count),
    massRatio: offDiagonalMass / diagonalMass,
    normalizedCoupling: norms.map((row, i) =>
      row.map((f, j) => f / Math.sqrt(norms[i][i] * norms[j][j])),
    ),
  };
}

function squareArray(size: number): number[][] {
  return Array.from({ length: size }, () => new Array<number>(size).fill(0));
}

function offDiagonalRatio(frobeniusSq: readonly (readonly number[])[]): number {
  let total = 0;
  let offDiagonal = 0;
  for (const [i, row] of frobeniusSq.entries()) {
    for (const [j, value] of row.entries()) {
      total += value;
      if (i !== j) offDiagonal += value;
    }
  }
  return total === 0 ? Number.NaN : offDiagonal / total;
}
