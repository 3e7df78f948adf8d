import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, PAGE_HEADERS, invitationPage, outcomePage } from './accept-page.js';

const view = {
  agency: 'Tailspin Studio',
  workspace: 'Contoso launch',
  email: 'dana@contoso.example',
  expiresAt: '2026-12-09T10:30:00Z',
};
const token = 'AbC_-'.repeat(8) + 'xyz';
const hostile = '<script>alert("x")</script>"\'&';

const styleOf = (html: string): string => html.match(/<style>([^<]*)<\/style>/)?.[1] ?? '';

describe('the accept page', () => {
  it('names the agency, the workspace and the email, and accepts with a plain form that posts the token in its body', () => {
    const html = invitationPage(view, token);
    expect(html).toContain('Tailspin Studio invited you to Contoso launch');
    expect(html).toContain('dana@contoso.example');
    expect(html).toContain('9 December 2026, 10:30 UTC');
    expect(html).toMatch(/<form method="post" action="\?">/);
    expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
    // The token is in the form alone: no link or action carries it.
    expect(html.split(token)).toHaveLength(2);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).not.toMatch(/<script|<link|<img|\son\w+=/i);
  });

  it('shows every value as text, however hostile', () => {
    const bad = { agency: hostile, workspace: hostile, email: hostile, expiresAt: hostile };
    for (const html of [
      invitationPage(bad, `${hostile}`),
      outcomePage({ outcome: 'accepted', message: hostile, view: bad }),
      outcomePage({ outcome: 'error', message: hostile }),
    ]) {
      expect(html).not.toContain('<script>');
      expect(html).not.toContain('"x"');
      expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#34;&#39;&#38;');
    }
  });

  it('allows its own style and nothing else: the policy carries the hash of the style the page has', () => {
    const style = styleOf(invitationPage(view, token));
    expect(style.length).toBeGreaterThan(100);
    const hash = createHash('sha256').update(style).digest('base64');
    expect(CONTENT_SECURITY_POLICY).toContain(`style-src 'sha256-${hash}'`);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("form-action 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('script-src');
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(styleOf(outcomePage({ outcome: 'unknown', message: 'no' }))).toBe(style);
    expect(PAGE_HEADERS['Referrer-Policy']).toBe('no-referrer');
    expect(PAGE_HEADERS['Cache-Control']).toBe('no-store');
  });

  it('says what happened and what next, for every outcome', () => {
    const cases: [string, RegExp][] = [
      ['accepted', /You joined Contoso launch.*What next:<\/strong> sign in with dana@contoso\.example/],
      ['used', /already accepted.*works only once/],
      [
        'expired',
        /has expired.*It expired on 9 December 2026, 10:30 UTC\. Ask Tailspin Studio to send it again/,
      ],
      ['revoked', /was withdrawn.*Tailspin Studio withdrew it/],
      ['teammate', /was not accepted.*the message/],
    ];
    for (const [outcome, expected] of cases) {
      const html = outcomePage({ outcome, message: 'the message', view });
      expect(html, outcome).toMatch(expected);
      expect(html, outcome).toContain('<dd>Tailspin Studio</dd><dt>Workspace</dt><dd>Contoso launch</dd>');
      expect(html, outcome).not.toContain('<form');
    }
    // Without a valid token nothing is known about the invitation, and nothing is made up.
    const unknown = outcomePage({ outcome: 'unknown', message: 'This invitation link is not valid.' });
    expect(unknown).toMatch(/This link does not work.*This invitation link is not valid\./);
    expect(unknown).not.toContain('<dl>');
  });
});
