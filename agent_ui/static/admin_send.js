// The Send page: a contact list (a CSV file or pasted text) sent through one
// outbound configuration, 100 contacts a request, each request retried with
// the same idempotency key when rate-limited or unreachable, and every
// contact's outcome in a table as the answers come in.

import {cell, code, fillConfigurations, sleep, statusWithSendAt} from './admin_common.js';
import {ApiError, describeError} from './api.js';
import {chunk, contactsFromCsv} from './csv.js';
import {$, clear, h, randomId, statusLabel} from './dom.js';
import {formatIn, t} from './i18n.js';

const SEND_CHUNK = 100;
const MAX_RETRY_WAIT_S = 60;

export class SendPage {
  constructor(admin) {
    this.admin = admin;
    this.sending = false;
    $('send-file').addEventListener('change', () => this.loadCsvFile());
    $('send-csv').addEventListener('input', () => this.summarizeCsv());
    $('send-form').addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
  }

  async show() {
    await this.admin.guard($('send-error'), async () => {
      await this.admin.loadConfigs();
      fillConfigurations($('send-config'), this.admin.configs);
    });
  }

  hide() {}

  async loadCsvFile() {
    const input = $('send-file');
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      $('send-csv').value = await file.text();
      this.summarizeCsv(file.name);
    } catch (error) {
      $('send-error').textContent = t('admin.could_not_read', {file: file.name, error: describeError(error)});
    }
  }

  summarizeCsv(fileName) {
    const out = $('send-csv-summary');
    $('send-error').textContent = '';
    const text = $('send-csv').value;
    if (!text.trim()) {
      out.textContent = '';
      return;
    }
    try {
      const {contacts, columns} = contactsFromCsv(text);
      const requests = Math.ceil(contacts.length / SEND_CHUNK);
      const counted = t('admin.csv_summary', {contacts: contacts.length, requests});
      out.textContent = (fileName ? t('admin.csv_file_prefix', {file: fileName}) : '') + counted
        + (columns.context.length ? t('admin.csv_context_items', {items: columns.context.join(', ')}) : '');
    } catch (error) {
      out.textContent = describeError(error);
    }
  }

  async send() {
    if (this.sending) return;
    const error = $('send-error');
    error.textContent = '';
    const configId = $('send-config').value;
    if (!configId) {
      error.textContent = t('admin.choose_configuration_first');
      $('send-config').focus();
      return;
    }
    let parsed;
    try {
      parsed = contactsFromCsv($('send-csv').value);
    } catch (e) {
      error.textContent = describeError(e);
      $('send-csv').focus();
      return;
    }
    const {contacts} = parsed;
    if (!contacts.length) {
      error.textContent = t('admin.no_contacts');
      return;
    }
    this.sending = true;
    const button = $('send-button-admin');
    button.disabled = true;
    const progress = $('send-progress');
    const progressText = $('send-progress-text');
    const tbody = $('send-outcomes').tBodies[0];
    clear(tbody);
    $('send-summary').textContent = '';
    $('send-result').hidden = false;
    progress.max = contacts.length;
    progress.value = 0;
    const counts = {};
    let done = 0;
    const report = () => {
      progress.value = done;
      progressText.textContent = t('admin.progress', {done, count: contacts.length});
    };
    report();
    const batches = chunk(contacts, SEND_CHUNK);
    try {
      for (let b = 0; b < batches.length; b += 1) {
        const batch = batches[b];
        let answer;
        try {
          answer = await this.postBatch(configId, batch, (text) => { progressText.textContent = text; });
        } catch (e) {
          const first = batch[0].row;
          const last = batch[batch.length - 1].row;
          error.textContent = t('admin.request_refused', {
            n: b + 1, total: batches.length, first, last, error: describeError(e),
          }) + (b + 1 < batches.length ? t('admin.remaining_not_sent') : '');
          for (const item of batches.slice(b).flat()) {
            tbody.append(this.outcomeRow(item, {status: 'not_sent', error: {code: e.code, message: e.message}}));
            counts.not_sent = (counts.not_sent || 0) + 1;
          }
          done = contacts.length;
          break;
        }
        const results = (answer && answer.results) || [];
        batch.forEach((item, i) => {
          const result = results.find((r) => r.index === i) || results[i] || {status: 'unknown'};
          counts[result.status] = (counts[result.status] || 0) + 1;
          tbody.append(this.outcomeRow(item, result));
        });
        done += batch.length;
        report();
      }
    } finally {
      report();
      $('send-summary').textContent = t('admin.send_summary', {counts: Object.entries(counts)
        .map(([status, n]) => t('admin.send_summary_item', {
          n, status: status === 'not_sent' ? t('admin.not_sent_lower') : statusLabel(status).toLocaleLowerCase(),
        }))
        .join(t('admin.list_separator'))});
      this.admin.announce(t('admin.send_finished', {summary: $('send-summary').textContent}));
      this.sending = false;
      button.disabled = false;
    }
  }

  async postBatch(configId, batch, say) {
    const body = {configuration_id: configId, contacts: batch.map((item) => item.contact)};
    // The same key on every retry of this batch: the hub sends it at most once.
    const headers = {'Idempotency-Key': randomId('console-')};
    let networkFailures = 0;
    for (;;) {
      try {
        const {data} = await this.admin.api('POST', '/v1/outbound/send', body, headers);
        return data;
      } catch (e) {
        if (e instanceof ApiError && e.status === 429) {
          const wait = Math.min(MAX_RETRY_WAIT_S, Math.max(1, e.retryAfter || 1));
          say(t('admin.rate_limited', {when: formatIn(Math.ceil(wait), 'second')}));
          await sleep(wait * 1000);
          continue;
        }
        if (e instanceof ApiError && e.status === 0 && networkFailures < 3) {
          networkFailures += 1;
          say(t('admin.unreachable_retrying'));
          await sleep(1000 * 2 ** networkFailures);
          continue;
        }
        throw e;
      }
    }
  }

  outcomeRow(item, result) {
    const err = result.error;
    return h('tr', {dataset: {status: result.status}},
      cell(String(item.row)),
      cell(item.contact.tocontactid || ''),
      cell(result.status === 'not_sent' ? h('span', {class: 'badge status-failed', dataset: {status: 'not_sent'}}, t('admin.not_sent'))
        : statusWithSendAt(result.status, result.send_at)),
      cell(result.activity_id ? code(result.activity_id) : ''),
      cell(err ? `${err.message || ''}${err.code ? ` [${err.code}]` : ''}` : ''));
  }
}
