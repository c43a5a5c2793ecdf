import { modelMayLink } from './link-policy';

describe(modelMayLink.name, () => {
  const hosts = ['docs.example.com', '*.help.example'];

  it.each([
    ['https://docs.example.com/guide', true],
    ['https://DOCS.example.com/guide', true],
    ['https://a.help.example/x', true],
    ['https://deep.a.help.example/x', true],
    ['https://help.example/x', false],
    ['http://docs.example.com/guide', false],
    ['https://docs.example.com.evil.example/', false],
    ['https://evil.example/?docs.example.com', false],
    ['https://docs.example.com@evil.example/', false],
    ['https://user:pass@docs.example.com/', false],
    ['https://evilhelp.example/', false],
    ['javascript:alert(1)', false],
    ['mailto:someone@docs.example.com', false],
    ['/relative/path', false],
    // Resolved against the page by a browser: to the page's own origin, not to the host they name.
    ['https:docs.example.com/../../account/delete', false],
    ['https:/docs.example.com/x', false],
    ['https:\\\\docs.example.com/x', false],
    ['HTTPS://docs.example.com/upper', true],
    ['https://docs.example.com:444/other-port', false],
  ])('%s → %p', (href, allowed) => {
    expect(modelMayLink(href, hosts)).toBe(allowed);
  });

  it('lets a model link nowhere when no host is allowed', () => {
    expect(modelMayLink('https://docs.example.com/', [])).toBe(false);
  });
});
