// Dependency-free linter: npm is not reachable from CI, so instead of eslint
// we syntax-check every file with `node --check` and flag a few habits.
// Output is `path:line:col: message`, the shape gantry's generic matcher
// turns into GitHub annotations. Exit status: 1 if anything was found.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['src', 'test'];

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile() && entry.name.endsWith('.js')) yield full;
  }
}

// Forward slashes so output is identical on Windows runners.
const rel = (file) => relative(root, file).split(sep).join('/');

function checkSyntax(file) {
  try {
    execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
    return [];
  } catch (err) {
    // node prints "<file>:<line>" as the first stderr line for syntax errors.
    const stderr = String(err.stderr ?? '');
    const line = Number(/:(\d+)\s*$/m.exec(stderr.split('\n')[0])?.[1] ?? 1);
    const reason = stderr.split('\n').find((l) => /Error:/.test(l)) ?? 'syntax error';
    return [{ line, col: 1, message: reason.trim() }];
  }
}

function checkStyle(file) {
  const problems = [];
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    // Split literal so this file would pass its own check if linted.
    const debug = text.indexOf('console' + '.log(');
    if (debug !== -1) {
      problems.push({ line: i + 1, col: debug + 1, message: 'unexpected console.log (use a logger)' });
    }
    const trailing = /[ \t]+\r?$/.exec(text);
    if (trailing) {
      problems.push({ line: i + 1, col: trailing.index + 1, message: 'trailing whitespace' });
    }
  });
  return problems;
}

let count = 0;
for (const dir of DIRS) {
  for (const file of walk(join(root, dir))) {
    for (const p of [...checkSyntax(file), ...checkStyle(file)]) {
      process.stdout.write(`${rel(file)}:${p.line}:${p.col}: ${p.message}\n`);
      count += 1;
    }
  }
}

if (count > 0) {
  process.stderr.write(`${count} problem(s) found\n`);
  process.exit(1);
}
process.stdout.write('lint: no problems found\n');
