import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface JsonReport {
  readonly testResults: readonly { readonly assertionResults: readonly { readonly ancestorTitles: readonly string[]; readonly title: string; readonly status: string }[] }[];
}

/** Distinctive words of each check's title. */
const checks = {
  readsAll: 'reads every expected record once',
  json: 'survive a JSON round trip',
  resumeEach: "resuming from each batch's cursor",
  stints: 'reading in random stints',
  abortBefore: 'aborted before reading',
  abortBetween: 'aborts between batches',
  abortPending: 'aborts while a batch is pending',
  garbage: 'rejects garbage cursors',
  outcomes: 'gives every record of a batch one outcome',
  idempotent: 'same idempotency keys has one effect',
  perRecord: 'injected per-record failure',
  aborted: 'signal is already aborted',
  hanging: 'hanging on the remote',
  pipeline: 'through a pipeline',
} as const;
type Check = keyof typeof checks;

describe('the conformance kits catch broken connectors', () => {
  it('fails exactly the checks each planted bug breaks (broken/broken.kit.ts, run in a child vitest)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-kits-'));
    try {
      const out = join(dir, 'report.json');
      const child = spawnSync(
        process.execPath,
        [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/conformance/broken/vitest.config.ts', '--reporter=json', `--outputFile=${out}`],
        { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, FORCE_COLOR: '0' } },
      );
      expect(child.status, child.stderr).toBe(1);
      const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
      const failed: Record<string, Check[]> = {};
      for (const test of report.testResults.flatMap((file) => file.assertionResults)) {
        const suite = (test.ancestorTitles[0] ?? '').replace(/^(Source|Sink) conformance: /, '');
        failed[suite] ??= [];
        if (test.status !== 'failed') continue;
        const check = (Object.keys(checks) as Check[]).find((name) => test.title.includes(checks[name]));
        failed[suite].push(check ?? (test.title as Check));
      }
      expect(failed).toEqual({
        'resumes one record early': ['resumeEach', 'stints'],
        'puts a Date in its cursor': ['json', 'resumeEach', 'stints'],
        'ignores its signal': ['abortBefore', 'abortBetween', 'abortPending'],
        'accepts any cursor': ['garbage'],
        'yields an empty key': ['readsAll'],
        'answers for a key not in the batch': ['outcomes', 'idempotent', 'pipeline'],
        'ignores idempotency keys': ['idempotent', 'pipeline'],
        'ignores an aborted signal': ['aborted'],
        'fails the whole batch for one bad record': ['perRecord'],
        'hangs past its signal': ['hanging'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
