/**
 * The model as onnxruntime sees it, checked before any conversion or product: its parameters
 * are finite, onnxruntime loads it, runs it on the probe inputs, and computes
 * finite outputs. Each failure is the input's fault (exit 2), named with the file and what to
 * do; without this, onnxruntime's own errors would surface later as internal errors and NaN
 * outputs as a conversion mismatch.
 */
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { graphInputs, parameterRoleInitializers } from '../graph.js';
import { type ModelProto, onnx } from '../proto.js';
import { type HostInput, ortFeeds } from '../runtime.js';
import { decodeTensor } from '../tensor.js';
import { CliUsageError, checkedInput, errorMessage, indexOf, oneLine } from './io.js';

/** Where the model and the probe inputs came from, for messages, and what is analysed. */
export interface PreflightSources {
  readonly modelPath: string;
  /** The `--inputs` files, as given. */
  readonly inputFiles: readonly string[];
  /** The initializers the Hessian is taken over (`--parameters`, else the default ones). */
  readonly parameters: readonly string[];
}

/** The first value of `values` that fails `test`, as `[flat index, value]`. */
function firstFailing(
  values: ArrayLike<number>,
  test: (value: number) => boolean,
): [number, number] | undefined {
  for (let i = 0; i < values.length; i++) {
    if (!test(values[i])) return [i, values[i]];
  }
  return undefined;
}

/** Whether `values` is an additive mask: every entry 0 or −∞. */
function isAdditiveMask(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== 0 && values[i] !== Number.NEGATIVE_INFINITY) return false;
  }
  return true;
}

/**
 * Refuses a model with a NaN in any float initializer, or ±Infinity in a parameter (the
 * initializers the Hessian is taken over) or in an initializer in a parameter's role (a weight
 * or bias of a layer, {@link parameterRoleInitializers}) other than an additive attention mask
 * of 0 and −∞, which the default parameters leave out by design.
 */
function checkInitializers(
  model: ModelProto,
  parameters: ReadonlySet<string>,
  modelPath: string,
): void {
  const roles = checkedInput(
    modelPath,
    () => new Set(parameterRoleInitializers(model).map((t) => t.name ?? '')),
  );
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const decoded = checkedInput(modelPath, () => decodeTensor(tensor));
    const name = tensor.name ?? '';
    const weightLike = parameters.has(name) || (roles.has(name) && !isAdditiveMask(decoded.values));
    const bad = firstFailing(
      decoded.values,
      weightLike ? Number.isFinite : (v) => !Number.isNaN(v),
    );
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
 * @returns the shapes of the graph's outputs on these inputs, by name.
 * @throws {@link CliUsageError} naming the model or the inputs and what to do.
 */
export async function preflight(
  bytes: Uint8Array,
  model: ModelProto,
  inputs: Readonly<Record<string, HostInput>>,
  sources: PreflightSources,
): Promise<Map<string, readonly number[]>> {
  const { modelPath } = sources;
  const files = sources.inputFiles.join(', ');
  checkInitializers(model, new Set(sources.parameters), modelPath);
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
      // Only tensor outputs: onnxruntime-node cannot return sequences or maps (a ZipMap's).
      const tensorOutputs = (model.graph?.output ?? [])
        .filter((o) => o.type?.tensorType != null)
        .map((o) => o.name ?? '');
      results = await session.run(ortFeeds(names, types, inputs), tensorOutputs);
    } catch (error) {
      throw new CliUsageError(
        `${modelPath}: onnxruntime cannot run the model on --inputs ${files} (${oneLine(errorMessage(error))}); check the inputs' shapes against the model's`,
        { cause: error },
      );
    }
    const shapes = new Map<string, readonly number[]>();
    for (const name of Object.keys(results)) {
      const output = results[name] as OrtTensor | undefined;
      if (output === undefined) continue;
      shapes.set(name, output.dims);
      if (!(output.data instanceof Float32Array)) continue;
      const bad = firstFailing(output.data, Number.isFinite);
      if (bad !== undefined) {
        throw new CliUsageError(
          `${modelPath}: onnxruntime computes ${bad[1]} in output '${name}' at index ${indexOf(bad[0], output.dims)} on --inputs ${files} (finite inputs and parameters: float32 overflow inside the model, or a constant such as a −∞ mask reaching the output); rescale the inputs, or mask the logits after the model`,
        );
      }
    }
    return shapes;
  } finally {
    await session.release();
  }
}
