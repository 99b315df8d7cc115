// HTTP calls to the hub and the sessions kept in sessionStorage (so a page
// reload keeps you signed in, and closing the tab signs you out).

import {t} from './i18n.js';

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

export async function request(method, path, {token, body, headers} = {}) {
  const init = {method, headers: {Accept: 'application/json', ...(headers || {})}, cache: 'no-store'};
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', t('error.network'));
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const retry = Number.parseFloat(response.headers.get('Retry-After') || '');
    throw new ApiError(response.status, error.code || `http_${response.status}`,
      error.message || response.statusText || t('error.request_failed'), error.details,
      Number.isFinite(retry) ? retry : null);
  }
  return {status: response.status, data, headers: response.headers, text};
}

/** A one-line description of an error for the person using the console. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return String((error && error.message) || error);
  let text = error.message;
  const details = error.details;
  if (details && typeof details === 'object' && !Array.isArray(details)) {
    if (typeof details.field === 'string') text += t('error.field', {field: details.field});
    if (Array.isArray(details.missing)) text += t('error.missing', {fields: details.missing.join(', ')});
  }
  if (error.code && error.code !== 'network_error') text += ` [${error.code}]`;
  return text;
}

/** Every page of a list endpoint ({items, next_cursor}), up to `maxPages`. */
export async function listAll(path, token, maxPages = 20) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const sep = path.includes('?') ? '&' : '?';
    const url = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
    const {data} = await request('GET', url, {token});
    items.push(...(data.items || []));
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return items;
}

const AGENT_KEY = 'hub.console.agent';
const ADMIN_KEY = 'hub.console.apiKey';

function read(key) {
  try {
    const raw = window.sessionStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

export const sessions = {
  agent() {
    const s = read(AGENT_KEY);
    if (!s || typeof s.token !== 'string') return null;
    if (typeof s.expires_at === 'number' && s.expires_at < Date.now()) {
      write(AGENT_KEY, null);
      return null;
    }
    return s;
  },
  setAgent(value) {
    write(AGENT_KEY, value);
  },
  apiKey() {
    const key = read(ADMIN_KEY);
    return typeof key === 'string' && key ? key : null;
  },
  setApiKey(value) {
    write(ADMIN_KEY, value);
  },
};
