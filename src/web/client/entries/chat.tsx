import { render } from 'preact';
import { translator } from '../../i18n/catalogue';
import { ChatApp } from '../chat/chat-app';
import { ChatController } from '../chat/chat-controller';
import { Connection } from '../lib/connection';
import { FileAccess } from '../lib/files';
import { setModelLinkHosts } from '../lib/link-policy';
import { readPageConfig } from '../lib/page-config';
import { hostTokens } from '../lib/token-source';
import '../styles/app.css';

const config = readPageConfig();
setModelLinkHosts(config.modelLinkHosts);
const t = translator(config.lang);
document.title = t('app.title');
const root = document.getElementById('app')!;
const tokens = hostTokens(config);
if (!tokens) {
  render(<p class="notice">{t('auth.noHost')}</p>, root);
} else {
  const params = new URLSearchParams(location.search);
  const requested = params.get('session');
  const opening = {
    sessionId: requested && /^[0-9a-f-]{36}$/i.test(requested) ? requested : null,
    startNew: params.get('new') === '1',
  };
  // A reload must not start yet another session, nor reopen an old one over the one on screen.
  params.delete('new');
  params.delete('session');
  history.replaceState(null, '', `${location.pathname}${params.size > 0 ? `?${params.toString()}` : ''}`);
  const connection = new Connection(config.prefix, '/chat', tokens);
  const controller = new ChatController(config.prefix, tokens, connection, opening);
  render(
    <ChatApp
      controller={controller}
      t={t}
      lang={config.lang}
      sessionsHref={`${config.prefix}/sessions`}
      files={new FileAccess(config.prefix, tokens)}
    />,
    root,
  );
  void controller.start();
}
