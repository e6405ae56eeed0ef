/**
 * `npm run demo`: webshop orders become accounting invoices, and each invoice number is written back
 * onto its order. Run it again to see the second run resume from the checkpoint and write nothing twice;
 * `npm run demo -- --reset` starts over.
 *
 * State: `./.syncline/state.db` (syncline's checkpoint, dead letters and audit, in SQLite) and, beside
 * it, `orders-to-invoices.apis.json` (the simulated shop's and accounting system's data). Set
 * `SYNCLINE_STATE_DB` to keep them elsewhere. Ctrl-C stops the run gracefully.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SQLITE_PATH } from 'syncline/sqlite';
import { apisPathFor, runDemo } from './demo.js';

const statePath = resolve(process.env['SYNCLINE_STATE_DB'] ?? DEFAULT_SQLITE_PATH);

if (process.argv.includes('--reset')) {
  for (const file of [statePath, `${statePath}-wal`, `${statePath}-shm`, apisPathFor(statePath)]) rmSync(file, { force: true });
  console.log(`Removed the demo's state (${statePath} and the simulated APIs' data); the next run starts over.`);
  process.exit(0);
}

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: finishing the orders already read, then stopping…`);
    stop.abort();
  });
}

const result = await runDemo({ statePath, signal: stop.signal });
console.log('');
console.log(
  result.run === 1
    ? 'Run `npm run demo` again: the shop receives a few new orders, and the next run reads only those, resuming from the checkpoint.'
    : 'Only the new orders were read and invoiced; `npm run demo -- --reset` starts over.',
);
process.exitCode = result.summary.status === 'completed' ? 0 : 1;
