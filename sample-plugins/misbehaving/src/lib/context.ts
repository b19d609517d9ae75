/**
 * Run context providers that misbehave on purpose. Each is in context only when the script name
 * the host passes (`sourceName`) contains its trigger word, so a test chooses which providers
 * misbehave by the `sourceName` it starts runs with, and every other test's runs are unaffected.
 */
import { defineRunContextProvider } from '@flowhost/sdk';

export function misbehavingContext(trigger: string, misbehave: { inContext?: () => boolean; tags: () => unknown }) {
  return defineRunContextProvider(({ sourceName }) => ({
    inContext: () => sourceName.includes(trigger) && (misbehave.inContext?.() ?? true),
    tags: () => misbehave.tags() as Record<string, string>,
  }));
}
