import { sqliteStores, type SqliteStores } from '../../src/sqlite/index.js';
import {
  describeAuditStore,
  describeCheckpointStore,
  describeDeadLetterStore,
  describeInboxStore,
  describeKeyValueStore,
} from '../../src/testing/conformance/index.js';
import type { FakeClock } from '../../src/testing/fake-clock.js';
import { useTempFiles } from './support.js';

const nextFile = useTempFiles('sqlite-conformance');

/** A new store file per test, on the suite's clock, closed after the test. */
function subject<S>(pick: (stores: SqliteStores) => S) {
  return async ({ clock }: { clock: FakeClock }) => {
    const stores = sqliteStores({ path: nextFile(), clock });
    return { store: pick(stores), close: () => stores.close() };
  };
}

describeCheckpointStore('sqlite', subject((s) => s.checkpoints));
describeDeadLetterStore('sqlite', subject((s) => s.deadLetters));
describeAuditStore('sqlite', subject((s) => s.audit));
describeKeyValueStore('sqlite', subject((s) => s.kv));
describeInboxStore('sqlite', subject((s) => s.inbox));
