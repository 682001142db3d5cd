/**
 * What `npm start` prints on the bundled demo config: the demo key and a curl to paste. Printed on
 * purpose (not a log line): the demo key is public, and the quick start needs it.
 */

/**
 * The demo lead's phone, inside the single-quoted JSON of the curl: a new number on every run
 * ($RANDOM, in bash and zsh). The demo config dedupes on phone for 30 days, as a real install
 * does, and its Redis keeps its data across restarts (./.data/redis), so one fixed number would be
 * a 409 duplicate from the second try on, even days later. Every value it can take,
 * (415) 200-1000 to (415) 999-9999, is a valid US number for libphonenumber-js (all 7.2 million
 * checked): fifty tries repeat one with a chance under 1 in 5,000.
 */
const VARYING_PHONE = "(415) '$((RANDOM % 800 + 200))'-'$((RANDOM % 9000 + 1000))'";

/** Single-quotes `text` for a POSIX shell. */
const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** A curl that posts a demo lead and waits up to 5 s for its sale: it works every time it is run. */
export function demoCurl(intakePort: number, apiKey: string): string {
  return (
    `curl -s -X POST ${shellQuote(`http://127.0.0.1:${intakePort}/v1/leads?wait=5`)} ` +
    `-H ${shellQuote(`X-Api-Key: ${apiKey}`)} -H 'Content-Type: application/json' ` +
    `-d '{"name":"Jane Roe","phone":"${VARYING_PHONE}","geo":"US","source":"Facebook"}'`
  );
}

/** The banner, with the ways the Redis in use would lose leads, if any, repeated where they are seen. */
export function demoBanner(intakePort: number, apiKey: string, redisWarnings: readonly string[]): string {
  const lines = [
    '',
    'LeadRouter is running on the bundled demo config.',
    `  demo supplier API key: ${apiKey}`,
    '  try it (in bash or zsh; the phone changes each time, since the same phone within 30 days is a 409 duplicate):',
    `    ${demoCurl(intakePort, apiKey)}`,
    `  then look the lead up: curl -s http://127.0.0.1:${intakePort}/v1/leads/<id> -H ${shellQuote(`X-Api-Key: ${apiKey}`)}`,
    ...redisWarnings.map((warning) => `  WARNING: ${warning}`),
    '',
  ];
  return lines.join('\n');
}
