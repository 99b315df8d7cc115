// The Bulk jobs page: upload a contact list (CSV or JSON lines) to send,
// watch each job's progress, download its per-contact results, cancel it.

import {cell, code, confirmButton, download, fillConfigurations, fillTable, upload} from './admin_common.js';
import {$, fullTime, h, statusLabel} from './dom.js';
import {formatIn, t} from './i18n.js';

const POLL_MS = 1000;
const STATES = {
  pending: () => t('bulk.pending'),
  running: () => t('bulk.running'),
  done: () => t('bulk.done'),
  failed: () => t('bulk.failed'),
  canceled: () => t('bulk.canceled'),
};

function contentType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'application/x-ndjson';
  return 'text/csv';
}

function counts(map) {
  return Object.entries(map || {}).map(([status, n]) => t('admin.send_summary_item', {
    n, status: statusLabel(status).toLocaleLowerCase()})).join(t('admin.list_separator'));
}

export class BulkPage {
  constructor(admin) {
    this.admin = admin;
    this.timer = null;
    this.visible = false;
    $('bulk-form').addEventListener('submit', (e) => { e.preventDefault(); this.upload(); });
  }

  async show() {
    this.visible = true;
    await this.admin.guard($('bulk-error'), async () => {
      await this.admin.loadConfigs();
      fillConfigurations($('bulk-config'), this.admin.configs);
    });
    await this.poll();
  }

  hide() {
    this.visible = false;
    window.clearTimeout(this.timer);
    this.timer = null;
  }

  status(message) {
    $('admin-status').textContent = message;
    this.admin.announce(message);
  }

  /** Refresh the jobs; again in a second while one is pending or running. */
  async poll() {
    window.clearTimeout(this.timer);
    this.timer = null;
    if (!this.visible || !this.admin.key) return;
    if ($('bulk-table').querySelector('[data-armed="yes"]')) {  // a cancel waiting for its second press
      this.timer = window.setTimeout(() => this.poll(), POLL_MS);
      return;
    }
    const jobs = await this.admin.guard($('bulk-error'), () => this.refresh());
    if (this.visible && this.admin.key && (jobs || []).some((j) => j.status === 'pending' || j.status === 'running')) {
      this.timer = window.setTimeout(() => this.poll(), POLL_MS);
    }
  }

  async refresh() {
    const {data} = await this.admin.api('GET', '/v1/bulk-jobs?limit=50');
    const jobs = data.items || [];
    fillTable($('bulk-table'), jobs, 6, t('bulk.none'), (job) => {
      const live = job.status === 'pending' || job.status === 'running';
      const state = STATES[job.status] ? STATES[job.status]() : String(job.status);
      const waiting = job.waiting && job.retry_after
        ? t('bulk.waiting', {when: formatIn(job.retry_after, 'second')}) : null;
      return h('tr', {dataset: {job: job.id, status: job.status}},
        cell(fullTime(job.created_at)),
        cell(code(job.id)),
        cell(h('span', {class: 'job-state'}, state), waiting ? h('span', {class: 'muted'}, ` · ${waiting}`) : null),
        cell(h('progress', {max: String(job.total || 1), value: String(job.processed || 0),
          'aria-label': t('bulk.progress_named', {id: job.id})}),
        ' ', h('span', {class: 'job-progress'}, t('admin.progress', {done: job.processed || 0, count: job.total || 0}))),
        cell(job.error ? `${job.error.message || ''}${job.error.code ? ` [${job.error.code}]` : ''}` : counts(job.counts)),
        cell(h('span', {class: 'row'},
          h('button', {type: 'button', class: 'secondary small', 'aria-label': t('bulk.results_named', {id: job.id}),
            onclick: () => this.results(job)}, t('bulk.results')),
          live ? confirmButton(t('bulk.cancel'), t('bulk.cancel_named', {id: job.id}), () => this.cancel(job),
            this.admin.announce) : null)));
    });
    return jobs;
  }

  async upload() {
    const error = $('bulk-form-error');
    const configId = $('bulk-config').value;
    const file = $('bulk-file').files && $('bulk-file').files[0];
    error.textContent = '';
    if (!configId) {
      error.textContent = t('admin.choose_configuration_first');
      return;
    }
    if (!file) {
      error.textContent = t('bulk.choose_file');
      return;
    }
    const job = await this.admin.guard(error, () => upload(
      `/v1/bulk-jobs?configuration_id=${encodeURIComponent(configId)}`, this.admin.key, file, contentType(file)));
    if (!job) return;
    $('bulk-file').value = '';
    this.status(t('bulk.uploaded', {id: job.id, count: job.total}));
    await this.poll();
  }

  async results(job) {
    await this.admin.guard($('bulk-error'), () => download(
      `/v1/bulk-jobs/${encodeURIComponent(job.id)}/results`, this.admin.key, `${job.id}-results.csv`));
  }

  async cancel(job) {
    await this.admin.guard($('bulk-error'), async () => {
      await this.admin.api('POST', `/v1/bulk-jobs/${encodeURIComponent(job.id)}/cancel`);
      this.status(t('bulk.canceled_named', {id: job.id}));
      await this.refresh();
    });
  }
}
