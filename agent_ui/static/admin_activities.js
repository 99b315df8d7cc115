// The Activities page: the org's outbound messages, newest first, filtered
// by configuration and status, a page at a time.

import {cell, fillConfigurations, statusWithSendAt} from './admin_common.js';
import {STATUS_ORDER} from './chart.js';
import {$, fullTime, h, statusLabel} from './dom.js';
import {t} from './i18n.js';

export class ActivitiesPage {
  constructor(admin) {
    this.admin = admin;
    this.cursor = null;
    $('activities-form').addEventListener('submit', (e) => { e.preventDefault(); this.load(false); });
    $('activities-more').addEventListener('click', () => this.load(true));
    $('act-status').replaceChildren(h('option', {value: ''}, t('admin.all_statuses')),
      ...STATUS_ORDER.map((s) => h('option', {value: s}, statusLabel(s))));
  }

  async show() {
    await this.admin.guard($('activities-error'), async () => {
      await this.admin.loadConfigs();
      fillConfigurations($('act-config'), this.admin.configs, t('admin.all_configurations'));
    });
    await this.load(false);
  }

  hide() {}

  async load(more) {
    const params = new URLSearchParams();
    if ($('act-config').value) params.set('configuration_id', $('act-config').value);
    if ($('act-status').value) params.set('status', $('act-status').value);
    if (more && this.cursor) params.set('cursor', this.cursor);
    const body = $('activities-table').tBodies[0];
    await this.admin.guard($('activities-error'), async () => {
      const {data} = await this.admin.api('GET', `/v1/outbound/activities?${params}`);
      const rows = (data.items || []).map((a) => h('tr', null,
        cell(fullTime(a.created_at)),
        cell(a.to || ''),
        cell(statusWithSendAt(a.status, a.send_at)),
        cell(a.locale || ''),
        cell(a.customer_name || ''),
        cell(a.case_name || ''),
        cell(h('span', {class: 'clip'}, a.body || '')),
        cell(a.error_code || '')));
      if (more) body.append(...rows);
      else body.replaceChildren(...rows);
      if (!body.rows.length) {
        body.replaceChildren(h('tr', null, h('td', {colspan: '8', class: 'muted'}, t('admin.no_activities'))));
      }
      this.cursor = data.next_cursor || null;
      $('activities-more').hidden = !this.cursor;
    });
  }
}
