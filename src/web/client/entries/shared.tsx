import { render } from 'preact';
import { translator } from '../../i18n/catalogue';
import { setModelLinkHosts } from '../lib/link-policy';
import { readPageConfig } from '../lib/page-config';
import { SharedApp } from '../shared/shared-app';
import '../styles/app.css';

const config = readPageConfig();
setModelLinkHosts(config.modelLinkHosts);
const t = translator(config.lang);
document.title = t('shared.title');
const token = decodeURIComponent(location.pathname.slice(`${config.prefix}/shared/`.length));
render(<SharedApp prefix={config.prefix} token={token} t={t} lang={config.lang} />, document.getElementById('app')!);
