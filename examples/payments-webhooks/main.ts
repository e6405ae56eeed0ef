/**
 * `npm run example:payments`: runs the payments story against local simulated providers and prints the
 * summary and the trace of one payment. The SQLite file is kept in a temporary folder for a look inside.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, runPaymentsExample } from './scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-payments-'));
console.log(formatReport(await runPaymentsExample(dir)));
