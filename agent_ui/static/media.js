// Attachments of a message: images inline, anything else as a link. The
// URLs come from customers' messages (the provider's media URLs) and agents'
// replies; only https images are loaded (the page's CSP allows no other),
// without a referrer, and nothing but http(s) is ever made a link.

import {h, safeHttpUrl} from './dom.js';
import {t} from './i18n.js';

const IMAGE_EXTENSION = /\.(jpe?g|png|gif|webp)$/i;

function isImage(item, url) {
  const type = typeof item.content_type === 'string' ? item.content_type.toLowerCase() : '';
  if (type) return type.startsWith('image/') && type !== 'image/svg+xml';
  return IMAGE_EXTENSION.test(new URL(url).pathname);
}

/** The list of a message's attachments, or null when it has none. */
export function mediaList(media) {
  const items = (Array.isArray(media) ? media : []).filter((item) => item && typeof item === 'object');
  if (!items.length) return null;
  return h('ul', {class: 'media', 'aria-label': t('agent.attachments')}, items.map((item, i) => {
    const url = safeHttpUrl(item.url);
    const label = item.content_type
      ? t('agent.attachment_typed', {n: i + 1, type: item.content_type}) : t('agent.attachment', {n: i + 1});
    if (!url) return h('li', null, label);
    const link = {href: url, target: '_blank', rel: 'noopener noreferrer', referrerpolicy: 'no-referrer'};
    if (url.startsWith('https:') && isImage(item, url)) {
      return h('li', {class: 'media-image'}, h('a', link,
        h('img', {src: url, alt: label, loading: 'lazy', referrerpolicy: 'no-referrer', decoding: 'async'})));
    }
    return h('li', {class: 'media-link'}, h('a', link, label));
  }));
}
