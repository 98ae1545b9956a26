import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatBytes, formatDuration, statusBadge } from '../src/format.js';
import { ApiError, createApiClient } from '../src/api.js';

test('formatDuration handles sub-second and multi-unit values', () => {
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(0), '0ms');
  assert.equal(formatDuration(3_723_000), '1h 2m 3s');
  assert.equal(formatDuration(60_000), '1m');
  assert.equal(formatDuration(-1), '-');
});

test('formatBytes uses 1024-based units', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(52_428_800), '50.0 MB');
  assert.equal(formatBytes(Number.NaN), '-');
});

test('statusBadge maps GitHub conclusions and falls back to grey', () => {
  assert.deepEqual(statusBadge('success'), { label: 'passed', color: 'green' });
  assert.deepEqual(statusBadge('failure'), { label: 'failed', color: 'red' });
  assert.deepEqual(statusBadge('neutral'), { label: 'neutral', color: 'grey' });
});

test('api client builds URLs with query and auth header', async () => {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url: String(url), init });
    return { ok: true, status: 200, json: async () => ({ items: [] }) };
  };
  const api = createApiClient({ baseUrl: 'https://api.example.test/', token: 't0k', fetchImpl });
  await api.listProjects(2, 10);
  assert.equal(calls[0].url, 'https://api.example.test/v1/projects?page=2&per_page=10');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer t0k');
});

test('api client raises ApiError on non-2xx responses', async () => {
  const fetchImpl = async () => ({ ok: false, status: 404, json: async () => ({ error: 'not found' }) });
  const api = createApiClient({ baseUrl: 'https://api.example.test', fetchImpl });
  await assert.rejects(api.getProject('missing'), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 404);
    return true;
  });
});
