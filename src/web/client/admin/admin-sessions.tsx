import { useEffect, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { api } from '../lib/api';
import type { TokenSource } from '../lib/connection';
import type { ProtocolError } from '../lib/protocol';
import { asProtocolError, dateTime } from '../lib/ui';
import type { AdminSessionView } from './admin-queue';

const SORTS = ['lastActivityAt', 'startedAt', 'durationMs', 'userId', 'messageCount', 'totalTokens'] as const;

interface Filters {
  q: string;
  status: '' | 'active' | 'ended';
  owner: '' | 'ai' | 'admin';
  helpRequested: boolean;
  sort: (typeof SORTS)[number];
  order: 'asc' | 'desc';
}

interface Props {
  prefix: string;
  tokens: TokenSource;
  t: Translate;
  lang: string;
  onWatch: (sessionId: string) => void;
  onError: (error: ProtocolError) => void;
}

/** Every conversation through `GET /admin/sessions`: its filters, whitelisted sorts and cursor pages. */
export function AdminSessions({ prefix, tokens, t, lang, onWatch, onError }: Props) {
  const [filters, setFilters] = useState<Filters>({
    q: '',
    status: '',
    owner: '',
    helpRequested: false,
    sort: 'lastActivityAt',
    order: 'desc',
  });
  const [rows, setRows] = useState<(AdminSessionView & { totalTokens?: number })[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);

  const query = (cursor: string | null) => {
    const params = new URLSearchParams({ sort: filters.sort, order: filters.order, limit: '25' });
    if (filters.q.trim()) params.set('q', filters.q.trim());
    if (filters.status) params.set('status', filters.status);
    if (filters.owner) params.set('owner', filters.owner);
    if (filters.helpRequested) params.set('helpRequested', 'true');
    if (cursor) params.set('cursor', cursor);
    else params.set('withTotal', 'true');
    return `/admin/sessions?${params.toString()}`;
  };
  const load = async (cursor: string | null) => {
    try {
      const page = await api<{ sessions: AdminSessionView[]; nextCursor: string | null; total?: number }>(
        prefix,
        tokens,
        query(cursor),
      );
      setRows((current) => (cursor ? [...current, ...page.sessions] : page.sessions));
      setNext(page.nextCursor);
      if (page.total !== undefined) setTotal(page.total);
    } catch (e) {
      onError(asProtocolError(e));
    }
  };
  useEffect(() => void load(null), []);
  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch });

  return (
    <section class="admin-tab" aria-label={t('admin.tabAll')}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(null);
        }}
      >
        <label>
          {t('admin.search')}{' '}
          <input value={filters.q} onInput={(e) => set({ q: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          {t('admin.status')}{' '}
          <select
            value={filters.status}
            onChange={(e) => set({ status: (e.target as HTMLSelectElement).value as Filters['status'] })}
          >
            <option value="">{t('admin.any')}</option>
            <option value="active">{t('sessions.active')}</option>
            <option value="ended">{t('sessions.ended')}</option>
          </select>
        </label>
        <label>
          {t('admin.owner')}{' '}
          <select
            value={filters.owner}
            onChange={(e) => set({ owner: (e.target as HTMLSelectElement).value as Filters['owner'] })}
          >
            <option value="">{t('admin.any')}</option>
            <option value="ai">{t('msg.assistant')}</option>
            <option value="admin">{t('msg.admin')}</option>
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={filters.helpRequested}
            onChange={(e) => set({ helpRequested: (e.target as HTMLInputElement).checked })}
          />{' '}
          {t('admin.helpOnly')}
        </label>
        <label>
          {t('admin.sort')}{' '}
          <select
            value={filters.sort}
            onChange={(e) => set({ sort: (e.target as HTMLSelectElement).value as Filters['sort'] })}
          >
            {SORTS.map((sort) => (
              <option key={sort} value={sort}>
                {sort}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('admin.order')}{' '}
          <select
            value={filters.order}
            onChange={(e) => set({ order: (e.target as HTMLSelectElement).value as Filters['order'] })}
          >
            <option value="desc">{t('admin.desc')}</option>
            <option value="asc">{t('admin.asc')}</option>
          </select>
        </label>
        <button type="submit">{t('admin.apply')}</button>
      </form>
      {total !== null && (
        <p class="card-meta" data-testid="total">
          {t('admin.total', { count: String(total) })}
        </p>
      )}
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('admin.colUser')}</th>
              <th scope="col">{t('admin.colName')}</th>
              <th scope="col">{t('admin.colStarted')}</th>
              <th scope="col">{t('admin.colMessages')}</th>
              <th scope="col">{t('admin.colTokens')}</th>
              <th scope="col">{t('admin.colStatus')}</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} data-testid="session-row">
                <td>{row.userName ?? row.userId}</td>
                <td>{row.name ?? '—'}</td>
                <td>{dateTime(row.startedAt, lang)}</td>
                <td>{row.messageCount}</td>
                <td>{row.totalTokens ?? 0}</td>
                <td>{t(row.status === 'active' ? 'sessions.active' : 'sessions.ended')}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => onWatch(row.id)}>
                    {t('admin.watch')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" class="secondary" onClick={() => void load(next)}>
          {t('admin.more')}
        </button>
      )}
    </section>
  );
}
