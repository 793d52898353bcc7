/**
 * `@hessian-probe/example-kit`: what the runnable experiments under `examples/` share (real
 * MNIST digits, flag parsing, result tables and files). Private to the examples.
 *
 * @packageDocumentation
 */
export {
  CLASSES,
  type DigitSet,
  type LoadDigitsOptions,
  loadDigits,
  PIXELS,
} from './digits.js';
export {
  EXPERIMENT_FLAGS,
  experimentArgs,
  type IntegerListOptions,
  integerList,
  nonNegativeInteger,
  parseFlagsOrExit,
  positiveInteger,
  positiveNumber,
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
