import { arithmeticTolerance } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ClassHierarchyRow,
  compareOverSeeds,
  formatTables,
  runClassHierarchy,
} from './class-hierarchy.js';

// Eigenvalues from float32 products (Lanczos on G) against Gram spectra of float32-derived class
// means: comparisons allow the shared float32 tolerance relative to λ₁(G).
const F32 = arithmeticTolerance.float32;
const C = 10;

describe('runClassHierarchy (tiny sizes, wasm)', () => {
  let rows: ClassHierarchyRow[];
  let leaked: number;

  beforeAll(async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('could not switch tfjs to wasm');
    const before = tf.memory().numTensors;
    rows = await runClassHierarchy({
      tf,
      hidden: 8,
      trainPerClass: 40,
      testPerClass: 10,
      probePerClass: 5,
      epochs: 4,
      topK: C + 1,
      seed: 3,
    });
    leaked = tf.memory().numTensors - before;
  }, 120_000);

  it('disposes every tensor it makes', () => {
    expect(leaked).toBe(0);
  });

  it('analyses before and after training, and training helps', () => {
    expect(rows.map((r) => r.phase)).toEqual(['init', 'trained']);
    const [init, trained] = rows;
    expect(init.N).toBe(5 * C);
    expect(init.P).toBe(784 * 8 + 8 + 8 * C + C);
    expect(trained.probeLoss).toBeLessThan(init.probeLoss);
    expect(trained.testAccuracy).toBeGreaterThan(init.testAccuracy);
  });

  it('the levels are ordered as G ⪰ G₁₊₂ ⪰ G₁ and G₂ has C null directions', () => {
    for (const r of rows) {
      const tol = F32 * r.topG[0];
      // Weyl: G − G₁₊₂ = G₃ ⪰ 0 and G₁₊₂ − G₁ = G₀ + G₂ ⪰ 0 give λ_k ordered for every k.
      r.topG.forEach((v, k) => {
        expect(v).toBeGreaterThan(r.eigenG12[k] - tol);
        expect(r.eigenG12[k]).toBeGreaterThan((r.eigenG1[k] ?? 0) - tol);
      });
      for (const fraction of [r.fractionG0, r.fractionG1, r.fractionG2, r.fractionG3]) {
        expect(fraction).toBeGreaterThan(-F32);
        expect(fraction).toBeLessThan(1 + F32);
      }
      expect(r.eigenG2).toHaveLength(C * (C - 1));
      expect(r.eigenG2.filter((v) => Math.abs(v) < 1e-9 * r.eigenG2[0])).toHaveLength(C);
      expect(r.classMeanRank).toBe(C);
      expect(r.overlapG).toBeGreaterThan(0);
      expect(r.overlapG).toBeLessThanOrEqual(1 + F32);
      expect(r.overlapH).toBeGreaterThan(0);
      expect(r.overlapGLeading).toBeGreaterThan(0);
      expect(r.overlapGLeading).toBeLessThanOrEqual(1 + F32);
      expect(r.gapG.map((g) => g.position)).toEqual([C - 1, C]);
      expect(r.gapG[1].ratio).toBeCloseTo(r.topG[C - 1] / r.topG[C], 12);
      expect(r.convergedG && r.convergedH).toBe(true);
    }
  });

  it('renders every table and round-trips through JSON', () => {
    const markdown = formatTables(rows);
    expect(markdown.match(/^## /gm)).toHaveLength(5);
    expect(markdown).toContain(`| ${C + 1} |`);
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
  });

  it('judges the claims over seeds, never on one', () => {
    expect(rows.every((r) => r.seed === 3)).toBe(true);
    const one = compareOverSeeds(rows);
    expect(one).toContain('mean ± sd over 1 seeds');
    expect(one).toContain('not judged: one seed');
    // A second "seed" with the same numbers: sd 0, every interval a point, so a verdict.
    const two = compareOverSeeds([...rows, ...rows.map((r) => ({ ...r, seed: 4 }))]);
    expect(two).not.toContain('not judged');
    expect(two).toMatch(
      /level 3 \(within-class, G₃\) carries the bulk of tr G \(threshold 0\.5\) \| \S+ \| (agrees|does not agree)/,
    );
  });
});
