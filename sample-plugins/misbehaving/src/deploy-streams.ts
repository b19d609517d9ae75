/**
 * A deployment plugin that streams predictions, and misbehaves mid-stream on request. The inputs
 * of predictStream say what to do: `{ count, dieAfter?, throwAfter?, badChunkAt? }` yields
 * `{ index }` chunks, exits the worker after `dieAfter` chunks, throws after `throwAfter`, or yields
 * a non-dict at `badChunkAt`. `getDeployment('stats')` reports how many streams were opened, ran
 * to the end, and were stopped early (their `finally` ran without reaching the end).
 *
 * Its client cannot be built for a target URI ending in `/reject`: the client's own error must
 * reach `getDeployClient`, while `targetHelp` (no client needed) still works.
 */
import { MlflowError, defineDeploymentPlugin, type PredictionChunk } from '@flowhost/sdk';
import { moduleFunctions, plainClient } from './lib/deployments.js';

interface StreamRequest {
  count?: number;
  dieAfter?: number;
  throwAfter?: number;
  badChunkAt?: number;
}

const stats = { opened: 0, completed: 0, stoppedEarly: 0 };

async function* chunks(request: StreamRequest): AsyncGenerator<PredictionChunk> {
  stats.opened++;
  let completed = false;
  try {
    for (let index = 0; index < (request.count ?? 3); index++) {
      if (index === request.dieAfter) process.exit(1);
      if (index === request.throwAfter)
        throw new MlflowError(`the model failed after ${index} chunks`, 'INVALID_STATE');
      yield (index === request.badChunkAt ? 'not a dict' : { index }) as PredictionChunk;
    }
    completed = true;
  } finally {
    if (completed) stats.completed++;
    else stats.stoppedEarly++;
  }
}

export default defineDeploymentPlugin({
  client: function StreamingClient({ targetUri }) {
    if (targetUri.endsWith('/reject'))
      throw MlflowError.invalidParameterValue(`StreamingClient cannot serve ${targetUri}`);
    return {
      ...plainClient(),
      getDeployment: (name) => (name === 'stats' ? { ...stats } : { name }),
      predictStream: (_name, inputs) => chunks((inputs ?? {}) as StreamRequest),
    };
  },
  ...moduleFunctions,
});
