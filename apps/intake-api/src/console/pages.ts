import { createHash } from 'node:crypto';

/**
 * The console's two HTML pages. Nothing a request sends is written into them: the login page's
 * message is one of ours, and the shell's token is our own base64url text. The import map is the
 * one inline script, allowed by its hash in the Content-Security-Policy.
 */
const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/console/vendor/preact.mjs',
    'preact/hooks': '/console/vendor/hooks.mjs',
    htm: '/console/vendor/htm.mjs',
  },
});

const IMPORT_MAP_HASH = createHash('sha256').update(IMPORT_MAP).digest('base64');

/** Nothing from elsewhere: scripts, styles, images, requests and forms of this origin only, and no framing. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${IMPORT_MAP_HASH}'`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function page(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/console/assets/console.css">
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

const NOTICES = {
  wrong_key: '<p class="error" role="alert">That is not the admin key.</p>',
  too_many: '<p class="error" role="alert">Too many sign-in attempts from this address: try again in a minute.</p>',
  unavailable: '<p class="error" role="alert">LeadRouter cannot reach Redis just now: try again in a moment.</p>',
  signed_out: '<p role="status">Signed out.</p>',
} as const;

export function loginPage(message?: keyof typeof NOTICES): string {
  const notice = message ? NOTICES[message] : '';
  return page(
    'LeadRouter console: sign in',
    `<main class="login">
<h1>LeadRouter console</h1>
${notice}
<form method="post" action="/console/login">
<label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

export function shellPage(csrf: string): string {
  return page(
    'LeadRouter console',
    `<div id="app"><p>Loading…</p></div>
<noscript>The console needs JavaScript.</noscript>`,
    `<meta name="csrf-token" content="${csrf.replace(/[^A-Za-z0-9_-]/g, '')}">
<script type="importmap">${IMPORT_MAP}</script>
<script src="/console/vendor/chart.umd.min.js"></script>
<script type="module" src="/console/assets/app.js"></script>`,
  );
}
