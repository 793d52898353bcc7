/**
 * The model as onnxruntime sees it, checked before any conversion or product: its float
 * initializers are finite, onnxruntime loads it, runs it on the probe inputs, and computes
 * finite outputs. Each failure is the input's fault (exit 2), named with the file and what to
 * do; without this, onnxruntime's own errors would surface later as internal errors and NaN
 * outputs as a conversion mismatch.
 */
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { graphInputs } from '../graph.js';
import { type ModelProto, onnx } from '../proto.js';
import { type HostInput, ortFeeds } from '../runtime.js';
import { decodeTensor } from '../tensor.js';
import { asInputError, CliUsageError, errorMessage, indexOf, oneLine } from './io.js';

/** Where the model and the probe inputs came from, for messages. */
export interface PreflightSources {
  readonly modelPath: string;
  /** The `--inputs` files, as given. */
  readonly inputFiles: readonly string[];
}

/** The first non-finite value of `values`, as `[flat index, value]`. */
function firstNonFinite(values: ArrayLike<number>): [number, number] | undefined {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return [i, values[i]];
  }
  return undefined;
}

/** Refuses a model whose float initializers hold NaN or ±Infinity. */
function checkInitializers(model: ModelProto, modelPath: string): void {
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    let decoded: ReturnType<typeof decodeTensor>;
    try {
      decoded = decodeTensor(tensor);
    } catch (error) {
      throw asInputError(error, modelPath);
    }
    const bad = firstNonFinite(decoded.values);
    if (bad !== undefined) {
      throw new CliUsageError(
        `${modelPath}: expected finite weights, got ${bad[1]} in initializer '${tensor.name}' at index ${indexOf(bad[0], decoded.shape)} (did training diverge? export a checkpoint from before)`,
      );
    }
  }
}

/**
 * Loads the model in onnxruntime and runs it on `inputs`, refusing non-finite weights, a model
 * onnxruntime rejects or cannot run on these inputs, and non-finite float outputs.
 *
 * @throws {@link CliUsageError} naming the model or the inputs and what to do.
 */
export async function preflight(
  bytes: Uint8Array,
  model: ModelProto,
  inputs: Readonly<Record<string, HostInput>>,
  sources: PreflightSources,
): Promise<void> {
  const { modelPath } = sources;
  const files = sources.inputFiles.join(', ');
  checkInitializers(model, modelPath);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes);
  } catch (error) {
    throw new CliUsageError(
      `${modelPath}: onnxruntime cannot load the model (${oneLine(errorMessage(error))}); check the file with onnx.checker.check_model(path, full_check=True) or export it again`,
      { cause: error },
    );
  }
  try {
    let results: InferenceSession.OnnxValueMapType;
    try {
      const { names, types } = graphInputs(model);
      results = await session.run(ortFeeds(names, types, inputs));
    } catch (error) {
      throw new CliUsageError(
        `${modelPath}: onnxruntime cannot run the model on --inputs ${files} (${oneLine(errorMessage(error))}); check the inputs' shapes against the model's`,
        { cause: error },
      );
    }
    for (const name of session.outputNames) {
      const output = results[name] as OrtTensor | undefined;
      if (output === undefined || !(output.data instanceof Float32Array)) continue;
      const bad = firstNonFinite(output.data);
      if (bad !== undefined) {
        throw new CliUsageError(
          `${modelPath}: onnxruntime computes ${bad[1]} in output '${name}' at index ${indexOf(bad[0], output.dims)} on --inputs ${files} (finite inputs and weights, so float32 overflows inside the model); rescale the inputs`,
        );
      }
    }
  } finally {
    await session.release();
  }
}
