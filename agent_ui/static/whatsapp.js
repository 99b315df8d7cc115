// The WhatsApp 24-hour window in the open conversation: a countdown while
// free text may be sent; once it has closed, the reply box gives way to the
// org's approved templates (the hub renders and sends them by ContentSid in
// the customer's locale). Customer text is only ever inserted as text.

import {$, h, randomId} from './dom.js';
import {t} from './i18n.js';

const DAY_S = 24 * 3600;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** A customer's message reopens the window for a day (the hub's figure
 * comes with the conversation; this keeps it current between reloads). */
export function extendWindow(conv, message) {
  if (conv.channel_type !== 'whatsapp' || !message || message.direction !== 'inbound') return;
  conv.whatsapp_window_closes_at = Math.max(Number(conv.whatsapp_window_closes_at) || 0,
    (Number(message.at) || 0) + DAY_S);
}

function countdown(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}

/** The body the hub will pick for this locale: exact, same language, else the default. */
function bodyFor(template, locale) {
  const bodies = template.bodies || {};
  const keys = Object.keys(bodies);
  const norm = (tag) => String(tag || '').replace('_', '-').toLowerCase();
  const exact = keys.find((k) => norm(k) === norm(locale));
  if (exact) return bodies[exact];
  const language = norm(locale).split('-')[0];
  const same = keys.filter((k) => norm(k).split('-')[0] === language).sort();
  if (locale && same.length) return bodies[same.find((k) => norm(k) === language) || same[0]];
  return bodies[template.default_locale] || bodies[keys[0]] || '';
}

export class WhatsAppWindow {
  /** command(frame): a websocket command, answered by its ack or error. */
  constructor({command}) {
    this.command = command;
    this.conv = null;
    this.templates = [];
    this.signature = null;
    this.timer = null;
    this.closed = null;
  }

  bind() {
    $('template-choice').addEventListener('change', () => this.renderPreview());
    $('template-fields').addEventListener('input', () => this.renderPreview());
    $('template-send').addEventListener('click', () => this.send());
  }

  setTemplates(list) {
    const signature = JSON.stringify(list);
    if (signature === this.signature) return;
    this.signature = signature;
    this.templates = list;
    const select = $('template-choice');
    const previous = select.value;
    select.replaceChildren(...list.map((tpl) => h('option', {value: tpl.id}, tpl.name)));
    if (list.some((tpl) => tpl.id === previous)) select.value = previous;
    $('template-none').hidden = list.length > 0;
    $('template-picker-form').hidden = list.length === 0;
    this.renderFields();
  }

  /** Follow the open conversation (null: none, or not WhatsApp). */
  show(conv) {
    const whatsapp = Boolean(conv && conv.channel_type === 'whatsapp');
    const changed = (conv && conv.id) !== (this.conv && this.conv.id);
    this.conv = whatsapp ? conv : null;
    if (!whatsapp) {
      window.clearInterval(this.timer);
      this.timer = null;
      this.closed = null;
      $('wa-window').hidden = true;
      $('template-picker').hidden = true;
      $('composer').hidden = false;
      return;
    }
    if (changed) {
      $('template-error').textContent = '';
      this.renderFields();
    }
    if (!this.timer) this.timer = window.setInterval(() => this.tick(), 1000);
    this.tick();
  }

  tick() {
    const conv = this.conv;
    if (!conv) return;
    const inbound = (conv.messages || []).filter((m) => m.direction === 'inbound').map((m) => Number(m.at) + DAY_S);
    const closes = Number(conv.whatsapp_window_closes_at) || Math.max(0, ...inbound);
    const left = closes - Date.now() / 1000;
    const closed = left <= 0;
    const line = $('wa-window');
    line.hidden = false;
    line.classList.toggle('closed', closed);
    line.textContent = closed ? t('wa.window_closed') : t('wa.window_open', {time: countdown(left)});
    if (closed !== this.closed) {
      this.closed = closed;
      $('composer').hidden = closed;
      $('template-picker').hidden = !closed;
      this.renderPreview();
    }
  }

  selected() {
    return this.templates.find((tpl) => tpl.id === $('template-choice').value) || null;
  }

  /** Values the hub fills itself (from the outbound message the customer answers). */
  known() {
    const activity = (this.conv && this.conv.activity) || {};
    const out = {};
    if (activity.customer_name) out.CustomerName = activity.customer_name;
    if (activity.case_name) out.CaseName = activity.case_name;
    return out;
  }

  /** An input for each placeholder the hub cannot fill. */
  renderFields() {
    const template = this.selected();
    const locale = this.conv && this.conv.activity ? this.conv.activity.locale : null;
    const body = template ? bodyFor(template, locale) : '';
    const known = this.known();
    const names = [...new Set([...body.matchAll(PLACEHOLDER)].map((m) => m[1]))].filter((n) => !(n in known));
    $('template-fields').replaceChildren(...names.map((name) => h('label', {class: 'template-field'},
      t('wa.value_for', {name}), h('input', {dataset: {placeholder: name}, autocomplete: 'off'}))));
    this.renderPreview();
  }

  values() {
    const out = {};
    for (const input of $('template-fields').querySelectorAll('input[data-placeholder]')) {
      if (input.value.trim()) out[input.dataset.placeholder] = input.value;
    }
    return out;
  }

  renderPreview() {
    const template = this.selected();
    if (!template || !this.conv) {
      $('template-preview').textContent = '';
      return;
    }
    const locale = this.conv.activity ? this.conv.activity.locale : null;
    const values = {...this.known(), ...this.values()};
    $('template-preview').textContent = bodyFor(template, locale)
      .replace(PLACEHOLDER, (whole, name) => (name in values ? values[name] : whole));
  }

  async send() {
    const conv = this.conv;
    const template = this.selected();
    if (!conv || !template) return;
    $('template-error').textContent = '';
    $('template-send').disabled = true;
    try {
      const result = await this.command({
        type: 'template', conversation_id: conv.id, template_id: template.id, values: this.values(),
        client_id: randomId('t-'),
      });
      if (result && result.type === 'error') {
        $('template-error').textContent = t('wa.template_refused', {error: result.error.message});
      }
    } finally {
      $('template-send').disabled = false;
    }
  }
}
