import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Translate } from '../../i18n/catalogue';
import { api } from '../lib/api';
import type { TokenSource } from '../lib/connection';
import type { ProtocolError } from '../lib/protocol';
import { asProtocolError } from '../lib/ui';

interface Figures {
  sessions: { started: number; ended: number; assisted: number; assistedShare: number | null };
  concurrency: { average: number | null; max: number | null };
  messages: { user: number; ai: number; admin: number; system: number };
  tokens: { promptTokens: number; completionTokens: number; estimatedCost: number | null };
  responseTime: { p50Ms: number | null; p95Ms: number | null };
  help: { requests: number; pickups: number; pickupAverageMs: number | null; pickupP95Ms: number | null };
  takeovers: number;
}

interface Metrics {
  totals: Figures;
  buckets: (Figures & { start: string })[];
}

const day = 24 * 3600 * 1000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const num = (n: number | null, digits = 0) => (n === null ? '—' : n.toFixed(digits));
const ms = (n: number | null) => (n === null ? '—' : n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

/** Usage figures for a chosen range (`GET /admin/metrics`): cards for the totals, a chart per bucket. */
export function AdminMetrics({
  prefix,
  tokens,
  t,
  onError,
}: {
  prefix: string;
  tokens: TokenSource;
  t: Translate;
  onError: (e: ProtocolError) => void;
}) {
  const [from, setFrom] = useState(isoDay(Date.now() - 6 * day));
  const [to, setTo] = useState(isoDay(Date.now()));
  const [bucket, setBucket] = useState<'hour' | 'day'>('day');
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const chart = useRef<HTMLDivElement>(null);

  const load = async () => {
    const params = new URLSearchParams({
      from: new Date(`${from}T00:00:00Z`).toISOString(),
      to: new Date(Date.parse(`${to}T00:00:00Z`) + day).toISOString(),
      bucket,
    });
    try {
      setMetrics(await api<Metrics>(prefix, tokens, `/admin/metrics?${params.toString()}`));
    } catch (e) {
      onError(asProtocolError(e));
    }
  };
  useEffect(() => void load(), []);
  useLayoutEffect(() => {
    const target = chart.current;
    if (!target || !metrics) return;
    const xs = metrics.buckets.map((b) => Date.parse(b.start) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(280, target.clientWidth),
        height: 220,
        series: [
          {},
          { label: t('admin.mStarted'), stroke: '#1f5fbf', width: 2 },
          { label: t('admin.colMessages'), stroke: '#1d8a3a', width: 2 },
        ],
      },
      [
        xs,
        metrics.buckets.map((b) => b.sessions.started),
        metrics.buckets.map((b) => b.messages.user + b.messages.ai + b.messages.admin),
      ],
      target,
    );
    return () => plot.destroy();
  }, [metrics]);

  const total = metrics?.totals;
  const cards: [string, string][] = total
    ? [
        [t('admin.mStarted'), String(total.sessions.started)],
        [t('admin.mEnded'), String(total.sessions.ended)],
        [t('admin.mConcurrent'), `${num(total.concurrency.average, 1)} / ${num(total.concurrency.max)}`],
        [t('admin.mMessages'), `${total.messages.user} / ${total.messages.ai} / ${total.messages.admin}`],
        [t('admin.mTokens'), `${total.tokens.promptTokens} / ${total.tokens.completionTokens}`],
        [t('admin.mCost'), total.tokens.estimatedCost === null ? '—' : total.tokens.estimatedCost.toFixed(4)],
        [t('admin.mResponse'), `${ms(total.responseTime.p50Ms)} / ${ms(total.responseTime.p95Ms)}`],
        [t('admin.mHelp'), `${total.help.requests} / ${total.help.pickups}`],
        [t('admin.mPickup'), `${ms(total.help.pickupAverageMs)} / ${ms(total.help.pickupP95Ms)}`],
        [t('admin.mTakeovers'), String(total.takeovers)],
        [
          t('admin.mAssisted'),
          total.sessions.assistedShare === null ? '—' : `${Math.round(total.sessions.assistedShare * 100)} %`,
        ],
      ]
    : [];

  return (
    <section class="admin-tab" aria-label={t('admin.tabMetrics')}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          {t('admin.from')}{' '}
          <input type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t('admin.to')} <input type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t('admin.bucket')}{' '}
          <select value={bucket} onChange={(e) => setBucket((e.target as HTMLSelectElement).value as 'hour' | 'day')}>
            <option value="day">{t('admin.day')}</option>
            <option value="hour">{t('admin.hour')}</option>
          </select>
        </label>
        <button type="submit">{t('admin.show')}</button>
      </form>
      <dl class="metric-cards">
        {cards.map(([label, value]) => (
          <div key={label} class="metric-card" data-testid="metric">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <figure class="chart">
        <div ref={chart} role="img" aria-label={t('admin.chart')} />
        <figcaption>{t('admin.chart')}</figcaption>
      </figure>
    </section>
  );
}
