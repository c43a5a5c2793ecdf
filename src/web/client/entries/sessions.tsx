import { render } from 'preact';
import { translator } from '../../i18n/catalogue';
import { readPageConfig } from '../lib/page-config';
import { hostTokens } from '../lib/token-source';
import { SessionsApp } from '../sessions/sessions-app';
import '../styles/app.css';

const config = readPageConfig();
const t = translator(config.lang);
document.title = t('sessions.title');
const root = document.getElementById('app')!;
const tokens = hostTokens(config);
render(
  tokens ? (
    <SessionsApp prefix={config.prefix} tokens={tokens} t={t} lang={config.lang} />
  ) : (
    <p class="notice">{t('auth.noHost')}</p>
  ),
  root,
);
