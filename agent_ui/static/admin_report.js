// The Report page: one outbound configuration's delivery and reply figures,
// by status and by hour (charts and tables), and the same as a CSV download.

import {cell, download, fillConfigurations} from './admin_common.js';
import {legend, replyRateChart, stackedBarChart, STATUS_ORDER} from './chart.js';
import {$, h, statusBadge, statusLabel} from './dom.js';
import {formatDateTime, formatNumber, formatPercent, t} from './i18n.js';

/** "≤ 5 min": the upper bound of the time-to-first-reply bucket (null past the last one). */
function replyWithin(seconds, count) {
  if (!count) return '—';
  if (typeof seconds !== 'number') return t('admin.over_days', {value: formatNumber(3)});
  if (seconds < 60) return t('admin.at_most', {value: t('admin.seconds', {value: formatNumber(seconds)})});
  if (seconds < 3600) return t('admin.at_most', {value: t('admin.minutes', {value: formatNumber(seconds / 60)})});
  if (seconds < 86400) return t('admin.at_most', {value: t('admin.hours', {value: formatNumber(seconds / 3600)})});
  return t('admin.at_most', {value: t('admin.days', {value: formatNumber(seconds / 86400)})});
}

export class ReportPage {
  constructor(admin) {
    this.admin = admin;
    $('report-form').addEventListener('submit', (e) => { e.preventDefault(); this.load(); });
    $('report-csv').addEventListener('click', () => this.download());
  }

  async show() {
    await this.admin.guard($('report-error'), async () => {
      await this.admin.loadConfigs();
      fillConfigurations($('report-config'), this.admin.configs);
    });
    if ($('report-config').value) await this.load();
  }

  hide() {}

  async load() {
    const configId = $('report-config').value;
    if (!configId) {
      $('report-error').textContent = t('admin.choose_configuration');
      return;
    }
    await this.admin.guard($('report-error'), async () => {
      const {data} = await this.admin.api('GET', `/v1/outbound/report?configuration_id=${encodeURIComponent(configId)}`);
      this.render(data);
    });
  }

  async download() {
    const configId = $('report-config').value;
    $('report-error').textContent = '';
    if (!configId) {
      $('report-error').textContent = t('admin.choose_configuration');
      return;
    }
    const group = $('report-group').value;
    await this.admin.guard($('report-error'), async () => {
      await download(`/v1/outbound/report.csv?configuration_id=${encodeURIComponent(configId)}`
        + `&group_by=${encodeURIComponent(group)}`, this.admin.key, `report-${configId}-${group}.csv`);
    });
  }

  render(report) {
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
