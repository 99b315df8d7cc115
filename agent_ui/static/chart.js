// A stacked bar chart of activity counts by status per hour, drawn as SVG by
// hand. Colours come from the stylesheet (.seg-<status>).

import {h, statusLabel, svg} from './dom.js';
import {formatDateTime, formatNumber, formatShortDate, formatTimeOfDay, t} from './i18n.js';

export const STATUS_ORDER = [
  'deferred', 'queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'rejected',
  'skipped_no_optin', 'skipped_opted_out', 'canceled',
];

const HOUR_MS = 3600 * 1000;
const MAX_FILLED_HOURS = 96;

/** Hours to draw: the reported ones, with empty hours in between filled in when the span is short. */
export function hourSeries(byHour) {
  const points = (byHour || [])
    .map((p) => ({time: Date.parse(p.hour), counts: p.counts || {}}))
    .filter((p) => Number.isFinite(p.time))
    .sort((a, b) => a.time - b.time);
  if (points.length < 2) return points;
  const first = points[0].time;
  const last = points[points.length - 1].time;
  const span = Math.round((last - first) / HOUR_MS) + 1;
  if (span > MAX_FILLED_HOURS) return points;
  const byTime = new Map(points.map((p) => [p.time, p]));
  const out = [];
  for (let t = first; t <= last; t += HOUR_MS) out.push(byTime.get(t) || {time: t, counts: {}});
  return out;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function hourLabel(time, previous) {
  const date = new Date(time);
  const hour = formatTimeOfDay(date);
  if (previous === null || new Date(previous).toDateString() !== date.toDateString()) {
    return [formatShortDate(date), hour];
  }
  return [hour];
}

/** Returns {svg, statuses}: the chart element and the statuses it shows (for the legend). */
export function stackedBarChart(byHour, {width = 760, height = 300} = {}) {
  const series = hourSeries(byHour);
  const present = new Set();
  for (const p of series) for (const [status, n] of Object.entries(p.counts)) if (n > 0) present.add(status);
  const statuses = [...STATUS_ORDER.filter((s) => present.has(s)),
    ...[...present].filter((s) => !STATUS_ORDER.includes(s)).sort()];
  const totals = series.map((p) => statuses.reduce((sum, s) => sum + (p.counts[s] || 0), 0));
  const top = niceMax(Math.max(1, ...totals));
  const margin = {top: 16, right: 16, bottom: 52, left: 48};
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const slot = plotW / Math.max(1, series.length);
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const y = (value) => margin.top + plotH - (value / top) * plotH;

  const totalAll = totals.reduce((a, b) => a + b, 0);
  const label = series.length
    ? t('chart.label', {activities: t('chart.activities', {count: totalAll}), hours: t('chart.hours', {count: series.length})})
    : t('chart.empty');
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': label,
    class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet',
  }, svg('title', null, label));

  const ticks = 5;
  for (let i = 0; i <= ticks; i += 1) {
    const value = (top / ticks) * i;
    const yy = y(value);
    root.append(
      svg('line', {x1: margin.left, x2: width - margin.right, y1: yy, y2: yy, class: i ? 'grid' : 'axis'}),
      svg('text', {x: margin.left - 8, y: yy + 4, class: 'tick', 'text-anchor': 'end'},
        formatNumber(value, {maximumFractionDigits: 1})),
    );
  }
  root.append(svg('text', {
    x: 14, y: margin.top + plotH / 2, class: 'axis-title', 'text-anchor': 'middle',
    transform: `rotate(-90 14 ${margin.top + plotH / 2})`,
  }, t('page.activities')));

  const labelEvery = Math.max(1, Math.ceil(series.length / 12));
  let previous = null;
  series.forEach((point, index) => {
    const x = margin.left + slot * index + (slot - barW) / 2;
    let base = 0;
    const group = svg('g', {class: 'bar'});
    for (const status of statuses) {
      const n = point.counts[status] || 0;
      if (!n) continue;
      const y0 = y(base);
      const y1 = y(base + n);
      group.append(svg('rect', {x, y: y1, width: barW, height: Math.max(0.5, y0 - y1), class: `seg seg-${status}`},
        svg('title', null, `${formatDateTime(new Date(point.time))}: ${statusLabel(status)} ${formatNumber(n)}`)));
      base += n;
    }
    root.append(group);
    if (index % labelEvery === 0) {
      const lines = hourLabel(point.time, previous);
      previous = point.time;
      const text = svg('text', {x: x + barW / 2, y: margin.top + plotH + 18, class: 'tick', 'text-anchor': 'middle'});
      text.append(...lines.map((line, i) => svg('tspan', {x: x + barW / 2, dy: i ? 14 : 0}, line)));
      root.append(text);
    }
  });
  if (!series.length) {
    root.append(svg('text', {x: width / 2, y: margin.top + plotH / 2, class: 'empty', 'text-anchor': 'middle'},
      t('chart.empty')));
  }
  return {svg: root, statuses};
}

export function legend(statuses, labelOf) {
  return statuses.map((status) => h('li', null,
    h('span', {class: `swatch swatch-${status}`, 'aria-hidden': 'true'}), labelOf(status)));
}

/**
 * Reply rate and opt-out rate per hour the messages were created in, as two
 * bars side by side (0 to 100 %, or higher when replies outnumber receipts),
 * drawn as SVG by hand. Each bar's title says the counts and the time to
 * first reply. Returns the SVG element.
 */
export function replyRateChart(byHour, {width = 760, height = 240, describe = () => ''} = {}) {
  const points = (byHour || [])
    .map((p) => ({time: Date.parse(p.hour), replies: p.replies || {}}))
    .filter((p) => Number.isFinite(p.time))
    .sort((a, b) => a.time - b.time);
  const rate = (value) => (typeof value === 'number' ? value : 0);
  const top = Math.max(1, ...points.map((p) => Math.max(rate(p.replies.reply_rate), rate(p.replies.opt_out_rate))));
  const margin = {top: 16, right: 16, bottom: 52, left: 48};
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const slot = plotW / Math.max(1, points.length);
  const barW = Math.max(2, Math.min(24, slot * 0.35));
  const y = (value) => margin.top + plotH - (value / top) * plotH;
  const replied = points.reduce((sum, p) => sum + (p.replies.replied || 0), 0);
  const delivered = points.reduce((sum, p) => sum + (p.replies.delivered || 0), 0);
  const label = points.length
    ? t('chart.replies_label', {replied: formatNumber(replied), delivered: formatNumber(delivered),
      hours: t('chart.hours', {count: points.length})})
    : t('chart.no_replies');
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': label,
    class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet',
  }, svg('title', null, label));
  const ticks = 4;
  for (let i = 0; i <= ticks; i += 1) {
    const value = (top / ticks) * i;
    const yy = y(value);
    root.append(
      svg('line', {x1: margin.left, x2: width - margin.right, y1: yy, y2: yy, class: i ? 'grid' : 'axis'}),
      svg('text', {x: margin.left - 8, y: yy + 4, class: 'tick', 'text-anchor': 'end'},
        t('format.percent', {value: formatNumber(value * 100, {maximumFractionDigits: 0})})),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(points.length / 12));
  let previous = null;
  points.forEach((point, index) => {
    const x = margin.left + slot * index + slot / 2 - barW;
    const group = svg('g', {class: 'bar'});
    const title = `${formatDateTime(new Date(point.time))}: ${describe(point.replies)}`;
    [['reply-bar', point.replies.reply_rate], ['optout-bar', point.replies.opt_out_rate]].forEach(([cls, value], i) => {
      if (typeof value !== 'number') return;
      group.append(svg('rect', {x: x + i * barW, y: y(value), width: barW, height: Math.max(0.5, y(0) - y(value)), class: cls},
        svg('title', null, title)));
    });
    root.append(group);
    if (index % labelEvery === 0) {
      const lines = hourLabel(point.time, previous);
      previous = point.time;
      const text = svg('text', {x: x + barW, y: margin.top + plotH + 18, class: 'tick', 'text-anchor': 'middle'});
      text.append(...lines.map((line, i) => svg('tspan', {x: x + barW, dy: i ? 14 : 0}, line)));
      root.append(text);
    }
  });
  if (!points.length) {
    root.append(svg('text', {x: width / 2, y: margin.top + plotH / 2, class: 'empty', 'text-anchor': 'middle'},
      t('chart.no_replies')));
  }
  return root;
}
