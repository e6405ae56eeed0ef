#!/usr/bin/env node
// Release gate: proves that the package a user installs works, not just the source tree.
// Steps: build → publint (strict) → attw (esm-only profile) → install the packed tarball into a scratch
// project and load every public entry point with both `import` and `require` (require(esm), Node >= 22.13, which also brings node:sqlite unflagged).
// Plain Node on purpose: it must run before anything else is trusted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Names each entry point must export once its barrel is filled in. A barrel that exports nothing yet is
 * only required to load, so the gate can run while the API is being written.
 */
const requiredExports = {
  '.': ['SynclineError', 'isSynclineError', 'pipeline', 'memoryStores', 'retryPolicy', 'rateLimiter'],
  './testing': ['FakeClock', 'flakySink', 'runPipeline'],
  './testing/conformance': ['describeCheckpointStore', 'describeDeadLetterStore', 'describeAuditStore', 'describeKeyValueStore', 'describeInboxStore'],
  './sqlite': ['sqliteStores', 'SqliteCorruptError', 'SqliteSchemaVersionError'],
  './postgres': ['postgresStores', 'postgresSink', 'PostgresCheckpointStore', 'PostgresSchemaVersionError'],
  './redis': ['redisStores', 'connectRedisStores', 'redisRateLimiter', 'RedisLayoutVersionError'],
  './http': ['httpClient', 'httpSource', 'httpSink', 'oauth2ClientCredentials', 'oauth2RefreshToken', 'HttpError'],
  './webhooks': ['webhookIntake', 'nodeHandler', 'fetchHandler', 'inboxSource', 'inboxJson', 'standardWebhooks', 'stripeSignature', 'WebhookVerificationError'],
};

/**
 * Entry points that need a test runner: vitest refuses `require()`, so they are only imported, with their
 * optional peer dependencies installed into the scratch project first.
 */
const importOnly = {
  './testing/conformance': ['vitest', 'fast-check'],
};

class CheckError extends Error {}

const tempDirs = [];
let stepNo = 0;

function step(title) {
  stepNo += 1;
  console.log(`\n=== check ${stepNo}: ${title}`);
}

function run(command, args, { cwd = root, capture = false, label } = {}) {
  console.log(`$ ${label ?? [command, ...args].join(' ')}${cwd === root ? '' : `   (in ${cwd})`}`);
  const result = spawnSync(command, args, {
    cwd,
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, NO_UPDATE_NOTIFIER: '1' },
  });
  if (result.error) {
    throw new CheckError(`could not start \`${command}\`: ${result.error.message}`);
  }
  if (result.status !== 0) {
    const output = capture ? `\n${result.stdout}${result.stderr}` : '';
    throw new CheckError(`\`${label ?? [command, ...args].join(' ')}\` exited with ${result.status ?? result.signal}${output}`);
  }
  return result.stdout ?? '';
}

function bin(name) {
  return join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
}

function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `syncline-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** Public subpaths from the `exports` map, e.g. `.` and `./testing` (not `./package.json`). */
function entrySubpaths() {
  return Object.keys(pkg.exports).filter((subpath) => !subpath.endsWith('.json'));
}

function specifierFor(subpath) {
  return subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
}

// Runs in the scratch project: loads one specifier both ways and prints what it found as JSON.
const probeSource = (specifier, kind) =>
  kind === 'import'
    ? `const ns = await import(${JSON.stringify(specifier)});
       console.log(JSON.stringify(Object.keys(ns).map((k) => [k, typeof ns[k]])));`
    : `const ns = require(${JSON.stringify(specifier)});
       console.log(JSON.stringify(Object.keys(ns).filter((k) => k !== '__esModule').map((k) => [k, typeof ns[k]])));`;

function probe(cwd, specifier, kind) {
  const args = kind === 'import' ? ['--input-type=module', '-e'] : ['--input-type=commonjs', '-e'];
  const label = `node ${args[0]} -e "${kind === 'import' ? `await import('${specifier}')` : `require('${specifier}')`} …"`;
  const out = run(process.execPath, [...args, probeSource(specifier, kind)], { cwd, capture: true, label });
  try {
    return new Map(JSON.parse(out.trim().split('\n').at(-1)));
  } catch {
    throw new CheckError(`${kind} of ${specifier} printed something that is not the expected JSON:\n${out}`);
  }
}

function assertExports(specifier, subpath, kind, names) {
  const undefinedNames = [...names].filter(([, type]) => type === 'undefined').map(([name]) => name);
  if (undefinedNames.length > 0) {
    throw new CheckError(`${kind} ${specifier}: exports ${undefinedNames.join(', ')} are undefined (circular import?)`);
  }
  if (names.size === 0) {
    console.log(`  ${kind} ${specifier}: loads, exports nothing yet (placeholder barrel)`);
    return;
  }
  if (![...names.values()].includes('function')) {
    throw new CheckError(`${kind} ${specifier}: expected at least one function or class export, got ${[...names.keys()].join(', ')}`);
  }
  const missing = (requiredExports[subpath] ?? []).filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new CheckError(`${kind} ${specifier}: missing required export(s) ${missing.join(', ')}; add them to the barrel or update requiredExports in scripts/check.mjs`);
  }
  console.log(`  ${kind} ${specifier}: ${names.size} exports ok`);
}

function smokeTest() {
  const packDir = tempDir('pack');
  const out = run(npm, ['pack', '--json', '--pack-destination', packDir], { capture: true });
  const [packed] = JSON.parse(out.slice(out.indexOf('[')));
  const tarball = join(packDir, packed.filename);
  console.log(`  packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`);
  const leaked = packed.files.map((f) => f.path).filter((p) => /^(src|test|scripts|\.ci)\//.test(p));
  if (leaked.length > 0) {
    throw new CheckError(`the tarball contains development files: ${leaked.join(', ')}; fix "files" in package.json`);
  }

  const project = tempDir('consumer');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'syncline-smoke', private: true, version: '0.0.0' }, null, 2));
  const peers = [...new Set(Object.values(importOnly).flat())].map((name) => `${name}@${pkg.devDependencies[name]}`);
  run(npm, ['install', tarball, ...peers, '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
    cwd: project,
  });

  for (const subpath of entrySubpaths()) {
    const specifier = specifierFor(subpath);
    const viaImport = probe(project, specifier, 'import');
    assertExports(specifier, subpath, 'import', viaImport);
    if (importOnly[subpath]) continue;
    const viaRequire = probe(project, specifier, 'require');
    assertExports(specifier, subpath, 'require', viaRequire);
    const a = [...viaImport.keys()].sort().join(',');
    const b = [...viaRequire.keys()].sort().join(',');
    if (a !== b) {
      throw new CheckError(`${specifier}: import and require see different exports\n  import:  ${a}\n  require: ${b}`);
    }
  }

  // The exports map must hide dist internals; a deep import that works today breaks users on refactors.
  const deep = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('${pkg.name}/dist/index.js')`], {
    cwd: project,
    encoding: 'utf8',
  });
  if (deep.status === 0 || !deep.stderr.includes('ERR_PACKAGE_PATH_NOT_EXPORTED')) {
    throw new CheckError(`a deep import of ${pkg.name}/dist/index.js should fail with ERR_PACKAGE_PATH_NOT_EXPORTED:\n${deep.stderr}`);
  }
  console.log(`  deep import ${pkg.name}/dist/index.js: rejected as expected`);
}

const started = Date.now();
try {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 13)) {
    throw new CheckError(`Node ${process.versions.node} is too old: the package needs >= 22.13 (require(esm), node:sqlite); run .ci/run or install Node 24`);
  }

  step('build (tsup)');
  run(npm, ['run', 'build', '--silent']);
  const distFiles = readdirSync(join(root, 'dist'), { recursive: true });
  if (distFiles.length === 0) throw new CheckError('the build wrote nothing to dist/');

  step('publint --strict');
  run(bin('publint'), ['run', '--strict', '--pack', 'npm']);

  step('attw --pack --profile esm-only');
  run(bin('attw'), ['--pack', '.', '--profile', 'esm-only', '--no-emoji', '--no-color']);

  step('smoke test: install the tarball into a scratch project, then import and require each entry point');
  smokeTest();

  console.log(`\ncheck: all ${stepNo} steps passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
} catch (error) {
  console.error(`\ncheck FAILED at step ${stepNo}: ${error instanceof CheckError ? error.message : error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
