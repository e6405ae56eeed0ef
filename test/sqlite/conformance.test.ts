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

/** A new store file per test, on the suite's clock; `reopen` opens the file again; all closed after the test. */
function subject<S>(pick: (stores: SqliteStores) => S) {
  return async ({ clock }: { clock: FakeClock }) => {
    const path = nextFile();
    const opened = [sqliteStores({ path, clock })];
    return {
      store: pick(opened[0]!),
      reopen: async () => {
        const stores = sqliteStores({ path, clock });
        opened.push(stores);
        return pick(stores);
      },
      close: async () => {
        for (const stores of opened) await stores.close();
      },
    };
  };
}

describeCheckpointStore('sqlite', subject((s) => s.checkpoints));
describeDeadLetterStore('sqlite', subject((s) => s.deadLetters));
describeAuditStore('sqlite', subject((s) => s.audit));
describeKeyValueStore('sqlite', subject((s) => s.kv));
describeInboxStore('sqlite', subject((s) => s.inbox));
