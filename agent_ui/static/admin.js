// The admin console's shell: the pages an org's API key opens (PAGES, one
// module each), switching between them, and the calls they make with the
// key, a refused key signing the console out. Each page shows its own
// failures next to its form or list (guard).

import {ActivitiesPage} from './admin_activities.js';
import {AgentsPage} from './admin_agents.js';
import {BulkPage} from './admin_bulk.js';
import {CannedPage} from './admin_canned.js';
import {ChannelsPage} from './admin_channels.js';
import {ConfigurationsPage} from './admin_configurations.js';
import {FlowsPage} from './admin_flows.js';
import {QueuesPage} from './admin_queues.js';
import {ReportPage} from './admin_report.js';
import {SendPage} from './admin_send.js';
import {TemplatesPage} from './admin_templates.js';
import {ApiError, describeError, listAll, request} from './api.js';
import {$} from './dom.js';
import {t} from './i18n.js';

// Each page module: new Page(console), show() when its tab opens, hide() when it closes.
const PAGES = {channels: ChannelsPage, templates: TemplatesPage, configurations: ConfigurationsPage,
  send: SendPage, activities: ActivitiesPage, report: ReportPage, canned: CannedPage,
  agents: AgentsPage, flows: FlowsPage, bulk: BulkPage, queues: QueuesPage};
export const TABS = Object.keys(PAGES);

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
    for (const [name, Page] of Object.entries(PAGES)) this.pages[name] = new Page(this);
  }

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
    await this.pages[name].show();
  }

  /** The org's outbound configurations, which several pages offer in a select. */
  async loadConfigs() {
    this.configs = await listAll('/v1/outbound-configurations?limit=200', this.key);
  }
}
