// Display helpers shared by the dashboard views. Kept pure (no DOM, no
// globals) so they can be unit-tested with node:test.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/**
 * Human-readable duration for pipeline timings, e.g. 3723000 -> "1h 2m 3s".
 * Sub-second values keep millisecond precision because fast gates matter.
 */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [];
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) parts.push(`${s}s`);
  return parts.join(' ');
}

/** Binary (1024-based) sizes, matching what container registries report. */
export function formatBytes(bytes, decimals = 1) {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(decimals)} ${UNITS[unit]}`;
}

const BADGES = {
  success: { label: 'passed', color: 'green' },
  failure: { label: 'failed', color: 'red' },
  cancelled: { label: 'cancelled', color: 'grey' },
  skipped: { label: 'skipped', color: 'grey' },
  in_progress: { label: 'running', color: 'blue' },
};

/** Map a GitHub Actions conclusion/status to a badge; unknown -> neutral. */
export function statusBadge(status) {
  return BADGES[status] ?? { label: String(status ?? 'unknown'), color: 'grey' };
}
