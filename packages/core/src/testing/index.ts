/**
 * Test helpers shared by every package of hessian-probe: the operator contract and the
 * arithmetic tolerances. Framework-agnostic: failures throw {@link OperatorContractError}.
 *
 * @packageDocumentation
 */

export { backendsUnderTest } from './backends-under-test.js';
export { type CountingOperator, countingOperator } from './counting-operator.js';
export {
  arithmeticTolerance,
  checkOperatorContract,
  OperatorContractError,
  type OperatorContractOptions,
} from './operator-contract.js';
export {
  conjugatedSpectrum,
  hessianLikeSpectrum,
  reflectedSpectrumOperator,
} from './spectra.js';
