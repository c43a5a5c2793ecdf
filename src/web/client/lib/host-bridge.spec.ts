import { TOKEN, TOKEN_REQUEST } from './embed-messages';
import { HostBridge, parentTargets } from './host-bridge';

const HOST = 'https://host.example';
const OTHER_HOST = 'https://other-host.example';
const STRANGER = 'https://stranger.example';

/** A framed page's window: its parent records what is posted to it; messages are delivered by hand. */
function framedWindow(ancestorOrigins?: string[]) {
  const posted: { message: unknown; origin: string }[] = [];
  const parent = { postMessage: (message: unknown, origin: string) => posted.push({ message, origin }) };
  const listeners: ((event: Partial<MessageEvent>) => void)[] = [];
  const win = {
    parent,
    location: { ancestorOrigins },
    addEventListener: (_type: string, listener: (event: Partial<MessageEvent>) => void) => listeners.push(listener),
  };
  const deliver = (event: { origin: string; data: unknown; source: unknown }) => {
    for (const listener of listeners) listener(event as Partial<MessageEvent>);
  };
  return { win: win as unknown as Window, parent, posted, deliver };
}

const token = (value: string) => ({ type: TOKEN, token: value });

describe(parentTargets.name, () => {
  it('is empty when the page is not framed', () => {
    const win = { location: {} } as { parent?: unknown; location: object };
    win.parent = win;
    expect(parentTargets([HOST], win as unknown as Window)).toEqual([]);
  });

  it("is the parent's origin when the browser names it and it is allowed, else nothing", () => {
    expect(parentTargets([HOST, OTHER_HOST], framedWindow([OTHER_HOST]).win)).toEqual([OTHER_HOST]);
    expect(parentTargets([HOST], framedWindow([STRANGER]).win)).toEqual([]);
  });

  it('is every allowed origin when the browser does not name the parent', () => {
    expect(parentTargets([HOST, OTHER_HOST], framedWindow().win)).toEqual([HOST, OTHER_HOST]);
  });
});

describe(HostBridge.name, () => {
  it("takes the parent's token from an allowed origin and asks only that origin from then on", async () => {
    const { win, parent, posted, deliver } = framedWindow();
    const sut = new HostBridge([HOST, OTHER_HOST], win);

    const first = sut.request('initial');
    expect(posted).toEqual([
      { message: { type: TOKEN_REQUEST, reason: 'initial' }, origin: HOST },
      { message: { type: TOKEN_REQUEST, reason: 'initial' }, origin: OTHER_HOST },
    ]);
    deliver({ origin: OTHER_HOST, data: token('t1'), source: parent });
    await expect(first).resolves.toBe('t1');

    posted.length = 0;
    const second = sut.request('expiring');
    expect(posted).toEqual([{ message: { type: TOKEN_REQUEST, reason: 'expiring' }, origin: OTHER_HOST }]);
    // Another allowed origin is not heard once one has answered.
    deliver({ origin: HOST, data: token('from-the-other-host'), source: parent });
    expect(sut.current()).toBe('t1');
    deliver({ origin: OTHER_HOST, data: token('t2'), source: parent });
    await expect(second).resolves.toBe('t2');
  });

  it('ignores a token from the parent window when its origin is not allowed', () => {
    const { win, parent, deliver } = framedWindow();
    const sut = new HostBridge([HOST], win);

    deliver({ origin: STRANGER, data: token('evil'), source: parent });

    expect(sut.current()).toBeUndefined();
  });

  it('ignores a token from an allowed origin that another window than the parent posted', () => {
    const { win, deliver } = framedWindow();
    const sut = new HostBridge([HOST], win);

    deliver({ origin: HOST, data: token('from-a-sibling-frame'), source: {} });

    expect(sut.current()).toBeUndefined();
  });

  it('ignores messages that are not tokens', () => {
    const { win, parent, deliver } = framedWindow();
    const sut = new HostBridge([HOST], win);

    for (const data of [null, 'token', { type: TOKEN }, { type: TOKEN, token: '' }, { type: 'other', token: 't' }]) {
      deliver({ origin: HOST, data, source: parent });
    }

    expect(sut.current()).toBeUndefined();
  });
});
