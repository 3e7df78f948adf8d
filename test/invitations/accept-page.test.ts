import { PassThrough } from 'node:stream';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { freePort } from '../../operator/tools/local/processes.js';
import { launchChromium, screenshotPath, spkiHash } from '../support/browser.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, read, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL } from '../support/operator.js';
import { TestSmtpServer, tokenOf, type ReceivedMail } from '../support/smtp.js';
import { startOperatorWithWebhook } from '../support/webhook.js';

/** A phone: a 390 by 844 CSS pixel screen at twice the density, touch. */
const PHONE = { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
/** The smallest touch target the platform guides ask for (Apple 44 pt, Material 48 dp). */
const MIN_TARGET_PX = 44;
/** WCAG AA for body text. */
const MIN_CONTRAST = 4.5;

const shard = uniqueName('page');
const agency = `${shard}-tail`;
const hostile = `${shard}-evil`;
const HOSTILE_AGENCY = '<script>alert("agency")</script>';
const HOSTILE_WORKSPACE = '<img src=x onerror=alert("workspace")>';
const smtp = new TestSmtpServer();
let api: Api;
let operator: Operator;
let browser: Browser;
let base: string;
let stop: () => Promise<void> = async () => {};
/** Everything the operator logs, at debug level, and every token it mailed: none may appear in the other. */
let logged = '';
const tokens: string[] = [];

beforeAll(async () => {
  api = await adminApi();
  await smtp.start();
  const port = await freePort();
  base = `https://127.0.0.1:${port}/accept`;
  ({ operator, stop } = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [agency, hostile],
    // The email's link is the listener itself, so the browser opens exactly what the client is sent.
    env: { ...smtp.env(), ACCEPT_PORT: String(port), ACCEPT_BASE_URL: base, LOG_LEVEL: 'debug' },
    logTo: new PassThrough().on('data', (line: Buffer) => (logged += line.toString('utf8'))),
  }));
  const serving = await operator.webhook?.certificates.current();
  if (!serving) throw new Error('the operator serves no accept endpoint');
  browser = await launchChromium(spkiHash(serving.certificate));
  await createAccount(api, shard, agency, { displayName: 'Tailspin Studio' });
  await createAccount(api, shard, hostile, { displayName: HOSTILE_AGENCY });
  await createWorkspace(api, shard, agency, 'launch', { displayName: 'Contoso launch' });
  await createWorkspace(api, shard, hostile, 'site', { displayName: HOSTILE_WORKSPACE });
  await waitReady(api, Resources.Workspace, agency, 'launch');
  await waitReady(api, Resources.Workspace, hostile, 'site');
});

afterAll(async () => {
  await browser?.close();
  await stop();
  await smtp.stop();
  api.client.close();
});

/** Invites an email and returns the link of the email it gets. */
async function invite(account: string, workspace: string, name: string, email: string): Promise<string> {
  await api.create(Resources.ClientInvitation, {
    metadata: { name, namespace: account, labels: { [SHARD_LABEL]: shard } },
    spec: { workspace, email },
  });
  const mail = await eventually<ReceivedMail>(`the email to ${email}`, async () => smtp.to(email)[0]);
  const token = tokenOf(mail);
  tokens.push(token);
  return `${base}?token=${token}`;
}

async function phonePage(javaScript: boolean): Promise<Page> {
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(javaScript);
  await page.setViewport(PHONE);
  return page;
}

/** What the person reads: the rendered text of the page, not its source. */
const visibleText = (page: Page): Promise<string> => page.$eval('body', (b) => b.innerText);

/** How the page sits on the screen: overflow, the button, type size and contrast, measured by the browser. */
function layout(page: Page) {
  return page.$eval('html', (root) => {
    const document = root.ownerDocument;
    const window = document.defaultView;
    if (!window) throw new Error('the page has no window');
    const getComputedStyle = window.getComputedStyle.bind(window);
    const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const luminance = (css: string) => {
      const [r = 0, g = 0, b = 0] = rgb(css).map((c) => {
        const s = c / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const contrast = (fg: string, bg: string) => {
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
    };
    const card = document.querySelector('.card');
    const button = document.querySelector('button');
    const text = getComputedStyle(document.querySelector('p:not([class])') ?? document.body);
    // Every element that shows text of its own (a hidden input has a font size, and nothing to read).
    const sizes = [...document.querySelectorAll('body *')]
      .filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && (n.textContent ?? '').trim() !== ''))
      .map((e) => parseFloat(getComputedStyle(e).fontSize));
    const cardBg = card ? getComputedStyle(card).backgroundColor : 'rgb(255, 255, 255)';
    const box = button?.getBoundingClientRect();
    const buttonStyle = button ? getComputedStyle(button) : undefined;
    return {
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      fontSizePx: parseFloat(text.fontSize),
      smallestFontPx: Math.min(...sizes),
      textContrast: contrast(text.color, cardBg),
      button: box && {
        height: box.height,
        left: box.left,
        right: box.right,
        contrast: buttonStyle ? contrast(buttonStyle.color, buttonStyle.backgroundColor) : 0,
      },
    };
  });
}

describe('the accept page in a browser', () => {
  it('tells a phone without JavaScript who invited whom where, fits the screen, and accepts with its button', async () => {
    const link = await invite(agency, 'launch', 'dana', 'dana@contoso.example');
    const page = await phonePage(false);
    const opened = await page.goto(link);
    expect(opened?.status()).toBe(200);
    const headers = opened?.headers() ?? {};
    expect(headers['content-security-policy']).toMatch(/default-src 'none'.*form-action 'self'/);
    expect(headers['referrer-policy']).toBe('no-referrer');
    // JavaScript is off: the page must not need it (and has none).
    expect(await page.$$('script')).toHaveLength(0);

    const text = await visibleText(page);
    expect(text).toContain('Tailspin Studio invited you to Contoso launch');
    expect(text).toContain('dana@contoso.example');
    expect(text).toMatch(/expires on \d{1,2} \w+ \d{4}, \d\d:\d\d UTC/);
    const before = await layout(page);
    expect(before.scrollWidth).toBeLessThanOrEqual(PHONE.width);
    expect(before.fontSizePx).toBeGreaterThanOrEqual(16);
    expect(before.smallestFontPx).toBeGreaterThanOrEqual(14);
    expect(before.textContrast).toBeGreaterThanOrEqual(MIN_CONTRAST);
    expect(before.button?.height).toBeGreaterThanOrEqual(MIN_TARGET_PX);
    expect(before.button?.left).toBeGreaterThanOrEqual(0);
    expect(before.button?.right).toBeLessThanOrEqual(PHONE.width);
    expect(before.button?.contrast).toBeGreaterThanOrEqual(MIN_CONTRAST);
    // The narrowest phones in use are 360 CSS pixels wide.
    await page.setViewport({ ...PHONE, width: 360 });
    expect((await layout(page)).scrollWidth).toBeLessThanOrEqual(360);
    await page.setViewport(PHONE);
    const invitedShot = screenshotPath('accept-page-invitation');
    await page.screenshot({ path: invitedShot, fullPage: true });

    const [answer] = await Promise.all([page.waitForNavigation(), page.tap('button')]);
    expect(answer?.status()).toBe(200);
    // The form posted the token in its body: the page after it does not carry it in its address.
    expect(page.url()).toBe(`${base}?`);
    const done = await visibleText(page);
    expect(done).toContain('You joined Contoso launch');
    expect(done).toMatch(/What next: sign in with dana@contoso\.example where Tailspin Studio told you to/);
    const after = await layout(page);
    expect(after.scrollWidth).toBeLessThanOrEqual(PHONE.width);
    const acceptedShot = screenshotPath('accept-page-accepted');
    await page.screenshot({ path: acceptedShot, fullPage: true });
    console.log(
      `[accept page] ${PHONE.width}x${PHONE.height}: scrollWidth ${before.scrollWidth}, text ${before.fontSizePx}px ` +
        `(smallest ${before.smallestFontPx}px) at ` +
        `${before.textContrast.toFixed(1)}:1, button ${before.button?.height}px tall at ` +
        `${before.button?.contrast.toFixed(1)}:1\n  ${invitedShot}\n  ${acceptedShot}`,
    );

    const accepted = await eventually('Accepted', async () => {
      const inv = await read(api, Resources.ClientInvitation, agency, 'dana');
      return inv?.status?.phase === 'Accepted' ? inv : undefined;
    });
    expect(accepted.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');

    // The link works once; opened again, it says so and offers no button.
    const again = await page.goto(link);
    expect(again?.status()).toBe(409);
    expect(await visibleText(page)).toContain('This invitation was already accepted');
    expect(await page.$$('button')).toHaveLength(0);
    await page.close();
  });

  it('shows a hostile agency and workspace name as text, and no script of theirs runs', async () => {
    const link = await invite(hostile, 'site', 'eve', 'eve@client.example');
    // JavaScript on, so that an injected script would run if the page let one in.
    const page = await phonePage(true);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    expect((await page.goto(link))?.status()).toBe(200);
    const text = await visibleText(page);
    expect(text).toContain(`${HOSTILE_AGENCY} invited you to ${HOSTILE_WORKSPACE}`);
    expect(await page.$$('script, img')).toHaveLength(0);
    const shot = screenshotPath('accept-page-hostile-names');
    await page.screenshot({ path: shot, fullPage: true });

    await Promise.all([page.waitForNavigation(), page.tap('button')]);
    expect(await visibleText(page)).toContain(`You joined ${HOSTILE_WORKSPACE}`);
    expect(await page.$$('script, img')).toHaveLength(0);
    expect(dialogs).toEqual([]);
    console.log(`[accept page] hostile names shown as text: ${shot}`);
    await page.close();
  });

  it('answers an unknown link with a page that says so, and offers nothing to accept', async () => {
    const page = await phonePage(false);
    const opened = await page.goto(`${base}?token=${'A'.repeat(43)}`);
    expect(opened?.status()).toBe(404);
    const text = await visibleText(page);
    expect(text).toContain('This link does not work');
    expect(text).toContain('use the latest email');
    expect(await page.$$('form')).toHaveLength(0);
    expect((await layout(page)).scrollWidth).toBeLessThanOrEqual(PHONE.width);
    await page.close();
  });

  it("never writes a token to the operator's log, even at debug level", () => {
    // The log is really captured: both acceptances above are in it, by invitation name.
    const acceptances = logged.split('\n').filter((line) => line.includes('"msg":"invitation accepted"'));
    expect(acceptances.map((line) => line.match(/"invitation":"(\w+)"/)?.[1]).sort()).toEqual([
      'dana',
      'eve',
    ]);
    expect(tokens).toHaveLength(2);
    for (const token of tokens) expect(logged).not.toContain(token);
  });
});
