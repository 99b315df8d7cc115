// The admin pages: channels, templates, configurations, the send form,
// activities, the delivery report and canned responses. Everything goes
// through the org's API key. The agents, flows, bulk jobs and queues pages
// live in modules of their own (PAGES), which this console shows and hides.

import {ActivitiesPage} from './admin_activities.js';
import {AgentsPage} from './admin_agents.js';
import {BulkPage} from './admin_bulk.js';
import {CannedPage} from './admin_canned.js';
import {ChannelsPage} from './admin_channels.js';
import {ConfigurationsPage} from './admin_configurations.js';
import {cell, code, confirmButton, sleep} from './admin_common.js';
import {FlowsPage} from './admin_flows.js';
import {QueuesPage} from './admin_queues.js';
import {SendPage} from './admin_send.js';
import {TemplatesPage} from './admin_templates.js';
import {ApiError, describeError, listAll, request} from './api.js';
import {legend, replyRateChart, stackedBarChart, STATUS_ORDER} from './chart.js';
import {chunk, contactsFromCsv} from './csv.js';
import {$, clear, copyText, fullTime, h, randomId, statusBadge, statusLabel} from './dom.js';
import {formatIn, formatNumber, formatPercent, formatDateTime, t} from './i18n.js';

// Each page module: new Page(console), show() when its tab opens, hide() when it closes.
const PAGES = {channels: ChannelsPage, templates: TemplatesPage, configurations: ConfigurationsPage,
  send: SendPage, activities: ActivitiesPage, canned: CannedPage,
  agents: AgentsPage, flows: FlowsPage, bulk: BulkPage, queues: QueuesPage};
export const TABS = ['report', ...Object.keys(PAGES)];

/** "≤ 5 min": the upper bound of the time-to-first-reply bucket (null past the last one). */
function replyWithin(seconds, count) {
  if (!count) return '—';
  if (typeof seconds !== 'number') return t('admin.over_days', {value: formatNumber(3)});
  if (seconds < 60) return t('admin.at_most', {value: t('admin.seconds', {value: formatNumber(seconds)})});
  if (seconds < 3600) return t('admin.at_most', {value: t('admin.minutes', {value: formatNumber(seconds / 60)})});
  if (seconds < 86400) return t('admin.at_most', {value: t('admin.hours', {value: formatNumber(seconds / 3600)})});
  return t('admin.at_most', {value: t('admin.days', {value: formatNumber(seconds / 86400)})});
}

export class AdminConsole {
  constructor({announce, onSignedOut}) {
    this.announce = announce;
    this.onSignedOut = onSignedOut;
    this.key = null;
    this.tab = null;
    this.configs = [];
    this.bound = false;
    this.pages = {};
  }

  start(key) {
    this.key = key;
    this.bind();
  }

  stop() {
    this.key = null;
    this.tab = null;
    for (const page of Object.values(this.pages)) page.hide();
  }

  signOut(message = t('admin.key_forgotten')) {
    if (!this.key) return;
    this.stop();
    this.onSignedOut(message);
  }

  async api(method, path, body, headers) {
    try {
      return await request(method, path, {token: this.key, body, headers});
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signOut(t('admin.key_refused'));
      }
      throw error;
    }
  }

  async guard(errorEl, action) {
    errorEl.textContent = '';
    try {
      return await action();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signOut(t('admin.key_refused'));
        return undefined;
      }
      errorEl.textContent = describeError(error);
      return undefined;
    }
  }

  bind() {
    if (this.bound) return;
    this.bound = true;
    $('report-form').addEventListener('submit', (e) => { e.preventDefault(); this.loadReport(); });
    $('report-csv').addEventListener('click', () => this.downloadReport());
    for (const [name, Page] of Object.entries(PAGES)) this.pages[name] = new Page(this);
  }

  // --- navigation ---------------------------------------------------------

  async show(tab) {
    const name = TABS.includes(tab) ? tab : 'channels';
    this.tab = name;
    for (const t of TABS) $(`tab-${t}`).hidden = t !== name;
    for (const link of document.querySelectorAll('#view-admin nav a[data-tab]')) {
      if (link.dataset.tab === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    $('admin-status').textContent = '';
    for (const [other, page] of Object.entries(this.pages)) if (other !== name) page.hide();
    if (this.pages[name]) {
      await this.pages[name].show();
      return;
    }
    switch (name) {
      case 'report':
        await this.guard($('report-error'), async () => {
          await this.loadConfigs();
          this.fillConfigSelect($('report-config'), false);
        });
        if ($('report-config').value) await this.loadReport();
        break;
      default:
        break;
    }
  }

  async loadConfigs() {
    this.configs = await listAll('/v1/outbound-configurations?limit=200', this.key);
  }

  fillConfigSelect(select, allowAll) {
    const previous = select.value;
    const options = allowAll ? [h('option', {value: ''}, t('admin.all_configurations'))] : [];
    if (!allowAll && !this.configs.length) options.push(h('option', {value: ''}, t('admin.no_configurations_option')));
    for (const c of this.configs) options.push(h('option', {value: c.id}, `${c.name} (${c.channel_type})`));
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  }

  // --- report -------------------------------------------------------------

  async loadReport() {
    const configId = $('report-config').value;
    if (!configId) {
      $('report-error').textContent = t('admin.choose_configuration');
      return;
    }
    await this.guard($('report-error'), async () => {
      const {data} = await this.api('GET', `/v1/outbound/report?configuration_id=${encodeURIComponent(configId)}`);
      this.renderReport(data);
    });
  }

  async downloadReport() {
    const configId = $('report-config').value;
    $('report-error').textContent = '';
    if (!configId) {
      $('report-error').textContent = t('admin.choose_configuration');
      return;
    }
    const group = $('report-group').value;
    await this.guard($('report-error'), async () => {
      const {text} = await request('GET', `/v1/outbound/report.csv?configuration_id=${encodeURIComponent(configId)}`
        + `&group_by=${encodeURIComponent(group)}`, {token: this.key, headers: {Accept: 'text/csv'}});
      const link = h('a', {href: URL.createObjectURL(new Blob([text], {type: 'text/csv'})),
        download: `report-${configId}-${group}.csv`});
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    });
  }

  renderReport(report) {
    const seconds = (value) => t('admin.seconds', {value: formatNumber(value, {maximumFractionDigits: value < 10 ? 1 : 0,
      minimumFractionDigits: value < 10 ? 1 : 0})});
    const atMost = (value) => (typeof value === 'number' ? t('admin.at_most', {value: t('admin.seconds', {value})}) : '—');
    const ttd = report.time_to_deliver || {};
    const summary = [
      [t('admin.total_activities'), formatNumber(report.total ?? 0)],
      [t('admin.delivery_rate'), typeof report.delivery_rate === 'number' ? formatPercent(report.delivery_rate) : '—'],
      [t('admin.delivered_timed'), formatNumber(ttd.count ?? 0)],
      [t('admin.average_time_to_deliver'), typeof ttd.average_seconds === 'number' ? seconds(ttd.average_seconds) : '—'],
      [t('admin.half_delivered_within'), atMost(ttd.p50_seconds_at_most)],
      [t('admin.ninety_delivered_within'), atMost(ttd.p90_seconds_at_most)],
    ];
    const replies = report.replies || {};
    const sms = report.sms || {};
    const rate = (value) => (typeof value === 'number' ? formatPercent(value) : '—');
    const firstReply = replies.time_to_first_reply || {};
    summary.push(
      [t('admin.sms_messages'), formatNumber(sms.messages ?? 0)],
      [t('admin.sms_segments'), formatNumber(sms.segments ?? 0)],
      [t('admin.reply_rate'), rate(replies.reply_rate)],
      [t('admin.half_replied_within'), replyWithin(firstReply.p50_seconds_at_most, firstReply.count)],
      [t('admin.ninety_replied_within'), replyWithin(firstReply.p90_seconds_at_most, firstReply.count)],
      [t('admin.opt_out_rate'), rate(replies.opt_out_rate)],
      [t('admin.conversations_opened'), formatNumber(replies.conversations_opened ?? 0)],
    );
    $('report-summary').replaceChildren(...summary.map(([term, value]) =>
      h('div', null, h('dt', null, term), h('dd', null, value))));

    const {svg, statuses} = stackedBarChart(report.by_hour || []);
    $('report-chart').replaceChildren(svg);
    $('report-legend').replaceChildren(...legend(statuses, statusLabel));

    const counts = report.counts || {};
    const total = report.total || 0;
    const order = [...STATUS_ORDER, ...Object.keys(counts).filter((s) => !STATUS_ORDER.includes(s))];
    const rows = order.filter((s) => counts[s]).map((s) => h('tr', null,
      h('th', {scope: 'row'}, statusBadge(s)),
      cell(formatNumber(counts[s])),
      cell(total ? formatPercent(counts[s] / total) : '—')));
    if (!rows.length) rows.push(h('tr', null, h('td', {colspan: '3', class: 'muted'}, t('admin.nothing_sent'))));
    rows.push(h('tr', {class: 'total'}, h('th', {scope: 'row'}, t('admin.total')), cell(formatNumber(total)), cell(total ? formatPercent(1) : '—')));
    $('report-table').tBodies[0].replaceChildren(...rows);

    $('report-replies-chart').replaceChildren(replyRateChart(report.by_hour || [], {
      describe: (r) => t('admin.replies_title', {rate: rate(r.reply_rate), replied: formatNumber(r.replied ?? 0),
        delivered: formatNumber(r.delivered ?? 0),
        within: replyWithin((r.time_to_first_reply || {}).p50_seconds_at_most, r.replied ?? 0),
        opt_out: rate(r.opt_out_rate)}),
    }));
    $('report-replies').tBodies[0].replaceChildren(...(report.by_hour || []).map((p) => {
      const r = p.replies || {};
      const first = r.time_to_first_reply || {};
      return h('tr', null,
        h('th', {scope: 'row'}, formatDateTime(new Date(p.hour))),
        cell(formatNumber(r.delivered ?? 0)), cell(formatNumber(r.replied ?? 0)), cell(rate(r.reply_rate)),
        cell(`${replyWithin(first.p50_seconds_at_most, first.count)} / ${replyWithin(first.p90_seconds_at_most, first.count)}`),
        cell(formatNumber(r.opted_out ?? 0)), cell(formatNumber(r.conversations_opened ?? 0)),
        cell(formatNumber((p.sms || {}).messages ?? 0)), cell(formatNumber((p.sms || {}).segments ?? 0)));
    }));

    const hours = $('report-hours');
    hours.tHead.replaceChildren(h('tr', null, h('th', {scope: 'col'}, t('admin.hour')),
      ...statuses.map((s) => h('th', {scope: 'col'}, statusLabel(s)))));
    hours.tBodies[0].replaceChildren(...(report.by_hour || []).map((p) => h('tr', null,
      h('th', {scope: 'row'}, formatDateTime(new Date(p.hour))),
      ...statuses.map((s) => cell(formatNumber((p.counts || {})[s] || 0))))));
    $('report-body').hidden = false;
  }
}
