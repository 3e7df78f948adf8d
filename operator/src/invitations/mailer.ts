import type { Transporter } from 'nodemailer';
import type { Config } from '../config.js';
import { OperatorError, errorMessage, terminal } from '../errors.js';
import type { Logger } from '../log.js';
import type { Invitation, Mailer } from '../domain/invitations.js';

export type { Invitation, Mailer };

function message(i: Invitation, from: string) {
  const expires = i.expiresAt.toUTCString();
  return {
    from,
    to: i.to,
    subject: `You are invited to the ${i.workspace} workspace of ${i.account}`,
    text: [
      `${i.account} invites you to the ${i.workspace} workspace, with read-only client access.`,
      '',
      `Accept the invitation: ${i.link}`,
      '',
      `The link works once and expires on ${expires}. If you did not expect this invitation, ignore this email.`,
    ].join('\n'),
  };
}

/**
 * SMTP through nodemailer: STARTTLS when the server offers it, implicit TLS with `secure`, optional login.
 * nodemailer is loaded with the first email: an operator that sends none does not hold it (0.7 MB of heap, about
 * 2 MB of resident memory at start, measured by importing dist/operator.js with and without it).
 */
export class SmtpMailer implements Mailer {
  private transport: Promise<Transporter> | undefined;

  constructor(private readonly smtp: NonNullable<Config['smtp']>) {}

  private connect(): Promise<Transporter> {
    const smtp = this.smtp;
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        auth: smtp.username !== undefined ? { user: smtp.username, pass: smtp.password ?? '' } : undefined,
        tls: { rejectUnauthorized: smtp.rejectUnauthorized },
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      }),
    );
    return this.transport;
  }

  async send(invitation: Invitation): Promise<void> {
    try {
      await (await this.connect()).sendMail(message(invitation, this.smtp.from));
    } catch (err) {
      // The server's answer names the problem; the link stays out of the error.
      throw new OperatorError(
        'Unavailable',
        `SMTP delivery to ${this.smtp.host}:${this.smtp.port} failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
}

/**
 * Development without SMTP, and only when `INVITATION_LINKS_IN_LOG=true` says so: the link goes to the log. A token
 * is as good as the client's access, so this is the one log line that may carry one, and never by default.
 */
export class LogMailer implements Mailer {
  constructor(private readonly log: Logger) {}

  async send(i: Invitation): Promise<void> {
    this.log.info(
      { workspace: i.workspace, account: i.account, expiresAt: i.expiresAt.toISOString(), link: i.link },
      'INVITATION_LINKS_IN_LOG: invitation link',
    );
  }
}

/** What an invitation reports when there is no way to deliver it. */
export const NO_MAILER_MESSAGE =
  'the invitation email cannot be sent: no SMTP server is configured (set SMTP_HOST and SMTP_FROM; for development only, INVITATION_LINKS_IN_LOG=true writes links to the operator log instead)';

/** Neither SMTP nor the development setting: nothing is sent, and the invitation says why (a person must act). */
export class NoMailer implements Mailer {
  async send(): Promise<void> {
    throw terminal(NO_MAILER_MESSAGE);
  }
}

/**
 * SMTP when configured; links in the log only when the development setting asks for it; otherwise invitations
 * wait with a condition that names the fix. Both fallbacks say so once, at start-up.
 */
export function createMailer(config: Config, log: Logger): Mailer {
  if (config.smtp) return new SmtpMailer(config.smtp);
  if (config.invitations.linksInLog) {
    log.warn(
      'INVITATION_LINKS_IN_LOG=true: invitation links, tokens included, are written to this log; use it for development only and configure SMTP_HOST in production',
    );
    return new LogMailer(log);
  }
  log.warn(`no SMTP server configured: ${NO_MAILER_MESSAGE}`);
  return new NoMailer();
}
