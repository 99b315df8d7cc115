// The Templates page: the org's message templates, one body per locale, and
// a form to add or edit one with a live preview (sample values for its
// placeholders) and what each body costs as an SMS.

import {cell, Collection, code, fillTable, say} from './admin_common.js';
import {$, clear, h} from './dom.js';
import {t} from './i18n.js';
import {placeholders, previewParts, SAMPLE_VALUES} from './template.js';

export class TemplatesPage {
  constructor(admin) {
    this.admin = admin;
    this.templates = new Collection(admin, '/v1/templates', 'templates-error', () => this.refresh());
    this.editing = null; // the template being edited, or null for a new one
    this.samples = {...SAMPLE_VALUES};
    this.localeSeq = 0;
    this.shownPlaceholders = null;
    this.segmentsTimer = null;
    $('template-form').addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    $('tpl-add-locale').addEventListener('click', () => this.addLocaleFromInput());
    $('tpl-new-locale').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.addLocaleFromInput();
      }
    });
    $('tpl-reset').addEventListener('click', () => this.edit(null));
    $('tpl-default-locale').addEventListener('input', () => this.updatePreview());
    $('tpl-bodies').addEventListener('input', () => this.updatePreview());
    $('tpl-samples').addEventListener('input', (e) => {
      if (e.target.dataset.placeholder) {
        this.samples[e.target.dataset.placeholder] = e.target.value;
        this.renderPreviewTexts();
      }
    });
    this.edit(null);
  }

  async show() {
    await this.templates.reload();
  }

  hide() {}

  async refresh() {
    const templates = await this.templates.all();
    fillTable($('templates-table'), templates, 7, t('admin.no_templates'), (tpl) => h('tr', null,
      cell(tpl.name),
      cell((tpl.channel_types || []).map((c) => c.toUpperCase()).join(', ')),
      cell(tpl.default_locale),
      cell(Object.keys(tpl.bodies || {}).join(', ')),
      cell(placeholders(...Object.values(tpl.bodies || {})).map((p) => `{{${p}}}`).join(' ')),
      cell(code(tpl.id)),
      cell(h('button', {
        type: 'button', class: 'secondary small', 'aria-label': t('admin.edit_template_named', {name: tpl.name}),
        onclick: () => this.edit(tpl),
      }, t('admin.edit'))),
    ));
  }

  edit(template) {
    this.editing = template;
    $('template-form-title').textContent = template
      ? t('admin.edit_template_title', {name: template.name}) : t('page.new_template');
    $('tpl-save').textContent = template ? t('admin.save_changes') : t('page.save_template');
    $('template-form-error').textContent = '';
    $('tpl-name').value = template ? template.name : '';
    const types = template ? template.channel_types : ['sms'];
    $('tpl-sms').checked = types.includes('sms');
    $('tpl-whatsapp').checked = types.includes('whatsapp');
    $('tpl-default-locale').value = template ? template.default_locale : 'en-US';
    clear($('tpl-bodies'));
    const bodies = template ? Object.entries(template.bodies || {}) : [['en-US', '']];
    for (const [locale, text] of bodies) this.addLocaleCard(locale, text);
    this.shownPlaceholders = null;
    this.updatePreview();
    if (template) $('tpl-name').focus();
  }

  addLocaleFromInput() {
    const input = $('tpl-new-locale');
    const locale = input.value.trim();
    const error = $('template-form-error');
    error.textContent = '';
    if (!locale) {
      error.textContent = t('admin.type_a_locale');
      input.focus();
      return;
    }
    if (this.localeCards().some((c) => c.locale.toLowerCase() === locale.toLowerCase())) {
      error.textContent = t('admin.locale_exists', {locale});
      return;
    }
    input.value = '';
    const card = this.addLocaleCard(locale, '');
    card.querySelector('textarea').focus();
    this.updatePreview();
  }

  addLocaleCard(locale, text) {
    this.localeSeq += 1;
    const n = this.localeSeq;
    const localeInput = h('input', {
      id: `tpl-locale-${n}`, type: 'text', class: 'tpl-locale', value: locale, autocomplete: 'off',
      spellcheck: 'false',
    });
    const bodyLabel = h('label', {for: `tpl-body-${n}`}, t('admin.body_for', {locale}));
    const area = h('textarea', {id: `tpl-body-${n}`, class: 'tpl-body', rows: '5', maxlength: '1600'});
    area.value = text;
    const remove = h('button', {type: 'button', class: 'secondary small', 'aria-label': t('admin.remove_locale', {locale})},
      t('admin.remove'));
    const card = h('div', {class: 'locale-card'},
      h('label', {for: `tpl-locale-${n}`}, t('page.locale')), localeInput, bodyLabel, area, remove);
    localeInput.addEventListener('input', () => {
      const value = localeInput.value.trim() || '?';
      bodyLabel.textContent = t('admin.body_for', {locale: value});
      remove.setAttribute('aria-label', t('admin.remove_locale', {locale: value}));
    });
    remove.addEventListener('click', () => {
      card.remove();
      this.updatePreview();
      $('tpl-new-locale').focus();
    });
    $('tpl-bodies').append(card);
    return card;
  }

  localeCards() {
    return [...$('tpl-bodies').querySelectorAll('.locale-card')].map((card) => ({
      locale: card.querySelector('.tpl-locale').value.trim(),
      body: card.querySelector('.tpl-body').value,
    }));
  }

  updatePreview() {
    const cards = this.localeCards();
    const names = placeholders(...cards.map((c) => c.body));
    const key = names.join('\u0000');
    if (key !== this.shownPlaceholders) {
      this.shownPlaceholders = key;
      const chips = $('tpl-placeholders');
      chips.replaceChildren(...(names.length
        ? names.map((name) => h('code', {class: 'chip'}, `{{${name}}}`))
        : [h('span', {class: 'muted'}, t('admin.none'))]));
      const samples = $('tpl-samples');
      samples.replaceChildren(...names.flatMap((name, i) => {
        const id = `tpl-sample-${i}`;
        const input = h('input', {id, type: 'text', autocomplete: 'off', dataset: {placeholder: name}});
        input.value = this.samples[name] || '';
        return [h('label', {for: id}, t('admin.sample_value_for', {name})), input];
      }));
    }
    this.renderPreviewTexts();
  }

  renderPreviewTexts() {
    const defaultLocale = $('tpl-default-locale').value.trim();
    const cards = this.localeCards();
    const counts = [];
    $('tpl-preview').replaceChildren(...cards.map(({locale, body}) => {
      const text = h('p', {class: 'preview-text'});
      let rendered = '';
      for (const part of previewParts(body, this.samples)) {
        if (part.missing) text.append(h('mark', {title: t('admin.no_sample_value')}, `{{${part.missing}}}`));
        else if (part.filled) text.append(h('span', {class: 'filled'}, part.text));
        else text.append(part.text);
        rendered += part.missing ? `{{${part.missing}}}` : part.text;
      }
      const isDefault = locale && locale.toLowerCase() === defaultLocale.toLowerCase();
      const cost = h('p', {class: 'preview-segments muted'});
      if (body.trim()) counts.push({rendered, cost});
      return h('div', {class: 'preview-card'},
        h('p', {class: 'preview-locale'}, locale || t('admin.no_locale'), isDefault ? t('admin.default_suffix') : ''),
        body.trim() ? text : h('p', {class: 'muted'}, t('admin.empty')), cost);
    }));
    this.countSegments(counts);
  }

  // What each rendered body costs as an SMS, asked of the hub (which counts
  // the same way when it sends), a moment after the last keystroke.
  countSegments(counts) {
    clearTimeout(this.segmentsTimer);
    this.segmentsTimer = setTimeout(async () => {
      for (const {rendered, cost} of counts) {
        if (rendered.length > 1600) {
          cost.textContent = t('admin.too_long', {max: 1600});
          cost.classList.add('warn');
          continue;
        }
        try {
          const {data} = await this.admin.api('POST', '/v1/templates/segments', {body: rendered});
          cost.textContent = t('admin.as_sms', {count: data.segments, encoding: data.encoding});
          if (data.ucs2_characters.length) {
            cost.append(t('admin.because_of'), ...data.ucs2_characters.flatMap((ch, i) =>
              [i ? ' ' : '', h('code', {class: 'chip'}, ch)]));
          }
          cost.classList.toggle('warn', data.segments > 1);
          cost.classList.toggle('muted', data.segments <= 1);
        } catch {
          cost.textContent = '';
        }
      }
    }, 300);
  }

  async save() {
    const error = $('template-form-error');
    const bodies = {};
    for (const {locale, body} of this.localeCards()) {
      if (!locale) {
        error.textContent = t('admin.body_needs_locale');
        return;
      }
      bodies[locale] = body;
    }
    const channelTypes = ['sms', 'whatsapp'].filter((type) => $(`tpl-${type}`).checked);
    const payload = {
      name: $('tpl-name').value.trim(),
      channel_types: channelTypes,
      default_locale: $('tpl-default-locale').value.trim(),
      bodies,
    };
    if (this.editing && this.editing.content_sids) {
      // PUT replaces the template: keep the approved WhatsApp ids of the locales still there.
      const sids = Object.fromEntries(Object.entries(this.editing.content_sids)
        .filter(([locale]) => Object.keys(bodies).some((l) => l.toLowerCase() === locale.toLowerCase())));
      if (Object.keys(sids).length) payload.content_sids = sids;
    }
    const editing = this.editing;
    await this.templates.save('template-form-error', payload, (saved) => {
      say(editing ? t('admin.template_saved', {name: saved.name}) : t('admin.template_created', {name: saved.name}));
      this.edit(null);
    }, editing);
  }
}
