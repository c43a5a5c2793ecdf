import { render } from 'preact';
import { mount } from '../lib/mount';
import { readPageConfig } from '../lib/page-config';
import '../styles/dev-host.css';

/**
 * Development only: a host page on the app's own origin that frames the chat, or with `?as=admin` the admin
 * console, and hands it the development user's (or admin's) token, the way a host application does.
 */
const config = readPageConfig();
const tokens = config.devTokens!;
const asAdmin = new URLSearchParams(location.search).get('as') === 'admin';
const root = document.getElementById('app')!;
render(
  <header class="dev-bar">
    <strong>Chatbox development host</strong> — signed in as the development {asAdmin ? 'admin' : 'user'} ·{' '}
    <a href={`${config.prefix}/dev/host`}>chat</a> · <a href={`${config.prefix}/dev/host?as=admin`}>admin console</a>
  </header>,
  root,
);
const container = document.createElement('div');
container.className = 'dev-frame';
root.appendChild(container);
mount({
  container,
  baseUrl: `${location.origin}${config.prefix}/`,
  page: asAdmin ? 'admin' : 'chat',
  lang: config.lang,
  getToken: () => (asAdmin ? tokens.admin : tokens.user),
});
