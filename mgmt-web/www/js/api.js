// REST client for tandem-webd's /api/v1 (doc/api.md).
//
// Every request goes to the same origin with the session cookie; every
// non-GET request carries the CSRF token (X-CSRF-Token) that login and
// GET /api/v1/session return.  A reply that is not 2xx throws ApiError with
// the server's {"error": "..."} message, the HTTP status and Retry-After.

export class ApiError extends Error {
  constructor(status, message, data, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
    this.retryAfter = retryAfter;
  }
}

let csrfToken = '';
let onUnauthorized = null;

export function setCsrf(token) {
  csrfToken = token || '';
}

// handler(err) is called when a request other than login/session gets 401
// (the session expired or was logged out elsewhere).
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export async function api(method, path, body, opts = {}) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['X-CSRF-Token'] = csrfToken;
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
  }
  let res;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch (e) {
    throw new ApiError(0, 'cannot reach the appliance (' + e.message + ')', null, null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = (data && typeof data.error === 'string' && data.error) || `HTTP ${res.status} ${res.statusText}`;
    const err = new ApiError(res.status, msg, data, res.headers.get('Retry-After'));
    if (res.status === 401 && !opts.noAuthHandler && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  if (data === null && text) throw new ApiError(res.status, 'the reply is not JSON', null, null);
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body, opts);

// qs({a: 1, b: ''}) -> "?a=1": empty values left out.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}
