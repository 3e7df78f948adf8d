import { createHash } from 'node:crypto';

/** Who invited whom where, as the client reads it: display names, not slugs. */
export interface InvitationView {
  /** The Account's `spec.displayName` (its name when it cannot be read). */
  agency: string;
  /** The Workspace's `spec.displayName` (its slug when it cannot be read). */
  workspace: string;
  /** The invited email, canonical. */
  email: string;
  expiresAt?: string | undefined;
}

/** What a page says about one answer of the accept endpoint. */
export interface PageOutcome {
  outcome: string;
  message: string;
  view?: InvitationView | undefined;
}

/**
 * The only page a client of an agency ever sees, so it must work everywhere: no JavaScript at all (the accept
 * button is a plain form POST), a layout that fits a 360 px phone, body text at 18 px and colours well above
 * WCAG AA contrast (measured in Chromium: text 17.4:1, the button 6.4:1).
 */
const STYLE = [
  '*{box-sizing:border-box}',
  'html{font-size:112.5%;-webkit-text-size-adjust:100%;text-size-adjust:100%}',
  'body{margin:0;background:#f4f5f7;color:#1a1a1a;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}',
  'main{max-width:34rem;margin:0 auto;padding:2rem 1.25rem;overflow-wrap:anywhere}',
  '.card{background:#fff;border:1px solid #d0d4db;border-radius:12px;padding:1.5rem 1.25rem}',
  '.kicker{margin:0;color:#44474f;font-size:.875rem;font-weight:600;letter-spacing:.04em;text-transform:uppercase}',
  'h1{margin:.25rem 0 1rem;font-size:1.625rem;line-height:1.25}',
  'dl{margin:0 0 1.25rem}',
  'dt{color:#44474f;font-size:.875rem}',
  'dd{margin:0 0 .75rem;font-weight:600}',
  'p{margin:0 0 1rem}',
  'button{display:block;width:100%;min-height:48px;margin:1.5rem 0 1rem;padding:.75rem 1rem;border:0;border-radius:8px;background:#0b57d0;color:#fff;font:inherit;font-weight:600;cursor:pointer}',
  'button:hover{background:#0842a0}',
  'button:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}',
  '.note{color:#44474f;font-size:1rem}',
].join('');

/**
 * Nothing but this page's own style may load or run, forms post only back here, and no other site may frame the
 * page (a click on a hidden accept button) or learn its address (the token is in it).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "img-src 'none'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An expiry as people read it, in UTC since the server cannot know the reader's zone. */
function readableDate(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  const day = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(date);
  const time = new Intl.DateTimeFormat('en-GB', { timeStyle: 'short', timeZone: 'UTC' }).format(date);
  return `${day}, ${time} UTC`;
}

/**
 * Builds HTML from fixed text and values; every value passes through escapeHtml exactly once. (Not named `html`:
 * prettier would reformat the templates, and whitespace inside the style element would break its hash.)
 */
type Html = { readonly html: string };
const raw = (html: string): Html => ({ html });
function markup(strings: TemplateStringsArray, ...values: (string | Html)[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += (typeof v === 'string' ? escapeHtml(v) : v.html) + (strings[i + 1] ?? '');
  });
  return raw(out);
}
const strong = (s: string): Html => markup`<strong>${s}</strong>`;
const nothing = raw('');

function pageOf(title: string, body: Html): string {
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"><title>${title}</title><style>${raw(STYLE)}</style></head>
<body><main><div class="card">${body}</div></main></body></html>
`.html;
}

function details(view: InvitationView): Html {
  return markup`<dl><dt>Agency</dt><dd>${view.agency}</dd><dt>Workspace</dt><dd>${view.workspace}</dd><dt>Invited email</dt><dd>${view.email}</dd></dl>`;
}

/** The page a link opens: who invites whom where, and one button that accepts. */
export function invitationPage(view: InvitationView, token: string): string {
  const expires = readableDate(view.expiresAt);
  return pageOf(
    `Join ${view.workspace}`,
    markup`<p class="kicker">Invitation</p><h1>${view.agency} invited you to ${view.workspace}</h1>${details(view)}<p>Accepting gives ${strong(view.email)} read-only access to the ${strong(view.workspace)} workspace of ${strong(view.agency)}.</p>${expires ? markup`<p class="note">The invitation expires on ${expires}.</p>` : nothing}<form method="post" action="?"><input type="hidden" name="token" value="${token}"><button type="submit">Accept the invitation</button></form><p class="note">Not expecting this? Close the page: nothing happens unless you accept.</p>`,
  );
}

/** The page for every answer but a valid link opened: what happened, and what the person can do next. */
export function outcomePage(result: PageOutcome): string {
  const view = result.view;
  const message = markup`<p>${result.message}</p>`;
  switch (result.outcome) {
    case 'accepted':
      if (!view) break;
      return pageOf(
        'Invitation accepted',
        markup`<p class="kicker">Invitation accepted</p><h1>You joined ${view.workspace}</h1>${details(view)}<p>${strong(view.email)} now has read-only access to the ${strong(view.workspace)} workspace of ${strong(view.agency)}.</p><p><strong>What next:</strong> sign in with ${view.email} where ${view.agency} told you to; the workspace is there. The link has done its job, and you can close this page.</p>`,
      );
    case 'used':
      if (!view) break;
      return pageOf(
        'Invitation already accepted',
        markup`<p class="kicker">Invitation</p><h1>This invitation was already accepted</h1>${details(view)}<p>The link works only once. If you accepted it, there is nothing more to do: sign in with ${view.email}. If you did not, tell ${view.agency}.</p>`,
      );
    case 'expired': {
      if (!view) break;
      const expired = readableDate(view.expiresAt);
      return pageOf(
        'Invitation expired',
        markup`<p class="kicker">Invitation</p><h1>This invitation has expired</h1>${details(view)}<p>${expired ? markup`It expired on ${expired}. ` : nothing}Ask ${view.agency} to send it again: the new email has a fresh link.</p>`,
      );
    }
    case 'revoked':
      if (!view) break;
      return pageOf(
        'Invitation withdrawn',
        markup`<p class="kicker">Invitation</p><h1>This invitation was withdrawn</h1>${details(view)}<p>${view.agency} withdrew it, so it cannot be accepted. If you think that is a mistake, ask them for a new invitation.</p>`,
      );
    case 'malformed':
    case 'unknown':
      return pageOf(
        'Invitation link not valid',
        markup`<p class="kicker">Invitation</p><h1>This link does not work</h1>${message}`,
      );
  }
  return pageOf(
    'Invitation not accepted',
    markup`<p class="kicker">Invitation</p><h1>The invitation was not accepted</h1>${view ? details(view) : nothing}${message}`,
  );
}
