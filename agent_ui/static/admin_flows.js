// The Flows page: automated flows (fired by events) and scheduled ones (at a
// time, on a cron, after a delay), their next runs and run history, pause,
// resume and delete.

import {cell, confirmButton, fillConfigurations, fillTable} from './admin_common.js';
import {describeError} from './api.js';
import {contactsFromCsv} from './csv.js';
import {$, h, statusLabel} from './dom.js';
import {formatDateTime, formatIn, t} from './i18n.js';

function isoTime(iso) {
  return iso ? formatDateTime(new Date(iso)) : '—';
}

function counts(map) {
  return Object.entries(map || {}).map(([status, n]) => t('admin.send_summary_item', {
    n, status: statusLabel(status).toLocaleLowerCase()})).join(t('admin.list_separator'));
}

function trigger(flow) {
  if (flow.kind === 'automated') {
    const event = t('flows.on_event', {type: flow.event_type});
    return flow.delay_seconds ? `${event} · ${t('flows.after', {delay: formatIn(flow.delay_seconds, 'second')})}` : event;
  }
  if (flow.cron) return t('flows.cron_in', {cron: flow.cron, zone: flow.timezone || 'UTC'});
  if (flow.at) return t('flows.once_at', {time: isoTime(flow.at)});
  return t('flows.once_after', {delay: formatIn(flow.delay_seconds || 0, 'second')});
}

export class FlowsPage {
  constructor(admin) {
    this.admin = admin;
    this.flows = [];
    this.shown = null; // the flow whose runs are shown
    $('flow-kind').addEventListener('change', () => this.syncForm());
    $('flow-when').addEventListener('change', () => this.syncForm());
    $('flow-form').addEventListener('submit', (e) => { e.preventDefault(); this.create(); });
    this.syncForm();
  }

  async show() {
    await this.admin.guard($('flows-error'), async () => {
      await this.admin.loadConfigs();
      fillConfigurations($('flow-config'), this.admin.configs);
      await this.refresh();
    });
  }

  hide() {}

  status(message) {
    $('admin-status').textContent = message;
    this.admin.announce(message);
  }

  syncForm() {
    const scheduled = $('flow-kind').value === 'scheduled';
    $('flow-automated').hidden = scheduled;
    $('flow-scheduled').hidden = !scheduled;
    const when = $('flow-when').value;
    for (const [id, on] of [['flow-cron', when === 'cron'], ['flow-at', when === 'at'],
      ['flow-sched-delay', when === 'delay_seconds'], ['flow-timezone', when !== 'delay_seconds']]) {
      $(id).hidden = !on;
      document.querySelector(`label[for="${id}"]`).hidden = !on;
    }
  }

  async refresh() {
    const {data} = await this.admin.api('GET', '/v1/flows?limit=200');
    this.flows = data.items || [];
    const configName = (id) => (this.admin.configs.find((c) => c.id === id) || {}).name || id;
    fillTable($('flows-table'), this.flows, 7, t('flows.none'), (f) => {
      const label = f.name || f.id;
      return h('tr', {dataset: {flow: f.id}},
        cell(label),
        cell(f.kind === 'automated' ? t('flows.kind_automated') : t('flows.kind_scheduled')),
        cell(trigger(f)),
        cell(configName(f.configuration_id)),
        cell(f.enabled ? t('flows.active') : t('flows.paused')),
        cell(f.kind === 'scheduled' ? isoTime(f.next_run_at) : '—'),
        cell(h('span', {class: 'row'},
          f.kind === 'scheduled' ? h('button', {type: 'button', class: 'secondary small',
            'aria-label': t('flows.runs_of', {name: label}), onclick: () => this.details(f.id)}, t('flows.runs')) : null,
          h('button', {type: 'button', class: 'secondary small',
            'aria-label': (f.enabled ? t('flows.pause_named', {name: label}) : t('flows.resume_named', {name: label})),
            onclick: () => this.setEnabled(f, !f.enabled)}, f.enabled ? t('flows.pause') : t('flows.resume')),
          confirmButton(t('admin.delete'), t('flows.delete_named', {name: label}), () => this.remove(f),
            this.admin.announce))));
    });
    if (this.shown) await this.details(this.shown, false);
  }

  async details(flowId, focus = true) {
    const box = $('flow-detail');
    await this.admin.guard($('flows-error'), async () => {
      const {data: flow} = await this.admin.api('GET', `/v1/flows/${encodeURIComponent(flowId)}`);
      this.shown = flow.id;
      $('flow-detail-title').textContent = t('flows.detail_title', {name: flow.name || flow.id});
      const next = flow.next_runs || [];
      $('flow-detail-next').replaceChildren(next.length
        ? h('span', null, h('strong', null, t('flows.next_runs')), ' ',
          h('span', {id: 'flow-next-runs'}, ...next.map((iso, i) => [i ? ', ' : '', h('time', {datetime: iso}, isoTime(iso))])))
        : h('span', {class: 'muted'}, t('flows.no_next_run')));
      fillTable($('flow-runs'), flow.runs || [], 5, t('flows.no_runs'), (run) => h('tr', null,
        cell(isoTime(run.occurrence)),
        cell(isoTime(run.at)),
        cell(run.late ? t('admin.yes') : t('admin.no')),
        cell(String(run.skipped || 0)),
        cell(run.error ? describeError(run.error) : counts(run.counts))));
      box.hidden = false;
      if (focus) $('flow-detail-title').scrollIntoView({block: 'nearest'});
    });
  }

  body() {
    const kind = $('flow-kind').value;
    const body = {kind, configuration_id: $('flow-config').value};
    const name = $('flow-name').value.trim();
    if (name) body.name = name;
    const number = (id) => ($(id).value === '' ? null : Number.parseInt($(id).value, 10));
    if (kind === 'automated') {
      body.event_type = $('flow-event').value.trim();
      if (number('flow-delay') !== null) body.delay_seconds = number('flow-delay');
      return body;
    }
    const when = $('flow-when').value;
    if (when === 'cron') body.cron = $('flow-cron').value.trim();
    else if (when === 'at') body.at = $('flow-at').value;
    else body.delay_seconds = number('flow-sched-delay');
    if (when !== 'delay_seconds') body.timezone = $('flow-timezone').value.trim() || 'UTC';
    body.contacts = contactsFromCsv($('flow-contacts').value).contacts.map((item) => item.contact);
    return body;
  }

  async create() {
    const error = $('flow-form-error');
    let body;
    try {
      body = this.body();
    } catch (e) {
      error.textContent = describeError(e);
      return;
    }
    const created = await this.admin.guard(error, async () => (await this.admin.api('POST', '/v1/flows', body)).data);
    if (!created) return;
    for (const id of ['flow-name', 'flow-event', 'flow-delay', 'flow-cron', 'flow-at', 'flow-sched-delay',
      'flow-contacts']) $(id).value = '';
    this.status(t('flows.added', {name: created.name || created.id}));
    await this.admin.guard($('flows-error'), async () => {
      await this.refresh();
      if (created.kind === 'scheduled') await this.details(created.id);
    });
  }

  async setEnabled(flow, enabled) {
    await this.admin.guard($('flows-error'), async () => {
      await this.admin.api('PATCH', `/v1/flows/${encodeURIComponent(flow.id)}`, {enabled});
      this.status(enabled ? t('flows.resumed', {name: flow.name || flow.id}) : t('flows.paused_named', {name: flow.name || flow.id}));
      await this.refresh();
    });
  }

  async remove(flow) {
    await this.admin.guard($('flows-error'), async () => {
      await this.admin.api('DELETE', `/v1/flows/${encodeURIComponent(flow.id)}`);
      if (this.shown === flow.id) {
        this.shown = null;
        $('flow-detail').hidden = true;
      }
      this.status(t('flows.deleted', {name: flow.name || flow.id}));
      await this.refresh();
    });
  }
}
