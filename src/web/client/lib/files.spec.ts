import { SharedUrls } from './files';

/** A loader whose fetches the test settles, and a blob: URL API that records what it made and freed. */
function harness() {
  const fetches: { id: string; resolve: (blob: Blob) => void; reject: (error: Error) => void }[] = [];
  const created: string[] = [];
  const revoked: string[] = [];
  const urls = new SharedUrls((id) => new Promise<Blob>((resolve, reject) => fetches.push({ id, resolve, reject })), {
    create: () => {
      const url = `blob:test/${created.length}`;
      created.push(url);
      return url;
    },
    revoke: (url) => revoked.push(url),
  });
  return { urls, fetches, created, revoked };
}

// A release queues the revoke on the URL's promise: awaiting that promise after it runs the revoke first.

describe(SharedUrls.name, () => {
  it('fetches a file once for every holder and revokes its URL when the last one lets go', async () => {
    const { urls, fetches, revoked } = harness();
    const first = urls.acquire('f1');
    const second = urls.acquire('f1');
    expect(fetches.map((f) => f.id)).toEqual(['f1']);
    fetches[0].resolve(new Blob(['x']));
    expect(await first.url).toBe('blob:test/0');
    expect(await second.url).toBe('blob:test/0');
    first.release();
    await first.url;
    expect(revoked).toEqual([]);
    second.release();
    await second.url;
    expect(revoked).toEqual(['blob:test/0']);
  });

  it('fetches again for a holder after the URL was freed', async () => {
    const { urls, fetches, revoked } = harness();
    const first = urls.acquire('f1');
    fetches[0].resolve(new Blob(['x']));
    await first.url;
    first.release();
    const again = urls.acquire('f1');
    expect(fetches).toHaveLength(2);
    fetches[1].resolve(new Blob(['x']));
    expect(await again.url).toBe('blob:test/1');
    await first.url;
    expect(revoked).toEqual(['blob:test/0']);
  });

  it('revokes a URL released before its fetch ended, once it is made', async () => {
    const { urls, fetches, revoked } = harness();
    const held = urls.acquire('f1');
    held.release();
    fetches[0].resolve(new Blob(['x']));
    await held.url;
    expect(revoked).toEqual(['blob:test/0']);
  });

  it('counts a second release of one holder once', async () => {
    const { urls, fetches, revoked } = harness();
    const first = urls.acquire('f1');
    const second = urls.acquire('f1');
    fetches[0].resolve(new Blob(['x']));
    await first.url;
    first.release();
    first.release();
    await first.url;
    expect(revoked).toEqual([]);
    second.release();
    await second.url;
    expect(revoked).toEqual(['blob:test/0']);
  });

  it('tries a failed fetch again for the next holder', async () => {
    const { urls, fetches, created } = harness();
    const failed = urls.acquire('f1');
    fetches[0].reject(new Error('503'));
    await expect(failed.url).rejects.toThrow('503');
    failed.release();
    const next = urls.acquire('f1');
    expect(fetches).toHaveLength(2);
    fetches[1].resolve(new Blob(['x']));
    expect(await next.url).toBe('blob:test/0');
    expect(created).toEqual(['blob:test/0']);
  });
});
