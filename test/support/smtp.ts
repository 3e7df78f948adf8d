import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** A real SMTP server in the test process (smtp-server), with a login, collecting what it receives. */
export class TestSmtpServer {
  readonly messages: ReceivedMail[] = [];
  private readonly server: SMTPServer;
  port = 0;
  readonly username = 'operator';
  readonly password = 'smtp-test-password';

  constructor() {
    this.server = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (auth.username === this.username && auth.password === this.password)
          callback(null, { user: auth.username });
        else callback(new Error('invalid login'));
      },
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            this.messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: mail.subject ?? '',
              text: mail.text ?? '',
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The environment that points an operator at this server. */
  env(): Record<string, string> {
    return {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(this.port),
      SMTP_USERNAME: this.username,
      SMTP_PASSWORD: this.password,
      SMTP_FROM: 'Workspace invitations <invitations@operator.example>',
    };
  }

  /** Messages to one address, in the order they arrived. */
  to(address: string): ReceivedMail[] {
    return this.messages.filter((m) => m.to.includes(address));
  }
}

/** The token in an invitation email's link. */
export function tokenOf(mail: ReceivedMail): string {
  const match = mail.text.match(/https:\/\/\S+[?&]token=([A-Za-z0-9_-]{43})/);
  if (!match?.[1]) throw new Error(`no invitation link in: ${mail.text}`);
  return match[1];
}
