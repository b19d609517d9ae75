/**
 * The run context provider kind: MLflow's `RunContextProvider`
 * (`mlflow/tracking/context/abstract_context.py`). Every new run asks each provider whether it
 * applies (`inContext`) and, if so, for tags to add (`tags`). The host merges them in registration
 * order (built-ins, then plugins; later providers win; the user's own tags win over all) and skips,
 * with a warning, any provider that throws, answers late, or answers with something else than a
 * string map (the result schemas below are that check).
 */
import * as s from '../schema.js';
import { defineKind, definePlugin, method, type ContextOf, type Implementation, type Remote } from '../shape.js';

export const runContextProvider = defineKind({
  group: 'run_context_provider',
  /**
   * MLflow instantiates providers with no arguments and lets them read `sys.argv[0]` themselves. A
   * provider in a worker cannot see the caller's script, so the host passes it: `sourceName` is the
   * script the run is started from (`process.argv[1]`), or `<console>` when there is none.
   */
  context: s.object({ sourceName: s.string() }, 'run context provider context'),
  contextForUri: () => ({ sourceName: '<console>' }),
  naming: 'none',
  methods: {
    inContext: method({ args: [], result: s.boolean(), doc: '→ whether this provider applies to runs started now' }),
    tags: method({ args: [], result: s.record(s.string()), doc: '→ tags (string → string) every new run gets' }),
  },
});

export type RunContextProviderKind = typeof runContextProvider;
export type RunContextProvider = Implementation<RunContextProviderKind>;
export type RemoteRunContextProvider = Remote<RunContextProviderKind>;
export type RunContextProviderContext = ContextOf<RunContextProviderKind>;

/** Declares a run context provider plugin; `create` is built once per worker, like MLflow's provider instance. */
export function defineRunContextProvider(
  create: (context: RunContextProviderContext) => RunContextProvider | Promise<RunContextProvider>,
) {
  return definePlugin(runContextProvider, create);
}
