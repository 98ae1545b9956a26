// Thin fetch wrapper for the codewarden API. `fetchImpl` is injectable so
// tests and server-side rendering can supply their own implementation.

export class ApiError extends Error {
  constructor(status, body) {
    super(`API request failed with status ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export function createApiClient({ baseUrl, token, fetchImpl = globalThis.fetch }) {
  // Normalise once so callers can pass "https://host/" or "https://host".
  const root = baseUrl.replace(/\/+$/, '');

  async function request(path, { method = 'GET', query, body } = {}) {
    const url = new URL(root + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';

    const res = await fetchImpl(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = res.status === 204 ? null : await res.json();
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  return {
    health: () => request('/health'),
    listProjects: (page = 1, perPage = 20) =>
      request('/v1/projects', { query: { page, per_page: perPage } }),
    getProject: (slug) => request(`/v1/projects/${encodeURIComponent(slug)}`),
  };
}
