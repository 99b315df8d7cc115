// The Canned responses page: the org's ready-made replies agents pick from,
// adding one and deleting one.

import {Collection, confirmButton, say} from './admin_common.js';
import {$, h} from './dom.js';
import {t} from './i18n.js';

export class CannedPage {
  constructor(admin) {
    this.admin = admin;
    this.canned = new Collection(admin, '/v1/canned-responses', 'canned-error', () => this.refresh());
    $('canned-form').addEventListener('submit', (e) => { e.preventDefault(); this.create(); });
  }

  async show() {
    await this.canned.reload();
  }

  hide() {}

  async refresh() {
    const items = await this.canned.all();
    const list = $('canned-list');
    if (!items.length) {
      list.replaceChildren(h('li', {class: 'muted'}, t('admin.no_canned')));
      return;
    }
    list.replaceChildren(...items.map((c) => h('li', {class: 'card'},
      h('p', null, h('strong', null, c.title)),
      h('p', {class: 'pre'}, c.body),
      confirmButton(t('admin.delete'), t('admin.delete_canned', {title: c.title}),
        () => this.canned.remove(c, t('admin.canned_deleted', {title: c.title})), this.admin.announce))));
  }

  async create() {
    const payload = {title: $('canned-title').value.trim(), body: $('canned-body').value};
    await this.canned.save('canned-form-error', payload, (created) => {
      $('canned-title').value = '';
      $('canned-body').value = '';
      say(t('admin.canned_added', {title: created.title}));
    });
  }
}
