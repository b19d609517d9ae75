/**
 * A store that uses Node's own modules, as real plugins do (fs, os, v8, net), and reports what its
 * process looks like: `getExperiment('probe')` answers with an experiment whose name is that report.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { defineTrackingStore } from '@flowhost/sdk';
import { memoryStore } from '../../misbehaving/src/lib/base.js';

export default defineTrackingStore(() => {
  const store = memoryStore();
  const getExperiment = store.getExperiment;
  return {
    ...store,
    getExperiment: async (id: string) => {
      if (id !== 'probe') return getExperiment(id);
      // /proc/self/stat: pid (comm) state ppid pgrp …; comm may hold spaces, so split after its ')'.
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const report = {
        pid: process.pid,
        ppid: Number(ppid),
        pgrp: Number(pgrp),
        env: process.env,
        dataLimit: /^Max data size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? null,
        coreLimit: /^Max core file size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? null,
        heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
        hostname: hostname().length > 0,
        net: isIP('127.0.0.1') === 4,
      };
      return { ...(await getExperiment('0')), experimentId: 'probe', name: JSON.stringify(report) };
    },
  };
});
