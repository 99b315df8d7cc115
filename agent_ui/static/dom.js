// Small DOM helpers. Data is only ever put into the page as text nodes or
// attribute values: nothing here parses HTML.

import {formatDateTime, formatShortDateTime, formatTimeOfDay, t} from './i18n.js';

export function $(id) {
  return document.getElementById(id);
}

/** Create an element: h('li', {class: 'x', 'aria-label': 'y'}, 'text', child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The same for SVG elements. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}

/** Only http(s) links are ever made clickable. */
export function safeHttpUrl(raw) {
  try {
    const url = new URL(String(raw), window.location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function formatTime(unixSeconds) {
  if (typeof unixSeconds !== 'number' || !Number.isFinite(unixSeconds)) return '';
  const date = new Date(unixSeconds * 1000);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? formatTimeOfDay(date) : formatShortDateTime(date);
}

export function isoTime(unixSeconds) {
  if (typeof unixSeconds !== 'number' || !Number.isFinite(unixSeconds)) return '';
  return new Date(unixSeconds * 1000).toISOString();
}

/** A Unix time as the locale writes a date and time in full. */
export function fullTime(unixSeconds) {
  if (typeof unixSeconds !== 'number' || !Number.isFinite(unixSeconds)) return '';
  return formatDateTime(new Date(unixSeconds * 1000));
}

/** A <time> element showing a short local time, with the full time on hover. */
export function timeEl(unixSeconds) {
  const iso = isoTime(unixSeconds);
  return h('time', {datetime: iso || null, title: iso ? fullTime(unixSeconds) : null},
    formatTime(unixSeconds));
}

export function randomId(prefix) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A function, so that each label is looked up in the catalogue by a literal key.
const STATUS_LABELS = {
  deferred: () => t('status.deferred'),
  queued: () => t('status.queued'),
  sending: () => t('status.sending'),
  sent: () => t('status.sent'),
  delivered: () => t('status.delivered'),
  read: () => t('status.read'),
  undelivered: () => t('status.undelivered'),
  failed: () => t('status.failed'),
  rejected: () => t('status.rejected'),
  skipped_no_optin: () => t('status.skipped_no_optin'),
  skipped_opted_out: () => t('status.skipped_opted_out'),
  canceled: () => t('status.canceled'),
  pending: () => t('status.pending'),
};

function isKnownStatus(status) {
  return Object.hasOwn(STATUS_LABELS, status);
}

export function statusLabel(status) {
  return isKnownStatus(status) ? STATUS_LABELS[status]() : String(status);
}

/** A status badge; the status value is also in data-status for styling. */
export function statusBadge(status, extra) {
  const known = isKnownStatus(status);
  return h('span', {class: `badge status-${known ? status : 'other'}`, dataset: {status: String(status)}},
    statusLabel(status), extra ? ` · ${extra}` : null);
}

/** Copy text to the clipboard; falls back to a hidden textarea and execCommand. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the older way
    }
  }
  const area = h('textarea', {class: 'offscreen', readonly: true, 'aria-hidden': 'true', tabindex: '-1'});
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
