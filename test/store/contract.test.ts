import { MemoryMessageStore } from '../../src/store/memory-store';
import { openSegmentStore } from '../../src/store/segment-store';
import { describeStoreContract } from './store-contract';
import { tempDir } from './store-helpers';

describeStoreContract('memory', async () => {
  const store = new MemoryMessageStore();
  return { store, dispose: () => store.close() };
});

describeStoreContract('segment files (small segments)', async () => {
  const temp = tempDir('contract');
  const store = await openSegmentStore({ dir: temp.dir, segmentMaxBytes: 8192, cacheMaxBytes: 4096 });
  return {
    store,
    dispose: async () => {
      await store.close();
      temp.remove();
    },
  };
});
