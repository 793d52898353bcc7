/**
 * Type-checks every TSDoc `@example` of the packages' sources (`pnpm check:examples`).
 *
 * Each ```ts block under an `@example` tag in a `/** … *\/` comment of `packages/*\/src` (tests
 * excluded) becomes its own ES module under `.tmp/check-examples/examples/`, made of
 *
 * 1. imports of every export name the example mentions, from the packages' public entry points
 *    (their package.json `exports` with a `source` condition: `@hessian-probe/core`, `…/tfjs`,
 *    `…/backends`, `…/testing`, `@hessian-probe/tfjs-callback`, …; the example's own package
 *    first). Only an example of a declaration that no public entry point exports may also take
 *    names from `@hessian-probe/core/internal` and from its own module;
 * 2. the {@link PRELUDE}: typed declarations of the free variables examples conventionally use
 *    (`tf`, `model`, `x`, `y`, `operator`, `layout`, `report`);
 * 3. the example's text, verbatim, at the module's top level (so top-level `await` works).
 *
 * Names the example declares or imports itself win over 1 and 2. All modules are checked in one
 * TypeScript program (`.tmp/check-examples/tsconfig.json`, extending `tsconfig.base.json`);
 * errors are reported as `path:line: message` at the example's line in the source file, and the
 * exit status is 1 if there is any. The same program checks two self-test snippets, one wrong
 * and one right, and the run fails unless exactly the wrong one is flagged; `--self-test`
 * checks only those.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, '.tmp/check-examples');

interface Package {
  /** Directory under `packages/`. */
  dir: string;
  /** Its name, e.g. `@hessian-probe/core`. */
  name: string;
  /** Its TypeScript entry points (`exports` with a `source` condition), e.g. `…/core/tfjs`. */
  entries: { specifier: string; isPublic: boolean }[];
}

/** The workspace's packages, core first. A subpath called `internal` is not public. */
function workspacePackages(): Package[] {
  const dirs = readdirSync(join(ROOT, 'packages')).filter((d) =>
    existsSync(join(ROOT, 'packages', d, 'package.json')),
  );
  dirs.sort((a, b) => Number(b === 'core') - Number(a === 'core') || a.localeCompare(b));
  return dirs.map((dir) => {
    const json = JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8'));
    const exports: Record<string, unknown> = json.exports ?? {};
    const entries = Object.entries(exports)
      .filter(([, target]) => typeof target === 'object' && target !== null && 'source' in target)
      .map(([sub]) => ({
        specifier: sub === '.' ? json.name : `${json.name}/${sub.replace(/^\.\//, '')}`,
        isPublic: !/(^|\/)internal$/.test(sub),
      }));
    return { dir, name: json.name, entries };
  });
}

const PACKAGES = workspacePackages();

/** Every entry point, core's first. */
const ENTRY_POINTS = PACKAGES.flatMap((p) => p.entries.map((e) => ({ ...e, pkg: p.dir })));

/**
 * The free variables examples may use without declaring them: the tfjs namespace, a compiled
 * tfjs model with its data, a curvature operator with its layout, and a report. Anything else an
 * example needs it declares itself (`declare const logits: tf.Tensor;`), or imports, which
 * documents it for the reader too. An example that declares one of these names replaces it.
 */
const PRELUDE: readonly { name: string; text: string }[] = [
  { name: 'tf', text: "import * as tf from '@tensorflow/tfjs';" },
  { name: 'model', text: 'declare const model: tf.Sequential;' },
  { name: 'x', text: 'declare const x: tf.Tensor; // inputs [N, …]' },
  { name: 'y', text: 'declare const y: tf.Tensor; // targets: [N, C] one-hot or [N] class ids' },
  {
    name: 'operator',
    text: "declare const operator: import('@hessian-probe/core').LinearOperator;",
  },
  { name: 'layout', text: "declare const layout: import('@hessian-probe/core').ParameterLayout;" },
  { name: 'report', text: "declare const report: import('@hessian-probe/core').CurvatureReport;" },
];

interface Example {
  /** Source file, relative to the repository root. */
  file: string;
  /** Directory of its package under `packages/` (`core`, `tfjs-callback`, …). */
  pkg: string;
  /** 1-based source line of the example's first code line. */
  line: number;
  code: string[];
  /**
   * Whether non-public entry points and its own module may serve it: its declaration is not
   * exported by a public entry point (computed when undefined).
   */
  allowInternal?: boolean;
  /** The name of the declaration the comment documents, when it could be read. */
  documents?: string;
}

interface Problem {
  file: string;
  line: number;
  message: string;
}

// --- Extraction ------------------------------------------------------------------------------

const DECLARATION =
  /^\s*export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|var|class|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/;

/**
 * The ```ts blocks under `@example` tags of the TSDoc comments in `text`, and the tags that have
 * none or leave one open.
 */
function extractExamples(
  file: string,
  pkg: string,
  text: string,
): { examples: Example[]; problems: Problem[] } {
  const lines = text.split('\n');
  const examples: Example[] = [];
  const problems: Problem[] = [];
  let inComment = false;
  /** The open `@example` tag: its line and how many blocks it has so far. */
  let tag: { line: number; blocks: number } | undefined;
  let code: string[] | undefined;
  let start = 0;
  /** Examples of the comment just closed, waiting for the declaration it documents. */
  let pending: Example[] = [];
  const endTag = (): void => {
    if (tag?.blocks === 0) {
      problems.push({ file, line: tag.line, message: '@example without a ```ts block' });
    }
    tag = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!inComment) {
      if (pending.length > 0 && line.trim() !== '') {
        const documents = DECLARATION.exec(line)?.[1];
        if (documents !== undefined) for (const e of pending) e.documents = documents;
        pending = [];
      }
      if (!/^\s*\/\*\*/.test(line)) continue;
      inComment = true;
    }
    const content = line.replace(/^\s*(?:\/\*\*|\*(?!\/))? ?/, '');
    const closes = line.includes('*/');
    if (code !== undefined) {
      if (/^\s*```/.test(content)) {
        const example: Example = { file, pkg, line: start, code };
        examples.push(example);
        pending.push(example);
        if (tag !== undefined) tag.blocks++;
        code = undefined;
      } else if (closes) {
        problems.push({ file, line: start - 1, message: 'a ```ts block that is never closed' });
        code = undefined;
      } else {
        code.push(content);
      }
    } else if (/^@example\b/.test(content)) {
      endTag();
      tag = { line: i + 1, blocks: 0 };
    } else if (/^@\w/.test(content)) {
      endTag();
    } else if (tag !== undefined && /^```(?:ts|typescript)\s*$/.test(content)) {
      code = [];
      start = i + 2;
    }
    if (closes && code === undefined) {
      endTag();
      inComment = false;
    }
  }
  return { examples, problems };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .filter((d) => !d.name.endsWith('.test.ts') && !d.name.endsWith('.d.ts'))
    .map((d) => join(d.parentPath, d.name))
    .sort();
}

function findExamples(): { examples: Example[]; problems: Problem[] } {
  const examples: Example[] = [];
  const problems: Problem[] = [];
  for (const pkg of readdirSync(join(ROOT, 'packages')).sort()) {
    const src = join(ROOT, 'packages', pkg, 'src');
    if (!existsSync(src)) continue;
    for (const path of sourceFiles(src)) {
      const found = extractExamples(relative(ROOT, path), pkg, readFileSync(path, 'utf8'));
      examples.push(...found.examples);
      problems.push(...found.problems);
    }
  }
  return { examples, problems };
}

// --- Module generation -----------------------------------------------------------------------

interface Generated {
  example: Example;
  path: string;
  /** Lines before the example's first line. */
  header: number;
}

/** Names an example declares or imports at its top level. */
function topLevelNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const e of name.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  for (const s of source.statements) {
    if (ts.isVariableStatement(s)) {
      for (const d of s.declarationList.declarations) bind(d.name);
    } else if (ts.isImportDeclaration(s)) {
      const clause = s.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const e of bindings.elements) names.add(e.name.text);
      }
    } else if (
      (ts.isFunctionDeclaration(s) ||
        ts.isClassDeclaration(s) ||
        ts.isInterfaceDeclaration(s) ||
        ts.isTypeAliasDeclaration(s) ||
        ts.isEnumDeclaration(s) ||
        ts.isModuleDeclaration(s) ||
        ts.isImportEqualsDeclaration(s)) &&
      s.name !== undefined &&
      ts.isIdentifier(s.name)
    ) {
      names.add(s.name.text);
    }
  }
  return names;
}

/** Every identifier in the example (a superset of the free names it uses). */
function identifiers(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** Export names of each entry point (by specifier) and of each source file (by its path). */
type Exports = Map<string, Set<string>>;

function moduleText(
  example: Example,
  path: string,
  exports: Exports,
): { text: string; header: number } {
  const body = example.code.join('\n');
  const source = ts.createSourceFile('example.mts', body, ts.ScriptTarget.ES2022, true);
  const own = topLevelNames(source);
  const used = identifiers(source);
  // The module itself: `../../src/lanczos.js`, for examples of declarations no entry exports.
  let self = relative(dirname(path), join(ROOT, example.file)).replace(/\.ts$/, '.js');
  if (!self.startsWith('.')) self = `./${self}`;
  const entries = [
    ...ENTRY_POINTS.filter((e) => e.isPublic && e.pkg === example.pkg).map((e) => e.specifier),
    ...ENTRY_POINTS.filter((e) => e.isPublic && e.pkg !== example.pkg).map((e) => e.specifier),
    ...(example.allowInternal
      ? [...ENTRY_POINTS.filter((e) => !e.isPublic).map((e) => e.specifier), example.file]
      : []),
  ];
  const preludeNames = new Set(PRELUDE.map((p) => p.name));
  const imports = new Map<string, string[]>();
  for (const name of [...used].sort()) {
    if (own.has(name) || preludeNames.has(name)) continue;
    const entry = entries.find((e) => exports.get(e)?.has(name));
    if (entry === undefined) continue;
    const specifier = entry === example.file ? self : entry;
    imports.set(specifier, [...(imports.get(specifier) ?? []), name]);
  }
  const header = [
    `// ${example.file}:${example.line}${example.documents ? ` (${example.documents})` : ''}`,
    ...[...imports].map(([from, names]) => `import { ${names.join(', ')} } from '${from}';`),
    ...PRELUDE.filter((p) => !own.has(p.name)).map((p) => p.text),
    'export {};',
  ];
  return { text: `${header.join('\n')}\n${body}\n`, header: header.length };
}

/** Links the workspace packages and their dependencies into `dir/node_modules`. */
function linkPackages(dir: string): void {
  const modules = join(dir, 'node_modules');
  const link = (target: string, name: string): void => {
    const path = join(modules, name);
    if (existsSync(path)) return;
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path, 'dir');
  };
  for (const pkg of PACKAGES) link(join(ROOT, 'packages', pkg.dir), pkg.name);
  for (const pkg of PACKAGES) {
    const deps = join(ROOT, 'packages', pkg.dir, 'node_modules');
    if (!existsSync(deps)) continue;
    for (const name of readdirSync(deps)) {
      if (name.startsWith('.')) continue;
      if (!name.startsWith('@')) link(join(deps, name), name);
      else
        for (const sub of readdirSync(join(deps, name)))
          link(join(deps, name, sub), `${name}/${sub}`);
    }
  }
}

// --- Checking --------------------------------------------------------------------------------

function compilerOptions(dir: string, files: string[]): ts.ParsedCommandLine {
  const config = {
    extends: relative(dir, join(ROOT, 'tsconfig.base.json')),
    compilerOptions: {
      noEmit: true,
      // Examples show a call and its result's fields; unused names are part of the point.
      noUnusedLocals: false,
      noUnusedParameters: false,
      // The generated imports do not tell types from values.
      verbatimModuleSyntax: false,
    },
    files: files.map((f) => relative(dir, f)),
  };
  const path = join(dir, 'tsconfig.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  const parsed = ts.getParsedCommandLineOfConfigFile(path, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error(`check-examples: cannot read ${path}`);
  return parsed;
}

interface EntryInfo {
  exports: Exports;
  /** Source files declaring a publicly exported name, by the names they declare. */
  publicNames: Map<string, Set<string>>;
  program: ts.Program;
  /** Entry points that do not resolve to a module. */
  problems: Problem[];
}

function readExports(
  options: ts.CompilerOptions,
  host: ts.CompilerHost,
  from: string,
  files: readonly string[],
): EntryInfo {
  const problems: Problem[] = [];
  const resolved = ENTRY_POINTS.map((e) => {
    const r = ts.resolveModuleName(e.specifier, from, options, host).resolvedModule;
    if (r !== undefined) return r.resolvedFileName;
    problems.push({ file: '', line: 0, message: `cannot resolve the entry point ${e.specifier}` });
    return undefined;
  });
  const program = ts.createProgram(
    [...resolved.filter((r) => r !== undefined), ...files.map((f) => join(ROOT, f))],
    options,
    host,
  );
  const checker = program.getTypeChecker();
  const exports: Exports = new Map();
  const publicNames = new Map<string, Set<string>>();
  ENTRY_POINTS.forEach((entry, i) => {
    const path = resolved[i];
    if (path === undefined) return;
    // An entry point's own comments document the public API (or, for internal, the internal one).
    const entryFile = relative(ROOT, path);
    if (entry.isPublic) publicNames.set(entryFile, publicNames.get(entryFile) ?? new Set());
    const source = program.getSourceFile(path);
    const symbol = source && checker.getSymbolAtLocation(source);
    if (symbol === undefined) throw new Error(`check-examples: ${path} is not a module`);
    const names = new Set<string>();
    for (const s of checker.getExportsOfModule(symbol)) {
      names.add(s.name);
      if (!entry.isPublic) continue;
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      for (const d of target.declarations ?? []) {
        const file = relative(ROOT, d.getSourceFile().fileName);
        publicNames.set(file, (publicNames.get(file) ?? new Set()).add(s.name));
      }
    }
    exports.set(entry.specifier, names);
  });
  for (const file of files) {
    const source = program.getSourceFile(join(ROOT, file));
    const symbol = source && checker.getSymbolAtLocation(source);
    const names = symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : [];
    exports.set(file, new Set(names));
  }
  return { exports, publicNames, program, problems };
}

function problemsOf(diagnostics: readonly ts.Diagnostic[], generated: Generated[]): Problem[] {
  const byPath = new Map(generated.map((g) => [resolve(g.path), g]));
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    if (d.file === undefined || d.start === undefined) return { file: '', line: 0, message };
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const g = byPath.get(resolve(d.file.fileName));
    if (g === undefined) return { file: relative(ROOT, d.file.fileName), line: line + 1, message };
    // Errors in the generated header (an import) belong to the example's opening fence.
    const offset = line - g.header;
    return { file: g.example.file, line: g.example.line + Math.max(offset, -1), message };
  });
}

function check(examples: Example[]): { problems: Problem[]; generated: Generated[] } {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  linkPackages(OUT);
  const base = compilerOptions(OUT, []);
  const host = ts.createCompilerHost(base.options);
  const files = [...new Set(examples.map((e) => e.file))].filter((f) => existsSync(join(ROOT, f)));
  const entries = readExports(base.options, host, join(OUT, 'index.mts'), files);
  const used = new Map<string, number>();
  const generated = examples.map((example): Generated => {
    if (example.allowInternal === undefined) {
      const publicHere = entries.publicNames.get(example.file);
      example.allowInternal =
        example.documents === undefined
          ? publicHere === undefined
          : !(publicHere?.has(example.documents) ?? false);
    }
    const stem = join(OUT, 'examples', example.file.replace(/\.ts$/, ''));
    const n = (used.get(stem) ?? 0) + 1;
    used.set(stem, n);
    const path = `${stem}.${n}.mts`;
    const { text, header } = moduleText(example, path, entries.exports);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return { example, path, header };
  });
  const parsed = compilerOptions(
    OUT,
    generated.map((g) => g.path),
  );
  const program = ts.createProgram(parsed.fileNames, parsed.options, host, entries.program);
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...generated.flatMap((g) => {
      const source = program.getSourceFile(g.path);
      if (source === undefined) throw new Error(`check-examples: ${g.path} not in the program`);
      return [
        ...program.getSyntacticDiagnostics(source),
        ...program.getSemanticDiagnostics(source),
      ];
    }),
  ];
  return { problems: [...entries.problems, ...problemsOf(diagnostics, generated)], generated };
}

// --- Self-test -------------------------------------------------------------------------------

const SELF_TEST_FILE = 'scripts/check-examples/self-test.ts';

/** A right example and a wrong one (a missing await), as they would stand in a source file. */
const SELF_TEST_SOURCE = `/**
 * Right.
 * @example
 * \`\`\`ts
 * const { operator } = modelCurvature(model, { tf, x, y });
 * const { values } = await topEigenpairs(operator, { k: 2 });
 * \`\`\`
 */
export const right = 1;
/**
 * Wrong.
 * @example
 * \`\`\`ts
 * const { values } = topEigenpairs(operator, { k: 2 });
 * \`\`\`
 */
export const wrong = 2;
`;
const SELF_TEST_WRONG_LINE = 14;

function selfTestExamples(): Example[] {
  const { examples } = extractExamples(SELF_TEST_FILE, 'core', SELF_TEST_SOURCE);
  for (const e of examples) e.allowInternal = false;
  return examples;
}

/** Why the self-test failed, or undefined when exactly the wrong example was flagged. */
function selfTestFailure(examples: Example[], problems: Problem[]): string | undefined {
  const found = examples.map((e) => `${e.documents}@${e.line}`).join(', ');
  if (found !== 'right@5, wrong@14') return `extracted ${found || 'nothing'}`;
  const lines = problems.filter((p) => p.file === SELF_TEST_FILE).map((p) => p.line);
  if (lines.length === 0) return 'the wrong example was not flagged';
  if (lines.some((l) => l !== SELF_TEST_WRONG_LINE)) {
    return `flagged lines ${lines.join(', ')}, expected only ${SELF_TEST_WRONG_LINE}`;
  }
  return undefined;
}

// --- Main ------------------------------------------------------------------------------------

function main(): number {
  const started = performance.now();
  const selfTestOnly = process.argv.includes('--self-test');
  const found = selfTestOnly ? { examples: [], problems: [] } : findExamples();
  const { examples } = found;
  const selfTest = selfTestExamples();
  const { problems } = check([...examples, ...selfTest]);
  const failure = selfTestFailure(selfTest, problems);
  const reported = [...found.problems, ...problems.filter((p) => p.file !== SELF_TEST_FILE)];
  for (const p of reported) {
    console.error(p.file === '' ? `error: ${p.message}` : `${p.file}:${p.line}: ${p.message}`);
  }
  const failed = new Set(
    reported.map((p) => {
      const e = examples.filter((e) => e.file === p.file && e.line <= p.line + 1).pop();
      return e === undefined ? p.file : `${e.file}:${e.line}`;
    }),
  ).size;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (failure !== undefined) console.error(`check-examples: self-test failed: ${failure}`);
  console.log(
    selfTestOnly
      ? `check-examples: self-test ${failure === undefined ? 'passed' : 'failed'} (${seconds} s)`
      : `check-examples: ${examples.length} examples, ${failed} failing, ` +
          `${reported.length} errors; self-test ${failure === undefined ? 'passed' : 'failed'} ` +
          `(${seconds} s)`,
  );
  return reported.length > 0 || failure !== undefined ? 1 : 0;
}

process.exitCode = main();
