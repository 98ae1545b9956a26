// A JUnit XML reporter for node's test runner, for node 18 and newer (node's
// own `--test-reporter=junit` needs node 20.10+; Debian 12 ships node 18).
// Used as: node --test --test-reporter=./scripts/junit-reporter.mjs
// Only tests that have no subtests become <testcase>s, so a suite is not
// counted as a test on node 18, which does not mark suites.

import { fileURLToPath } from 'node:url';

const escape = (text) =>
  String(text ?? '').replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

export default async function* junit(source) {
  const cases = [];
  let lastNesting = -1;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting, file, line, details = {}, skip, todo } = event.data;
    const parent = lastNesting > nesting;
    lastNesting = nesting;
    if (parent || details.type === 'suite') continue;
    cases.push({ name, file, line, failed: event.type === 'test:fail', skipped: Boolean(skip || todo), details });
  }
  const failures = cases.filter((c) => c.failed).length;
  const skipped = cases.filter((c) => c.skipped).length;
  yield '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n';
  yield `  <testsuite name="node --test" tests="${cases.length}" failures="${failures}" skipped="${skipped}">\n`;
  for (const c of cases) {
    const seconds = ((c.details.duration_ms ?? 0) / 1000).toFixed(6);
    // node 18 gives the file as a file:// URL, node 20 as a path.
    const path = c.file?.startsWith('file:') ? fileURLToPath(c.file) : c.file;
    const file = path ? ` file="${escape(path)}"` : '';
    const line = c.line ? ` line="${c.line}"` : '';
    yield `    <testcase name="${escape(c.name)}" time="${seconds}"${file}${line}`;
    if (c.failed) {
      const error = c.details.error?.cause ?? c.details.error;
      yield `>\n      <failure message="${escape(error?.message)}">${escape(error?.stack ?? error)}</failure>\n    </testcase>\n`;
    } else if (c.skipped) {
      yield '>\n      <skipped/>\n    </testcase>\n';
    } else {
      yield '/>\n';
    }
  }
  yield '  </testsuite>\n</testsuites>\n';
}
