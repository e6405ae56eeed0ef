import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entry } from '../tsup.config.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface PackageJson {
  readonly type?: string;
  readonly sideEffects?: unknown;
  readonly engines?: { readonly node?: string };
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly exports: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

/** `.` → `index`, `./testing` → `testing/index`: the tsup entry name that builds a subpath. */
function entryNameFor(subpath: string): string {
  return subpath === '.' ? 'index' : `${subpath.slice(2)}/index`;
}

const entryNames = Object.keys(entry);
const codeSubpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');

describe('package.json', () => {
  it('is an ESM-only package for Node >= 22.13 that bundlers may tree-shake', () => {
    expect(pkg.type).toBe('module');
    expect(pkg.engines?.node).toBe('>=22.13');
    expect(pkg.sideEffects).toBe(false);
  });

  it('maps every exports subpath to a tsup entry, types first', () => {
    expect(pkg.exports['./package.json']).toBe('./package.json');
    for (const subpath of codeSubpaths) {
      const name = entryNameFor(subpath);
      const target = pkg.exports[subpath];
      expect(target, `exports["${subpath}"]`).toEqual({ types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` });
      expect(Object.keys(target as object)[0], `exports["${subpath}"] must list "types" first`).toBe('types');
      expect(entry[name], `tsup.config.ts has no entry "${name}" for exports["${subpath}"]`).toBe(`src/${name}.ts`);
    }
  });

  it('exports every tsup entry', () => {
    expect(codeSubpaths.map(entryNameFor).sort()).toEqual([...entryNames].sort());
  });
});

describe('entry points', () => {
  it('never export the same name twice, so each name has one import path', async () => {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const name of entryNames) {
      const namespace = (await import(/* @vite-ignore */ `../${entry[name]}`)) as Record<string, unknown>;
      for (const exported of Object.keys(namespace)) {
        const owner = owners.get(exported);
        if (owner === undefined) owners.set(exported, name);
        else clashes.push(`${exported} (${owner} and ${name})`);
      }
    }
    expect(clashes).toEqual([]);
  });

  describe('are free of side effects on import', () => {
    // A child process gives a fresh module graph and event loop that vitest's own workers do not disturb.
    // The source is transpiled (types erased only) into a folder under node_modules, so bare imports
    // such as `zod` resolve exactly as they do from src/.
    let outDir = '';

    beforeAll(() => {
      const cacheDir = join(root, 'node_modules', '.cache');
      mkdirSync(cacheDir, { recursive: true });
      outDir = mkdtempSync(join(cacheDir, 'syncline-exports-test-'));
      writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
      const srcDir = join(root, 'src');
      for (const file of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
        const { outputText } = ts.transpileModule(readFileSync(join(srcDir, file), 'utf8'), {
          fileName: file,
          compilerOptions: {
            module: ts.ModuleKind.ESNext,
            target: ts.ScriptTarget.ES2023,
            verbatimModuleSyntax: true,
          },
        });
        const target = join(outDir, 'src', file.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, outputText);
      }
      writeFileSync(
        join(outDir, 'probe.mjs'),
        `const timers = [];
for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
  const original = globalThis[name];
  globalThis[name] = function (...args) {
    timers.push(name);
    return original.apply(this, args);
  };
}
const before = process.getActiveResourcesInfo();
await import(process.argv[2]);
const after = process.getActiveResourcesInfo();
for (const resource of before) {
  const index = after.indexOf(resource);
  if (index !== -1) after.splice(index, 1);
}
process.stdout.write(JSON.stringify({ timers, resources: after }));
`,
      );
    });

    afterAll(() => {
      if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
    });

    // The conformance suites import vitest, whose own module starts a timer; everything else must be clean.
    const runtimeEntries = entryNames.filter((name) => !name.startsWith('testing/conformance'));
    it.each(runtimeEntries)('%s starts no timers and opens no handles', (name) => {
      const module = join(outDir, (entry[name] ?? '').replace(/\.ts$/, '.js'));
      const child = spawnSync(process.execPath, [join(outDir, 'probe.mjs'), pathToFileURL(module).href], {
        cwd: root,
        encoding: 'utf8',
        // A module that keeps the event loop alive would hang the child: the timeout turns that into a failure.
        timeout: 10_000,
      });
      expect(child.stderr, `importing ${relative(root, module)} failed`).toBe('');
      expect(child.status).toBe(0);
      expect(JSON.parse(child.stdout)).toEqual({ timers: [], resources: [] });
    });
  });
});
