import {
  MemoryAuditStore,
  MemoryCheckpointStore,
  MemoryDeadLetterStore,
  MemoryInboxStore,
  MemoryKeyValueStore,
} from '../../src/stores/memory/index.js';
import {
  describeAuditStore,
  describeCheckpointStore,
  describeDeadLetterStore,
  describeInboxStore,
  describeKeyValueStore,
} from '../../src/testing/conformance/index.js';

describeCheckpointStore('memory', async ({ clock }) => ({ store: new MemoryCheckpointStore({ clock }) }));
describeDeadLetterStore('memory', async () => ({ store: new MemoryDeadLetterStore() }));
describeAuditStore('memory', async () => ({ store: new MemoryAuditStore() }));
describeKeyValueStore('memory', async ({ clock }) => ({ store: new MemoryKeyValueStore({ clock }) }));
describeInboxStore('memory', async () => ({ store: new MemoryInboxStore() }));
