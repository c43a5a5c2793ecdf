import { routeUserMessage } from './route-decision';

describe(routeUserMessage.name, () => {
  it('sends a message to the AI when the AI owns the session', () => {
    expect(routeUserMessage('ai')).toEqual({ to: 'ai' });
  });

  it('sends a message to the administrator who holds the session', () => {
    expect(routeUserMessage('admin:ops-7')).toEqual({ to: 'admin', adminId: 'ops-7' });
  });
});
