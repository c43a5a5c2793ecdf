import { render } from 'preact';
import { translator } from '../../i18n/catalogue';
import { AdminApp } from '../admin/admin-app';
import { AdminController } from '../admin/admin-controller';
import { Connection } from '../lib/connection';
import { setModelLinkHosts } from '../lib/link-policy';
import { readPageConfig } from '../lib/page-config';
import { hostTokens } from '../lib/token-source';
import '../styles/app.css';

const config = readPageConfig();
setModelLinkHosts(config.modelLinkHosts);
const t = translator(config.lang);
document.title = t('admin.title');
const root = document.getElementById('app')!;
const tokens = hostTokens(config);
if (!tokens) {
  render(<p class="notice">{t('auth.noHost')}</p>, root);
} else {
  // The token's subject, read (not verified: the server does that) to know which sessions this admin holds.
  const adminId = () => {
    const payload = tokens.current()?.split('.')[1];
    if (!payload) return undefined;
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as {
      sub?: string;
      user_id?: string;
    };
    return claims.sub ?? claims.user_id;
  };
  const controller = new AdminController(
    config.prefix,
    tokens,
    new Connection(config.prefix, '/admin', tokens),
    adminId,
  );
  render(<AdminApp controller={controller} t={t} lang={config.lang} prefix={config.prefix} tokens={tokens} />, root);
  void controller.start();
}
