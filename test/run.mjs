// `npm test`'s runner: ava with its TAP reporter, shown as one line per test, closing with the plain
// summary line CI reads: `N passed, N failed`. Every `not ok` counts as failed, including a test
// file that crashed or timed out, so a broken file can never pass unnoticed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ava = spawn(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', '--tap', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let passed = 0;
let failed = 0;
let skipped = 0;
let inFailureDetail = false;

for await (const line of createInterface({ input: ava.stdout })) {
  const result = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO).*)?$/.exec(line);
  if (result) {
    inFailureDetail = false;
    const [, status, title, directive] = result;
    if (directive) {
      skipped++;
      console.log(`  - ${title} (${directive.toLowerCase()})`);
    } else if (status === 'ok') {
      passed++;
      console.log(`  ✔ ${title}`);
    } else {
      failed++;
      inFailureDetail = true;
      console.log(`  ✘ ${title}`);
    }
  } else if (inFailureDetail && !line.startsWith('#')) {
    // The YAML block under a failure: what was expected, what came, where.
    console.log(`      ${line}`);
  } else if (/^# (tests|pass|skip|fail|todo)/.test(line) || line.startsWith('TAP version') || /^1\.\.\d+/.test(line)) {
    /* our own summary replaces ava's */
  } else if (line.trim() !== '') console.log(line);
}
const code = await new Promise((resolve) => ava.on('close', resolve));
// ava failing without reporting a failed test (a crash before any test ran) still counts.
if (code !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
