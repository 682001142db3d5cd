import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; CI installs it): Playwright's own download cannot work here. */
export const CHROMIUM_PATH = process.env.LR_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium for the console's browser tests. The flags keep it off the network (this
 * machine's closed network refuses its background connections, and it would look Google up at
 * every start); `--no-sandbox` because CI runs as root.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (CI does), or set LR_CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
