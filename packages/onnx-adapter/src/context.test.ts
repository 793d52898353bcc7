import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxOutputLayer } from './context.js';
import { analysedOutputs, defaultParameters, lossInput, parseAnalysableModel } from './graph.js';

const CORPUS = join(import.meta.dirname, '..', 'corpus');

function outputLayer(
  file: string,
  parameters?: (model: ReturnType<typeof parseAnalysableModel>) => string[],
) {
  const model = parseAnalysableModel(readFileSync(join(CORPUS, file)));
  const logits = lossInput(model, analysedOutputs(model)[0], 'ce');
  return onnxOutputLayer(model, logits, parameters?.(model) ?? defaultParameters(model));
}

describe('onnxOutputLayer on the corpus exports', () => {
  it.each([
    // Gemm with transB = 1: PyTorch Linear and the lowered ai.onnx.ml LinearClassifier, [C, d].
    [
      'torch-cnn.onnx',
      [
        { name: 'head.weight', axis: 0 },
        { name: 'head.bias', axis: 0 },
      ],
    ],
    [
      'sklearn-logreg.onnx',
      [
        { name: 'LinearClassifier.coefficients', axis: 0 },
        { name: 'LinearClassifier.intercepts', axis: 0 },
      ],
    ],
    // MatMul [d, C] + Add of a [1, C] bias (skl2onnx), before the Softmax the loss skips.
    [
      'sklearn-mlp.onnx',
      [
        { name: 'coefficient1', axis: 1 },
        { name: 'intercepts1', axis: 1 },
      ],
    ],
    // MatMul of a Transpose of [C, d], no bias (TorchScript, Linear(bias=False)).
    ['torch-mlp-nobias.onnx', [{ name: 'fc2.weight', axis: 0 }]],
    // The language model: Transpose → MatMul → Add(bias) → Reshape to [N·T, V].
    [
      'tiny-lm.onnx',
      [
        { name: 'out.weight', axis: 0 },
        { name: 'out.bias', axis: 0 },
      ],
    ],
    // The dynamo export stores the weight pre-transposed, [d, V].
    [
      'tiny-lm-dynamo.onnx',
      [
        { name: 'val_23', axis: 1 },
        { name: 'out.bias', axis: 0 },
      ],
    ],
  ])('%s', (file, expected) => {
    expect(outputLayer(file)).toEqual(expected);
  });

  it('is undefined when the weight is not a parameter, and leaves out a bias that is not', () => {
    expect(
      outputLayer('tiny-lm.onnx', (m) => defaultParameters(m).filter((p) => p !== 'out.weight')),
    ).toBeUndefined();
    expect(
      outputLayer('tiny-lm.onnx', (m) => defaultParameters(m).filter((p) => p !== 'out.bias')),
    ).toEqual([{ name: 'out.weight', axis: 0 }]);
  });

  it('is undefined for a tensor no linear layer makes', () => {
    const model = parseAnalysableModel(readFileSync(join(CORPUS, 'tiny-lm.onnx')));
    // The final LayerNorm's output: not a Gemm/MatMul.
    expect(
      onnxOutputLayer(model, '/lnf/LayerNormalization_output_0', defaultParameters(model)),
    ).toBeUndefined();
  });
});
