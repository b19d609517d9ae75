/**
 * MLflow's test plugin `PluginRunContextProvider`: never in context (installing the plugin must not
 * change anyone's runs), and `{"test": "tag"}` when asked anyway. Registered as `unused`: MLflow
 * ignores run context provider names.
 */
import { defineRunContextProvider } from '@flowhost/sdk';

export default defineRunContextProvider(() => ({
  inContext: () => false,
  tags: () => ({ test: 'tag' }),
}));
