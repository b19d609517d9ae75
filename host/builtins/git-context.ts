/**
 * MLflow's `GitRunContext`: the HEAD commit of the repository holding the script the run is started
 * from (`mlflow.source.git.commit`), in context only when there is one. The script's path comes
 * in the context (`sourceName`), not from the worker's own argv; the commit is looked up once per
 * provider instance, as MLflow caches it.
 */
import { defineRunContextProvider } from '@flowhost/sdk';
import { gitCommit } from '@flowhost/sdk/projects';

export default defineRunContextProvider(({ sourceName }) => {
  let commit: string | null | undefined;
  const sourceVersion = () => (commit === undefined ? (commit = gitCommit(sourceName)) : commit);
  return {
    inContext: () => sourceVersion() !== null,
    tags: (): Record<string, string> => {
      const version = sourceVersion();
      return version === null ? {} : { 'mlflow.source.git.commit': version };
    },
  };
});
