import { blockRatios } from './blocks.js';
import { DimensionError, OptionError } from './errors.js';
import { checkLayout, type ParameterLayout } from './layout.js';
import { ratioOfMeans } from './moments.js';
import {
  checkArray,
  checkInteger,
  checkOptions,
  checkString,
  checkVector,
  show,
} from './options.js';

/**
 * Squared block Frobenius norms, exact or estimated, as
 * {@link @hessian-probe/core!index.blockNorms | blockNorms} and {@link exactBlockNorms} return
 * them.
 */
export interface BlockFrobenius {
  /** Block names, row and column labels of `frobeniusSq`. */
  readonly names: readonly string[];
  /** `frobeniusSq[i][j]` = ‖H_ij‖²_F (or an unbiased estimate of it). */
  readonly frobeniusSq: readonly (readonly number[])[];
  /** Standard error of each entry of `frobeniusSq`, when estimated; absent when exact. */
  readonly stderr?: readonly (readonly number[])[];
  /**
   * The per-probe samples of an estimate, as
   * {@link @hessian-probe/core!index.BlockNorms.samples | BlockNorms.samples} (column j:
   * probes × B, row-major): with them the mass ratios' error bars account for the correlation of
   * the entries of a column; without them the entries' errors are treated as independent.
   */
  readonly samples?: readonly Float64Array[];
}

/** Options of {@link blockStructure}. */
export interface BlockStructureOptions {
  /**
   * The layer (group) a block belongs to. Default {@link layerOfBlock}: the name up to its last
   * `/`, so the 'unit' layout's `'dense_Dense1/unit_3'` belongs to `'dense_Dense1'`.
   */
  readonly groupOf?: (name: string) => string;
}

/** Off-diagonal statistics over one set of block pairs (i ≠ j), relative to diagonal blocks. */
export interface PairStatistics {
  /** Number of ordered pairs (i, j), i ≠ j, in the set. */
  readonly pairs: number;
  /** mean over the pairs of F_ij / mean over the diagonal blocks of F_ii (F = ‖·‖_F). NaN when no pair. */
  readonly meanRatio: number;
  /** Σ over the pairs of F_ij² / Σ over the diagonal blocks of F_ii². */
  readonly massRatio: number;
  /**
   * Standard error of `massRatio` by the delta method: from the per-probe samples when given
   * (a ratio of means of per-probe sums, {@link ratioOfMeans}; calibrated over 200 seeds in the
   * tests), else treating the entries' errors as independent (a guide only: the entries of one
   * column share probes); 0 for exact norms.
   */
  readonly massRatioStderr: number;
}

/** The statistics of one layer's own blocks: {@link PairStatistics} over its within-layer pairs and its diagonal. */
export interface LayerBlockStatistics extends PairStatistics {
  /** The layer (group) name. */
  readonly name: string;
  /** Blocks in the layer. */
  readonly blocks: number;
}

/** Result of {@link blockStructure}. */
export interface BlockStructure {
  /** Block names, in input order. */
  readonly names: readonly string[];
  /** The layer of each block. */
  readonly groups: readonly string[];
  /** F_ij / √(F_ii F_jj) over all blocks, as {@link blockRatios} defines it. */
  readonly normalizedCoupling: number[][];
  /** Pairs in the same layer, relative to all diagonal blocks. */
  readonly withinLayer: PairStatistics;
  /** Pairs in different layers, relative to all diagonal blocks (not small at initialization). */
  readonly crossLayer: PairStatistics;
  /** Per layer: its within-layer pairs relative to its own diagonal blocks, in first-seen order. */
  readonly layers: readonly LayerBlockStatistics[];
}

/**
 * The layer a block name belongs to: the text before its last `/` (`'dense_1/unit_0'` →
 * `'dense_1'`), or the whole name when it has none.
 */
export function layerOfBlock(name: string): string {
  checkString('layerOfBlock', 'name', name);
  const slash = name.lastIndexOf('/');
  return slash < 0 ? name : name.slice(0, slash);
}

/**
 * The block-structure statistics of Dong, Zhang, Luo, Yao & Sun 2025 ("Towards Quantifying the
 * Hessian Structure of Neural Networks", arXiv 2505.02809; docs/methods.md section A), reported
 * separately for within-layer and cross-layer block pairs. With F_ij = ‖H_ij‖_F over a pair set
 * S: mean ratio = mean_{(i,j)∈S} F_ij / mean_i F_ii and mass ratio = Σ_S F_ij² / Σ_i F_ii². The
 * within- and cross-layer mass ratios add up to {@link blockRatios}' `massRatio`. From estimated
 * norms the mass ratios are ratios of unbiased sums; the mean ratios take square roots of
 * estimates and are biased low.
 *
 * Exact facts (docs/methods.md A): a linear model with MSE has zero off-diagonal class blocks; with
 * cross-entropy at W = 0 every ratio over the class blocks equals 1/(C − 1).
 *
 * @throws {@link @hessian-probe/core!index.DimensionError | DimensionError} unless `frobeniusSq`
 *   (and `stderr`, if given) is a square array matching `names`; {@link OptionError} for a negative
 *   or non-finite entry, `norms` or `options` that are not objects, names that are not strings or a
 *   `groupOf` that is not a function returning strings.
 *
 * @example
 * ```ts
 * const { operator, layout } = modelCurvature(model, { tf, x, y, layout: 'unit' });
 * const norms = await blockNorms(operator, layout, { probes: 8 });
 * const { withinLayer, crossLayer, layers } = blockStructure(norms);
 * ```
 */
export function blockStructure(
  norms: BlockFrobenius,
  options: BlockStructureOptions = {},
): BlockStructure {
  const where = 'blockStructure';
  const { names, frobeniusSq, stderr } = checkOptions(where, norms, true, 'norms');
  checkArray(where, 'norms.names', names);
  for (const [i, name] of names.entries()) checkString(where, `norms.names[${i}]`, name);
  const count = names.length;
  checkSquare(where, 'frobeniusSq', frobeniusSq, count);
  if (stderr !== undefined) checkSquare(where, 'stderr', stderr, count);
  const { samples } = norms;
  if (samples !== undefined) checkSamples(where, samples, count);
  const { groupOf: given } = checkOptions(where, options);
  if (given !== undefined && typeof given !== 'function') {
    throw new OptionError(`${where}: expected groupOf to be a function, got ${show(given)}`);
  }
  const { normalizedCoupling } = blockRatios(frobeniusSq);
  const groupOf = given ?? layerOfBlock;
  const groups = names.map((name, i) => {
    const group = groupOf(name);
    checkString(where, `groupOf(norms.names[${i}])`, group);
    return group;
  });
  const all = Array.from({ length: count }, (_, i) => i);
  const pairStatistics = (members: readonly number[], same: boolean) =>
    statistics(frobeniusSq, stderr, samples, groups, members, same);
  const layerNames = [...new Set(groups)];
  return {
    names: [...names],
    groups,
    normalizedCoupling,
    withinLayer: pairStatistics(all, true),
    crossLayer: pairStatistics(all, false),
    layers: layerNames.map((name) => {
      const members = all.filter((i) => groups[i] === name);
      return { name, blocks: members.length, ...pairStatistics(members, true) };
    }),
  };
}

/**
 * Mean |a_rc| over every block pair of a dense row-major n×n matrix: the block-mean heatmap of
 * |H| that Dong et al. 2025 (arXiv 2505.02809) draw. Entry [i][j] averages the rows of block i
 * and the columns of block j.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `a` is not a
 *   `Float64Array` or `n` not an integer >= 1; {@link DimensionError} when `a.length !== n * n` or
 *   `layout.dim !== n`; {@link @hessian-probe/core!index.LayoutError | LayoutError} when the blocks
 *   do not tile [0, n).
 *
 * @example
 * ```ts
 * const layout = layoutFromSizes([{ name: 'a', size: 1 }, { name: 'b', size: 1 }]);
 * blockMeanAbs(Float64Array.of(1, -2, -2, 3), 2, layout); // [[1, 2], [2, 3]]
 * ```
 */
export function blockMeanAbs(a: Float64Array, n: number, layout: ParameterLayout): number[][] {
  const where = 'blockMeanAbs';
  checkVector(where, 'a', a);
  checkInteger(where, 'n', n, 1);
  if (a.length !== n * n) {
    throw new DimensionError(
      `${where}: expected a matrix of ${n}×${n} = ${n * n} entries, got ${a.length}`,
    );
  }
  checkLayout(where, layout, n, "the matrix's");
  const blocks = layout.blocks;
  return blocks.map((rows) =>
    blocks.map((cols) => {
      let sum = 0;
      for (let r = rows.offset; r < rows.offset + rows.size; r++) {
        for (let c = cols.offset; c < cols.offset + cols.size; c++) sum += Math.abs(a[r * n + c]);
      }
      return sum / (rows.size * cols.size);
    }),
  );
}

function statistics(
  frobeniusSq: readonly (readonly number[])[],
  stderr: readonly (readonly number[])[] | undefined,
  samples: readonly Float64Array[] | undefined,
  groups: readonly string[],
  members: readonly number[],
  same: boolean,
): PairStatistics {
  const inPairs = (i: number, j: number) => i !== j && (groups[i] === groups[j]) === same;
  let diagonalNorm = 0;
  let diagonalMass = 0;
  let diagonalVariance = 0;
  let pairNorm = 0;
  let pairMass = 0;
  let pairVariance = 0;
  let pairs = 0;
  for (const i of members) {
    for (const j of members) {
      const variance = stderr === undefined ? 0 : stderr[i][j] ** 2;
      if (i === j) {
        diagonalNorm += Math.sqrt(frobeniusSq[i][i]);
        diagonalMass += frobeniusSq[i][i];
        diagonalVariance += variance;
      } else if (inPairs(i, j)) {
        pairNorm += Math.sqrt(frobeniusSq[i][j]);
        pairMass += frobeniusSq[i][j];
        pairVariance += variance;
        pairs++;
      }
    }
  }
  const massRatio = pairMass / diagonalMass;
  const massRatioStderr =
    samples === undefined
      ? Math.sqrt(pairVariance + massRatio ** 2 * diagonalVariance) / diagonalMass
      : ratioOfMeans(...perProbeSums(samples, members, inPairs)).stderr;
  return {
    pairs,
    meanRatio: pairs === 0 ? Number.NaN : pairNorm / pairs / (diagonalNorm / members.length),
    massRatio,
    massRatioStderr,
  };
}

/**
 * For each probe index p, the pairs' and the diagonal blocks' sampled masses summed over the
 * columns: i.i.d. over p (each column draws its own probes), so their means' ratio is
 * `massRatio` and {@link ratioOfMeans} gives its error bar.
 */
function perProbeSums(
  samples: readonly Float64Array[],
  members: readonly number[],
  inPairs: (i: number, j: number) => boolean,
): [Float64Array, Float64Array] {
  const count = samples.length;
  const probes = samples[0].length / count;
  const pairSums = new Float64Array(probes);
  const diagonalSums = new Float64Array(probes);
  for (const j of members) {
    for (let p = 0; p < probes; p++) {
      const sample = samples[j].subarray(p * count, (p + 1) * count);
      diagonalSums[p] += sample[j];
      for (const i of members) if (inPairs(i, j)) pairSums[p] += sample[i];
    }
  }
  return [pairSums, diagonalSums];
}

/** Refuses samples that are not B columns of equally many probes × B finite numbers >= 0. */
function checkSamples(where: string, samples: readonly Float64Array[], count: number): void {
  checkArray(where, 'samples', samples);
  for (const [j, column] of samples.entries()) checkVector(where, `samples[${j}]`, column);
  const lengths = samples.map((column) => column.length);
  const probes = lengths[0] / count;
  if (
    samples.length !== count ||
    !Number.isInteger(probes) ||
    probes < 1 ||
    lengths.some((length) => length !== lengths[0])
  ) {
    throw new DimensionError(
      `${where}: expected samples to be ${count} Float64Arrays of probes × ${count} entries (one per block column), got ${samples.length} of lengths [${lengths}]`,
    );
  }
}

function checkSquare(
  where: string,
  what: string,
  rows: readonly (readonly number[])[],
  count: number,
): void {
  checkArray(where, what, rows);
  for (const [i, row] of rows.entries()) checkArray(where, `${what}[${i}]`, row);
  if (count === 0 || rows.length !== count || rows.some((row) => row.length !== count)) {
    throw new DimensionError(
      `${where}: expected ${what} to be a square ${count}×${count} array (one row per name), got ${rows.length} rows of lengths [${rows.map((r) => r.length)}]`,
    );
  }
}
