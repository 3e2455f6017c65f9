import { runStoreConformance } from './conformance.js';
import { MemoryBackend } from './memory.js';

runStoreConformance({
  name: 'memory',
  newStore: async () => {
    const s = new MemoryBackend();
    await s.start();
    return s;
  },
});
