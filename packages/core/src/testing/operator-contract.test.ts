import { describe, expect, it } from 'vitest';
import type { LinearOperator } from '../operator.js';
import {
  arithmeticTolerance,
  checkOperatorContract,
  OperatorContractError,
} from './operator-contract.js';

const reference = Float64Array.of(2, 1, 0, 1, 3, 1, 0, 1, 4);
const exact: LinearOperator = {
  dim: 3,
  async matvec(v) {
    const out = new Float64Array(3);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[i] += reference[i * 3 + j] * v[j];
    return out;
  },
};
const options = { tolerance: arithmeticTolerance.float64 };

describe('checkOperatorContract', () => {
  it('passes an exact operator', async () => {
    await expect(checkOperatorContract(exact, reference, options)).resolves.toBeLessThan(1e-15);
  });

  it('fails a wrong product and says where and by how much', async () => {
    const wrong: LinearOperator = {
      dim: 3,
      async matvec(v) {
        const out = await exact.matvec(v);
        out[2] += 1e-6 * v[0];
        return out;
      },
    };
    await expect(checkOperatorContract(wrong, reference, options)).rejects.toThrow(
      /relative error .* > tolerance .*; largest gap .* at row 2/,
    );
  });

  it('fails a non-deterministic operator', async () => {
    let calls = 0;
    const jittery: LinearOperator = {
      dim: 3,
      async matvec(v) {
        const out = await exact.matvec(v);
        out[0] += ++calls * 1e-9;
        return out;
      },
    };
    await expect(checkOperatorContract(jittery, reference, { tolerance: 1 })).rejects.toThrow(
      /determinism: product 0 differs between two calls at index 0/,
    );
  });

  it('fails an operator that modifies its input or has the wrong dimension', async () => {
    const mutating: LinearOperator = {
      dim: 3,
      async matvec(v) {
        const out = await exact.matvec(v);
        v[1] = 0;
        return out;
      },
    };
    await expect(checkOperatorContract(mutating, reference, options)).rejects.toThrow(
      OperatorContractError,
    );
    await expect(
      checkOperatorContract({ dim: 2, matvec: exact.matvec }, reference, options),
    ).rejects.toThrow(/dim² = 4 entries/);
  });

  it('fails an operator that reuses its output buffer, or returns its input', async () => {
    const out = new Float64Array(3);
    const reusing: LinearOperator = {
      dim: 3,
      async matvec(v) {
        out.set(await exact.matvec(v));
        return out;
      },
    };
    await expect(checkOperatorContract(reusing, reference, options)).rejects.toThrow(
      'product 0 (repeated): expected a new Float64Array, got the buffer of product 0',
    );
    const shared = new ArrayBuffer(24);
    const views: LinearOperator = {
      dim: 3,
      async matvec(v) {
        const view = new Float64Array(shared);
        view.set(await exact.matvec(v));
        return view;
      },
    };
    await expect(checkOperatorContract(views, reference, options)).rejects.toThrow(
      /the buffer of product 0 \(the operator reuses its output buffer/,
    );
    const identity = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    const inPlace: LinearOperator = { dim: 3, matvec: async (v) => v };
    await expect(checkOperatorContract(inPlace, identity, options)).rejects.toThrow(
      'product 0: expected a new Float64Array of length 3, got its input',
    );
  });

  it('fails an operator that modifies its input only when called again', async () => {
    let calls = 0;
    const late: LinearOperator = {
      dim: 3,
      async matvec(v) {
        const out = await exact.matvec(v);
        if (++calls === 2) v[0] += 1;
        return out;
      },
    };
    await expect(checkOperatorContract(late, reference, options)).rejects.toThrow(
      'product 0 (repeated): matvec modified its input at index 0',
    );
  });

  it('fails an operator whose dim is not an integer >= 1', async () => {
    await expect(
      checkOperatorContract({ dim: Number.NaN, matvec: exact.matvec }, reference, options),
    ).rejects.toThrow('dim: expected an integer >= 1, got NaN');
  });

  it('fails an asymmetric operator whose products match a symmetric reference poorly', async () => {
    const asymmetric = Float64Array.of(2, 1, 0, 1.5, 3, 1, 0, 1, 4);
    const op: LinearOperator = {
      dim: 3,
      async matvec(v) {
        const out = new Float64Array(3);
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) out[i] += asymmetric[i * 3 + j] * v[j];
        return out;
      },
    };
    // Checked against its own (asymmetric) matrix, products agree but symmetry fails.
    await expect(checkOperatorContract(op, asymmetric, options)).rejects.toThrow(/symmetry/);
  });
});
