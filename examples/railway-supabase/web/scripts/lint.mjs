// A linter without dependencies: no `var`, no trailing whitespace.
import { readFileSync, readdirSync } from "node:fs";
let problems = 0;
for (const f of readdirSync("src")) {
  readFileSync(`src/${f}`, "utf8").split("\n").forEach((line, i) => {
    if (/\bvar\b/.test(line) || /\s+$/.test(line)) {
      console.log(`src/${f}:${i + 1}:1: error: style`);
      problems++;
    }
  });
}
process.exit(problems ? 1 : 0);
