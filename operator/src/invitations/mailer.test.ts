import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { LogMailer, SmtpMailer, createMailer } from './mailer.js';

describe('mailers', () => {
  it('write the link to the log when no SMTP server is configured', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const mailer = createMailer(
      loadConfig({ DATABASE_URL: 'postgres://u:p@h/db' }),
      createLogger('info', sink),
    );
    expect(mailer).toBeInstanceOf(LogMailer);
    await mailer.send({
      to: 'c@client.example',
      link: 'https://portal.example/accept?token=abc',
      workspace: 'web',
      account: 'acme',
      expiresAt: new Date(0),
    });
    expect(lines.join('')).toContain('https://portal.example/accept?token=abc');
    expect(lines.join('')).not.toContain('c@client.example');
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
