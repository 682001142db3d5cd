/**
 * Text from suppliers and buyers goes into URLs and HTTP headers. Both refuse some characters
 * (`encodeURIComponent` throws on a lone UTF-16 surrogate; Node refuses a header value with a
 * non-Latin-1 or control character), and a refusal repeats on every retry. These helpers turn any
 * JavaScript string into something that always fits, so no value can make a step throw for ever.
 */

/** A UTF-16 surrogate without its partner: not a character, and not encodable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** True when `text` holds a lone surrogate (intake refuses such text: it is no character at all). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** `text` with every lone surrogate replaced by U+FFFD, as `String.prototype.toWellFormed` does. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\uFFFD');
}

/** Percent-encodes a value for a URL component; never throws. */
export function encodeUrlValue(text: string): string {
  return encodeURIComponent(wellFormed(text));
}

// Control characters (C0, DEL) cannot be in a header value, and CR/LF would split the header.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]+/g;
// Run after CONTROL: what is left outside printable ASCII is non-ASCII text.
const NON_ASCII = /[^\u0020-\u007e]+/g;

/**
 * A header value made safe (contract §4): control characters removed (a CR/LF becomes a space, so
 * words stay apart), non-ASCII text percent-encoded as UTF-8 (`Иван` → `%D0%98%D0%B2%D0%B0%D0%BD`).
 */
export function headerSafe(text: string): string {
  return wellFormed(text)
    .replace(/[\r\n]+/g, ' ')
    .replace(CONTROL, '')
    .replace(NON_ASCII, (run) => encodeURIComponent(run));
}
