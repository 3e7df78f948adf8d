import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import { OperatorError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export interface Invitation {
  to: string;
  link: string;
  workspace: string;
  account: string;
  expiresAt: Date;
}

/** Delivers invitation links. */
export interface Mailer {
  send(invitation: Invitation): Promise<void>;
}

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

/** SMTP through nodemailer: STARTTLS when the server offers it, implicit TLS with `secure`, optional login. */
export class SmtpMailer implements Mailer {
  private readonly transport: nodemailer.Transporter;

  constructor(private readonly smtp: NonNullable<Config['smtp']>) {
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.username !== undefined ? { user: smtp.username, pass: smtp.password ?? '' } : undefined,
      tls: { rejectUnauthorized: smtp.rejectUnauthorized },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
  }

  async send(invitation: Invitation): Promise<void> {
    try {
      await this.transport.sendMail(message(invitation, this.smtp.from));
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
 * Development without SMTP: the link goes to the log, and only there. This is the one log line that carries a
 * token, by design, so that a local platform can be used without a mail server.
 */
export class LogMailer implements Mailer {
  constructor(private readonly log: Logger) {}

  async send(i: Invitation): Promise<void> {
    this.log.info(
      { workspace: i.workspace, account: i.account, expiresAt: i.expiresAt.toISOString(), link: i.link },
      'no SMTP configured: invitation link',
    );
  }
}

export function createMailer(config: Config, log: Logger): Mailer {
  return config.smtp ? new SmtpMailer(config.smtp) : new LogMailer(log);
}
