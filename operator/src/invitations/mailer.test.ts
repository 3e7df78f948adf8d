import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { isCode } from '../errors.js';
import { LogMailer, NoMailer, SmtpMailer, createMailer } from './mailer.js';

const invitation = {
  to: 'c@client.example',
  link: 'https://portal.example/accept?token=abc',
  workspace: 'web',
  account: 'acme',
  expiresAt: new Date(0),
};

describe('mailers', () => {
  it('write the link to the log only when the development setting asks for it', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const mailer = createMailer(
      loadConfig({ DATABASE_URL: 'postgres://u:p@h/db', INVITATION_LINKS_IN_LOG: 'true' }),
      createLogger('info', sink),
    );
    expect(mailer).toBeInstanceOf(LogMailer);
    expect(lines.join('')).toContain('for development only');
    await mailer.send(invitation);
    expect(lines.join('')).toContain('https://portal.example/accept?token=abc');
    expect(lines.join('')).not.toContain('c@client.example');
  });

  it('never log a link by default: without SMTP an invitation fails with the fix, and start-up says so', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const mailer = createMailer(
      loadConfig({ DATABASE_URL: 'postgres://u:p@h/db' }),
      createLogger('info', sink),
    );
    expect(mailer).toBeInstanceOf(NoMailer);
    expect(lines.join('')).toContain('no SMTP server configured');
    const err = await mailer.send(invitation).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCode(err, 'Terminal')).toBe(true);
    expect(String(err)).toContain('SMTP_HOST');
    expect(lines.join('')).not.toContain('token=abc');
  });

  it('use SMTP when a host is configured', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@h/db',
      SMTP_HOST: 'smtp.example',
      SMTP_FROM: 'x@example.com',
    });
    expect(createMailer(config, createLogger('silent'))).toBeInstanceOf(SmtpMailer);
  });
});
