// Pieces the admin pages share: table cells, a resource table that says when
// it is empty, a delete-style button that asks twice, a select of the org's
// outbound configurations, and a download of an authenticated response.
// Everything entered by people reaches the page as text, never as HTML.

import {ApiError, request} from './api.js';
import {h} from './dom.js';
import {t} from './i18n.js';

export function cell(...children) {
  return h('td', null, ...children);
}

export function code(text) {
  return h('code', null, text);
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

/** Options for the org's outbound configurations, keeping the current choice. */
export function fillConfigurations(select, configs) {
  const previous = select.value;
  select.replaceChildren(...(configs.length
    ? configs.map((c) => h('option', {value: c.id}, `${c.name} (${c.channel_type})`))
    : [h('option', {value: ''}, t('admin.no_configurations_option'))]));
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
