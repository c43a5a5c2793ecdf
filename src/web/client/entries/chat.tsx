import { render } from 'preact';
import { translator } from '../../i18n/catalogue';
import { ChatApp } from '../chat/chat-app';
import { ChatController } from '../chat/chat-controller';
import { Connection } from '../lib/connection';
import { readPageConfig } from '../lib/page-config';
import { hostTokens } from '../lib/token-source';
import '../styles/app.css';

const config = readPageConfig();
const t = translator(config.lang);
document.title = t('app.title');
const root = document.getElementById('app')!;
const tokens = hostTokens(config);
if (!tokens) {
  render(<p class="notice">{t('auth.noHost')}</p>, root);
} else {
  const requested = new URLSearchParams(location.search).get('session');
  const sessionId = requested && /^[0-9a-f-]{36}$/i.test(requested) ? requested : null;
  const connection = new Connection(config.prefix, '/chat', tokens);
  const controller = new ChatController(config.prefix, tokens, connection, sessionId);
  render(<ChatApp controller={controller} t={t} lang={config.lang} />, root);
  void controller.start();
}
