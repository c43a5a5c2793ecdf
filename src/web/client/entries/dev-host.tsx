import { render } from 'preact';
import { mount } from '../lib/mount';
import { readPageConfig } from '../lib/page-config';
import '../styles/dev-host.css';

/**
 * Development only: a host page on the app's own origin that frames the chat and hands it the development
 * user's token, the way a host application does.
 */
const config = readPageConfig();
const tokens = config.devTokens!;
const root = document.getElementById('app')!;
render(
  <header class="dev-bar">
    <strong>Chatbox development host</strong> — the chat below is signed in as the development user.
  </header>,
  root,
);
const container = document.createElement('div');
container.className = 'dev-frame';
root.appendChild(container);
mount({
  container,
  baseUrl: `${location.origin}${config.prefix}/`,
  lang: config.lang,
  getToken: () => tokens.user,
});
