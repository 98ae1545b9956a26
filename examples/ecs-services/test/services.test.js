import { test } from "node:test";
import assert from "node:assert/strict";
import { handle as frontend } from "../frontend/server.js";
import { handle as backend } from "../backend/server.js";

test("each service answers with its name", () => {
  assert.equal(frontend("/").service, "frontend");
  assert.equal(backend("/api").service, "backend");
});
