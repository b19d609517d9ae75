/** Recurses until the stack overflows. */
import { failed, hostile } from './lib/base.js';

const deeper = (n: number): number => deeper(n + 1) + 1;

export default hostile(() => failed(`returned ${deeper(0)}`));
