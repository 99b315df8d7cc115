// The Channels page: the org's numbers and WhatsApp senders with their
// provider, adding one (with the provider's credentials) and deleting one.

import {cell, Collection, code, confirmButton, fillTable, say} from './admin_common.js';
import {$, h} from './dom.js';
import {t} from './i18n.js';

const FIELDS = ['ch-address', 'ch-name', 'ch-sid', 'ch-token', 'ch-base', 'ch-customer', 'ch-apikey'];

export class ChannelsPage {
  constructor(admin) {
    this.admin = admin;
    this.channels = new Collection(admin, '/v1/channels', 'channels-error', () => this.refresh());
    $('ch-provider').addEventListener('change', () => this.syncProviderFields());
    $('channel-form').addEventListener('submit', (e) => { e.preventDefault(); this.create(); });
    this.syncProviderFields();
  }

  async show() {
    await this.channels.reload();
  }

  hide() {}

  syncProviderFields() {
    const telesign = $('ch-provider').value === 'telesign';
    $('ch-twilio-creds').hidden = telesign;
    $('ch-telesign-creds').hidden = !telesign;
  }

  async refresh() {
    const channels = await this.channels.all();
    fillTable($('channels-table'), channels, 8, t('admin.no_channels'), (ch) => h('tr', null,
      cell(ch.address),
      cell(ch.name || ''),
      cell(String(ch.type).toUpperCase()),
      cell(ch.provider),
      cell(ch.api_base_url || ''),
      cell(Object.keys(ch.credentials || {}).length ? t('admin.credentials_stored') : t('admin.credentials_none')),
      cell(code(ch.id)),
      cell(confirmButton(t('admin.delete'), t('admin.delete_channel', {address: ch.address}),
        () => this.channels.remove(ch, t('admin.channel_deleted', {address: ch.address})), this.admin.announce)),
    ));
  }

  async create() {
    const provider = $('ch-provider').value;
    const body = {type: $('ch-type').value, provider, address: $('ch-address').value.trim()};
    const name = $('ch-name').value.trim();
    if (name) body.name = name;
    if (provider === 'telesign') {
      body.credentials = {customer_id: $('ch-customer').value.trim(), api_key: $('ch-apikey').value};
    } else {
      body.credentials = {account_sid: $('ch-sid').value.trim(), auth_token: $('ch-token').value};
      const base = $('ch-base').value.trim();
      if (base) body.api_base_url = base;
    }
    await this.channels.save('channel-form-error', body, (created) => {
      for (const id of FIELDS) $(id).value = '';
      say(t('admin.channel_added', {address: created.address}));
    });
  }
}
