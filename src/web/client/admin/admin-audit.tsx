import { useEffect, useState } from 'preact/hooks';
import type { Translate } from '../../i18n/catalogue';
import { api } from '../lib/api';
import type { TokenSource } from '../lib/connection';
import type { ProtocolError } from '../lib/protocol';
import { asProtocolError, dateTime } from '../lib/ui';

interface AuditRecord {
  _id: number;
  at: string;
  action: string;
  actor: { kind: string; id: string; name?: string };
  sessionId: string;
}

/** The audit log, newest first, paged with `before`. */
export function AdminAudit({
  prefix,
  tokens,
  t,
  lang,
  onError,
}: {
  prefix: string;
  tokens: TokenSource;
  t: Translate;
  lang: string;
  onError: (e: ProtocolError) => void;
}) {
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const load = async (from: number | null) => {
    try {
      const page = await api<{ records: AuditRecord[]; nextBefore: number | null }>(
        prefix,
        tokens,
        `/admin/audit?limit=50${from ? `&before=${from}` : ''}`,
      );
      setRecords((current) => (from ? [...current, ...page.records] : page.records));
      setBefore(page.nextBefore);
    } catch (e) {
      onError(asProtocolError(e));
    }
  };
  useEffect(() => void load(null), []);
  return (
    <section class="admin-tab" aria-label={t('admin.tabAudit')}>
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t('admin.auditAt')}</th>
              <th scope="col">{t('admin.auditAction')}</th>
              <th scope="col">{t('admin.auditActor')}</th>
              <th scope="col">{t('admin.auditSession')}</th>
            </tr>
          </thead>
          <tbody>
            {records.map((record) => (
              <tr key={record._id} data-testid="audit-row">
                <td>{dateTime(record.at, lang)}</td>
                <td>{record.action}</td>
                <td>{record.actor.name ?? record.actor.id}</td>
                <td>
                  <code>{record.sessionId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {before && (
        <button type="button" class="secondary" onClick={() => void load(before)}>
          {t('admin.more')}
        </button>
      )}
    </section>
  );
}
