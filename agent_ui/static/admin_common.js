// Pieces the admin pages share: table cells, a resource table that says when
// it is empty, a collection's list/create/delete steps, a delete-style button
// that asks twice, a select of the org's outbound configurations, and a
// download of an authenticated response.
// Everything entered by people reaches the page as text, never as HTML.

import {ApiError, listAll, request} from './api.js';
import {$, h, statusBadge} from './dom.js';
import {formatDateTime, t} from './i18n.js';

export function cell(...children) {
  return h('td', null, ...children);
}

export function code(text) {
  return h('code', null, text);
}

/** A status badge; a message held by quiet hours says until when (`send_at`, ISO 8601). */
export function statusWithSendAt(status, sendAt) {
  return statusBadge(status, status === 'deferred' && sendAt
    ? t('admin.deferred_until', {time: formatDateTime(new Date(sendAt))}) : null);
}

export function sleep(ms) {
  return new Promise((resolve) => { window.setTimeout(resolve, ms); });
}

/** Fill a table body with one row per item, or one muted row saying `empty`. */
export function fillTable(table, items, columns, empty, row) {
  const body = table.tBodies[0];
  if (!items.length) {
    body.replaceChildren(h('tr', null, h('td', {colspan: String(columns), class: 'muted'}, empty)));
    return;
  }
  body.replaceChildren(...items.map(row));
}

/** Say in the console's status line what just happened. */
export function say(message) {
  $('admin-status').textContent = message;
}

/**
 * One API collection a page lists, adds to and deletes from: `errorId` is the
 * element that shows a failure to list or delete, `refresh` redraws the page's
 * list. Failures land next to the form or the list; a refused key signs out.
 */
export class Collection {
  constructor(admin, path, errorId, refresh) {
    this.admin = admin;
    this.path = path;
    this.errorId = errorId;
    this.refresh = refresh;
  }

  /** Every item (up to the API's page limit, followed across pages). */
  all() {
    return listAll(`${this.path}?limit=200`, this.admin.key);
  }

  /** Redraw the list, any failure shown next to it. */
  reload() {
    return this.admin.guard($(this.errorId), this.refresh);
  }

  /**
   * POST `body` (or PUT it to `target` when editing); on success `done(saved)`
   * then a fresh list. Answers the saved item, or undefined on failure.
   */
  async save(formErrorId, body, done, target = null) {
    const saved = await this.admin.guard($(formErrorId), async () => (target
      ? await this.admin.api('PUT', `${this.path}/${encodeURIComponent(target.id)}`, body)
      : await this.admin.api('POST', this.path, body)).data);
    if (!saved) return undefined;
    done(saved);
    await this.reload();
    return saved;
  }

  /** DELETE one item, say `message`, redraw the list. */
  remove(item, message) {
    return this.admin.guard($(this.errorId), async () => {
      await this.admin.api('DELETE', `${this.path}/${encodeURIComponent(item.id)}`);
      say(message);
      await this.refresh();
    });
  }
}

/** A button that asks for a second press before acting. */
export function confirmButton(label, accessibleName, onConfirm, announce, className = 'danger small') {
  const button = h('button', {type: 'button', class: className, 'aria-label': accessibleName}, label);
  let timer = null;
  button.addEventListener('click', async () => {
    if (button.dataset.armed !== 'yes') {
      button.dataset.armed = 'yes';
      button.textContent = t('admin.confirm');
      button.setAttribute('aria-label', t('admin.confirm_named', {name: accessibleName}));
      announce(t('admin.press_again', {name: accessibleName}));
      timer = window.setTimeout(() => {
        button.dataset.armed = '';
        button.textContent = label;
        button.setAttribute('aria-label', accessibleName);
      }, 5000);
      return;
    }
    window.clearTimeout(timer);
    button.disabled = true;
    try {
      await onConfirm();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/**
 * Options for the org's outbound configurations, keeping the current choice;
 * with `allLabel`, a first option (value '') for all of them.
 */
export function fillConfigurations(select, configs, allLabel = null) {
  const previous = select.value;
  const options = configs.map((c) => h('option', {value: c.id}, `${c.name} (${c.channel_type})`));
  if (allLabel) options.unshift(h('option', {value: ''}, allLabel));
  else if (!options.length) options.push(h('option', {value: ''}, t('admin.no_configurations_option')));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === previous)) select.value = previous;
}

/** Send a raw body (a file) with the org's key; answers like request(). */
export async function upload(path, key, file, contentType) {
  let response;
  try {
    response = await fetch(path, {method: 'POST', body: file, cache: 'no-store',
      headers: {Authorization: `Bearer ${key}`, Accept: 'application/json', 'Content-Type': contentType}});
  } catch {
    throw new ApiError(0, 'network_error', t('error.network'));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`,
      error.message || response.statusText || t('error.request_failed'), error.details);
  }
  return data;
}

/** Fetch a file with the org's key and hand it to the browser as a download. */
export async function download(path, key, fileName) {
  const {text} = await request('GET', path, {token: key, headers: {Accept: 'text/csv'}});
  const url = URL.createObjectURL(new Blob([text], {type: 'text/csv;charset=utf-8'}));
  const link = h('a', {href: url, download: fileName, hidden: true});
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
