// The Configurations page: the org's outbound configurations (a channel, a
// template and the queue replies go to), each id with a copy button, and a
// form to add one from the channels and templates of the chosen type.

import {cell, Collection, code, fillTable, say} from './admin_common.js';
import {listAll} from './api.js';
import {$, copyText, h} from './dom.js';
import {t} from './i18n.js';

function fillSelect(select, items, option, empty) {
  const previous = select.value;
  select.replaceChildren(...(items.length ? items.map(option) : [h('option', {value: ''}, empty)]));
  if ([...select.options].some((o) => o.value === previous)) select.value = previous;
}

export class ConfigurationsPage {
  constructor(admin) {
    this.admin = admin;
    this.channels = [];
    this.templates = [];
    this.configs = new Collection(admin, '/v1/outbound-configurations', 'configurations-error', async () => {
      await admin.loadConfigs();
      this.render();
    });
    $('cfg-type').addEventListener('change', () => this.fillFormSelects());
    $('config-form').addEventListener('submit', (e) => { e.preventDefault(); this.create(); });
  }

  async show() {
    await this.admin.guard($('configurations-error'), async () => {
      [this.channels, this.templates] = await Promise.all([
        listAll('/v1/channels?limit=200', this.admin.key),
        listAll('/v1/templates?limit=200', this.admin.key),
        this.admin.loadConfigs(),
      ]);
      this.render();
      this.fillFormSelects();
    });
  }

  hide() {}

  render() {
    const channel = (id) => this.channels.find((c) => c.id === id);
    const template = (id) => this.templates.find((tpl) => tpl.id === id);
    fillTable($('configurations-table'), this.admin.configs, 7, t('admin.no_configurations'), (c) => h('tr', null,
      cell(c.name),
      cell(h('span', {class: 'id-cell'}, code(c.id), this.copyButton(c.id, t('admin.copy_id_of', {name: c.name})))),
      cell(String(c.channel_type).toUpperCase()),
      cell(channel(c.channel_id) ? channel(c.channel_id).address : c.channel_id),
      cell(template(c.template_id) ? template(c.template_id).name : c.template_id),
      cell(c.queue || 'default'),
      cell(c.show_in_timeline ? t('admin.yes') : t('admin.no')),
    ));
  }

  copyButton(value, accessibleName) {
    return h('button', {
      type: 'button', class: 'secondary small copy', 'aria-label': accessibleName,
      onclick: async (event) => {
        const button = event.currentTarget;
        const ok = await copyText(value);
        const message = ok ? t('admin.copied') : t('admin.copy_failed_hint');
        say(message);
        this.admin.announce(message);
        button.textContent = ok ? t('admin.copied_short') : t('admin.copy_failed');
        window.setTimeout(() => { button.textContent = t('admin.copy'); }, 2000);
      },
    }, t('admin.copy'));
  }

  fillFormSelects() {
    const type = $('cfg-type').value;
    fillSelect($('cfg-channel'), this.channels.filter((c) => c.type === type),
      (c) => h('option', {value: c.id}, `${c.address}${c.name ? ` — ${c.name}` : ''} (${c.provider})`),
      t('admin.no_channel_of_type', {type: type.toUpperCase()}));
    fillSelect($('cfg-template'), this.templates.filter((tpl) => (tpl.channel_types || []).includes(type)),
      (tpl) => h('option', {value: tpl.id}, tpl.name),
      t('admin.no_template_for_type', {type: type.toUpperCase()}));
  }

  async create() {
    const payload = {
      name: $('cfg-name').value.trim(),
      show_in_timeline: $('cfg-timeline').checked,
      channel_type: $('cfg-type').value,
      channel_id: $('cfg-channel').value,
      template_id: $('cfg-template').value,
      queue: $('cfg-queue').value.trim() || 'default',
    };
    await this.configs.save('config-form-error', payload, (created) => {
      $('cfg-name').value = '';
      const box = $('config-created');
      box.replaceChildren(
        h('p', null, t('admin.config_created_before'), h('strong', null, created.name), t('admin.config_created_after')),
        h('p', {class: 'id-cell'}, h('code', {id: 'config-created-id'}, created.id),
          this.copyButton(created.id, t('admin.copy_id_of', {name: created.name}))),
      );
      box.hidden = false;
      this.admin.announce(t('admin.config_created', {name: created.name}));
    });
  }
}
