/**
 * `@hessian-probe/example-kit`: what the runnable experiments under `examples/` share (real
 * MNIST digits, flag parsing, seeds and their statistics, result tables, files and figures). Private to the examples.
 *
 * @packageDocumentation
 */
export {
  CLASSES,
  type DigitSet,
  digitClassifier,
  type LoadDigitsOptions,
  loadDigits,
  PIXELS,
} from './digits.js';
export {
  type Figure,
  type FigureSpec,
  renderFigure,
  type SeriesFigureOptions,
  type SeriesPoint,
  seriesFigure,
  writeFigures,
} from './figure.js';
export {
  EXPERIMENT_FLAGS,
  experimentArgs,
  figureFolder,
  type IntegerListOptions,
  integerList,
  nonNegativeInteger,
  parseFlagsOrExit,
  positiveInteger,
  positiveNumber,
  SEED_FIGURE_FLAGS,
  seedList,
  useBackend,
} from './flags.js';
export {
  checkResultPaths,
  formatNumber,
  formatWithError,
  markdownTable,
  type ResultPaths,
  writeResults,
  writeTextAtomic,
} from './output.js';
export {
  formatMeanSd,
  type IntervalSide,
  type MeanSd,
  meanSd,
  type PairedChange,
  pairedChange,
  pearson,
  ranks,
  type SignTest,
  sideOf,
  signTest,
  spearman,
  studentTCdf,
  studentTQuantile,
  type TInterval,
  thresholdVerdict,
  tInterval,
} from './stats.js';
